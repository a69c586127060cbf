// The `pygration plan` command: samples a live process's dirty pages (read-only, or with the opt-in
// --clear-soft-dirty), checks where it may go (the usual analysis), and prints the migration plan, the
// CRIU commands and the estimated downtime per compatible instance type (text, or the report with --json).

import type { analyzeProcess } from '../analyze';
import { type Catalog, defaultCatalog, loadCatalog } from '../catalog/catalog';
import { isNativeError } from '../errors';
import { UsageError, intOption, numberOption, parseArgs } from './args';
import { OUTPUT_VALUES, applyGate, hasGate, outputOptions } from './output';
import { formatExport } from '../export/formats';
import { Progress } from './progress';
import type { AnalysisReport } from '../report';
import { loadBandwidthOverrides, parseRate, type BandwidthOverrides } from '../plan/bandwidth';
import { criuCommands, hasControllingTerminal } from '../plan/criu';
import { PLAN_DEFAULTS, attachMigrationPlan } from '../plan/attach';
import { formatPlan } from '../plan/format';
import { requireSoftDirty, sampleDirtyPages } from '../plan/sampler';

export const PLAN_HELP = `  pygration plan --pid N [--seconds S] [--interval MS] [--bandwidth RATE] [--target TYPE] [--clear-soft-dirty] [--json | --format FORMAT]
      [--max-downtime MS] [--bandwidth-file FILE] [--single-flow RATE|none] [--max-scan-mb N] [--catalog FILE] [--no-analysis] [--count-masked] [--strict]
      [--require-compatible TYPE[,TYPE]] [--max-level vN]
      Migration planner: samples the process's dirty pages for S seconds (default 5) every MS ms (default 500),
      predicts the next rounds per memory region, simulates pre-copy (rounds, best stop, downtime) and post-copy
      (downtime, total, remote faults) at RATE (e.g. 10Gbit; default: TYPE's network performance or the 5 Gbit/s
      of one EC2 TCP flow), recommends a strategy for the downtime target (default 300 ms) with the CRIU commands,
      and estimates the downtime for every compatible instance type. Read-only by default (page contents are
      compared); --clear-soft-dirty uses the kernel's soft-dirty bits as CRIU does, which means writing "4" to
      /proc/PID/clear_refs every interval: the only write Pygration ever makes to a process. --count-masked
      counts the features this host's CPUID hides while their instructions run as required, and --strict roots every
      C function Python can call (as analyze).
      --format json prints the report with its migration estimate and the CRIU commands (migration.criuSteps;
      docs/schema/plan.schema.json); the other formats and the gate are those of analyze (they need the analysis).`;

export interface PlanContext {
  analyze: typeof analyzeProcess;
  isInterrupted: () => boolean;
}

