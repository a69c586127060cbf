// The language status item's text, detail, tooltip and link from the server's state: required x86-64 level,
// feature count and "migratable to N/383" (live results win over static ones; a static result with unknown
// call sites is a lower bound, shown as "at least …", never as a verdict), busy and error states. Pure.

import type { PygrationState } from '../../../server/src/protocol';
import { featureLabel } from '../../../native/src';
import { Ids } from './ids';

export type ServerStatus = 'starting' | 'running' | 'stopped' | 'failed';

export interface StatusInput {
  state?: PygrationState;
  server: ServerStatus;
  /** The interpreter bytecode tracking uses, and where it came from. */
  interpreter?: { path?: string; source: string };
}

export interface StatusView {
  text: string;
  /** Markdown (codicons allowed); labels from process command lines are escaped. */
  tooltip: string;
  /** 'error' and 'warning' become the language status item's severity. */
  severity: 'normal' | 'warning' | 'error';
  /** What a click runs. */
  command: string;
  /** For the accessibility label: the text without codicons. */
  accessibleText: string;
}

const MODE_NAMES: Readonly<Record<string, string>> = { ept: 'execution path tracking', 'ept-plain': "the paper's execution path tracking", full: 'full scan' };

/**
 * Escapes inline Markdown (emphasis, code, links, HTML, tables, codicons) so a command line or file name
 * shows as typed. Line-start syntax (`-`, `#`, `1.`) cannot occur: escaped text never starts a line.
 */
export function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_[\]()!|<>~$]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

