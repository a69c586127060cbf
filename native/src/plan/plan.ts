// The migration plan: from a dirty-page sampling, the predictor and the simulators at a bandwidth, the
// strategy to use (stop-and-copy, pre-copy, post-copy) against a downtime target, and the same estimate for
// every (compatible) instance type at its own bandwidth: the MigrationEstimate of the report.

import type { InstanceVerdict } from '../report';
import { dirtyModel, forecastRate, type DirtyModel } from './predictor';
import { estimatePostCopy, simulatePreCopy } from './simulator';
import type { DirtySampling } from './sampler';
import { formatDuration, formatRate } from '../units';
import { bandwidthSourceText, instanceBandwidth, singleFlowCap, type BandwidthOverrides } from './bandwidth';
import type { InstanceMigrationEstimate, MigrationEstimate, Strategy, StrategyEstimate } from './types';

/** QEMU's default migration downtime limit (migrate-set-parameters downtime-limit), used as our default target. */
export const DEFAULT_DOWNTIME_TARGET = 0.3;

export interface PlanOptions {
  /** The migration link's bandwidth in bits/s when known (--bandwidth); caps every type's figure. */
  bandwidth?: number;
  overrides?: BandwidthOverrides;
  /** Plan for this instance type: its bandwidth (and compatibility) set the main estimate. */
  target?: string;
  /** Pygration's verdicts: per-instance estimates are given for the compatible types only. */
  verdicts?: readonly InstanceVerdict[];
  /** Instance names to estimate when no verdicts are given (default: every type of the network data). */
  instanceNames?: readonly string[];
  /** Downtime target in seconds (default 0.3 s). */
  downtimeTarget?: number;
  /** Fixed freeze/restore time added to every stop, seconds (default 0: not modeled). */
  stopOverhead?: number;
  maxRounds?: number;
  /** Whether CRIU's pre-dump --track-mem can work on the source (needs soft-dirty tracking in the kernel). */
  trackMemAvailable: boolean;
}

/** Pages a migration must copy: anonymous memory, resident or swapped (file-backed clean pages are re-read from files). */
export function transferPages(sampling: DirtySampling): number {
  const m = sampling.memory.end;
  return Math.ceil((m.anonymous + m.swap) / sampling.pageSize);
}

/**
 * An order-of-magnitude estimate of the CPU/device state CRIU writes besides memory: per thread its
 * registers and FPU/XSAVE area (16 KiB covers AVX-512; AMX tiles need more), per mapping and per open
 * file a small record, plus the process's fixed records. Not measured; small next to memory.
 */
export function estimateStateBytes(sampling: DirtySampling): number {
  return 64 * 1024 + sampling.threads * 16 * 1024 + sampling.mappings * 256 + sampling.openFiles * 512;
}

export interface StrategyInput {
  memoryPages: number;
  pageSize: number;
  stateBytes: number;
  model: Pick<DirtyModel, 'dirtied'>;
  downtimeTarget: number;
  stopOverhead: number;
  maxRounds?: number;
  trackMemAvailable: boolean;
}

/**
 * The three strategies at one bandwidth and the recommendation: stop-and-copy when copying everything
 * stopped meets the target; else pre-copy when its best stop meets it (and CRIU can track memory here);
 * else post-copy, whose stop sends only the state.
 */