/** Runs `pygration plan`; returns the exit code (errors are thrown for the caller's reportError). */
export async function runPlan(argv: readonly string[], context: PlanContext): Promise<number> {
  const args = parseArgs(argv, {
    values: ['pid', 'seconds', 'interval', 'bandwidth', 'bandwidth-file', 'single-flow', 'target', 'max-downtime', 'max-scan-mb', 'catalog', ...OUTPUT_VALUES],
    flags: ['json', 'clear-soft-dirty', 'no-analysis', 'count-masked', 'strict', 'quiet', 'verbose'],
  });
  const o = planOptions(args);
  const { pid, catalog, target, output } = o;
  const progress = new Progress(!args.flags.has('quiet'));
  try {
    announce(o, args.flags.has('quiet'));
    const sampling = await sampleDirtyPages(pid, {
      method: o.method,
      seconds: o.seconds,
      intervalSeconds: o.intervalMs / 1000,
      maxScanBytes: o.maxScanMb * 1048576,
      isCancelled: context.isInterrupted,
      onProgress: (m) => progress.update(m),
    });
    progress.done();
    const notes: string[] = [];
    const report = args.flags.has('no-analysis') ? undefined : await analyzeForPlan(pid, catalog, { countMasked: args.flags.has('count-masked'), strict: args.flags.has('strict') }, context, progress, notes);
    const { estimate, advice } = attachMigrationPlan(sampling, report, { catalog, bandwidth: o.bandwidth, overrides: o.overrides, target, downtimeTarget: o.maxDowntime, notes });
    const verdict = target && report ? report.instances.verdicts.find((v) => v.name === target) : undefined;
    const steps = criuCommands({
      pid,
      strategy: estimate.plan.recommendation,
      preCopyRounds: estimate.plan.preCopy.bestRounds,
      restoreFlags: advice?.flags,
      shellJob: hasControllingTerminal(pid),
    });
    // The commands the text prints, unless the target is refused (then the text prints none either).
    if (!(target && verdict && verdict.compatible === false)) estimate.criuSteps = steps;
    const machine = writeMachineOutput(report, estimate, output, notes);
    if (machine !== undefined) return machine;
    process.stdout.write(
      `${formatPlan(estimate, {
        criu: steps,
        restoreWhy: advice?.why,
        restoreFlags: advice?.flags,
        compatibility: report
          ? `Compatible with ${report.instances.compatible.length} of ${report.instances.total} instance types (CRIU's own check would allow ${report.instances.criu.length}).`
          : undefined,
        target: target ? { name: target, compatible: verdict?.compatible, missing: verdict?.missing } : undefined,
        verbose: args.flags.has('verbose'),
      })}\n`,
    );
    return planGate(report, output);
  } finally {
    progress.done();
  }
}

/** The options of `plan`, checked (UsageError for a wrong one). */
function planOptions(args: ReturnType<typeof parseArgs>) {
  const pid = intOption(args, 'pid');
  if (pid === undefined) throw new UsageError('plan needs --pid N.');
  if (args.positional.length) throw new UsageError(`Unexpected argument '${args.positional[0]}'.`);
  const seconds = numberOption(args, 'seconds') ?? PLAN_DEFAULTS.seconds;
  const intervalMs = numberOption(args, 'interval') ?? PLAN_DEFAULTS.intervalMs;
  if (intervalMs < 10) throw new UsageError('--interval must be at least 10 ms.');
  if (intervalMs / 1000 > seconds) throw new UsageError(`--interval (${intervalMs} ms) must not exceed --seconds (${seconds} s).`);
  const maxDowntime = (numberOption(args, 'max-downtime') ?? PLAN_DEFAULTS.maxDowntimeMs) / 1000;
  const maxScanMb = numberOption(args, 'max-scan-mb') ?? PLAN_DEFAULTS.maxScanMb;
  const rate = (name: string) => rateOption(args, name);
  const bandwidth = rate('bandwidth');
  const overrides: BandwidthOverrides = args.options.has('bandwidth-file') ? loadBandwidthOverrides(args.options.get('bandwidth-file')!) : {};
  const singleFlow = args.options.get('single-flow');
  if (singleFlow !== undefined) overrides.singleFlow = singleFlow === 'none' ? null : rate('single-flow');
  const catalog: Catalog = args.options.has('catalog') ? loadCatalog(args.options.get('catalog')!) : defaultCatalog();
  const target = args.options.get('target');
  if (target !== undefined && !catalog.instances.some((i) => i.name === target)) throw new UsageError(`--target ${target} is not in the catalog ${catalog.name}.`);
  const output = outputOptions(args, catalog);
  if (args.flags.has('no-analysis')) refuseWithoutAnalysis(output);
  const method: 'soft-dirty' | 'content' = args.flags.has('clear-soft-dirty') ? 'soft-dirty' : 'content';
  return { pid, seconds, intervalMs, maxDowntime, maxScanMb, bandwidth, overrides, catalog, target, output, method };
}

/** Says on stderr what the sampling does to the process (the soft-dirty write, refused first when unsupported). */
function announce(o: ReturnType<typeof planOptions>, quiet: boolean): void {
  const { pid, intervalMs, seconds } = o;
  const say = (s: string) => {
    if (!quiet) process.stderr.write(`${s}\n`);
  };
  if (o.method === 'soft-dirty') {
    // Refuse before announcing a write that would not happen.
    requireSoftDirty();
    say(
      `Clearing soft-dirty bits: Pygration writes "4" to /proc/${pid}/clear_refs at the start and every ${intervalMs} ms for ${seconds} s. ` +
        'This is the only write it makes to the process: no memory content changes, but each page\'s next write takes one extra minor fault, ' +
        'and it resets the tracking CRIU\'s pre-dump --track-mem relies on: do not run it between a CRIU pre-dump and the dump that follows.',
    );
  } else {
    say(
      `Measuring read-only: comparing the contents of process ${pid}'s writable pages every ${intervalMs} ms for ${seconds} s (at most ${o.maxScanMb} MiB read per interval). ` +
        'Writes that leave a page unchanged are not seen; --clear-soft-dirty measures them with the kernel\'s soft-dirty bits.',
    );
  }
}

