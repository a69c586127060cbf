// Output options shared by `analyze`, `run`, `demo`, `plan` and `export`: --format (text or an export format;
// --json is its alias for json), --nfd-hidden, and the CI gate (--require-compatible, --max-level, exit 4).

import type { Catalog } from '../catalog/catalog';
import { EXPORT_FORMATS, formatExport, isExportFormat, type ExportFormat } from '../export/formats';
import { formatReport } from './format';
import { GATE_EXIT_CODE, GateSyntaxError, checkGate, parseLevel, parseTypeList, type Gate } from '../export/gate';
import { NFD_DEFAULT_BLACKLIST } from '../export/nfd';
import type { AnalysisReport } from '../report';
import { type ParsedArgs, UsageError } from './args';

export const OUTPUT_VALUES = ['format', 'require-compatible', 'max-level', 'nfd-hidden'] as const;

export type OutputFormat = 'text' | ExportFormat;

export interface OutputOptions {
  format: OutputFormat;
  gate: Gate;
  /** NFD cpuid names hidden on the cluster (--nfd-hidden; default NFD's default blacklist). */
  nfdHidden: readonly string[];
}

export const OUTPUT_HELP = `      --format text|${EXPORT_FORMATS.join('|')}: text (default); json, the versioned report (docs/schema/); k8s, a
      nodeAffinity on node-feature-discovery labels with a NodeFeatureRule for the labels NFD hides by default
      (--nfd-hidden LIST|none: the cluster's cpuid attributeBlacklist, default NFD's); karpenter, a NodePool
      requirement on node.kubernetes.io/instance-type; tfvars, a Terraform list of the compatible types; list, one
      per line. --json is --format json. CI gate: --require-compatible TYPE[,TYPE] (each type must be compatible)
      and --max-level v1..v4 (the requirement's x86-64 level; features outside the levels do not count); when
      one is not met the output is printed as usual, the reasons go to stderr, and the exit code is ${GATE_EXIT_CODE}.`;

/** Reads --format/--json, --nfd-hidden and the gate; checks the gate's type names against the catalog. */
export function outputOptions(args: ParsedArgs, catalog: Catalog | undefined): OutputOptions {
  const f = args.options.get('format');
  if (f !== undefined && f !== 'text' && !isExportFormat(f)) throw new UsageError(`--format must be text, ${EXPORT_FORMATS.join(', ')}; not '${f}'.`);
  if (args.flags.has('json') && f !== undefined && f !== 'json') throw new UsageError(`--json is --format json; it cannot be combined with --format ${f}.`);
  const format: OutputFormat = args.flags.has('json') ? 'json' : ((f as OutputFormat | undefined) ?? 'text');
  const gate: Gate = { requireCompatible: [] };
  try {
    const types = args.options.get('require-compatible');
    if (types !== undefined) gate.requireCompatible = parseTypeList(types);
    const level = args.options.get('max-level');
    if (level !== undefined) gate.maxLevel = parseLevel(level);
  } catch (e) {
    if (e instanceof GateSyntaxError) throw new UsageError(e.message);
    throw e;
  }
  if (catalog) {
    const names = new Set(catalog.instances.map((i) => i.name));
    const unknown = gate.requireCompatible.filter((n) => !names.has(n));
    if (unknown.length) throw new UsageError(`--require-compatible: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not in the catalog ${catalog.name} (pygration instances lists it).`);
  }
  const hidden = args.options.get('nfd-hidden');
  const nfdHidden = hidden === undefined ? NFD_DEFAULT_BLACKLIST : hidden === 'none' ? [] : hidden.split(/[,\s]+/).filter(Boolean).map((s) => s.toUpperCase());
  return { format, gate, nfdHidden };
}

export function hasGate(o: OutputOptions): boolean {
  return o.gate.requireCompatible.length > 0 || o.gate.maxLevel !== undefined;
}

/** Checks the gate; prints why it failed on stderr (prefixed with `label` when given); returns the exit code. */
export function applyGate(report: AnalysisReport, o: OutputOptions, label?: string): number {
  if (!hasGate(o)) return 0;
  const r = checkGate(report, o.gate);
  if (r.ok) return 0;
  for (const f of r.failures) process.stderr.write(`pygration: gate not met${label ? ` (${label})` : ''}: ${f}\n`);
  return GATE_EXIT_CODE;
}

/** The report in the chosen output format (text: the human-readable report). */
export function renderReport(report: AnalysisReport, output: OutputOptions, verbose: boolean): string {
  return output.format === 'text' ? `${formatReport(report, { verbose })}\n` : formatExport(report, output.format, { nfdHidden: output.nfdHidden });
}
