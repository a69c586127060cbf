// `pygration export --report FILE`: a saved JSON report (analyze/plan --format json) in another format, and the
// CI gate on it, so a pipeline analyses once and exports or checks many times. Same formatters as --format.

import { NativeError } from '../errors';
import { EXPORT_FORMATS } from '../export/formats';
import type { AnalysisReport } from '../report';
import { readUserJson } from '../userFile';
import { UsageError, parseArgs } from './args';
import { OUTPUT_VALUES, applyGate, outputOptions, renderReport } from './output';

export const EXPORT_HELP = `  pygration export --report FILE [--format ${EXPORT_FORMATS.join('|')}|text] [--require-compatible TYPE[,TYPE]] [--max-level vN]
      A report saved with analyze/plan --format json, printed in another format (default json), with the same
      CI gate and exit code 4.`;

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** The fields the formatters and the gate read; a file without them is not a report. */
function checkReport(x: unknown, file: string): AnalysisReport {
  const ok =
    isObject(x) &&
    x.schema === 1 &&
    Array.isArray(x.required) &&
    typeof x.level === 'string' &&
    Array.isArray(x.levelExtras) &&
    isObject(x.host) &&
    isObject(x.target) &&
    isObject(x.tool) &&
    isObject(x.instances) &&
    Array.isArray(x.instances.verdicts) &&
    Array.isArray(x.instances.compatible);
  if (!ok) throw new NativeError('malformed', `${file} is not a Pygration report (schema 1, docs/schema/report.schema.json).`, { subject: file });
  return x as unknown as AnalysisReport;
}

export function runExport(argv: readonly string[]): number {
  const args = parseArgs(argv, { values: ['report', ...OUTPUT_VALUES], flags: ['json', 'verbose'] });
  if (args.positional.length) throw new UsageError(`Unexpected argument '${args.positional[0]}'.`);
  const file = args.options.get('report');
  if (!file) throw new UsageError('export needs --report FILE (a report saved with --format json).');
  if (!args.options.has('format') && !args.flags.has('json')) args.options.set('format', 'json');
  const output = outputOptions(args, undefined);
  const report = checkReport(readUserJson(file, 'report', 256 * 1024 * 1024), file);
  const names = new Set(report.instances.verdicts.map((v) => v.name));
  const unknown = output.gate.requireCompatible.filter((n) => !names.has(n));
  if (unknown.length) throw new UsageError(`--require-compatible: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not in the report's catalog ${report.instances.catalog}.`);
  process.stdout.write(renderReport(report, output, args.flags.has('verbose')));
  return applyGate(report, output);
}
