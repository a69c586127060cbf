// The precise gate's fallbacks on disk: when Python-level reachability fell back to strict for a program (its files,
// the live frames' code, every module of its import closure and every object the process maps, each by file identity,
// under one interpreter), a later analysis of the same program by the same engine build falls back at once, without
// simulating the closure's function bodies again (about 0.6 s on a NumPy process).

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileIdentityOf, StampedDir } from '../../native/src';
import type { RootCode } from './pythonGate';

/** Bumped when what is stored, or what the key covers, changes. */
const FORMAT = 2;

/** A file's identity (device, inode, size, mtime), or undefined when it cannot be read. */
function identityOf(file: string): string | undefined {
  try {
    return fileIdentityOf(fs.statSync(file));
  } catch {
    return undefined;
  }
}

export class DiskGateStore {
  private readonly files: StampedDir;

  /** @param base the cache directory; @param stampOf engineStamp() of the engine, or a function computing it on first use. */
  constructor(base: string, stampOf: string | (() => string)) {
    this.files = new StampedDir(base, 'gate', stampOf);
  }

  /**
   * The key of a gate's inputs: the interpreter, the program's files, the live frames' code objects, and the files of
   * the import closure's modules and of the process's mapped objects (their names C code may look up), each with its
   * identity (device, inode, size, mtime), and the names in the process's sys.modules when they were read. Undefined
   * when a file cannot be read: nothing is cached then.
   */
  static key(python: string, files: string[], rootCodes: RootCode[], moduleFiles: Iterable<string>, liveModules?: Iterable<string>): string | undefined {
    const h = createHash('sha1').update(`${FORMAT}\0${python}\0`);
    for (const f of [python, ...[...new Set(files)].sort()]) {
      const id = identityOf(f);
      if (id === undefined) return undefined;
      h.update(`${f}\0${id}\0`);
    }
    h.update('\0frames\0');
    for (const r of [...new Set(rootCodes.map((c) => `${c.file}\0${c.qualname}`))].sort()) h.update(`${r}\0`);
    h.update('\0modules\0');
    for (const f of [...new Set(moduleFiles)].sort()) h.update(`${f}\0${identityOf(f) ?? 'unreadable'}\0`);
    h.update(liveModules ? '\0sys.modules\0' : '\0no sys.modules\0');
    for (const n of [...new Set(liveModules ?? [])].sort()) h.update(`${n}\0`);
    return h.digest('hex').slice(0, 32);
  }

  /**
   * The fallback's reason stored under `key`, if any, while the files of the modules the gate tracked on demand (which
   * the key does not cover) are unchanged too (a damaged or unreadable entry is none).
   */
  get(key: string): string | undefined {
    try {
      const data = JSON.parse(fs.readFileSync(this.where(key), 'utf8')) as { format?: number; key?: string; strictReason?: unknown; more?: unknown };
      if (data.format !== FORMAT || data.key !== key || typeof data.strictReason !== 'string' || !Array.isArray(data.more)) return undefined;
      for (const m of data.more as unknown[]) {
        if (!Array.isArray(m) || typeof m[0] !== 'string' || identityOf(m[0]) !== m[1]) return undefined;
      }
      return data.strictReason;
    } catch {
      return undefined;
    }
  }

  /**
   * Stores a fallback's reason under `key`, with the files of the modules the gate tracked on demand (`more`) and their
   * identities; a failed write only costs the next analysis the gate.
   */
  put(key: string, strictReason: string, more: string[] = []): void {
    try {
      const files = [...new Set(more)].sort().map((f) => [f, identityOf(f) ?? 'unreadable']);
      this.files.write(this.where(key), JSON.stringify({ format: FORMAT, key, strictReason, more: files }));
    } catch {
      // The cache only saves time.
    }
  }

  private where(key: string): string {
    return path.join(this.files.dir, `${key}.json`);
  }
}
