// The byte-source interface the ELF reader and the analyses read through, with its two implementations:
// a file on disk and the memory of a live process (/proc/PID/mem). Offsets and addresses are numbers
// (user-space addresses are below 2^47, well inside Number's exact range).

import * as fs from 'node:fs';
import { NativeError, fromSystemError } from '../errors';

export interface ByteSource {
  /** Human-readable name for messages: a path or `/proc/PID/mem`. */
  readonly name: string;
  /** Total size in bytes, or Infinity when unknown (process memory). */
  readonly size: number;
  /**
   * Reads exactly `length` bytes at `offset`. Throws NativeError('truncated') if the range is not
   * entirely inside the source, or another kind for OS failures. The returned array may be a view on an
   * internal buffer: copy it if you keep it past the next read.
   */
  read(offset: number, length: number): Uint8Array;
  /** Releases any OS handle. Safe to call twice. */
  close(): void;
}

/** Checks that [offset, offset+length) lies inside [0, size); throws a 'truncated' error naming `what`. */
export function checkRange(source: { name: string; size: number }, offset: number, length: number, what: string): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > source.size) {
    throw new NativeError('truncated', `${source.name}: ${what} at offset ${offset} (+${length}) lies outside the ${source.size}-byte input.`, {
      subject: source.name,
    });
  }
}

/** A whole file held in memory (ELF files we analyse are read many times at random offsets). */
export class BufferByteSource implements ByteSource {
  readonly size: number;
  constructor(readonly name: string, readonly bytes: Uint8Array) {
    this.size = bytes.length;
  }
  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length, 'read');
    return this.bytes.subarray(offset, offset + length);
  }
  close(): void {}
}

/** Reads up to this long are served from an aligned block of this file read once (see FileByteSource.read). */
const SMALL_READ = 256;
const BLOCK = 64 * 1024;

/**
 * A file read on demand with pread, so a 40 MB library costs only the bytes we look at. The size comes
 * from fstat; every read is bounds-checked against it. Small reads (an 8-byte data slot, a string) come
 * from the last 64 KiB block read: a walk reads thousands of neighbouring slots, one system call each
 * otherwise.
 */
export class FileByteSource implements ByteSource {
  readonly size: number;
  private fd: number | undefined;
  private block: Buffer | undefined;
  private blockStart = -1;

  constructor(readonly name: string) {
    try {
      this.fd = fs.openSync(name, 'r');
      const st = fs.fstatSync(this.fd);
      if (!st.isFile()) {
        fs.closeSync(this.fd);
        throw new NativeError('unsupported', `${name} is not a regular file.`, { subject: name });
      }
      this.size = st.size;
    } catch (e) {
      throw fromSystemError(e, name);
    }
  }

  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length, 'read');
    if (this.fd === undefined) throw new NativeError('io', `${this.name} is closed.`, { subject: this.name });
    if (length <= SMALL_READ) {
      const start = offset - (offset % BLOCK);
      if (offset + length <= start + BLOCK) {
        if (this.blockStart !== start || !this.block) {
          this.block = this.readAt(start, Math.min(BLOCK, this.size - start));
          this.blockStart = start;
        }
        // A copy: callers may keep or change what they get.
        return Uint8Array.prototype.slice.call(this.block, offset - start, offset - start + length);
      }
    }
    return this.readAt(offset, length);
  }

  private readAt(offset: number, length: number): Buffer {
    const fd = this.fd!;
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      let n: number;
      try {
        n = fs.readSync(fd, out, done, length - done, offset + done);
      } catch (e) {
        throw fromSystemError(e, this.name);
      }
      if (n === 0) throw new NativeError('truncated', `${this.name} ended early (was it truncated while being read?).`, { subject: this.name });
      done += n;
    }
    return out;
  }

  close(): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
    this.block = undefined;
  }
}

/** Opens a file for on-demand reads; errors become NativeError with the right kind. */
export function openFileSource(path: string): FileByteSource {
  return new FileByteSource(path);
}

/**
 * The memory of a live process through /proc/PID/mem, read with pread at the virtual address.
 * Requires ptrace read access to the target. We only ever read.
 */
export class ProcessMemorySource implements ByteSource {
  readonly name: string;
  readonly size = Infinity;
  private fd: number | undefined;

  constructor(readonly pid: number) {
    this.name = `/proc/${pid}/mem`;
    try {
      this.fd = fs.openSync(this.name, 'r');
    } catch (e) {
      throw fromSystemError(e, this.name, pid);
    }
  }

  /** `into`: a buffer of at least `length` bytes to read into (then the answer is a view of it), instead of a new one. */
  read(address: number, length: number, into?: Uint8Array): Uint8Array {
    if (this.fd === undefined) throw new NativeError('io', `${this.name} is closed.`, { subject: this.name });
    if (!Number.isSafeInteger(address) || address < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new NativeError('truncated', `${this.name}: invalid read at ${address} (+${length}).`, { subject: this.name });
    }
    const out = into && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      let n: number;
      try {
        n = fs.readSync(this.fd, out, done, length - done, address + done);
      } catch (e) {
        const err = fromSystemError(e, this.name, this.pid);
        // EIO from /proc/PID/mem means the range is not mapped: report it as truncated memory.
        if (err.kind === 'io' && (e as NodeJS.ErrnoException).code === 'EIO') {
          throw new NativeError('truncated', `${this.name}: address 0x${(address + done).toString(16)} is not mapped.`, {
            subject: this.name,
            cause: e,
          });
        }
        throw err;
      }
      if (n === 0) {
        throw new NativeError('gone', `Process ${this.pid} exited while its memory was being read.`, { subject: this.name });
      }
      done += n;
    }
    return out;
  }

  /** Like read, but returns undefined instead of throwing when the range is unmapped. */
  tryRead(address: number, length: number, into?: Uint8Array): Uint8Array | undefined {
    try {
      return this.read(address, length, into);
    } catch (e) {
      if (e instanceof NativeError && e.kind === 'truncated') return undefined;
      throw e;
    }
  }

  close(): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }
}
