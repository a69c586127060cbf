// One binary search for the engine's sorted tables (segments, function extents, FDEs, data chunks): the first
// index whose element lies past a key, from which "the last element at or before it" follows.

/**
 * The first index in [0, n) for which `past(i)` holds, n when none does. `past` must be false for a prefix
 * of the range and true for the rest (a key compared with sorted elements: `(i) => starts[i] > key`).
 */
export function upperBound(n: number, past: (i: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (past(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The element of sorted, non-overlapping [start, end) ranges that contains `at`, if any. */
export function rangeContaining<R extends { start: number; end: number }>(ranges: readonly R[], at: number): R | undefined {
  const k = upperBound(ranges.length, (i) => ranges[i].start > at) - 1;
  return k >= 0 && at < ranges[k].end ? ranges[k] : undefined;
}
