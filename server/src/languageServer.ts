// The Pygration language server: keeps the static call-site analysis of the workspace's Python files
// (bytecode tracking → symbol resolution → EPT), routes the live session's requests (liveSession.ts: an attached
// process's analysis and plan), and serves code lenses, hovers, diagnostics and the custom requests of
// protocol.ts. Handlers are thin: the work is in callSites.ts (analysis) and presentation.ts (pure formatting).

import { fileURLToPath } from 'node:url';
import {
  type Connection,
  DidChangeConfigurationNotification,
  type InitializeParams,
  type InitializeResult,
  TextDocumentSyncKind,
  TextDocuments,
  type Diagnostic,
  DiagnosticSeverity,
  CodeLensRefreshRequest,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { collectHost, DiskSummaryStore, DiskTablesStore, effectiveRequirement, engineStamp, hostFeatures, isNativeError, listProcesses, maskedFeatures, prefetchExportedIfuncs, summarizeInstances, VERSION, x86Level, type Feature, type HostInfo } from '../../native/src';
import { defaultCacheDir } from './bytecode/diskCache';
import { BytecodeCache, BytecodeSession } from './bytecode';
import type { BytecodeTrackingResult } from './bytecode/types';
import { MAX_CALLS_FILE_BYTES, analyzeCallSites, fileUri, oversizedFiles, type CallSiteResults } from './callSites';
import { StaticNativeState } from './staticNative';
import type { CallSiteAnalysis } from './model';
import { callSiteAt, callSiteDetail, computeCodeLenses, computeHover } from './presentation';
import { CatalogState } from './catalogState';
import {
  AnalyzeProcessRequest,
  CallSiteAtRequest,
  DEFAULT_SETTINGS,
  DetachNotification,
  GetStateRequest,
  PrewarmNotification,
  PlanMigrationRequest,
  type InitializationOptions,
  ListProcessesRequest,
  type PygrationSettings,
  type PygrationState,
  SetInterpreterNotification,
  StateNotification,
  type StaticSummary,
  SHOW_CALL_SITE_COMMAND,
} from './protocol';
import { DiskGateStore } from './gateStore';
import { LiveSession } from './liveSession';
import { readSettings } from './settings';

/** At most this many workspace files are analysed statically (open documents always are). */
const MAX_WORKSPACE_FILES = 200;
/** A save's analysis starts after this long without another save (a save-all's notifications arrive within a few ms). */
const SAVE_DEBOUNCE_MS = 20;
/** New function summaries are written to disk after this long without analyses. */
const SAVE_IDLE_MS = 1000;
import { collectPythonFiles, errorText } from './serverHelpers';

export class PygrationLanguageServer {
  private readonly documents = new TextDocuments(TextDocument);
  private settings: PygrationSettings = DEFAULT_SETTINGS;
  private interpreter: string | undefined;
  private workspaceFolders: string[] = [];
  private hasConfigurationCapability = false;
  private readonly cache = new BytecodeCache();
  /**
   * The static analysis's warm Python helper, kept between runs for one interpreter: starting a new one per
   * save cost about 100 ms (process start and the helper's imports) before any module was looked at.
   */
  private staticBytecode?: { python: string; session: BytecodeSession };
  /** The native side kept between static analyses (an edit + save re-walks only what changed): see StaticNativeState. */
  private readonly staticNative = new StaticNativeState();
  private readonly catalogs = new CatalogState();
  private hostInfoStarted?: Promise<HostInfo>;
  private hostStarted?: Promise<Set<Feature>>;
  /** This host's description: its probe (a child process) starts on `initialized` or first use, after the initialize answer. */
  private get hostInfo(): Promise<HostInfo> {
    this.hostInfoStarted ??= collectHost();
    return this.hostInfoStarted;
  }
  private get host(): Promise<Set<Feature>> {
    this.hostStarted ??= this.hostInfo.then(hostFeatures);
    return this.hostStarted;
  }

  private staticSites = new Map<string, CallSiteAnalysis[]>();
  private staticTracking?: BytecodeTrackingResult;
  private staticInterpreterFeatures?: Set<Feature>;
  private staticSummary?: StaticSummary;
  private busy?: string;
  private lastError?: string;
  private staticRun?: AbortController;
  private staticTimer?: NodeJS.Timeout;
  /** The files of the latest static analysis started (cleared when it fails): opening one of them changes nothing. */
  private staticFileSet = new Set<string>();
  private readonly diagnosed = new Set<string>();
  /** The host IFUNC probe, started at initialisation so that no static analysis waits for it. */
  private ifuncProbe?: Promise<void>;

  /** Function summaries on disk, for a warm start of the next server (the bundled server only). */
  private summaryStore?: DiskSummaryStore;
  /** The Python tables (and the names C code looks up) of the files analysed before, on disk like the summaries. */
  private tablesStore?: DiskTablesStore;
  private gateStore?: DiskGateStore;
  private saveTimer?: NodeJS.Timeout;
  /** The attached process's analysis and plan (liveSession.ts). */
  private readonly session: LiveSession;

  /**
   * @param options.engineFile the file holding the whole engine (the bundled server): its hash names the
   * disk cache of function summaries, which is used only when it is given.
   */
  constructor(
    private readonly connection: Connection,
    options: { engineFile?: string } = {},
  ) {
    const dir = options.engineFile ? defaultCacheDir() : null;
    if (dir && options.engineFile) {
      try {
        const engineFile = options.engineFile;
        // Computed once for every store (it hashes the engine bundles, about 23 ms).
        let memo: string | undefined;
        const stamp = () => (memo ??= engineStamp(engineFile));
        this.summaryStore = new DiskSummaryStore(dir, stamp);
        this.tablesStore = new DiskTablesStore(dir, stamp);
        this.gateStore = new DiskGateStore(dir, stamp);
      } catch {
        this.summaryStore = undefined;
        this.tablesStore = undefined;
        this.gateStore = undefined;
      }
    }
    this.session = new LiveSession({
      connection,
      cache: this.cache,
      summaryStore: this.summaryStore,
      tablesStore: this.tablesStore,
      gateStore: this.gateStore,
      settings: () => this.settings,
      catalog: () => this.catalogs.catalog,
      host: () => this.host,
      hostInfo: () => this.hostInfo,
      openFiles: () => this.openFiles(),
      staticTracking: () => this.staticTracking,
      setBusy: (title) => (this.busy = title),
      setError: (message) => (this.lastError = message),
      publishState: () => this.publishState(),
      refreshLenses: () => this.refreshLenses(),
      saveSummaries: () => this.saveSummaries(),
    });
  }

  /**
   * Saves new function summaries to disk once the server has been idle for a second: writing them takes
   * tens of milliseconds (for the bench workspace: 9 files, 55–75 ms), which should not delay a request.
   */
  private saveSummaries(): void {
    const store = this.summaryStore;
    if (!store) return;
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      if (this.staticRun || this.session.running || this.staticTimer) return this.saveSummaries();
      const started = Date.now();
      const before = store.stats.savedFiles;
      store.save();
      this.tablesStore?.save();
      if (store.stats.savedFiles > before) this.connection.console.info(`Saved the function summaries of ${store.stats.savedFiles - before} file(s) to ${store.dir} in ${Date.now() - started} ms.`);
    }, SAVE_IDLE_MS);
    // Exiting does not wait for it.
    this.saveTimer.unref();
  }

  listen(): void {
    const c = this.connection;
    c.onInitialize((p) => this.initialize(p));
    c.onInitialized(() => void this.initialized());
    c.onDidChangeConfiguration(
      () =>
        void this.reloadSettings().then(() => {
          // The lens settings (codeLens.enable, …) apply at once, before the new analysis ends.
          this.refreshLenses();
          this.scheduleStatic(0);
        }),
    );
    c.onCodeLens((p) => this.codeLenses(p.textDocument.uri));
    c.onHover((p) => {
      const site = callSiteAt(this.sitesFor(p.textDocument.uri), p.position.line, p.position.character);
      return site ? computeHover(site, this.catalogs.rarity, this.interpreterFeatures()) : null;
    });
    c.onRequest(ListProcessesRequest, (p) => listProcesses({ pythonOnly: p.pythonOnly ?? true }));
    c.onRequest(AnalyzeProcessRequest, (p, token) => this.session.analyzeProcess(p, token));
    c.onRequest(PlanMigrationRequest, (p, token) => this.session.planMigration(p, token));
    c.onRequest(CallSiteAtRequest, (p) => {
      const site = callSiteAt(this.sitesFor(p.uri), p.line, p.character);
      return site ? callSiteDetail(site, this.catalogs.rarity, this.interpreterFeatures()) : null;
    });
    c.onRequest(GetStateRequest, () => this.state());
    c.onNotification(DetachNotification, (p) => this.session.detach(p.sessionId));
    c.onNotification(PrewarmNotification, (p) => void this.session.prewarm(p.pid));
    c.onNotification(SetInterpreterNotification, (p) => {
      this.interpreter = p.interpreter || undefined;
      this.staticTracking = undefined;
      this.scheduleStatic(0);
    });
    this.documents.onDidOpen((e) => this.onDidOpen(e.document));
    // A "save all" sends its didSave notifications back to back: a short debounce makes them one analysis.
    this.documents.onDidSave(() => this.scheduleStatic(SAVE_DEBOUNCE_MS));
    // The helper exits (and is reaped) before the answer: nothing of the server outlives its 'exit'.
    c.onShutdown(async () => {
      await Promise.all([this.closeStatic(), this.session.close()]);
    });
    this.documents.listen(c);
    c.listen();
  }

  // ------------------------------------------------------------------ lifecycle

  private initialize(params: InitializeParams): InitializeResult {
    const opts = (params.initializationOptions ?? {}) as Partial<InitializationOptions>;
    this.settings = readSettings(opts.settings);
    this.interpreter = opts.interpreter || undefined;
    this.workspaceFolders = (params.workspaceFolders ?? []).map((f) => fileURLToPath(f.uri));
    if (this.workspaceFolders.length === 0 && params.rootUri) this.workspaceFolders = [fileURLToPath(params.rootUri)];
    this.hasConfigurationCapability = Boolean(params.capabilities.workspace?.configuration);
    this.loadCatalog();
    // The host IFUNC probe reads our own modules' relocations (about 200 ms): it starts once the client has
    // the answer (on `initialized`, or at the first static analysis), so that it does not delay the start.
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: { includeText: false } },
        codeLensProvider: { resolveProvider: false },
        hoverProvider: true,
      },
      serverInfo: { name: 'pygration', version: VERSION },
    };
  }

  /** The host IFUNC probe, started on first call. */
  private startIfuncProbe(): Promise<void> {
    this.ifuncProbe ??= prefetchExportedIfuncs(this.python()).catch(() => undefined);
    return this.ifuncProbe;
  }

  private async initialized(): Promise<void> {
    void this.host;
    void this.startIfuncProbe();
    if (this.hasConfigurationCapability) {
      // A client may refuse the registration: settings then arrive with the next didChangeConfiguration.
      this.connection.client.register(DidChangeConfigurationNotification.type, { section: 'pygration' }).catch((e: unknown) => {
        this.connection.console.warn(`The client refused the registration for configuration changes (${e instanceof Error ? e.message : String(e)}).`);
      });
      await this.reloadSettings();
    }
    this.scheduleStatic(0);
  }

  private async reloadSettings(): Promise<void> {
    if (!this.hasConfigurationCapability) return;
    try {
      this.settings = readSettings(await this.connection.workspace.getConfiguration('pygration'));
    } catch {
      // Keep the previous settings when the client cannot answer.
    }
    this.loadCatalog();
  }

  private loadCatalog(): void {
    const msg = this.catalogs.load(this.settings.catalogPath);
    if (msg) void this.connection.window.showErrorMessage(`Pygration: the instance catalog ${this.settings.catalogPath} could not be loaded (${msg}); using the shipped AWS EC2 catalog.`);
  }

  private python(): string {
    return this.interpreter || this.settings.pythonPath || 'python3';
  }

  /** The warm bytecode session of the static analysis for `python` (a new one when the interpreter changed). */
  private bytecodeSession(python: string): BytecodeSession {
    if (this.staticBytecode?.python !== python) {
      void this.staticBytecode?.session.close();
      this.staticBytecode = { python, session: new BytecodeSession({ python, cache: this.cache }) };
    }
    return this.staticBytecode.session;
  }

  /** Stops the static analysis's helper (waiting up to 2 s for it to exit) and frees its native state (on shutdown). */
  private async closeStatic(): Promise<void> {
    const exited = this.staticBytecode?.session.close();
    this.staticBytecode = undefined;
    this.staticNative.close();
    if (exited) await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  }

  // ------------------------------------------------------------------ views of the state

  private sitesFor(uri: string): CallSiteAnalysis[] {
    let file: string;
    try {
      file = fileURLToPath(uri);
    } catch {
      return [];
    }
    return this.session.sites?.get(file) ?? this.staticSites.get(file) ?? [];
  }

  private interpreterFeatures(): Set<Feature> | undefined {
    return this.staticInterpreterFeatures;
  }

  private codeLenses(uri: string) {
    return computeCodeLenses(this.sitesFor(uri), this.catalogs.rarity, {
      enabled: this.settings.codeLensEnable,
      showBaseline: this.settings.showBaselineLenses,
      showShared: this.settings.codeLensShowShared,
      interpreter: this.interpreterFeatures(),
      command: SHOW_CALL_SITE_COMMAND,
    });
  }

  private state(): PygrationState {
    return { mode: this.settings.analysisMode, busy: this.busy, static: this.staticSummary, live: this.session.live, error: this.lastError };
  }

  private publishState(): void {
    void this.connection.sendNotification(StateNotification, this.state());
  }

  private refreshLenses(): void {
    void this.connection.sendRequest(CodeLensRefreshRequest.type).catch(() => undefined);
  }

  // ------------------------------------------------------------------ static analysis

  /** Debounced: a burst of opens and saves becomes one analysis; a newer one cancels the running one. */
  private scheduleStatic(delayMs: number): void {
    if (this.staticTimer) clearTimeout(this.staticTimer);
    this.staticTimer = setTimeout(() => {
      this.staticTimer = undefined;
      void this.runStatic();
    }, delayMs);
  }

  /**
   * Bytecode tracking reads the files from disk, so opening a file the latest analysis already covers (the
   * workspace's files are all analysed) needs no new analysis; neither does one opened while an analysis is
   * scheduled (it collects the open documents when it starts). Re-analysing there cancelled the first
   * analysis of the workspace, or ran it twice, and delayed the first lenses by seconds.
   */
  private onDidOpen(document: TextDocument): void {
    if (this.staticTimer !== undefined || document.languageId !== 'python' || !document.uri.startsWith('file:')) return;
    let file: string;
    try {
      file = fileURLToPath(document.uri);
    } catch {
      return;
    }
    if (!this.staticFileSet.has(file)) this.scheduleStatic(300);
  }

  /** The open Python documents' files. */
  private openFiles(): string[] {
    return this.documents
      .all()
      .filter((d) => d.languageId === 'python' && d.uri.startsWith('file:'))
      .map((d) => fileURLToPath(d.uri));
  }

  private staticFiles(): string[] {
    const files = new Set<string>(this.openFiles());
    for (const folder of this.workspaceFolders) collectPythonFiles(folder, files, MAX_WORKSPACE_FILES);
    // The call-site analysis's time and memory grow with a file's call sites: files above the CLI's limit
    // are left out (a generated 5 MB file took minutes and gigabytes), with a log line.
    for (const { file, bytes } of oversizedFiles([...files])) {
      files.delete(file);
      this.connection.console.warn(`${file} (${Math.round(bytes / 1024)} KiB) is above the ${MAX_CALLS_FILE_BYTES / 1024} KiB limit of the call-site analysis: its call sites are not analysed.`);
    }
    return [...files];
  }

  private async runStatic(): Promise<void> {
    const files = this.staticFiles();
    if (files.length === 0) return;
    this.staticRun?.abort();
    const run = new AbortController();
    this.staticRun = run;
    this.staticFileSet = new Set(files);
    const progress = await this.connection.window.createWorkDoneProgress().catch(() => undefined);
    progress?.begin('Pygration', 0, `Analysing ${files.length} Python file(s)`, true);
    progress?.token.onCancellationRequested(() => run.abort());
    this.busy = `Analysing ${files.length} Python file(s)`;
    this.publishState();
    const started = Date.now();
    try {
      const host = await this.host;
      const python = this.python();
      const result = await analyzeCallSites({
        python,
        session: this.bytecodeSession(python),
        native: this.staticNative,
        files,
        beforeStaticSpace: this.startIfuncProbe(),
        // The open files' lenses do not wait for the rest of the workspace: they are published as soon as
        // their call sites and the interpreter's requirement are analysed (the same lenses as at the end).
        firstFiles: () => this.openFiles(),
        onFirstFiles: ({ byFile, pvmRequired }) => {
          if (run.signal.aborted || this.staticRun !== run) return;
          this.staticSites = new Map([...this.staticSites, ...byFile]);
          this.staticInterpreterFeatures = pvmRequired ? new Set(pvmRequired) : undefined;
          this.refreshLenses();
        },
        hostFeatures: host,
        hostVendor: (await this.hostInfo).vendor,
        countMasked: this.settings.countMaskedFeatures,
        workspaceRoot: this.workspaceFolders[0],
        summaryStore: this.summaryStore,
        tablesStore: this.tablesStore,
        followImports: this.settings.followImports,
        cache: this.cache,
        cancel: run.signal,
        onProgress: (m) => progress?.report(m),
      });
      try {
        if (run.signal.aborted) return;
        await this.acceptStatic(result, files, host, started);
      } finally {
        result.close();
      }
      this.refreshLenses();
      this.saveSummaries();
    } catch (e) {
      if (run.signal.aborted || (e instanceof Error && e.name === 'AbortError')) return;
      // Opening one of its files tries again.
      this.staticFileSet = new Set();
      this.lastError = `Static analysis failed: ${errorText(e)}`;
      this.connection.console.error(`${this.lastError}\n${e instanceof Error ? (e.stack ?? '') : ''}`);
    } finally {
      if (this.staticRun === run) {
        this.busy = undefined;
        this.staticRun = undefined;
      }
      progress?.done();
      this.publishState();
    }
  }

  /** A finished static analysis becomes the static state: call sites, the summary, diagnostics, a log line. */
  private async acceptStatic(result: CallSiteResults, files: string[], host: Set<Feature>, started: number): Promise<void> {
    this.staticSites = result.byFile;
    this.staticTracking = result.tracking;
    this.staticInterpreterFeatures = result.pvmRequired ? new Set(result.pvmRequired) : undefined;
    const required = [...new Set([...result.callSiteRequired, ...(result.pvmRequired ?? [])])];
    const verdicts = summarizeInstances({ required, source: host, catalog: this.catalogs.catalog, sourceVendor: (await this.hostInfo).vendor });
    const effective = effectiveRequirement(required, host, this.settings.countMaskedFeatures ? maskedFeatures(required, host, (await this.hostInfo).vendor) : []);
    this.staticSummary = {
      files: files.length,
      callSites: result.stats.callSites,
      resolved: result.stats.resolved,
      required: effective,
      level: x86Level(effective).name,
      compatible: verdicts.compatible.length,
      total: verdicts.total,
      unknownCallSites: result.unknownCallSites,
      lowerBound: result.lowerBound,
    };
    for (const n of result.notes) this.connection.console.warn(`Note of the workspace analysis: ${n}`);
    this.publishDiagnostics(result.tracking);
    this.lastError = undefined;
    this.connection.console.info(
      `Static analysis: ${files.length} file(s), ${result.tracking.stats.modules} modules, ${result.stats.callSites} call sites (${result.stats.resolved} resolved, ${result.unknownCallSites} unknown) in ${((Date.now() - started) / 1000).toFixed(2)} s${result.stats.native ? `; native steps: ${result.stats.native.reused} reused, ${result.stats.native.computed} computed` : ''}${this.summaryStore?.stats.loadedSummaries ? ` (${this.summaryStore.stats.loadedSummaries} function summaries read from the disk cache so far)` : ''}.`,
    );
  }

  private publishDiagnostics(tracking: BytecodeTrackingResult): void {
    const byFile = new Map<string, Diagnostic[]>();
    for (const d of tracking.diagnostics) {
      if (!d.file || d.code !== 'syntax-error') continue;
      const line = Math.max(0, (d.line ?? 1) - 1);
      const character = Math.max(0, (d.column ?? 1) - 1);
      const list = byFile.get(d.file) ?? [];
      list.push({
        severity: DiagnosticSeverity.Error,
        source: 'pygration',
        message: `${d.message} (bytecode tracking skipped this file)`,
        range: { start: { line, character }, end: { line, character: character + 1 } },
      });
      byFile.set(d.file, list);
    }
    for (const f of this.diagnosed) if (!byFile.has(f)) void this.connection.sendDiagnostics({ uri: fileUri(f), diagnostics: [] });
    this.diagnosed.clear();
    for (const [f, diagnostics] of byFile) {
      this.diagnosed.add(f);
      void this.connection.sendDiagnostics({ uri: fileUri(f), diagnostics });
    }
  }
}