export function estimateStrategy(input: StrategyInput, bandwidthBits: number): StrategyEstimate {
  const B = bandwidthBits / 8;
  const common = { memoryPages: input.memoryPages, pageSize: input.pageSize, bandwidth: B, stateBytes: input.stateBytes, dirtied: input.model.dirtied, stopOverheadSeconds: input.stopOverhead };
  const pre = simulatePreCopy({ ...common, maxRounds: input.maxRounds });
  const post = estimatePostCopy(common);
  const stop = pre.stops[0];
  const target = input.downtimeTarget;
  let recommendation: Strategy;
  let why: string;
  const preText = `${pre.best.afterRounds} pre-copy round${pre.best.afterRounds === 1 ? ' leaves' : 's leave'} ${pre.best.pagesLeft} page${pre.best.pagesLeft === 1 ? '' : 's'} (downtime ${formatDuration(pre.best.downtimeSeconds)})`;
  if (stop.downtimeSeconds <= target) {
    recommendation = 'stop-and-copy';
    why = `Copying all memory with the process stopped takes ${formatDuration(stop.downtimeSeconds)}, within the ${formatDuration(target)} target: no rounds needed.`;
  } else if (pre.best.downtimeSeconds <= target && input.trackMemAvailable) {
    recommendation = 'pre-copy';
    why = `Copying everything stopped would take ${formatDuration(stop.downtimeSeconds)}; ${preText}, within the ${formatDuration(target)} target.`;
  } else {
    recommendation = 'post-copy';
    const preWhy =
      pre.best.downtimeSeconds <= target && !input.trackMemAvailable
        ? `${preText}, but CRIU's pre-dump --track-mem needs soft-dirty tracking, which this kernel lacks`
        : pre.diverges
          ? `the process dirties memory as fast as it can be sent, so pre-copy cannot shrink the stop (${preText})`
          : `${preText}, over the ${formatDuration(target)} target`;
    why = `Copying everything stopped would take ${formatDuration(stop.downtimeSeconds)}; ${preWhy}. Post-copy stops only to send the CPU state (${formatDuration(post.downtimeSeconds)}), then serves about ${Math.round(post.remoteFaults)} page faults over the network (more if it also reads pages it does not write).`;
  }
  return {
    bandwidthBitsPerSecond: bandwidthBits,
    stopAndCopy: { downtimeSeconds: stop.downtimeSeconds, totalSeconds: stop.totalSeconds },
    preCopy: {
      rounds: pre.rounds.map((r) => ({ pages: r.pages, seconds: r.seconds, dirtied: r.dirtied })),
      bestRounds: pre.best.afterRounds,
      pagesLeft: pre.best.pagesLeft,
      downtimeSeconds: pre.best.downtimeSeconds,
      totalSeconds: pre.best.totalSeconds,
      end: pre.end,
      diverges: pre.diverges,
    },
    postCopy: {
      downtimeSeconds: post.downtimeSeconds,
      totalSeconds: post.totalSeconds,
      remoteFaults: post.remoteFaults,
      faultFraction: post.writtenPages > 0 ? post.remoteFaults / post.writtenPages : 0,
    },
    recommendation,
    why,
  };
}

/** The downtime and total time of the recommended strategy. */
export function chosen(e: StrategyEstimate): { downtimeSeconds: number; totalSeconds: number } {
  switch (e.recommendation) {
    case 'stop-and-copy':
      return e.stopAndCopy;
    case 'pre-copy':
      return e.preCopy;
    case 'post-copy':
      return e.postCopy;
  }
}

/** Builds the report's MigrationEstimate from a sampling. */
export function planMigration(sampling: DirtySampling, options: PlanOptions): MigrationEstimate {
  const model = dirtyModel(sampling);
  const overrides = options.overrides ?? {};
  const downtimeTarget = options.downtimeTarget ?? DEFAULT_DOWNTIME_TARGET;
  const input: StrategyInput = {
    memoryPages: transferPages(sampling),
    pageSize: sampling.pageSize,
    stateBytes: estimateStateBytes(sampling),
    model,
    downtimeTarget,
    stopOverhead: options.stopOverhead ?? 0,
    maxRounds: options.maxRounds,
    trackMemAvailable: options.trackMemAvailable,
  };
  const memo = new Map<number, StrategyEstimate>();
  const at = (bits: number): StrategyEstimate => {
    let e = memo.get(bits);
    if (!e) {
      e = estimateStrategy(input, bits);
      memo.set(bits, e);
    }
    return e;
  };

  const { bits: planBits, source: bandwidthSource } = planBandwidth(options, overrides);
  const perInstance = perInstanceEstimates(options, overrides, at);
  const span = sampling.durations.reduce((a, b) => a + b, 0);
  const totalDirty = sampling.total.reduce((a, b) => a + b, 0);
  const peak = sampling.total.reduce((m, d, i) => Math.max(m, sampling.durations[i] > 0 ? d / sampling.durations[i] : 0), 0);
  const notes = planNotes(sampling, options);
  return {
    schema: 1,
    pid: sampling.pid,
    method: sampling.method,
    sampledSeconds: span,
    intervalSeconds: sampling.intervalSeconds,
    pageSize: sampling.pageSize,
    sampledFraction: sampling.sampledFraction,
    memory: {
      residentBytes: sampling.memory.end.rss,
      anonymousBytes: sampling.memory.end.anonymous,
      swapBytes: sampling.memory.end.swap,
      transferBytes: input.memoryPages * sampling.pageSize,
    },
    dirty: { pagesPerSecond: span > 0 ? totalDirty / span : 0, peakPagesPerSecond: peak, distinctPages: sampling.distinct },
    regions: model.regions
      .filter((r) => r.meanRate > 0)
      .sort((a, b) => b.meanRate - a.meanRate)
      .map((r) => ({
        label: r.label,
        sizeBytes: r.sizeBytes,
        pagesPerSecond: r.meanRate,
        variation: r.variation,
        model: r.model,
        forecastPagesPerSecond: forecastRate(r, 0),
      })),
    stateBytes: input.stateBytes,
    downtimeTargetSeconds: downtimeTarget,
    plan: { ...at(planBits), bandwidthSource },
    perInstance,
    bandwidthSource: bandwidthSourceText(overrides),
    cost: {
      scans: sampling.cost.scans,
      meanScanSeconds: sampling.cost.scanSeconds.length ? sampling.cost.scanSeconds.reduce((a, b) => a + b, 0) / sampling.cost.scanSeconds.length : 0,
      maxScanSeconds: sampling.cost.scanSeconds.reduce((a, b) => Math.max(a, b), 0),
      cpuSeconds: sampling.cost.cpuSeconds,
      bytesRead: sampling.cost.bytesRead + sampling.cost.pagemapBytes,
    },
    notes,
  };
}

