// The migration planner's result as it travels in the analysis report (`AnalysisReport.migration`): memory,
// dirty-page rate, the pre-copy/post-copy estimates, the recommendation and per-instance-type estimates.
// Pure types only (the webview imports them too).

/** How dirty pages were measured. */
export type DirtyMethod =
  /** The kernel's soft-dirty bits (opt-in: clearing them writes "4" to /proc/PID/clear_refs), as CRIU does. */
  | 'soft-dirty'
  /** Read-only: page contents hashed every interval; a page counts when its content changed. */
  | 'content';

export type Strategy = 'stop-and-copy' | 'pre-copy' | 'post-copy';

/** How a region's next rounds are predicted (see docs/planner.md). */
export type RegionModel =
  /** Dirtied nothing while sampled. */
  | 'idle'
  /** Steady rate: least-squares trend of the per-interval rates, damped (held) beyond the sampled span. */
  | 'trend'
  /** Bursty rate: exponentially weighted mean plus one exponentially weighted standard deviation. */
  | 'ewma';

export interface RegionSummary {
  /** `[heap]`, `[stack]`, a file path (its writable data), `anon@0x7f…` (a large anonymous mapping), ... */
  label: string;
  sizeBytes: number;
  /** Mean dirty pages per second while sampled. */
  pagesPerSecond: number;
  /** Coefficient of variation of the per-interval rates (0 = perfectly steady). */
  variation: number;
  model: RegionModel;
  /** The predicted rate for the next rounds, pages per second. */
  forecastPagesPerSecond: number;
}

export interface PreCopyRoundSummary {
  /** Pages sent in this round (round 0 sends all memory). */
  pages: number;
  seconds: number;
  /** Pages predicted to be dirtied while this round is sent (what the next round, or the stop, must send). */
  dirtied: number;
}

export interface PreCopySummary {
  rounds: PreCopyRoundSummary[];
  /** Number of live rounds before the stop-and-copy that leaves the fewest pages (≥ 1). */
  bestRounds: number;
  pagesLeft: number;
  downtimeSeconds: number;
  totalSeconds: number;
  /** Why the rounds stopped: nothing left, no further progress, or the round cap. */
  end: 'clean' | 'converged' | 'max-rounds';
  /** True when the dirty rate keeps up with the bandwidth (the stop copies as much as the first round). */
  diverges: boolean;
}

export interface PostCopySummary {
  /** CPU and device state sent while the process is stopped. */
  downtimeSeconds: number;
  /** Until every page has arrived: (memory + state) / bandwidth. */
  totalSeconds: number;
  /** Expected page faults served over the network (written pages only: a lower bound). */
  remoteFaults: number;
  /** remoteFaults as a fraction of the pages written during the transfer. */
  faultFraction: number;
}

export interface StrategyEstimate {
  bandwidthBitsPerSecond: number;
  stopAndCopy: { downtimeSeconds: number; totalSeconds: number };
  preCopy: PreCopySummary;
  postCopy: PostCopySummary;
  recommendation: Strategy;
  /** One or two sentences: why this strategy. */
  why: string;
}

/** Where a type's bandwidth figure comes from. */
export type BandwidthBasis =
  /** AWS publishes a fixed figure ("25 Gigabit"). */
  | 'published'
  /** AWS publishes a burst ceiling ("Up to 10 Gigabit"): sustained bandwidth is lower once credits run out. */
  | 'burst'
  /** The user's override (per type, family, category or for all types). */
  | 'override'
  /** No figure: AWS publishes only a category ("Moderate") or the type is not in the network data. */
  | 'unknown';

export interface InstanceMigrationEstimate {
  /** The bandwidth used for this type, bits per second, after the single-flow cap; null when unknown. */
  bandwidthBitsPerSecond: number | null;
  /** The type's published network performance, e.g. `Up to 10 Gigabit`, or `override`. */
  network: string;
  basis: BandwidthBasis;
  /** True when the single TCP flow limit, not the type's figure, set the bandwidth. */
  flowCapped: boolean;
  strategy?: Strategy;
  downtimeSeconds?: number;
  totalSeconds?: number;
  /** Live pre-copy rounds before the stop, when the strategy is pre-copy. */
  preCopyRounds?: number;
  /** True when the figure is a burst ceiling: the real downtime is at least this. */
  lowerBound: boolean;
}

/** One CRIU command of the plan (`pygration plan` prints them; `criuSteps` of the JSON). */
export interface CriuStep {
  /** Where to run it. */
  host: 'source' | 'destination';
  command: string;
  /** What it does, one sentence. */
  comment?: string;
}

export interface MigrationEstimate {
  schema: 1;
  pid: number;
  method: DirtyMethod;
  sampledSeconds: number;
  intervalSeconds: number;
  pageSize: number;
  /** Fraction of resident writable pages whose content was compared (1 unless the scan budget was hit). */
  sampledFraction: number;
  memory: {
    residentBytes: number;
    anonymousBytes: number;
    swapBytes: number;
    /** What a migration must copy: anonymous (private) memory, resident or swapped, plus shared memory. */
    transferBytes: number;
  };
  dirty: {
    /** Mean dirty pages per second over the sampling. */
    pagesPerSecond: number;
    /** The highest single-interval rate. */
    peakPagesPerSecond: number;
    /** Distinct pages dirtied over the whole sampled span. */
    distinctPages: number;
  };
  regions: RegionSummary[];
  /** Estimated CPU/device state (registers, FPU/XSAVE areas, kernel objects), bytes. */
  stateBytes: number;
  downtimeTargetSeconds: number;
  /** The estimate at the plan's bandwidth (the --bandwidth given, the --target's, or the single-flow cap). */
  plan: StrategyEstimate & { bandwidthSource: string };
  /** Per instance type name (compatible types when a compatibility verdict is known). */
  perInstance: Record<string, InstanceMigrationEstimate>;
  /** The bandwidth data: where the figures come from and how bursts and flows are treated. */
  bandwidthSource: string;
  /** Sampling cost: wall and CPU time of the scans, bytes read. */
  cost: { scans: number; meanScanSeconds: number; maxScanSeconds: number; cpuSeconds: number; bytesRead: number };
  notes: string[];
  /**
   * The CRIU commands that carry out the recommendation, as `pygration plan` prints them (set by the plan
   * command; absent when the target is refused). Absent in reports of older versions.
   */
  criuSteps?: CriuStep[];
}
