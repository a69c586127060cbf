// The `criu restore` command line for one chosen target instance type of a report: the restore step of the
// plan's CRIU commands (the strategy the planner picked for that type, else stop-and-copy), with the
// --cpu-cap flag our verdict allows where CRIU's own check would refuse that type. Pure.

import { criuAdvice, criuCommands, featureLabel, type AnalysisReport, type InstanceVerdict, type Strategy } from '../../../native/src';

export type RestoreLine =
  | {
      ok: true;
      /** The line to paste on the destination host. */
      command: string;
      /** The strategy whose restore step it is. */
      strategy: Strategy;
      /** Why the flags are there (from criuAdvice), when there are any. */
      why?: string;
    }
  | { ok: false; reason: string };

export interface RestoreLineOptions {
  /** The process has a controlling terminal: dump and restore need --shell-job. */
  shellJob?: boolean;
  /** Image directory (default: criuCommands' /var/lib/pygration/PID). */
  imagesDir?: string;
}

/** The restore line for `target`, or why there is none (not in the report, not a migration target). */
export function restoreLine(report: AnalysisReport, target: string, options: RestoreLineOptions = {}): RestoreLine {
  const verdict = report.instances.verdicts.find((v) => v.name === target);
  if (!verdict) return { ok: false, reason: `${target} is not an instance type of the catalog ${report.instances.catalog}.` };
  if (verdict.crossVendor) {
    return { ok: false, reason: `${target} has every feature the process needs, but its CPU is of another vendor: a restore there is not proven safe (see the instance view's cross-vendor note).` };
  }
  if (!verdict.compatible) {
    const missing = verdict.missing.map(featureLabel).join(', ');
    return { ok: false, reason: `${target} is not a migration target: it lacks ${missing || 'features the process needs'}.` };
  }
  const pid = report.target.pid;
  if (pid === undefined) return { ok: false, reason: 'The report names no process (it is not from a live analysis).' };
  const estimate = report.migration?.perInstance[target];
  const strategy: Strategy = estimate?.strategy ?? report.migration?.plan.recommendation ?? 'stop-and-copy';
  const advice = criuAdvice(report.instances, target);
  const steps = criuCommands({
    pid,
    strategy,
    preCopyRounds: estimate?.preCopyRounds ?? report.migration?.plan.preCopy.bestRounds,
    restoreFlags: advice?.flags,
    shellJob: options.shellJob,
    imagesDir: options.imagesDir,
  });
  const restore = steps.filter((s) => s.host === 'destination' && /^criu restore /.test(s.command)).at(-1);
  if (!restore) return { ok: false, reason: `No restore step in the ${strategy} commands.` };
  return { ok: true, command: restore.command, strategy, ...(advice ? { why: advice.why } : {}) };
}

/** The quick pick's rows: the compatible types first (those CRIU would refuse say so), then nothing else. */
export function restoreTargets(report: AnalysisReport): Array<{ name: string; description: string; verdict: InstanceVerdict }> {
  return report.instances.verdicts
    .filter((v) => v.compatible)
    .map((v) => ({
      name: v.name,
      description: `${v.cpu} · ${v.vcpu} vCPU${v.criu ? '' : ' · needs --cpu-cap=none (CRIU\u2019s own check refuses it)'}`,
      verdict: v,
    }));
}
