// A fast first test for the census passes over a process's memory: whether a 64-bit word may lie in one of a set
// of address ranges, by one bit per 64 KiB block the ranges touch (typed arrays only: a few nanoseconds a word).

const BLOCK = 65536;
/** High halves of user-space addresses (x86-64: 47 bits, with 5-level paging 56; beyond the table, no filter). */
export const HIGH_HALVES = 1 << 15;
/** Past this many distinct high halves the filter lets every word through (it answers "maybe" or a true "no"). */
const MAX_PAGES = 64;
const WORDS_PER_PAGE = BLOCK / 32;

/**
 * The 64 KiB blocks that `ranges` touch. A word (its 32-bit halves lo, hi) can be inside a range only when
 * `maybe(lo, hi)`; callers test that first and the exact ranges after. `page[hi]` is the offset of the bits of
 * that high half in `bits` (-1: no range there), kept as public fields so a hot loop can inline the test.
 */
export class BlockFilter {
  readonly page = new Int32Array(HIGH_HALVES).fill(-1);
  readonly bits: Uint32Array;
  /** True when the filter could not be built (a range beyond the table, too many high halves): every word passes. */
  readonly all: boolean;

  constructor(ranges: Iterable<{ start: number; end: number }>) {
    const blocks: number[] = [];
    let all = false;
    const highs = new Map<number, number>();
    for (const r of ranges) {
      if (r.end <= r.start) continue;
      const first = Math.floor(r.start / BLOCK);
      const last = Math.floor((r.end - 1) / BLOCK);
      if (last >= HIGH_HALVES * BLOCK || last - first > MAX_PAGES * BLOCK) all = true;
      for (let b = first; !all && b <= last; b++) {
        const hi = Math.floor(b / BLOCK);
        if (!highs.has(hi)) highs.set(hi, highs.size * WORDS_PER_PAGE);
        if (highs.size > MAX_PAGES) all = true;
        blocks.push(b);
      }
      if (all) break;
    }
    this.all = all;
    this.bits = new Uint32Array(all ? 0 : highs.size * WORDS_PER_PAGE);
    if (all) return;
    for (const [hi, offset] of highs) this.page[hi] = offset;
    for (const b of blocks) {
      const lo = b % BLOCK;
      this.bits[highs.get(Math.floor(b / BLOCK))! + (lo >>> 5)] |= 1 << (lo & 31);
    }
  }

  /** Whether a word with halves `lo`, `hi` may be inside one of the ranges (false: it is in none). */
  maybe(lo: number, hi: number): boolean {
    if (this.all) return true;
    if (hi >= HIGH_HALVES) return false;
    const p = this.page[hi];
    if (p < 0) return false;
    const b = lo >>> 16;
    return (this.bits[p + (b >>> 5)] & (1 << (b & 31))) !== 0;
  }
}
