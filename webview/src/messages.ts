// The host↔webview protocol of the instance view: every message either side may post, as discriminated
// unions on `type`, with structural guards each side uses to check what it receives. Pure, no DOM.

import { isExportFormat, type AnalysisReport, type ExportFormat as CopyFormat, type Feature } from '../../native/src/browser';
import { isMigrationEstimate } from './migration';

export type { CopyFormat };

/** Where the report came from: a live process (exact) or the static bytecode analysis of the workspace. */
export type OriginKind = 'live' | 'static';

export interface ReportOrigin {
  kind: OriginKind;
  /** Short text for the header, e.g. `PID 48211 · python3 matmul.py` or `workspace · 12 files`. */
  label: string;
}

/** One Python call site a code lens or hover asked the view to focus on. */
export interface FocusCallSite {
  /** What the lens shows, e.g. `numpy.matmul → cblas_dgemm (libopenblas)`. */
  label: string;
  /** The features the call's native path needs (canonical names). */
  features: Feature[];
  /** Whether the call's features come from the live process or the static analysis. */
  kind?: OriginKind;
  /** The document and zero-based line of the call, so the view can offer to reveal it. */
  uri?: string;
  line?: number;
  /**
   * Names of the instance types this call alone rules out, when the host computed them from the catalog.
   * Without it the view derives them from the report: the types whose missing features meet `features`.
   */
  ruledOut?: string[];
  /**
   * Native callees behind the call that could not be resolved (the whole call when `features` is empty):
   * `features` is then a lower bound, and the types it rules out are "at least" those.
   */
  unknownCallees?: number;
}

/** Host → webview. */
export type HostMessage =
  /** A new or updated analysis; replaces the previous one. */
  | { type: 'report'; report: AnalysisReport; origin: ReportOrigin }
  /** Focus on one call site, or `null` to leave focus. */
  | { type: 'focus'; callSite: FocusCallSite | null }
  /** Drop the report (debug session ended, process exited): back to the empty state. */
  | { type: 'clear' }
  /** The last analysis failed; shown above whatever report is on screen. */
  | { type: 'error'; message: string; detail?: string }
  /** An analysis is running (`message`), or finished (`null`). */
  | { type: 'progress'; message: string | null }
  /**
   * Test only: a question about the view's DOM from the E2E suite's `pygration.e2e.webviewQuery` command
   * (the host registers it only when PYGRATION_E2E=1). The view answers with `e2eAnswer`; it never re-renders.
   */
  | E2eQuery;

/** What an E2E query does with the first element matching `selector`: read its textContent, click it, or count the matches. */
export type E2eQueryOp = 'text' | 'click' | 'count';

export interface E2eQuery {
  type: 'e2eQuery';
  /** Echoed in the answer, so the host can match answers to questions. */
  id: number;
  op: E2eQueryOp;
  /** A CSS selector, at most E2E_SELECTOR_MAX characters. */
  selector: string;
}

export const E2E_SELECTOR_MAX = 1000;

export type ExportFormat = 'json' | 'list';

/** Commands the view can ask the host to run (buttons of the empty state). */
export type ViewCommand = 'analyzeProcess';

/** Webview → host. */
export type WebviewMessage =
  /** The script has loaded and listens; the host answers with the current report/focus (or `clear`). */
  | { type: 'ready' }
  /** Export the report as JSON, or the compatible types as a plain list. */
  | { type: 'export'; format: ExportFormat }
  /** "Copy as…": put `text`, the report in `format` as the CLI's --format prints it, on the clipboard. */
  | { type: 'copy'; format: CopyFormat; text: string }
  /** Open the focused call site in its editor. */
  | { type: 'reveal'; uri: string; line: number }
  | { type: 'command'; command: ViewCommand }
  /** Something the host should put in its log (script errors in the view, mostly). */
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  /** Test only: the answer to an `e2eQuery` (`text` for 'text' and 'click', `count` for 'count', or `error`). */
  | { type: 'e2eAnswer'; id: number; text?: string; count?: number; error?: string };

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

function isStringArray(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((s) => typeof s === 'string');
}

function isVerdict(v: unknown): boolean {
  return (
    isObject(v) &&
    typeof v.name === 'string' &&
    typeof v.cpu === 'string' &&
    typeof v.vendor === 'string' &&
    typeof v.generation === 'string' &&
    typeof v.vcpu === 'number' &&
    typeof v.memoryGiB === 'number' &&
    typeof v.compatible === 'boolean' &&
    isStringArray(v.missing) &&
    typeof v.criu === 'boolean' &&
    isStringArray(v.criuMissing) &&
    (v.fullScan === undefined || typeof v.fullScan === 'boolean') &&
    (v.fullScanMissing === undefined || isStringArray(v.fullScanMissing)) &&
    (v.crossVendor === undefined || typeof v.crossVendor === 'boolean') &&
    (v.provenance === undefined || (isObject(v.provenance) && (v.provenance.kind === 'measured' || v.provenance.kind === 'derived') && typeof v.provenance.basis === 'string'))
  );
}

