// The words pointing into glibc's main heap that the census meets, each with where it is: what heapTables needs to
// tell which heap chunks only module variables point to.

import type { AddressSpace, Region } from '../space/space';

const TWO32 = 2 ** 32;
/** Past this many words pointing into `[heap]`, the census stops recording them (heapTables is not tried). */
const MAX_HEAP_POINTERS = 1 << 18;

/** Words of live data pointing into `[heap]`: `values[k]` is held at `holders[k]`. */
export interface HeapPointers {
  holders: number[];
  values: number[];
}

/** The words pointing into `[heap]` a census meets, with where they are (LiveValues.heapPointers). */
export class HeapPointerLog {
  private readonly heap: Region | undefined;
  /** The high halves of the heap's first and last addresses (a word outside them is no heap pointer). */
  readonly hiFirst: number;
  readonly hiLast: number;
  private log: HeapPointers | undefined;

  constructor(space: AddressSpace) {
    this.heap = space.regions().find((r) => r.kind === 'heap' && r.name === '[heap]');
    this.hiFirst = this.heap ? Math.floor(this.heap.start / TWO32) : 1;
    this.hiLast = this.heap ? Math.floor((this.heap.end - 1) / TWO32) : 0;
    this.log = this.heap ? { holders: [], values: [] } : undefined;
  }

  /** Records `value` held at `holder` when it points into the heap (true), up to MAX_HEAP_POINTERS of them. */
  take(value: number, holder: number): boolean {
    if (!this.log || value < this.heap!.start || value >= this.heap!.end) return false;
    if (this.log.values.length >= MAX_HEAP_POINTERS) this.log = undefined;
    else {
      this.log.values.push(value);
      this.log.holders.push(holder);
    }
    return true;
  }

  result(): HeapPointers | undefined {
    return this.log;
  }
}

