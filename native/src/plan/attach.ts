// The planner's last step, shared by the CLI's `pygration plan` and the language server's PlanMigration
// request: from a dirty-page sampling and (when there is one) the compatibility report of the same process,
// the MigrationEstimate (compatible types only, this kernel's --track-mem support) and the CRIU restore advice.

import type { Catalog } from '../catalog/catalog';
import { criuAdvice, type CriuAdvice } from '../catalog/compat';
import type { AnalysisReport } from '../report';
import type { BandwidthOverrides } from './bandwidth';
import { DEFAULT_DOWNTIME_TARGET, planMigration } from './plan';
import { softDirtySupport } from '../space/procfs';
import type { DirtySampling } from './sampler';
import type { MigrationEstimate } from './types';

/** The defaults of `pygration plan` (and of the editor's settings). */
export const PLAN_DEFAULTS = {
  seconds: 5,
  intervalMs: 500,
  maxScanMb: 64,
  maxDowntimeMs: DEFAULT_DOWNTIME_TARGET * 1000,
} as const;

export interface AttachPlanOptions {
  /** The catalog the report's verdicts come from (its names are estimated when there is no report). */
  catalog: Catalog;
  /** The migration link's bandwidth, bits per second (caps every type's figure). */
  bandwidth?: number;
  overrides?: BandwidthOverrides;
  /** Plan for this instance type. */
  target?: string;
  /** Downtime target, seconds (default 0.3). */
  downtimeTarget?: number;
  /** Notes to append to the estimate's (e.g. why the compatibility analysis is missing). */
  notes?: readonly string[];
}

/**
 * Builds the migration estimate for `sampling` and, when `report` is given, attaches it to the report
 * (`report.migration`, and `report.criuAdvice` when the report has none): per-instance estimates are then
 * given for the types the report finds compatible. Without a report every catalog type is estimated.
 */
export function attachMigrationPlan(
  sampling: DirtySampling,
  report: AnalysisReport | undefined,
  options: AttachPlanOptions,
): { estimate: MigrationEstimate; advice?: CriuAdvice } {
  const estimate = planMigration(sampling, {
    bandwidth: options.bandwidth,
    overrides: options.overrides ?? {},
    target: options.target,
    verdicts: report?.instances.verdicts,
    instanceNames: options.catalog.instances.map((i) => i.name),
    downtimeTarget: options.downtimeTarget,
    trackMemAvailable: softDirtySupport().supported,
  });
  if (options.notes) estimate.notes.push(...options.notes);
  const advice = report ? criuAdvice(report.instances, options.target) : undefined;
  if (report) {
    report.migration = estimate;
    if (advice && !report.criuAdvice) report.criuAdvice = advice;
  }
  return { estimate, advice };
}