/** A shape check of a report: every field the view reads, so a malformed one is refused, not half drawn. */
export function isAnalysisReport(x: unknown): x is AnalysisReport {
  if (!isObject(x) || x.schema !== 1) return false;
  const { instances, stats, host, target, tool } = x;
  return (
    typeof x.mode === 'string' &&
    isObject(tool) &&
    isObject(target) &&
    isObject(host) &&
    typeof host.cpu === 'string' &&
    isStringArray(x.required) &&
    typeof x.level === 'string' &&
    isStringArray(x.levelExtras) &&
    isStringArray(x.notOnHost) &&
    (x.maskedFeatures === undefined ||
      (Array.isArray(x.maskedFeatures) &&
        x.maskedFeatures.every((m) => isObject(m) && typeof m.feature === 'string' && typeof m.count === 'number' && typeof m.reason === 'string' && Array.isArray(m.sites)))) &&
    (x.maskedCounted === undefined || typeof x.maskedCounted === 'boolean') &&
    (x.fullScanRequired === undefined || isStringArray(x.fullScanRequired)) &&
    Array.isArray(x.features) &&
    x.features.every((f) => isObject(f) && typeof f.feature === 'string' && typeof f.count === 'number' && Array.isArray(f.sites)) &&
    isStringArray(x.notes) &&
    isObject(stats) &&
    typeof stats.functionsVisited === 'number' &&
    typeof stats.seconds === 'number' &&
    isObject(stats.callSites) &&
    ['direct', 'plt', 'memorySlot', 'dispatchTable', 'unresolved'].every((k) => typeof (stats.callSites as Record<string, unknown>)[k] === 'number') &&
    isObject(instances) &&
    typeof instances.catalog === 'string' &&
    typeof instances.total === 'number' &&
    isStringArray(instances.compatible) &&
    isStringArray(instances.criu) &&
    isStringArray(instances.fullScan) &&
    (instances.crossVendor === undefined || isStringArray(instances.crossVendor)) &&
    (instances.crossVendorEvidence === undefined || typeof instances.crossVendorEvidence === 'string') &&
    Array.isArray(instances.verdicts) &&
    instances.verdicts.every(isVerdict) &&
    (x.criuAdvice === undefined || (isObject(x.criuAdvice) && isStringArray(x.criuAdvice.flags) && typeof x.criuAdvice.why === 'string')) &&
    (x.migration === undefined || isMigrationEstimate(x.migration))
  );
}

export function isFocusCallSite(x: unknown): x is FocusCallSite {
  return (
    isObject(x) &&
    typeof x.label === 'string' &&
    isStringArray(x.features) &&
    (x.kind === undefined || x.kind === 'live' || x.kind === 'static') &&
    (x.uri === undefined || typeof x.uri === 'string') &&
    (x.line === undefined || (typeof x.line === 'number' && Number.isInteger(x.line) && x.line >= 0)) &&
    (x.ruledOut === undefined || isStringArray(x.ruledOut)) &&
    (x.unknownCallees === undefined || (typeof x.unknownCallees === 'number' && Number.isInteger(x.unknownCallees) && x.unknownCallees >= 0))
  );
}

/** Checks a message received by the webview. */
export function isHostMessage(x: unknown): x is HostMessage {
  if (!isObject(x)) return false;
  switch (x.type) {
    case 'report':
      return (
        isAnalysisReport(x.report) &&
        isObject(x.origin) &&
        (x.origin.kind === 'live' || x.origin.kind === 'static') &&
        typeof x.origin.label === 'string'
      );
    case 'focus':
      return x.callSite === null || isFocusCallSite(x.callSite);
    case 'clear':
      return true;
    case 'error':
      return typeof x.message === 'string' && (x.detail === undefined || typeof x.detail === 'string');
    case 'progress':
      return x.message === null || typeof x.message === 'string';
    case 'e2eQuery':
      return (
        isQueryId(x.id) &&
        (x.op === 'text' || x.op === 'click' || x.op === 'count') &&
        typeof x.selector === 'string' &&
        x.selector.length > 0 &&
        x.selector.length <= E2E_SELECTOR_MAX
      );
    default:
      return false;
  }
}

function isQueryId(x: unknown): boolean {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** Checks a message received by the host. */
export function isWebviewMessage(x: unknown): x is WebviewMessage {
  if (!isObject(x)) return false;
  switch (x.type) {
    case 'ready':
      return true;
    case 'export':
      return x.format === 'json' || x.format === 'list';
    case 'copy':
      return isExportFormat(x.format) && typeof x.text === 'string';
    case 'reveal':
      return typeof x.uri === 'string' && typeof x.line === 'number' && Number.isInteger(x.line) && x.line >= 0;
    case 'command':
      return x.command === 'analyzeProcess';
    case 'log':
      return (x.level === 'info' || x.level === 'warn' || x.level === 'error') && typeof x.message === 'string';
    case 'e2eAnswer':
      return (
        isQueryId(x.id) &&
        (x.text === undefined || typeof x.text === 'string') &&
        (x.count === undefined || (typeof x.count === 'number' && Number.isSafeInteger(x.count) && x.count >= 0)) &&
        (x.error === undefined || typeof x.error === 'string')
      );
    default:
      return false;
  }
}
