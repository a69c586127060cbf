// Every identifier the extension shares with package.json and the outside world: command ids, setting keys,
// the view type, the output channel's name, the debug types we integrate with. Pure, no vscode import.

import { SHOW_CALL_SITE_COMMAND } from '../../../server/src/protocol';

/** The one const object of ids. package.json's `contributes` must list exactly these (a unit test checks). */
export const Ids = {
  command: {
    /** Quick pick of Python processes, then the live analysis (optional argument: a pid). */
    analyzeProcess: 'pygration.analyzeProcess',
    /** Samples a live process's dirty pages and adds the migration plan to its report (optional argument: a pid). */
    planMigration: 'pygration.planMigration',
    /** Opens (or reveals) the instance view. */
    showInstances: 'pygration.showInstances',
    /** Opens the instance view focused on one call site (code lens command; argument: CallSiteDetail). */
    showCallSite: SHOW_CALL_SITE_COMMAND,
    /** Quick pick of ept / ept-plain / full; writes pygration.analysisMode. */
    selectAnalysisMode: 'pygration.selectAnalysisMode',
    /** Open dialog for an instance catalog file; writes pygration.catalogPath. */
    selectCatalog: 'pygration.selectCatalog',
    /** Save dialog: the current report as JSON, or the compatible instance types as a list. */
    exportReport: 'pygration.exportReport',
    /** Drops the live results: lenses and hovers return to the static analysis. */
    clearLive: 'pygration.clearLive',
    /** Quick pick of the report's compatible instance types; copies the `criu restore` line for the chosen one (optional argument: a type name). */
    copyRestoreCommand: 'pygration.copyRestoreCommand',
    restartServer: 'pygration.restartServer',
    showOutput: 'pygration.showOutput',
  },
  setting: {
    pythonPath: 'pygration.pythonPath',
    codeLensEnable: 'pygration.codeLens.enable',
    codeLensShowShared: 'pygration.codeLens.showSharedWithInterpreter',
    showBaselineLenses: 'pygration.showBaselineLenses',
    analysisMode: 'pygration.analysisMode',
    analysisStrict: 'pygration.analysis.strict',
    catalogPath: 'pygration.catalogPath',
    followImports: 'pygration.followImports',
    countMaskedFeatures: 'pygration.countMaskedFeatures',
    injectBindNow: 'pygration.debug.injectBindNow',
    analyzeOnStop: 'pygration.debug.analyzeOnStop',
    stopDebounceMs: 'pygration.debug.stopDebounceMs',
    planSeconds: 'pygration.plan.seconds',
    planBandwidth: 'pygration.plan.bandwidth',
    planMaxDowntimeMs: 'pygration.plan.maxDowntimeMs',
    traceServer: 'pygration.trace.server',
  },
  /** The configuration section the server reads (and the client synchronises). */
  section: 'pygration',
  /** The language client's id (its trace setting is `<id>.trace.server`) and display name. */
  clientId: 'pygration',
  clientName: 'Pygration',
  /** The language status item of Python editors (its id, and its name in the language status hover). */
  languageStatusId: 'pygration.status',
  languageStatusName: 'Pygration',
  /** The walkthrough (contributes.walkthroughs), as `publisher.name#id`-less id. */
  walkthrough: 'pygration.gettingStarted',
  /** The LogOutputChannel's name; the E2E harness looks for it. */
  outputChannel: 'Pygration',
  /** The instance view's webview panel type (its serializer is registered under this name too). */
  instanceViewType: 'pygration.instances',
  instanceViewTitle: 'Pygration: Migration targets',
  /** Debug types whose launch configurations and sessions we integrate with (ms-python's old and new). */
  debugTypes: ['python', 'debugpy'] as readonly string[],
  /** The Python extension whose interpreter selection we follow. */
  pythonExtension: 'ms-python.python',
  /** globalState key: the user has been told once why LD_BIND_NOW=1 is injected. */
  bindNowExplainedKey: 'pygration.bindNowExplained',
} as const;

/**
 * Context keys the extension sets (setContext) for the `when` clauses of package.json's menus and walkthrough.
 * Keys that must hold before activation are negative (`unsupportedPlatform`): an unset key reads false.
 */
export const CONTEXT_KEYS = {
  /** Set once activate() ran (the output channel exists). */
  activated: 'pygration.activated',
  /** Linux x86-64 and the server may run: the commands that need it are shown. */
  active: 'pygration.active',
  /** Not Linux x86-64: the analysis commands are hidden, the walkthrough too. */
  unsupportedPlatform: 'pygration.unsupportedPlatform',
  /** The instance view has a report (export, copy restore command). */
  hasReport: 'pygration.hasReport',
  /** The server holds live results (clear live results). */
  hasLive: 'pygration.hasLive',
  /** The static analysis of the workspace produced a result (the walkthrough's lens step). */
  hasStaticResult: 'pygration.hasStaticResult',
} as const;

/** Bounded server restarts: at most this many crashes within the window, then stop and ask the user. */
export const RESTART_LIMIT = { maxRestarts: 4, windowMs: 3 * 60_000 } as const;

/** The environment variable injected into debug launches. */
export const BIND_NOW = 'LD_BIND_NOW';

/**
 * Test-only commands (client/src/e2e.ts), registered only when PYGRATION_E2E=1 and never contributed in
 * package.json: the E2E suite's extension-host driver reads the instance view and the language status through them.
 */
export const E2E_COMMANDS = {
  /** (op: 'text' | 'click' | 'count', selector) → the first match's textContent, or the number of matches. */
  webviewQuery: 'pygration.e2e.webviewQuery',
  /** () → the Pygration language status item's text, codicons as `$(name)`. */
  statusBarText: 'pygration.e2e.statusBarText',
} as const;
