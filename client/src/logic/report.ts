// Report helpers of the client: export contents and file names, the origin label of a live report, and
// the conversion of a code lens's CallSiteDetail into the instance view's focus. Pure.

import type { AnalysisReport } from '../../../native/src';
import type { CallSiteDetail, LiveSummary } from '../../../server/src/protocol';
import type { ExportFormat, FocusCallSite, ReportOrigin } from '../../../webview/src/messages';

/** The exported text: the whole report as JSON, or the compatible instance type names one per line. */
export function exportText(report: AnalysisReport, format: ExportFormat): string {
  if (format === 'json') return `${JSON.stringify(report, null, 2)}\n`;
  return report.instances.compatible.length === 0 ? '' : `${report.instances.compatible.join('\n')}\n`;
}

/** A default file name: `pygration-4242.json` or `pygration-4242-instances.txt`. */
export function exportFileName(report: AnalysisReport, format: ExportFormat): string {
  const base = report.target.pid !== undefined ? `pygration-${report.target.pid}` : 'pygration-report';
  return format === 'json' ? `${base}.json` : `${base}-instances.txt`;
}

/** The header label of a live report: `PID 4242 · python3 train.py`. */
export function liveOrigin(pid: number, label: string | undefined): ReportOrigin {
  const l = label?.trim();
  return { kind: 'live', label: l ? `PID ${pid} · ${l}` : `PID ${pid}` };
}

export function originOfLive(live: LiveSummary): ReportOrigin {
  return liveOrigin(live.pid, live.label);
}

/** The label for a process analysed by command: its command line, shortened. */
export function commandLabel(report: AnalysisReport): string | undefined {
  const cmd = report.target.cmdline?.join(' ');
  if (!cmd) return report.target.exe;
  return cmd.length > 80 ? `${cmd.slice(0, 79)}…` : cmd;
}

/**
 * A cheap identity of a report's contents, so the same analysis arriving twice (the request's result and
 * the state notification that follows it) is rendered once.
 */
export function reportFingerprint(report: AnalysisReport): string {
  // A migration plan added to the same analysis (PlanMigration) is a new report to show.
  const m = report.migration;
  const plan = m ? [m.sampledSeconds, m.cost.scans, m.dirty.pagesPerSecond, m.plan.bandwidthBitsPerSecond, m.downtimeTargetSeconds].join(':') : '';
  return [report.target.pid ?? '', report.mode, report.stats.seconds, report.stats.functionsVisited, report.stats.instructionsDecoded, report.required.join(','), report.instances.compatible.length, report.instances.catalog, plan].join('|');
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

function isStringArray(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((s) => typeof s === 'string');
}

/** Checks the code lens command's argument (it crosses the LSP boundary as JSON). */
export function isCallSiteDetail(x: unknown): x is CallSiteDetail {
  return (
    isObject(x) &&
    typeof x.uri === 'string' &&
    typeof x.line === 'number' && Number.isInteger(x.line) && x.line >= 0 &&
    typeof x.character === 'number' && Number.isInteger(x.character) && x.character >= 0 &&
    typeof x.callee === 'string' &&
    (x.qualifiedName === undefined || typeof x.qualifiedName === 'string') &&
    Array.isArray(x.natives) &&
    x.natives.every((n) => isObject(n) && typeof n.symbol === 'string' && typeof n.library === 'string' && typeof n.exact === 'boolean') &&
    isStringArray(x.features) &&
    (x.origin === 'live' || x.origin === 'static' || x.origin === 'unknown') &&
    (x.reason === undefined || typeof x.reason === 'string') &&
    (x.unknownCallees === undefined || (typeof x.unknownCallees === 'number' && Number.isInteger(x.unknownCallees) && x.unknownCallees >= 0)) &&
    isStringArray(x.ruledOut) &&
    typeof x.label === 'string'
  );
}

/** `numpy.matmul → cblas_dgemm (libopenblas.so.0)`, with `+N` when the call reaches more native functions. */
export function callSiteTitle(d: CallSiteDetail): string {
  const callee = d.qualifiedName || d.callee;
  if (d.natives.length === 0) return callee;
  const first = d.natives[0];
  const more = d.natives.length > 1 ? ` +${d.natives.length - 1}` : '';
  return `${callee} → ${first.symbol} (${first.library})${more}`;
}

/** The instance view's focus for a call site: its title, features, origin, place and ruled-out types. */
export function focusFromCallSite(d: CallSiteDetail): FocusCallSite {
  const focus: FocusCallSite = { label: callSiteTitle(d), features: [...d.features], uri: d.uri, line: d.line, ruledOut: [...d.ruledOut] };
  if (d.origin !== 'unknown') focus.kind = d.origin;
  if (d.unknownCallees) focus.unknownCallees = d.unknownCallees;
  return focus;
}
