// The client↔server protocol of the Pygration language server: custom requests and notifications beyond
// standard LSP (code lenses, hovers, diagnostics and work-done progress are standard). Owned by the server,
// which handles the requests; the client imports these types. Pure data, no vscode import.

import { NotificationType, RequestType, type WorkDoneProgressParams } from 'vscode-languageserver-protocol';
import type { AnalysisMode, AnalysisReport, Feature } from '../../native/src';

/** The analysis modes of `pygration.analysisMode`, the one list the client's and the server's settings check. */
export const ANALYSIS_MODES: readonly AnalysisMode[] = ['ept', 'ept-plain', 'full'];

/** The code lens command that opens the instance view on one call site (the client registers it; package.json lists it). */
export const SHOW_CALL_SITE_COMMAND = 'pygration.showCallSite';

/** Settings the server reads (section `pygration`), with their defaults. Keys match package.json. */
export interface PygrationSettings {
  /** Interpreter for bytecode tracking when the Python extension gives none; '' = python3 on PATH. */
  pythonPath: string;
  /** Show the code lenses at all (`pygration.codeLens.enable`; hovers and the views stay). */
  codeLensEnable: boolean;
  /**
   * Also show lenses for calls that add nothing to the interpreter's own requirement (every feature they
   * need, the interpreter needs too: `range`, `print`); `pygration.codeLens.showSharedWithInterpreter`.
   */
  codeLensShowShared: boolean;
  /** Show lenses for calls whose native code needs nothing beyond the x86-64 baseline. */
  showBaselineLenses: boolean;
  /** Analysis of live processes: 'ept' (default), 'ept-plain' or 'full'. */
  analysisMode: AnalysisMode;
  /**
   * The strict root policy: every C function Python can call in every loaded extension module is a root
   * (`pygration.analysis.strict`). Default false: the precise policy, gated by Python-level reachability, which falls
   * back to strict by itself when reachable code uses reflection.
   */
  analysisStrict: boolean;
  /** An instance catalog file to use instead of the shipped AWS EC2 catalog; '' = shipped. */
  catalogPath: string;
  /** Follow imports into site-packages for the workspace analysis (needed to reach native code). */
  followImports: boolean;
  /**
   * Count the masked features (used by reachable code, hidden by the host's CPUID while their instructions
   * run there) as required, in the analyses and the lenses; off: they are warnings only.
   */
  countMaskedFeatures: boolean;
}

export const DEFAULT_SETTINGS: PygrationSettings = {
  pythonPath: '',
  codeLensEnable: true,
  codeLensShowShared: false,
  showBaselineLenses: false,
  analysisMode: 'ept',
  analysisStrict: false,
  catalogPath: '',
  followImports: true,
  countMaskedFeatures: false,
};

/** Passed by the client in `initializationOptions`. */
export interface InitializationOptions {
  settings: PygrationSettings;
  /** The interpreter the user selected (Python extension, else the setting), resolved to a path, if any. */
  interpreter?: string;
}

// ------------------------------------------------------------------ processes

/** A process the user may analyse (for the quick pick). */
export interface ProcessCandidate {
  pid: number;
  /** The command line, joined with spaces. */
  command: string;
  exe: string;
  /** `3.11` when it is a Python interpreter. */
  python?: string;
  /** Whether its environment sets LD_BIND_NOW; null when we may not read its environment. */
  ldBindNow: boolean | null;
  /** True when the process belongs to the same user (analysable without extra privileges). */
  sameUser: boolean;
}

export interface ListProcessesParams {
  /** Only Python interpreters (default true). */
  pythonOnly?: boolean;
}

export const ListProcessesRequest = new RequestType<ListProcessesParams, ProcessCandidate[], void>('pygration/listProcesses');

// ------------------------------------------------------------------ live analysis

/** With a `workDoneToken`, the server reports its steps to the client's progress UI. */
export interface AnalyzeProcessParams extends WorkDoneProgressParams {
  pid: number;
  /** Overrides the setting for this analysis. */
  mode?: AnalysisMode;
  /** Why: shown in the UI (`command`, `debug-stop`). */
  reason: 'command' | 'debug-stop';
  /** The debug session this process belongs to, if any: its live state is dropped when it ends. */
  sessionId?: string;
  /** A label for the UI, e.g. `python3 train.py` or the debug session's name. */
  label?: string;
}

/**
 * Why an analysis failed, for a clear message (mirrors NativeError kinds plus protocol-level ones: 'usage' is a
 * request the server cannot act on, such as a pid that is not a positive integer).
 */
export type AnalysisErrorKind = 'gone' | 'permission' | 'unsupported' | 'not-python' | 'cancelled' | 'io' | 'malformed' | 'truncated' | 'internal' | 'usage';

export interface AnalyzeProcessResult {
  ok: boolean;
  report?: AnalysisReport;
  /** Per call site in open documents, the live (exact) features now shown in lenses. */
  callSites?: number;
  error?: { kind: AnalysisErrorKind; message: string; hint?: string };
}

/**
 * Analyse a live process (with work-done progress when the client passes a token; cancellable). The result
 * also becomes the server's live state: lenses and hovers switch to exact results, and a StateNotification
 * follows.
 */
export const AnalyzeProcessRequest = new RequestType<AnalyzeProcessParams, AnalyzeProcessResult, void>('pygration/analyzeProcess');

/**
 * Plan the migration of a live process (`pygration plan` from the editor): with a `workDoneToken` the server
 * reports its steps there; cancellable. Read-only: dirty pages are found by comparing page contents, never
 * with the soft-dirty bits (whose clearing writes to the process).
 */
