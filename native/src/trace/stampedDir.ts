// The on-disk layout the engine's caches share (summaryStore.ts, fullScanStore.ts): one directory per kind and
// engine build (`<base>/<kind>/<stamp>`), one file per library named by a hash of its identity and path, written
// atomically; what other builds stored is removed at the first write.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export class StampedDir {
  private pruned = false;
  private stampValue?: string;

  /** @param base the cache directory; @param kind the cache's folder; @param stampOf engineStamp(), or a function computing it on first use. */
  constructor(
    private readonly base: string,
    private readonly kind: string,
    private readonly stampOf: string | (() => string),
  ) {}

  /** The engine stamp (computed on first use when given as a function). */
  get stamp(): string {
    this.stampValue ??= typeof this.stampOf === 'string' ? this.stampOf : this.stampOf();
    return this.stampValue;
  }

  /** Where this engine build's files are. */
  get dir(): string {
    return path.join(this.base, this.kind, this.stamp);
  }

  /** The file of a library (its identity and path), with the extension `ext` (`.json`, `.v8`). */
  fileOf(identity: string, file: string, ext: string): string {
    return path.join(this.dir, `${createHash('sha1').update(`${identity}\0${file}`).digest('hex').slice(0, 32)}${ext}`);
  }

  /** Writes `data` to `where` through a temporary file and a rename, after removing other builds' files. */
  write(where: string, data: string | Uint8Array): void {
    this.prune();
    fs.mkdirSync(this.dir, { recursive: true });
    const tmp = `${where}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, where);
  }

  /** Removes what other builds of the engine stored (they are never read again). */
  private prune(): void {
    if (this.pruned) return;
    this.pruned = true;
    const parent = path.join(this.base, this.kind);
    try {
      for (const e of fs.readdirSync(parent)) if (e !== this.stamp) fs.rmSync(path.join(parent, e), { recursive: true, force: true });
    } catch {
      // Nothing stored yet.
    }
  }
}
