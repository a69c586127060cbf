// `pygration analyze --all`: every Python process on this host that we may read, one report each, for fleet
// agents (the DaemonSet of docs/kubernetes.md). Text: one report per process; --format json: NDJSON lines.

import { CancelledError } from '../errors';
import { isNativeError } from '../errors';
import { listProcesses } from '../space/list';
import type { AnalysisReport } from '../report';
import { UsageError } from './args';
import { applyGate, type OutputOptions } from './output';
import { Progress } from './progress';

export const ANALYZE_ALL_HELP = `      --all: every Python process on this host that we may read (not pygration itself), one after the other.
      Text: one report each after a '== process PID: COMMAND ==' line. --format json: NDJSON, one line per process,
      {"pid","command","report"} or {"pid","command","error":{"kind","message"}} (docs/schema/analyze-all.schema.json).
      A process we may not read (permission), that exits meanwhile (gone) or that is not supported (a 32-bit
      interpreter) is skipped, with a line on stderr (and an error line in JSON); other failures make the exit
      code 1. No Python process: nothing on stdout, exit 0.`;

/** Errors of these kinds describe the process, not a failure of the agent: the process is skipped. */
const SKIPPED_KINDS = new Set(['permission', 'gone', 'unsupported']);

export interface AnalyzeAllOptions {
  output: OutputOptions;
  verbose: boolean;
  quiet: boolean;
  isInterrupted: () => boolean;
  analyze: (pid: number, progress: Progress) => Promise<{ report: AnalysisReport }>;
  render: (report: AnalysisReport) => string;
}

export interface AnalyzeAllLine {
  pid: number;
  command: string;
  report?: AnalysisReport;
  error?: { kind: string; message: string };
}

/** Analyses every Python process; returns the exit code (1 failure, else 4 gate not met, else 0). */
export async function analyzeAll(o: AnalyzeAllOptions): Promise<number> {
  const format = o.output.format;
  if (format !== 'text' && format !== 'json') throw new UsageError(`analyze --all prints text or --format json (NDJSON), not ${format}: export one process with --pid N.`);
  const procs = listProcesses({ pythonOnly: true }).filter((p) => p.pid !== process.pid).sort((a, b) => a.pid - b.pid);
  if (procs.length === 0) {
    process.stderr.write('pygration: no Python process found on this host.\n');
    return 0;
  }
  let failed = 0;
  let skipped = 0;
  let analysed = 0;
  let gateFailed = false;
  for (const p of procs) {
    if (o.isInterrupted()) throw new CancelledError();
    const command = p.command.length > 200 ? `${p.command.slice(0, 199)}…` : p.command;
    const progress = new Progress(!o.quiet);
    try {
      progress.update(`process ${p.pid} (${analysed + skipped + failed + 1} of ${procs.length})`);
      const { report } = await o.analyze(p.pid, progress);
      progress.done();
      if (format === 'json') process.stdout.write(`${JSON.stringify({ pid: p.pid, command, report } satisfies AnalyzeAllLine)}\n`);
      else process.stdout.write(`== process ${p.pid}: ${command} ==\n${o.render(report)}\n`);
      analysed++;
      if (applyGate(report, o.output, `process ${p.pid}`) !== 0) gateFailed = true;
    } catch (e) {
      progress.done();
      if (!isNativeError(e)) throw e;
      const skip = SKIPPED_KINDS.has(e.kind);
      if (skip) skipped++;
      else failed++;
      process.stderr.write(`pygration: process ${p.pid} (${command}): ${skip ? 'skipped: ' : ''}${e.describe()}\n`);
      if (format === 'json') process.stdout.write(`${JSON.stringify({ pid: p.pid, command, error: { kind: e.kind, message: e.describe() } } satisfies AnalyzeAllLine)}\n`);
    }
  }
  process.stderr.write(`pygration: analysed ${analysed} of ${procs.length} Python process${procs.length === 1 ? '' : 'es'}${skipped ? `, ${skipped} skipped` : ''}${failed ? `, ${failed} failed` : ''}.\n`);
  return failed ? 1 : gateFailed ? 4 : 0;
}
