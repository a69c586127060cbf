// The PlanMigration request's work, apart from the LSP plumbing: its parameters checked against the planner's
// rules (those of `pygration plan`), the read-only dirty-page sampling and the plan attached to a copy of the
// process's live report (native/src/plan: sampleDirtyPages, attachMigrationPlan — the CLI's own steps).

import { attachMigrationPlan, parseRate, PLAN_DEFAULTS, sampleDirtyPages, type AnalysisReport, type Catalog } from '../../native/src';
import type { PlanMigrationParams } from './protocol';

/** The longest sampling the request accepts (the process is read every interval meanwhile). */
export const MAX_PLAN_SECONDS = 600;

export interface PlanRunOptions {
  seconds: number;
  intervalSeconds: number;
  maxScanBytes: number;
  /** Bits per second, when given. */
  bandwidth?: number;
  downtimeTarget: number;
  target?: string;
}

/** Checks the request's parameters; a sentence naming the wrong one when they are not usable. */
export function planRunOptions(params: PlanMigrationParams, catalog: Catalog): { ok: true; options: PlanRunOptions } | { ok: false; message: string } {
  const bad = (message: string) => ({ ok: false as const, message });
  const seconds = params.seconds ?? PLAN_DEFAULTS.seconds;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_PLAN_SECONDS) {
    return bad(`The sampling time must be more than 0 and at most ${MAX_PLAN_SECONDS} seconds (got ${JSON.stringify(params.seconds)}).`);
  }
  // The CLI's 500 ms, or ten intervals when the sampling is shorter than ten of those.
  const intervalMs = params.intervalMs ?? Math.max(10, Math.min(PLAN_DEFAULTS.intervalMs, seconds * 100));
  if (typeof intervalMs !== 'number' || !Number.isFinite(intervalMs) || intervalMs < 10) return bad(`The sampling interval must be at least 10 ms (got ${JSON.stringify(params.intervalMs)}).`);
  if (intervalMs / 1000 > seconds) return bad(`The sampling interval (${intervalMs} ms) must not exceed the sampling time (${seconds} s).`);
  const maxScanMb = params.maxScanMb ?? PLAN_DEFAULTS.maxScanMb;
  if (typeof maxScanMb !== 'number' || !Number.isFinite(maxScanMb) || maxScanMb <= 0) return bad(`The scan budget must be a positive number of MiB (got ${JSON.stringify(params.maxScanMb)}).`);
  const maxDowntimeMs = params.maxDowntimeMs ?? PLAN_DEFAULTS.maxDowntimeMs;
  if (typeof maxDowntimeMs !== 'number' || !Number.isFinite(maxDowntimeMs) || maxDowntimeMs <= 0) {
    return bad(`The downtime target must be a positive number of milliseconds (got ${JSON.stringify(params.maxDowntimeMs)}).`);
  }
  let bandwidth: number | undefined;
  if (params.bandwidth !== undefined && params.bandwidth.trim() !== '') {
    try {
      bandwidth = parseRate(params.bandwidth.trim());
    } catch (e) {
      return bad(`The bandwidth ${JSON.stringify(params.bandwidth)} is not a rate: ${(e as Error).message}`);
    }
  }
  const target = params.target?.trim() || undefined;
  if (target !== undefined && !catalog.instances.some((i) => i.name === target)) return bad(`The instance type ${target} is not in the catalog ${catalog.name}.`);
  return {
    ok: true,
    options: { seconds, intervalSeconds: intervalMs / 1000, maxScanBytes: maxScanMb * 1048576, bandwidth, downtimeTarget: maxDowntimeMs / 1000, target },
  };
}

/**
 * Samples `pid` read-only (page contents compared; the soft-dirty bits are never cleared from the editor)
 * and returns a copy of `report` with the migration plan attached. Throws the sampler's NativeError
 * ('gone', 'permission') or CancelledError.
 */
export async function planLiveProcess(
  pid: number,
  report: AnalysisReport,
  options: PlanRunOptions,
  context: { catalog: Catalog; isCancelled: () => boolean; onProgress?: (message: string) => void },
): Promise<AnalysisReport> {
  const sampling = await sampleDirtyPages(pid, {
    method: 'content',
    seconds: options.seconds,
    intervalSeconds: options.intervalSeconds,
    maxScanBytes: options.maxScanBytes,
    isCancelled: context.isCancelled,
    onProgress: context.onProgress,
  });
  const planned: AnalysisReport = { ...report, notes: [...report.notes] };
  delete planned.migration;
  attachMigrationPlan(sampling, planned, {
    catalog: context.catalog,
    bandwidth: options.bandwidth,
    target: options.target,
    downtimeTarget: options.downtimeTarget,
  });
  return planned;
}