/** The main estimate's bandwidth and where it comes from: the user's, else the target type's, else one TCP flow's cap. */
function planBandwidth(options: PlanOptions, overrides: NonNullable<PlanOptions['overrides']>): { bits: number; source: string } {
  let planBits: number;
  let bandwidthSource: string;
  const flow = singleFlowCap(overrides);
  if (options.bandwidth !== undefined) {
    planBits = options.bandwidth;
    bandwidthSource = `--bandwidth ${formatRate(planBits)}`;
    if (options.target) {
      const ib = instanceBandwidth(options.target, overrides, options.bandwidth);
      if (ib.bitsPerSecond !== null && ib.bitsPerSecond < planBits) {
        planBits = ib.bitsPerSecond;
        bandwidthSource = `${options.target}: ${ib.network}${ib.flowCapped ? `, capped at ${formatRate(planBits)} for one TCP flow` : ''}`;
      }
    }
  } else if (options.target && instanceBandwidth(options.target, overrides).bitsPerSecond !== null) {
    const ib = instanceBandwidth(options.target, overrides);
    planBits = ib.bitsPerSecond!;
    bandwidthSource = `${options.target}: ${ib.network}${ib.flowCapped ? `, capped at ${formatRate(planBits)} for one TCP flow` : ''}${ib.lowerBound ? ' (a burst figure: times are lower bounds)' : ''}`;
  } else {
    planBits = flow ?? 10e9;
    bandwidthSource =
      flow !== null
        ? `${formatRate(planBits)}: the most one TCP flow gets between EC2 instances outside a cluster placement group (give --bandwidth or --target for yours)`
        : `${formatRate(planBits)}: an assumed link (give --bandwidth or --target for yours)`;
  }
  return { bits: planBits, source: bandwidthSource };
}

/** The estimate per compatible instance type (or per type named), at that type's bandwidth. */
function perInstanceEstimates(options: PlanOptions, overrides: NonNullable<PlanOptions['overrides']>, at: (bits: number) => StrategyEstimate): Record<string, InstanceMigrationEstimate> {
  const names = options.verdicts
    ? options.verdicts.filter((v) => v.compatible).map((v) => v.name)
    : (options.instanceNames ?? []);
  const perInstance: Record<string, InstanceMigrationEstimate> = {};
  for (const name of names) {
    const ib = instanceBandwidth(name, overrides, options.bandwidth);
    const entry: InstanceMigrationEstimate = {
      bandwidthBitsPerSecond: ib.bitsPerSecond,
      network: ib.network,
      basis: ib.basis,
      flowCapped: ib.flowCapped,
      lowerBound: ib.lowerBound,
    };
    if (ib.bitsPerSecond !== null) {
      const e = at(ib.bitsPerSecond);
      entry.strategy = e.recommendation;
      const c = chosen(e);
      entry.downtimeSeconds = c.downtimeSeconds;
      entry.totalSeconds = c.totalSeconds;
      if (e.recommendation === 'pre-copy') entry.preCopyRounds = e.preCopy.bestRounds;
    }
    perInstance[name] = entry;
  }
  return perInstance;
}

/** What the plan cannot see or assumes: the sampling's notes, the content method, soft-dirty support, CRIU's own costs, shared memory. */
function planNotes(sampling: DirtySampling, options: PlanOptions): string[] {
  const notes = [...sampling.notes];
  if (sampling.method === 'content') {
    notes.push(
      'Dirty pages were found by comparing page contents (read-only). Writes that leave a page as it was are not seen, so the rate is a lower bound of what CRIU\'s soft-dirty tracking would resend; pass --clear-soft-dirty to measure with soft-dirty bits.',
    );
  }
  if (!options.trackMemAvailable) {
    notes.push('This kernel does not track soft-dirty bits, so CRIU cannot do iterative pre-copy here (pre-dump --track-mem fails); pre-copy is simulated for comparison but not recommended.');
  }
  notes.push(
    'Downtimes are the time to send what must move while the process is stopped; CRIU\'s own freezing, dumping and restoring add to them and are not modeled (measure them with CRIU on your machines).',
  );
  if (sampling.memory.end.pssShmem > 0) {
    notes.push(`The process maps ${Math.round(sampling.memory.end.pssShmem / 1048576)} MiB of shared memory (proportional share), not counted in the memory to transfer.`);
  }
  return notes;
}

