// Many 8-byte reads of a live process's memory answered from a few large reads: the words a debug session's kept
// walk logged are read again at the next stop by spans of nearby addresses instead of one system call each.

import type { AddressSpace } from '../space/space';
import { upperBound } from '../upperBound';

/** Addresses at most this far apart (in one region) share a read. */
const GAP = 4096;
const MAX_SPAN = 1 << 20;

/**
 * The words at the addresses given up front, each read as space.readPointer reads it: from a span read whole when
 * that read succeeds (then every byte of it is mapped and is what a read of the word alone gives), else alone.
 * Other addresses are read alone too. A span is read when first asked.
 */
export class BulkWords {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  /** A span's bytes; null when not read yet, undefined when its read failed. */
  private readonly bytes: Array<Uint8Array | undefined | null> = [];

  constructor(
    private readonly space: AddressSpace,
    addresses: Iterable<number>,
  ) {
    let regionStart = -1;
    for (const a of Float64Array.from(addresses).sort()) {
      const r = space.regionAt(a);
      const last = this.starts.length - 1;
      if (last >= 0 && r !== undefined && r.start === regionStart && a <= this.ends[last] + GAP && a + 8 - this.starts[last] <= MAX_SPAN) {
        this.ends[last] = Math.max(this.ends[last], a + 8);
        continue;
      }
      this.starts.push(a);
      this.ends.push(a + 8);
      this.bytes.push(null);
      regionStart = r?.start ?? -1;
    }
  }

  /** The 64-bit little-endian word at `address` (values above 2^53 approximate, as readPointer gives them), or undefined when unmapped. */
  readPointer(address: number): number | undefined {
    const i = upperBound(this.ends.length, (k) => this.ends[k] >= address + 8);
    if (i >= this.starts.length || this.starts[i] > address) return this.space.readPointer(address);
    let b = this.bytes[i];
    if (b === null) b = this.bytes[i] = this.space.readMemory(this.starts[i], this.ends[i] - this.starts[i]);
    if (b === undefined) return this.space.readPointer(address);
    const off = address - this.starts[i];
    const dv = new DataView(b.buffer, b.byteOffset + off, 8);
    return dv.getUint32(0, true) + dv.getUint32(4, true) * 0x1_0000_0000;
  }
}
