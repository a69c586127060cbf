// The on-disk cache of the helper's module records, keyed by interpreter and file identity (path, size, mtime
// in ns), so a new language-server or CLI process starts warm: the helper only locates and stats modules.
// Function bodies stay on disk until a simulation needs them.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { InterpreterInfo, ModuleRecord } from './helperRecords';

/** Bumped when what is stored (or how it is keyed) changes; the helper script's own hash is in the key too. */
const FORMAT = 5;

/** Records are appended to the run's pack file in writes of about this size. */
const CHUNK = 1 << 20;

/** Pack and temporary files no index entry names are removed once this old (another process may be writing them). */
const STALE_MS = 3600_000;

/** Where the cache lives by default: $PYGRATION_CACHE_DIR ('' disables), else $XDG_CACHE_HOME/pygration, else ~/.cache/pygration. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.PYGRATION_CACHE_DIR !== undefined) return env.PYGRATION_CACHE_DIR === '' ? null : env.PYGRATION_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || (os.homedir() ? path.join(os.homedir(), '.cache') : '');
  return base ? path.join(base, 'pygration') : null;
}

interface IndexEntry {
  file: string;
  size: number;
  mtimeNs: string;
  /** Pack file name (in the cache directory) and the record's place in it. */
  pack: string;
  offset: number;
  /** Bytes of the record's first line (the module record without its function bodies). */
  head: number;
  /** Bytes of the whole record (first line, and '#' + bodies line when it has bodies). */
  length: number;
}

type IndexRow = [string, number, string, string, number, number, number];

interface IndexFile {
  format: number;
  modules: Record<string, IndexRow>;
  closures: Record<string, string[]>;
}

/** Where a record's function bodies are: [offset, end) of a pack file, read on demand. */
export interface BodiesRef {
  path: string;
  offset: number;
  end: number;
}

/**
 * One interpreter's cache directory. Each run appends the records the helper sent to a pack file of its own
 * (`<pid>-<n>-<random>.pack`: the module line, then '#' and the function bodies line); `index.json` maps
 * module names to identities and places, and remembers the import closure of each set of roots. Writes are
 * synchronous appends of about a megabyte; the index is rewritten whole through a temporary file and a rename
 * (concurrent processes: the last writer wins, a lost entry only costs a re-dump). Records are checked when
 * read. Any failure disables the cache, never the analysis.
 */
export class DiskCache {
  private readonly index = new Map<string, IndexEntry>();
  private readonly closures = new Map<string, string[]>();
  private dirty = false;
  private broken = false;
  private pack: { name: string; fd: number; size: number } | null = null;
  private pendingText: string[] = [];
  private pendingBytes = 0;
  private pendingDone: { name: string; entry: IndexEntry; done?: (ref: BodiesRef) => void }[] = [];
  private packs = 0;

  private constructor(readonly dir: string) {}

  /** Opens (creating) the cache of one interpreter under `root`; null when it cannot be used. */
  static open(root: string, info: InterpreterInfo, helperPath: string): DiskCache | null {
    try {
      const helperHash = hash(fs.readFileSync(helperPath, 'utf8'));
      const id = hash(`${FORMAT}\0${info.executable}\0${info.versionString}\0${info.magic}\0${helperHash}`).slice(0, 20);
      const dir = path.join(root, 'bytecode', id);
      fs.mkdirSync(dir, { recursive: true });
      const cache = new DiskCache(dir);
      cache.readIndex();
      return cache;
    } catch {
      return null;
    }
  }

  private readIndex(): void {
    let data: IndexFile;
    try {
      data = JSON.parse(fs.readFileSync(path.join(this.dir, 'index.json'), 'utf8')) as IndexFile;
    } catch {
      return;
    }
    if (!data || data.format !== FORMAT || typeof data.modules !== 'object') return;
    for (const [name, e] of Object.entries(data.modules)) {
      if (Array.isArray(e) && e.length === 7) this.index.set(name, { file: e[0], size: e[1], mtimeNs: e[2], pack: e[3], offset: e[4], head: e[5], length: e[6] });
    }
    for (const [k, names] of Object.entries(data.closures ?? {})) if (Array.isArray(names)) this.closures.set(k, names);
  }

  /** Adds name → [file, size, mtimeNs] for the modules on disk among `names` (what the helper may then skip). */
  known(names: Iterable<string>, out: Record<string, [string, number, string]>): void {
    if (this.broken) return;
    for (const n of names) {
      if (out[n]) continue;
      const e = this.index.get(n);
      if (e) out[n] = [e.file, e.size, e.mtimeNs];
    }
  }