export interface PlanMigrationParams extends WorkDoneProgressParams {
  pid: number;
  /** How long to sample, seconds (default 5; at most 600). */
  seconds?: number;
  /** Time between scans, milliseconds (default 500, or a tenth of `seconds` below 5 s; at least 10, at most `seconds`). */
  intervalMs?: number;
  /** The migration link's bandwidth, e.g. `10Gbit` or `500Mbit` (default: one EC2 TCP flow, 5 Gbit/s). */
  bandwidth?: string;
  /** The downtime target of the recommendation, milliseconds (default 300). */
  maxDowntimeMs?: number;
  /** Plan for this instance type of the catalog (its bandwidth, its restore flags). */
  target?: string;
  /** Page bytes compared per scan at most, MiB (default 64). */
  maxScanMb?: number;
  /** For the UI, as in AnalyzeProcessParams; used when the process has to be analysed first. */
  label?: string;
  sessionId?: string;
}

export interface PlanMigrationResult extends AnalyzeProcessResult {
  /** True when the process had no live report and was analysed first (AnalyzeProcess's work). */
  analyzed?: boolean;
}

/**
 * Samples the process's dirty pages and attaches the migration plan (`report.migration`, per compatible
 * instance type) to its live report — the one AnalyzeProcess made, after running that analysis when the
 * live state is of another process. The report with `migration` becomes the live state (StateNotification).
 */
export const PlanMigrationRequest = new RequestType<PlanMigrationParams, PlanMigrationResult, void>('pygration/planMigration');

/** Drop live state (debug session ended, or the user closed it): lenses return to static results. */
export interface DetachParams {
  /** The debug session, or undefined to drop whatever live state there is. */
  sessionId?: string;
}
export const DetachNotification = new NotificationType<DetachParams>('pygration/detach');

/**
 * A debuggee's pid became known (before its first stop): the server reads the process ahead, quietly, so the
 * analysis at the first stop finds its caches warm. Superseded by any real analysis.
 */
export interface PrewarmParams {
  pid: number;
  sessionId?: string;
}
export const PrewarmNotification = new NotificationType<PrewarmParams>('pygration/prewarm');

// ------------------------------------------------------------------ interpreter

/** The client tells the server which interpreter to use (the Python extension's selection changed). */
export interface SetInterpreterParams {
  interpreter?: string;
}
export const SetInterpreterNotification = new NotificationType<SetInterpreterParams>('pygration/setInterpreter');

// ------------------------------------------------------------------ state for the status bar and the view

export interface StaticSummary {
  /** Python files analysed in the workspace and call sites found. */
  files: number;
  callSites: number;
  /** Call sites whose native code was resolved (to at least one function). */
  resolved: number;
  /** Union of the static requirement of the workspace's call sites (canonical), and its x86-64 level. */
  required: Feature[];
  level: string;
  /** Instance types of the catalog compatible with that static requirement (intersected with this host). */
  compatible: number;
  total: number;
  /** Call sites whose native callees are not all resolved; their features are missing from `required`. */
  unknownCallSites?: number;
  /**
   * True while any call site is unknown: `required` and `level` are then lower bounds ("at least") and
   * `compatible` only an upper bound, never a verdict.
   */
  lowerBound?: boolean;
}

export interface LiveSummary {
  pid: number;
  sessionId?: string;
  label: string;
  /** ISO time of the analysis. */
  analyzedAt: string;
  report: AnalysisReport;
}

export interface PygrationState {
  mode: AnalysisMode;
  /** Work in progress, e.g. `Analysing 12 files` or `Analysing pid 4242`; undefined when idle. */
  busy?: string;
  static?: StaticSummary;
  live?: LiveSummary;
  /** The last error worth showing (cleared by the next success). */
  error?: string;
}

/** Server → client whenever the state changes (status bar, instance view). */
export const StateNotification = new NotificationType<PygrationState>('pygration/state');

// ------------------------------------------------------------------ call sites

/** What a code lens's command carries, and what the instance view focuses on. */
export interface CallSiteDetail {
  uri: string;
  /** Zero-based line and character of the call. */
  line: number;
  character: number;
  /** The callee as written, e.g. `np.dot`, and its resolution, e.g. `numpy.core._multiarray_umath.dot`. */
  callee: string;
  qualifiedName?: string;
  /** The native functions behind it: symbol and library (basename). */
  natives: Array<{ symbol: string; library: string; exact: boolean }>;
  /** Required features beyond the x86-64 baseline, sorted by rarity in the catalog (rarest first). */
  features: Feature[];
  /** 'live' (exact, from the attached process), 'static' (from files at rest), 'unknown' (not resolved). */
  origin: 'live' | 'static' | 'unknown';
  /** Why it is unknown, when it is. */
  reason?: string;
  /** Native callees behind the call that could not be resolved: `features` is then a lower bound. */
  unknownCallees?: number;
  /** Instance types of the catalog lacking at least one of `features`. */
  ruledOut: string[];
  /** Short text for the lens. */
  label: string;
}

export interface CallSiteAtParams {
  uri: string;
  line: number;
  character: number;
}

/** The call site at a position (for commands that focus the instance view from the editor). */
export const CallSiteAtRequest = new RequestType<CallSiteAtParams, CallSiteDetail | null, void>('pygration/callSiteAt');

/** The current state, on demand (the instance view opening late). */
export const GetStateRequest = new RequestType<void, PygrationState, void>('pygration/getState');
