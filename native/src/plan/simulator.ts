// The migration simulators: iterative pre-copy (round 0 sends all memory, each next round what the previous
// one let the process dirty; the stop-and-copy after the round that leaves the fewest pages) and post-copy
// (CPU/device state first, then pages pushed in the background while faults fetch the ones touched first).

export interface PreCopyInput {
  /** Pages the first round sends (the process's anonymous memory). */
  memoryPages: number;
  pageSize: number;
  /** Bytes per second. */
  bandwidth: number;
  /** CPU and device state sent while the process is stopped, bytes. */
  stateBytes: number;
  /** Predicted distinct pages dirtied in a window of `seconds` starting `start` seconds from now. */
  dirtied: (start: number, seconds: number) => number;
  /** Live rounds at most, the first full copy included (default 30). */
  maxRounds?: number;
  /** Fixed time added to every stop (freeze, restore), seconds (default 0). */
  stopOverheadSeconds?: number;
}

export interface PreCopyRound {
  index: number;
  /** Seconds from the start of the migration. */
  start: number;
  pages: number;
  seconds: number;
  /** Pages dirtied while this round was sent (rounded up, at most the memory). */
  dirtied: number;
}

/** Stopping after `afterRounds` live rounds (0 = plain stop-and-copy of everything). */
export interface StopOption {
  afterRounds: number;
  pagesLeft: number;
  downtimeSeconds: number;
  totalSeconds: number;
}

export interface PreCopyResult {
  rounds: PreCopyRound[];
  /** stops[k] = stopping after k live rounds, k = 0..rounds.length. */
  stops: StopOption[];
  /** The stop with the fewest pages left among k ≥ 1 (ties: the earliest). */
  best: StopOption;
  end: 'clean' | 'converged' | 'max-rounds';
  /** The first round's dirtying already reaches the whole memory: pre-copy cannot shrink the stop. */
  diverges: boolean;
}

function checkInput(memoryPages: number, pageSize: number, bandwidth: number, stateBytes: number): void {
  if (!(memoryPages >= 0) || !(pageSize > 0) || !(bandwidth > 0) || !(stateBytes >= 0)) {
    throw new RangeError(`simulation needs memory ≥ 0, page size > 0, bandwidth > 0, state ≥ 0 (got ${memoryPages}, ${pageSize}, ${bandwidth}, ${stateBytes})`);
  }
}

/**
 * Simulates pre-copy. Round i sends p_i pages in p_i·P/B seconds (p_0 = M); the process dirties
 * d_i = ⌈dirtied(start_i, seconds_i)⌉ (≤ M) meanwhile, and p_{i+1} = d_i. Stopping after k ≥ 1 rounds
 * leaves d_{k-1} pages: downtime = (d_{k-1}·P + S)/B + overhead, total = Σ_{i<k} seconds_i + downtime.
 * Rounds stop when nothing is left, when a round leaves no fewer pages than the one before, or at the cap.
 */
export function simulatePreCopy(input: PreCopyInput): PreCopyResult {
  const { memoryPages: M, pageSize: P, bandwidth: B, stateBytes: S } = input;
  checkInput(M, P, B, S);
  const maxRounds = Math.max(1, input.maxRounds ?? 30);
  const overhead = input.stopOverheadSeconds ?? 0;
  const downtime = (pages: number) => (pages * P + S) / B + overhead;
  const rounds: PreCopyRound[] = [];
  const stops: StopOption[] = [{ afterRounds: 0, pagesLeft: M, downtimeSeconds: downtime(M), totalSeconds: downtime(M) }];
  let pages = M;
  let start = 0;
  let end: PreCopyResult['end'] = 'max-rounds';
  for (let i = 0; i < maxRounds; i++) {
    const seconds = (pages * P) / B;
    const raw = input.dirtied(start, seconds);
    const dirtied = Math.min(M, Math.ceil(Number.isFinite(raw) && raw > 0 ? raw - 1e-9 : 0));
    rounds.push({ index: i, start, pages, seconds, dirtied });
    start += seconds;
    stops.push({ afterRounds: i + 1, pagesLeft: dirtied, downtimeSeconds: downtime(dirtied), totalSeconds: start + downtime(dirtied) });
    if (dirtied === 0) {
      end = 'clean';
      break;
    }
    if (i > 0 && dirtied >= pages) {
      end = 'converged';
      break;
    }
    pages = dirtied;
  }
  let best = stops[1];
  for (const s of stops.slice(2)) if (s.pagesLeft < best.pagesLeft) best = s;
  return { rounds, stops, best, end, diverges: rounds.length > 0 && rounds[0].dirtied >= M && M > 0 };
}

export interface PostCopyInput {
  memoryPages: number;
  pageSize: number;
  bandwidth: number;
  stateBytes: number;
  /** Predicted distinct pages first written within `seconds` after the restore (dirtied(0, t)). */
  dirtied: (start: number, seconds: number) => number;
  stopOverheadSeconds?: number;
  /** Integration steps (default 1000). */
  steps?: number;
}

export interface PostCopyResult {
  downtimeSeconds: number;
  totalSeconds: number;
  /** Seconds the background transfer of the pages takes, after the state. */
  pagesSeconds: number;
  remoteFaults: number;
  /** Pages first written during the page transfer (the written working set). */
  writtenPages: number;
}

/**
 * Post-copy: the stop sends only the state (downtime = S/B + overhead); the pages follow in
 * T = M·P/B seconds. A page first written at time t after the restore is still remote with probability
 * 1 - t/T when pages arrive in an order unrelated to the accesses, so the expected remote faults are
 * ∫₀ᵀ D'(t)(1 - t/T) dt with D(t) the distinct pages written within t (integrated with the midpoint rule).
 */
export function estimatePostCopy(input: PostCopyInput): PostCopyResult {
  const { memoryPages: M, pageSize: P, bandwidth: B, stateBytes: S } = input;
  checkInput(M, P, B, S);
  const downtime = S / B + (input.stopOverheadSeconds ?? 0);
  const T = (M * P) / B;
  const steps = Math.max(1, input.steps ?? 1000);
  let faults = 0;
  let prev = 0;
  for (let j = 1; j <= steps && T > 0; j++) {
    const t = (T * j) / steps;
    const d = Math.min(M, Math.max(prev, input.dirtied(0, t)));
    const mid = (T * (j - 0.5)) / steps;
    faults += (d - prev) * (1 - mid / T);
    prev = d;
  }
  return { downtimeSeconds: downtime, totalSeconds: downtime + T, pagesSeconds: T, remoteFaults: faults, writtenPages: prev };
}