  /**
   * The stored record of a module the helper found unchanged (same file, size and mtime): its first line
   * parsed, and where its function bodies are. Undefined when absent or unreadable (the entry is dropped).
   */
  load(name: string, rec: ModuleRecord): { record: ModuleRecord; bodies: BodiesRef | null } | undefined {
    const e = this.index.get(name);
    if (!e || e.file !== rec.file || e.size !== rec.size || e.mtimeNs !== rec.mtimeNs) return undefined;
    const file = path.join(this.dir, e.pack);
    let fd: number | undefined;
    try {
      fd = fs.openSync(file, 'r');
      const buf = Buffer.allocUnsafe(e.head + 2);
      const got = fs.readSync(fd, buf, 0, buf.length, e.offset);
      if (got < e.head + 1 || buf[e.head] !== 10) throw new Error('truncated record');
      const record = JSON.parse(buf.toString('latin1', 0, e.head)) as ModuleRecord;
      if (record.name !== name || record.file !== rec.file || record.size !== rec.size || record.mtimeNs !== rec.mtimeNs) throw new Error('mismatched record');
      const hasBodies = got === e.head + 2 && buf[e.head + 1] === 35;
      return { record, bodies: hasBodies ? { path: file, offset: e.offset + e.head + 2, end: e.offset + e.length - 1 } : null };
    } catch {
      this.index.delete(name);
      this.dirty = true;
      return undefined;
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }

  /**
   * Stores a module record as the helper printed it (`line`, ASCII JSON) with its function bodies (`bodies`,
   * the text after '#'); `done` learns where the bodies are once they are on disk (never, if writing fails).
   */
  store(rec: ModuleRecord, line: string, bodies: string | undefined, done?: (ref: BodiesRef) => void): void {
    if (this.broken || !rec.file || rec.size === undefined || rec.mtimeNs === undefined) return;
    // The helper prints ASCII (escaped JSON): one byte per character, which the offsets count on.
    if (Buffer.byteLength(line) !== line.length || (bodies !== undefined && Buffer.byteLength(bodies) !== bodies.length)) return;
    const text = bodies === undefined ? `${line}\n` : `${line}\n#${bodies}\n`;
    const entry: IndexEntry = { file: rec.file, size: rec.size, mtimeNs: rec.mtimeNs, pack: '', offset: this.pendingBytes, head: line.length, length: text.length };
    this.pendingText.push(text);
    this.pendingBytes += text.length;
    this.pendingDone.push({ name: rec.name, entry, done: bodies === undefined ? undefined : done });
    if (this.pendingBytes >= CHUNK) this.writeOut();
  }

  /** Appends the records waiting in memory to this run's pack file, then indexes them. */
  private writeOut(): void {
    if (!this.pendingText.length || this.broken) return;
    const text = this.pendingText.join('');
    const done = this.pendingDone;
    this.pendingText = [];
    this.pendingDone = [];
    this.pendingBytes = 0;
    try {
      if (!this.pack) {
        const name = `${process.pid}-${this.packs++}-${Math.random().toString(36).slice(2, 10)}.pack`;
        this.pack = { name, fd: fs.openSync(path.join(this.dir, name), 'wx'), size: 0 };
      }
      const pack = this.pack;
      const buf = Buffer.from(text, 'latin1');
      let written = 0;
      while (written < buf.length) written += fs.writeSync(pack.fd, buf, written, buf.length - written, pack.size + written);
      const base = pack.size;
      pack.size += buf.length;
      const file = path.join(this.dir, pack.name);
      for (const d of done) {
        d.entry.pack = pack.name;
        d.entry.offset += base;
        this.index.set(d.name, d.entry);
        d.done?.({ path: file, offset: d.entry.offset + d.entry.head + 2, end: d.entry.offset + d.entry.length - 1 });
      }
      this.dirty = true;
    } catch {
      this.broken = true;
    }
  }

  /** The module names the last run from these roots reached. */
  closure(rootsKey: string): string[] | undefined {
    return this.closures.get(hash(rootsKey));
  }

  setClosure(rootsKey: string, names: string[]): void {
    const k = hash(rootsKey);
    const old = this.closures.get(k);
    if (old && old.length === names.length && old.every((n, i) => n === names[i])) return;
    this.closures.set(k, names);
    this.dirty = true;
  }

  /** Ends a run: writes the waiting records, closes the pack, rewrites the index, removes stale packs. */
  flush(): void {
    if (this.broken) return;
    this.writeOut();
    if (this.pack) {
      try {
        fs.closeSync(this.pack.fd);
      } catch {
        // Closed already.
      }
      this.pack = null;
    }
    if (!this.dirty || this.broken) return;
    this.dirty = false;
    const data: IndexFile = { format: FORMAT, modules: {}, closures: Object.fromEntries(this.closures) };
    for (const [n, e] of this.index) data.modules[n] = [e.file, e.size, e.mtimeNs, e.pack, e.offset, e.head, e.length];
    const file = path.join(this.dir, 'index.json');
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;
    try {
      fs.writeFileSync(tmp, JSON.stringify(data));
      fs.renameSync(tmp, file);
      this.prune();
    } catch {
      this.broken = true;
      try {
        fs.unlinkSync(tmp);
      } catch {
        // Never written.
      }
    }
  }

  /** Resolves when what was written so far is on disk (writes are synchronous: at once). */
  async settled(): Promise<void> {
    return undefined;
  }

  /** Removes pack and temporary files no entry names, once stale (they may be another process's). */
  private prune(): void {
    const live = new Set([...this.index.values()].map((e) => e.pack));
    const cutoff = Date.now() - STALE_MS;
    for (const n of fs.readdirSync(this.dir)) {
      if (n === 'index.json' || live.has(n)) continue;
      const p = path.join(this.dir, n);
      try {
        if (fs.statSync(p).mtimeMs < cutoff) fs.unlinkSync(p);
      } catch {
        // Gone already, or not ours to remove.
      }
    }
  }
}

/** Reads the function bodies of a stored record (the JSON text after its '#'). */
export function readBodies(ref: BodiesRef): string {
  const fd = fs.openSync(ref.path, 'r');
  try {
    const buf = Buffer.allocUnsafe(ref.end - ref.offset);
    let got = 0;
    while (got < buf.length) {
      const n = fs.readSync(fd, buf, got, buf.length - got, ref.offset + got);
      if (n === 0) throw new Error(`${ref.path}: truncated function bodies`);
      got += n;
    }
    return buf.toString('latin1');
  } finally {
    fs.closeSync(fd);
  }
}

function hash(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}
