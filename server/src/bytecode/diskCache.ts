// The on-disk cache of the helper's module records, keyed by interpreter and file identity (path, size, mtime
// in ns), so a new language-server or CLI process starts warm: the helper only locates and stats modules.
// Function bodies stay on disk until a simulation needs them.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { InterpreterInfo, ModuleRecord } from './protocol';

/** Bumped when what is stored (or how it is keyed) changes; the helper script's own hash is in the key too. */
const FORMAT = 1;

/** Where the cache lives by default: $PYGRATION_CACHE_DIR, else $XDG_CACHE_HOME/pygration, else ~/.cache/pygration. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.PYGRATION_CACHE_DIR !== undefined) return env.PYGRATION_CACHE_DIR === '' ? null : env.PYGRATION_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || (os.homedir() ? path.join(os.homedir(), '.cache') : '');
  return base ? path.join(base, 'pygration') : null;
}

interface IndexEntry {
  file: string;
  size: number;
  mtimeNs: string;
  /** Record file name (without directory). */
  key: string;
  /** Bytes of the record's first line (the module record without its function bodies). */
  head: number;
}

interface IndexFile {
  format: number;
  modules: Record<string, [string, number, string, string, number]>;
  closures: Record<string, string[]>;
}

/** Where a record's function bodies are: read on demand. */
export interface BodiesRef {
  path: string;
  offset: number;
}

/**
 * One interpreter's directory of module records: `<key>.rec` holds the helper's module line and, after
 * '\n#', its function bodies line; `index.json` maps module names to identities and keys, and remembers the
 * import closure of each set of roots. Concurrent processes share it: records are written to a temporary
 * name and renamed (their key names their content), the index is rewritten whole (the last writer wins;
 * a lost entry only costs a re-dump). Failures of any kind disable the cache, never the analysis.
 */
export class DiskCache {
  private readonly index = new Map<string, IndexEntry>();
  private readonly closures = new Map<string, string[]>();
  private dirty = false;
  private writes = 0;
  private broken = false;

  private constructor(readonly dir: string) {}

  /** Opens (creating) the cache of one interpreter under `root`; null when it cannot be used. */
  static open(root: string, info: InterpreterInfo, helperPath: string): DiskCache | null {
    try {
      let helperHash = '';
      try {
        helperHash = hash(fs.readFileSync(helperPath, 'utf8'));
      } catch {
        return null;
      }
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
      if (Array.isArray(e) && e.length === 5) this.index.set(name, { file: e[0], size: e[1], mtimeNs: e[2], key: e[3], head: e[4] });
    }
    for (const [k, names] of Object.entries(data.closures ?? {})) if (Array.isArray(names)) this.closures.set(k, names);
  }

  /** name → [file, size, mtimeNs] of the modules on disk among `names` (what the helper may then skip). */
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
    const file = path.join(this.dir, e.key);
    let fd: number | undefined;
    try {
      fd = fs.openSync(file, 'r');
      const buf = Buffer.allocUnsafe(e.head + 2);
      const got = fs.readSync(fd, buf, 0, buf.length, 0);
      if (got < e.head + 1 || buf[e.head] !== 10) throw new Error('truncated record');
      const record = JSON.parse(buf.toString('latin1', 0, e.head)) as ModuleRecord;
      if (record.name !== name || record.file !== rec.file || record.size !== rec.size || record.mtimeNs !== rec.mtimeNs) throw new Error('mismatched record');
      const bodies = got === e.head + 2 && buf[e.head + 1] === 35 ? { path: file, offset: e.head + 2 } : null;
      return { record, bodies };
    } catch {
      this.index.delete(name);
      this.dirty = true;
      return undefined;
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }

  /**
   * Stores a module record as the helper printed it (`line`) with its function bodies (`bodies`, the text
   * after '#'); `done` learns where the bodies are once they are on disk (not called when writing failed).
   */
  store(rec: ModuleRecord, line: string, bodies: string | undefined, done: (ref: BodiesRef) => void): void {
    if (this.broken || !rec.file || rec.size === undefined || rec.mtimeNs === undefined) return;
    const key = `${hash(`${rec.name}\0${rec.file}\0${rec.size}\0${rec.mtimeNs}`).slice(0, 32)}.rec`;
    const file = path.join(this.dir, key);
    const head = Buffer.byteLength(line, 'latin1');
    const entry: IndexEntry = { file: rec.file, size: rec.size, mtimeNs: rec.mtimeNs, key, head };
    const text = bodies === undefined ? `${line}\n` : `${line}\n#${bodies}\n`;
    const tmp = `${file}.${process.pid}.${this.writes++}.tmp`;
    this.writing++;
    this.track(fs.promises
      .writeFile(tmp, text, 'latin1')
      .then(() => fs.promises.rename(tmp, file))
      .then(
        () => {
          this.index.set(rec.name, entry);
          this.dirty = true;
          if (bodies !== undefined) done({ path: file, offset: head + 2 });
        },
        () => {
          this.broken = true;
          fs.promises.unlink(tmp).catch(() => undefined);
        },
      )
      .finally(() => {
        if (--this.writing === 0 && this.flushWhenWritten) {
          this.flushWhenWritten = false;
          this.flush();
        }
      }));
  }

  private readonly inFlight = new Set<Promise<unknown>>();

  private track(p: Promise<unknown>): void {
    const done = p.catch(() => undefined).finally(() => this.inFlight.delete(done));
    this.inFlight.add(done);
  }

  /** Resolves when every write started so far (records, index) has finished. */
  async settled(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  private writing = 0;
  private flushWhenWritten = false;

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

  /** Writes the index (after the records being written), atomically; stale record files are removed. */
  flush(): void {
    if (this.broken) return;
    if (this.writing > 0) {
      // Records still being written add their entries when done: write the index after them.
      this.flushWhenWritten = true;
      return;
    }
    if (!this.dirty) return;
    this.dirty = false;
    const data: IndexFile = { format: FORMAT, modules: {}, closures: Object.fromEntries(this.closures) };
    for (const [n, e] of this.index) data.modules[n] = [e.file, e.size, e.mtimeNs, e.key, e.head];
    const file = path.join(this.dir, 'index.json');
    const tmp = `${file}.${process.pid}.${this.writes++}.tmp`;
    this.track(fs.promises
      .writeFile(tmp, JSON.stringify(data))
      .then(() => fs.promises.rename(tmp, file))
      .then(() => this.prune())
      .catch(() => {
        this.broken = true;
        fs.promises.unlink(tmp).catch(() => undefined);
      }));
  }

  /** Removes record files no entry names (older than an hour: another process may be writing its index). */
  private async prune(): Promise<void> {
    const live = new Set([...this.index.values()].map((e) => e.key));
    const names = await fs.promises.readdir(this.dir);
    if (names.length <= live.size * 1.25 + 16) return;
    const cutoff = Date.now() - 3600_000;
    for (const n of names) {
      if (n === 'index.json' || live.has(n)) continue;
      const p = path.join(this.dir, n);
      try {
        if ((await fs.promises.stat(p)).mtimeMs < cutoff) await fs.promises.unlink(p);
      } catch {
        // Gone already, or not ours to remove.
      }
    }
  }
}

/** Reads the function bodies of a stored record (the JSON text after its '#'). */
export function readBodies(ref: BodiesRef): string {
  const buf = fs.readFileSync(ref.path);
  let end = buf.length;
  if (end > 0 && buf[end - 1] === 10) end--;
  if (ref.offset > end) throw new Error(`${ref.path}: no function bodies`);
  return buf.toString('latin1', ref.offset, end);
}

function hash(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}
