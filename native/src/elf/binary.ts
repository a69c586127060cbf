// Little-endian readers over a byte array for the ELF and DWARF structures: fixed-width integers (64-bit
// values as Numbers, exact below 2^53), LEB128, and NUL-terminated strings, all bounds-checked.

import { NativeError } from '../errors';

const TWO_32 = 0x1_0000_0000;

/** A bounds-checked little-endian view on bytes read from a ByteSource. `what` names it in errors. */
export class LeReader {
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array, readonly what: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  private check(pos: number, n: number): void {
    if (!(pos >= 0 && pos + n <= this.bytes.length)) {
      throw new NativeError('truncated', `${this.what}: ${n}-byte field at ${pos} lies outside its ${this.bytes.length} bytes.`, {
        subject: this.what,
      });
    }
  }

  u8(pos: number): number {
    this.check(pos, 1);
    return this.bytes[pos];
  }
  u16(pos: number): number {
    this.check(pos, 2);
    return this.view.getUint16(pos, true);
  }
  u32(pos: number): number {
    this.check(pos, 4);
    return this.view.getUint32(pos, true);
  }
  i32(pos: number): number {
    this.check(pos, 4);
    return this.view.getInt32(pos, true);
  }
  /** An unsigned 64-bit value as a Number (exact below 2^53, approximate above). */
  u64(pos: number): number {
    this.check(pos, 8);
    return this.view.getUint32(pos, true) + this.view.getUint32(pos + 4, true) * TWO_32;
  }
  /** A signed 64-bit value as a Number (exact within ±2^53). */
  i64(pos: number): number {
    this.check(pos, 8);
    return this.view.getUint32(pos, true) + this.view.getInt32(pos + 4, true) * TWO_32;
  }
  i16(pos: number): number {
    this.check(pos, 2);
    return this.view.getInt16(pos, true);
  }
}

/** Result of reading a LEB128 number: its value and how many bytes it took. */
export interface Leb {
  value: number;
  length: number;
}

/** Reads an unsigned LEB128 (at most 10 bytes); throws 'malformed' if it runs past `end` or is too long. */
export function readUleb(bytes: Uint8Array, pos: number, end: number, what: string): Leb {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= end) throw new NativeError('malformed', `${what}: LEB128 number runs past the end of its record.`, { subject: what });
    const b = bytes[pos + i];
    value += (b & 0x7f) * mul;
    mul *= 128;
    if ((b & 0x80) === 0) return { value, length: i + 1 };
  }
  throw new NativeError('malformed', `${what}: LEB128 number longer than 10 bytes.`, { subject: what });
}

/** Reads a signed LEB128 (at most 10 bytes); throws 'malformed' if it runs past `end` or is too long. */
export function readSleb(bytes: Uint8Array, pos: number, end: number, what: string): Leb {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= end) throw new NativeError('malformed', `${what}: LEB128 number runs past the end of its record.`, { subject: what });
    const b = bytes[pos + i];
    value += (b & 0x7f) * mul;
    mul *= 128;
    if ((b & 0x80) === 0) {
      if (b & 0x40) value -= mul;
      return { value, length: i + 1 };
    }
  }
  throw new NativeError('malformed', `${what}: LEB128 number longer than 10 bytes.`, { subject: what });
}

/**
 * A string table decoded on demand with bounds checks. An all-ASCII table (the normal case) is turned
 * into one JS string up front, so each lookup is an indexOf and a slice.
 */
export class StringTable {
  private readonly buf: Buffer;
  private readonly text: string | undefined;
  constructor(bytes: Uint8Array, readonly what: string) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.text = isAscii(this.buf) ? this.buf.toString('latin1') : undefined;
  }
  get length(): number {
    return this.buf.length;
  }
  /** The NUL-terminated string at `offset`; throws 'malformed' when out of range or unterminated. */
  get(offset: number): string {
    if (!(offset >= 0 && offset < this.buf.length)) {
      if (offset === 0 && this.buf.length === 0) return '';
      throw new NativeError('malformed', `${this.what}: string offset ${offset} is outside the ${this.buf.length}-byte string table.`, {
        subject: this.what,
      });
    }
    const end = this.text !== undefined ? this.text.indexOf('\0', offset) : this.buf.indexOf(0, offset);
    if (end < 0) throw new NativeError('malformed', `${this.what}: string at ${offset} is not NUL-terminated.`, { subject: this.what });
    return this.text !== undefined ? this.text.slice(offset, end) : this.buf.toString('utf8', offset, end);
  }
}

// buffer.isAscii is native in Node >= 18.15; fall back to a loop elsewhere.
const nativeIsAscii = (require('node:buffer') as { isAscii?: (b: Uint8Array) => boolean }).isAscii;

function isAscii(buf: Buffer): boolean {
  if (nativeIsAscii) return nativeIsAscii(buf);
  for (let i = 0; i < buf.length; i++) if (buf[i] > 0x7f) return false;
  return true;
}

/** Reads a NUL-terminated ASCII string inside bytes[pos, end); returns it and the position after the NUL. */
export function readCString(bytes: Uint8Array, pos: number, end: number, what: string): { value: string; next: number } {
  let i = pos;
  while (i < end && bytes[i] !== 0) i++;
  if (i >= end) throw new NativeError('malformed', `${what}: string at ${pos} is not NUL-terminated.`, { subject: what });
  return { value: Buffer.from(bytes.buffer, bytes.byteOffset + pos, i - pos).toString('latin1'), next: i + 1 };
}