/** An ISO time as the local time of day, or the text as is when it is not a time. */
function timeOfDay(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString();
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `x86-64-v3 · 5 features · migratable to 201/383`. */
export function summaryText(level: string, features: number, compatible: number, total: number): string {
  return `${level} · ${plural(features, 'feature')} · migratable to ${compatible}/${total}`;
}

/** `at least x86-64-v4 · 11 features · 2 call sites unknown`: a static lower bound, no verdict. */
export function lowerBoundText(level: string, features: number, unknownCallSites: number): string {
  return `at least ${level} · ${plural(features, 'feature')} · ${plural(unknownCallSites, 'call site')} unknown`;
}

function featureList(features: readonly string[], max = 12): string {
  if (features.length === 0) return 'nothing beyond the x86-64 baseline';
  const shown = features.slice(0, max).map(featureLabel).join(', ');
  return features.length > max ? `${shown}, … (${features.length - max} more)` : shown;
}

export function formatStatus(input: StatusInput): StatusView {
  const { state, server } = input;
  const lines: string[] = [];
  const showView = Ids.command.showInstances;

  if (server === 'failed' || server === 'stopped') {
    const text = '$(error) Pygration';
    lines.push(server === 'failed' ? '**Pygration**: the language server could not start.' : '**Pygration**: the language server is not running.');
    if (state?.error) lines.push('', escapeMarkdown(state.error));
    lines.push('', 'Click to restart it; the output (Pygration: Show Output) has the details.');
    return { text, tooltip: lines.join('\n'), severity: 'error', command: Ids.command.restartServer, accessibleText: 'Pygration: language server stopped' };
  }

  const live = state?.live;
  const stat = state?.static;
  let summary: string | undefined;
  let icon = '$(chip)';
  if (live) {
    const r = live.report;
    summary = summaryText(r.level, r.required.length, r.instances.compatible.length, r.instances.total);
    icon = '$(pulse)';
    lines.push(`**Pygration** — live: PID ${live.pid} · ${escapeMarkdown(live.label)}`);
    lines.push('', `Required: **${escapeMarkdown(r.level)}** — ${escapeMarkdown(featureList(r.required))}`);
    lines.push('', `Migratable to **${r.instances.compatible.length} of ${r.instances.total}** instance types of ${escapeMarkdown(r.instances.catalog)} (CRIU's host check: ${r.instances.criu.length}).`);
    lines.push('', `Analysed at ${escapeMarkdown(timeOfDay(live.analyzedAt))} by ${MODE_NAMES[r.mode] ?? r.mode} in ${r.stats.seconds.toFixed(1)} s.`);
    if (r.target.ldBindNow === false) lines.push('', '$(warning) The process runs without LD_BIND_NOW=1: calls not bound yet were resolved from the files on disk.');
    if (stat) {
      lines.push(
        '',
        stat.lowerBound
          ? `Workspace (static): at least ${escapeMarkdown(stat.level)}, ${plural(stat.required.length, 'feature')}; ${plural(stat.unknownCallSites ?? 0, 'call site')} unknown.`
          : `Workspace (static): ${escapeMarkdown(stat.level)}, ${plural(stat.required.length, 'feature')}, ${stat.compatible}/${stat.total}.`,
      );
    }
  } else if (stat) {
    const unknown = plural(stat.unknownCallSites ?? 0, 'call site');
    lines.push('**Pygration** — static analysis of the workspace');
    if (stat.lowerBound) {
      summary = lowerBoundText(stat.level, stat.required.length, stat.unknownCallSites ?? 0);
      lines.push('', `Required: **at least ${escapeMarkdown(stat.level)}** — ${escapeMarkdown(featureList(stat.required))}; ${unknown} unknown.`);
      lines.push('', `Not a verdict: could be migratable to at most ${stat.compatible} of ${stat.total} instance types. While ${unknown} ${stat.unknownCallSites === 1 ? 'is' : 'are'} unknown, the requirement is a lower bound.`);
    } else {
      summary = summaryText(stat.level, stat.required.length, stat.compatible, stat.total);
      lines.push('', `Required: **${escapeMarkdown(stat.level)}** — ${escapeMarkdown(featureList(stat.required))}`);
      lines.push('', `Migratable to **${stat.compatible} of ${stat.total}** instance types.`);
    }
    lines.push('', `${plural(stat.files, 'file')}, ${plural(stat.callSites, 'call site')} (${stat.resolved} resolved to native code${stat.unknownCallSites ? `, ${stat.unknownCallSites} unknown` : ''}).`);
    lines.push('', 'Start a debug session or run **Pygration: Analyze Running Process** for exact, live results.');
  } else {
    lines.push('**Pygration**', '', 'No analysis yet: open a Python file, start a debug session, or run **Pygration: Analyze Running Process**.');
  }
  if (state) lines.push('', `Mode: ${MODE_NAMES[state.mode] ?? state.mode}.`);
  if (input.interpreter) lines.push('', `Interpreter: ${escapeMarkdown(input.interpreter.path ?? 'python3 on PATH')} (${escapeMarkdown(input.interpreter.source)}).`);
  if (server === 'starting') lines.push('', 'The language server is starting.');

  let severity: StatusView['severity'] = 'normal';
  let text: string;
  let accessibleText: string;
  if (state?.busy) {
    text = `$(loading~spin) Pygration: ${state.busy}`;
    accessibleText = `Pygration: ${state.busy}`;
    lines.unshift(`$(loading~spin) ${escapeMarkdown(state.busy)}`, '');
  } else if (state?.error) {
    severity = 'warning';
    text = summary ? `$(warning) ${summary}` : '$(warning) Pygration';
    accessibleText = summary ? `Pygration: ${summary}; last analysis failed` : 'Pygration: last analysis failed';
  } else {
    text = summary ? `${icon} ${summary}` : `${icon} Pygration`;
    accessibleText = summary ? `Pygration${live ? ' (live)' : ''}: ${summary}` : 'Pygration';
  }
  if (state?.error) lines.push('', `$(warning) ${escapeMarkdown(state.error)}`);
  lines.push('', 'Click to show the migration targets.');
  return { text, tooltip: lines.join('\n'), severity, command: showView, accessibleText };
}

/** The language status item's view (Python editors): the same summary, a short detail, the busy spinner. */
export interface LanguageStatusView {
  /** `$(chip) x86-64-v3 · 5 features · migratable to 201/383` (codicons allowed). */
  text: string;
  /** Where the summary comes from, or what the server is doing. */
  detail: string;
  severity: 'information' | 'warning' | 'error';
  busy: boolean;
  /** The link under the item: its title, the command it runs, and the long explanation as its tooltip. */
  command: { title: string; command: string; tooltip: string };
  accessibleText: string;
}

/** Markdown of the status tooltip as plain text (a command's tooltip is not rendered): no emphasis, escapes or codicons. */
export function plainText(markdown: string): string {
  return markdown
    .replace(/\$\([a-z0-9~-]+\)\s?/g, '')
    .replace(/\*\*/g, '')
    .replace(/\\([\\`*_[\]()!|<>~$])/g, '$1')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

export function formatLanguageStatus(input: StatusInput & { restrictedNote?: string }): LanguageStatusView {
  const view = formatStatus(input);
  const { state, server } = input;
  let tooltip = plainText(view.tooltip);
  if (input.restrictedNote) tooltip += `\n\n${input.restrictedNote}`;
  const severity = view.severity === 'normal' ? 'information' : view.severity;
  const failed = server === 'failed' || server === 'stopped';
  const command = { title: failed ? 'Restart Server' : 'Show Migration Targets', command: view.command, tooltip };
  if (state?.busy && !failed) {
    const live = state.live;
    const stat = state.static;
    const summary = live
      ? summaryText(live.report.level, live.report.required.length, live.report.instances.compatible.length, live.report.instances.total)
      : stat
        ? stat.lowerBound
          ? lowerBoundText(stat.level, stat.required.length, stat.unknownCallSites ?? 0)
          : summaryText(stat.level, stat.required.length, stat.compatible, stat.total)
        : undefined;
    return { text: summary ? `${live ? '$(pulse)' : '$(chip)'} ${summary}` : 'Pygration', detail: state.busy, severity, busy: true, command, accessibleText: view.accessibleText };
  }
  let detail: string;
  if (failed) detail = server === 'failed' ? 'language server could not start' : 'language server stopped';
  else if (state?.live) detail = `live · PID ${state.live.pid}`;
  else if (state?.static) detail = state.static.lowerBound ? 'static · a lower bound' : 'static analysis of the workspace';
  else detail = server === 'starting' ? 'starting' : 'no analysis yet';
  if (input.restrictedNote && !failed) detail += ' · Restricted Mode';
  return { text: view.text, detail, severity, busy: server === 'starting', command, accessibleText: view.accessibleText };
}
