// Many small reads of a live process's memory answered from a few large reads: the words a debug session's kept
// walk logged, read again at the next stop, and the data objects the heap points into, read by spans of nearby
// addresses instead of one system call each.

import type { AddressSpace } from '../space/space';
import { upperBound } from '../upperBound';

/** Ranges at most this far apart (in one region) share a read. */
const GAP = 4096;
const MAX_SPAN = 1 << 20;

/**
 * The bytes of the ranges given up front, each read as space.readMemory reads it: from a span read whole when that
 * read succeeds (then every byte of it is mapped and is what a read of the range alone gives), else alone. Other
 * ranges are read alone too. A span is read when first asked.
 */
export class BulkBytes {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  /** A span's bytes; null when not read yet, undefined when its read failed. */
  private readonly bytes: Array<Uint8Array | undefined | null> = [];

  constructor(
    private space: AddressSpace,
    ranges: ReadonlyArray<{ start: number; end: number }>,
  ) {
    let regionStart = -1;
    for (const { start, end } of [...ranges].sort((x, y) => x.start - y.start)) {
      if (end <= start) continue;
      const r = space.regionAt(start);
      const last = this.starts.length - 1;
      if (last >= 0 && r !== undefined && r.start === regionStart && start <= this.ends[last] + GAP && Math.max(end, this.ends[last]) - this.starts[last] <= MAX_SPAN) {
        this.ends[last] = Math.max(this.ends[last], end);
        continue;
      }
      this.starts.push(start);
      this.ends.push(end);
      this.bytes.push(null);
      regionStart = r?.start ?? -1;
    }
  }

  /**
   * The same spans, to be read again from `space` (a later view of the process whose regions are the same): what was
   * read is forgotten. A span that no longer sits in one region only fails its read, and its ranges are read alone.
   */
  rebind(space: AddressSpace): void {
    this.space = space;
    this.bytes.fill(null);
  }

  /** The `length` bytes at `address` (a view into a span's read: do not change them), or undefined when some are unmapped. */
  read(address: number, length: number): Uint8Array | undefined {
    const i = upperBound(this.ends.length, (k) => this.ends[k] >= address + length);
    if (i >= this.starts.length || this.starts[i] > address) return this.space.readMemory(address, length);
    let b = this.bytes[i];
    if (b === null) b = this.bytes[i] = this.space.readMemory(this.starts[i], this.ends[i] - this.starts[i]);
    if (b === undefined) return this.space.readMemory(address, length);
    const off = address - this.starts[i];
    return b.subarray(off, off + length);
  }
}

/** The words at the addresses given up front, each read as space.readPointer reads it (BulkBytes over 8-byte ranges). */
export class BulkWords {
  private readonly bulk: BulkBytes;

  constructor(
    private space: AddressSpace,
    addresses: Iterable<number>,
  ) {
    this.bulk = new BulkBytes(space, Array.from(addresses, (a) => ({ start: a, end: a + 8 })));
  }

  /** BulkBytes.rebind. */
  rebind(space: AddressSpace): void {
    this.space = space;
    this.bulk.rebind(space);
  }

  /** The 64-bit little-endian word at `address` (values above 2^53 approximate, as readPointer gives them), or undefined when unmapped. */
  readPointer(address: number): number | undefined {
    const b = this.bulk.read(address, 8);
    if (b === undefined) return this.space.readPointer(address);
    const dv = new DataView(b.buffer, b.byteOffset, 8);
    return dv.getUint32(0, true) + dv.getUint32(4, true) * 0x1_0000_0000;
  }
}