/** The compatibility analysis for the plan; undefined (with a note) when it fails with a NativeError. */
async function analyzeForPlan(pid: number, catalog: Catalog, policy: { countMasked: boolean; strict: boolean }, context: PlanContext, progress: Progress, notes: string[]): Promise<AnalysisReport | undefined> {
  try {
    const { report } = await context.analyze(pid, {
      catalog,
      withFullScan: false,
      ...policy,
      isCancelled: context.isInterrupted,
      onProgress: (m) => progress.update(m),
    });
    progress.done();
    return report;
  } catch (e) {
    if (!isNativeError(e)) throw e;
    notes.push(`The compatibility analysis failed (${e.describe()}); estimates are given for every catalog type and CRIU's default restore check applies.`);
    return undefined;
  }
}

type Output = ReturnType<typeof outputOptions>;

/** --no-analysis leaves no verdict: the export formats and the gate need one. */
function refuseWithoutAnalysis(output: Output): void {
  if ((output.format !== 'text' && output.format !== 'json') || hasGate(output)) {
    throw new UsageError(`--no-analysis leaves no compatibility verdict: ${hasGate(output) ? 'the gate' : `--format ${output.format}`} needs the analysis.`);
  }
}

/** The gate needs the verdict: when the analysis failed it cannot be met (exit 1, after the output). */
function planGate(report: AnalysisReport | undefined, output: Output): number {
  if (report) return applyGate(report, output);
  if (!hasGate(output)) return 0;
  process.stderr.write('pygration: gate not checked: the compatibility analysis failed.\n');
  return 1;
}

/** Prints the plan as JSON, or the analysis in an export format; returns the exit code, or undefined for text. */
function writeMachineOutput(report: AnalysisReport | undefined, estimate: object, output: Output, notes: string[]): number | undefined {
  if (output.format === 'json') {
    process.stdout.write(`${JSON.stringify(report ?? { migration: estimate }, null, 2)}\n`);
    return planGate(report, output);
  }
  if (output.format === 'text') return undefined;
  if (!report) {
    process.stderr.write(`pygration: --format ${output.format} needs the compatibility verdict, and the analysis failed (${notes.join(' ')}).\n`);
    return 1;
  }
  process.stdout.write(formatExport(report, output.format, { nfdHidden: output.nfdHidden }));
  return planGate(report, output);
}

/** A rate option (`10Gbit`, `1.25GB/s`) in bytes per second, or undefined when absent. */
function rateOption(args: ReturnType<typeof parseArgs>, name: string): number | undefined {
  const v = args.options.get(name);
  if (v === undefined) return undefined;
  try {
    return parseRate(v);
  } catch (e) {
    throw new UsageError(`--${name}: ${(e as Error).message}`);
  }
}
