// The on-disk layout the engine's caches share (summaryStore.ts, fullScanStore.ts, tablesStore.ts): one directory
// per kind and engine build (`<base>/<kind>/<stamp>`), one file per library named by a hash of its identity and
// path, written atomically, holding an envelope (format, identity, path, fingerprint) that a read checks; what
// other builds stored is removed at the first write.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { fileIdentityOf } from '../space/space';

const FINGERPRINT_BYTES = 64 * 1024;

/** What every stored entry carries besides its payload: its format and the library (and contents) it is of. */
interface Envelope {
  format: number;
  identity: string;
  file: string;
  fingerprint: string;
}

/** How an entry is written: V8's serializer (Maps, shared objects) or JSON. */
export type EntryCodec = 'v8' | 'json';

/** The fingerprint of `file` when it still has `identity`; undefined otherwise (changed, gone). */
export function currentFingerprint(identity: string, file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const st = fs.fstatSync(fd);
    if (fileIdentityOf(st) !== identity) return undefined;
    const n = Math.min(FINGERPRINT_BYTES, st.size);
    const head = Buffer.alloc(n);
    const tail = Buffer.alloc(n);
    fs.readSync(fd, head, 0, n, 0);
    fs.readSync(fd, tail, 0, n, st.size - n);
    return createHash('sha1').update(head).update(tail).digest('hex');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

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

  /**
   * The stored entry of a library (its payload with the envelope), when this build stored one in `format` for the
   * same identity and path and the file's contents are unchanged; undefined otherwise, a damaged or unreadable
   * entry included (the caller computes it again).
   */
  readEntry<T extends object>(identity: string, file: string, codec: EntryCodec, format: number): (T & Envelope) | undefined {
    try {
      const where = this.fileOf(identity, file, `.${codec}`);
      if (!fs.existsSync(where)) return undefined;
      const fingerprint = currentFingerprint(identity, file);
      if (!fingerprint) return undefined;
      const bytes = fs.readFileSync(where);
      const data = (codec === 'v8' ? v8.deserialize(bytes) : JSON.parse(bytes.toString('utf8'))) as T & Envelope;
      if (data.format !== format || data.identity !== identity || data.file !== file || data.fingerprint !== fingerprint) return undefined;
      return data;
    } catch {
      return undefined;
    }
  }

  /**
   * Stores `payload` for a library with its envelope: 'changed' when the file no longer has `identity` (nothing is
   * stored), 'too-large' when it encodes to more than `maxBytes`, 'failed' when the write failed, else 'written'.
   * Encoding errors are thrown.
   */
  writeEntry(identity: string, file: string, codec: EntryCodec, format: number, payload: object, maxBytes = Infinity): 'changed' | 'too-large' | 'failed' | 'written' {
    const fingerprint = currentFingerprint(identity, file);
    if (!fingerprint) return 'changed';
    const data = { format, identity, file, fingerprint, ...payload };
    const bytes = codec === 'v8' ? v8.serialize(data) : Buffer.from(JSON.stringify(data));
    if (bytes.length > maxBytes) return 'too-large';
    try {
      this.write(this.fileOf(identity, file, `.${codec}`), bytes);
    } catch {
      return 'failed';
    }
    return 'written';
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
