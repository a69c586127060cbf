// The language server's live session: analysing an attached process (exact call sites and its report), planning
// its migration, reading a debuggee ahead of its first stop, detaching. languageServer.ts routes the requests here.

import * as path from 'node:path';
import type { CancellationToken, Connection, WorkDoneProgressParams } from 'vscode-languageserver/node';
import { CancelledError, isNativeError, pythonVersionOf, StopWalkCache, type Catalog, type DiskSummaryStore, type DiskTablesStore, type Feature, type HostInfo } from '../../native/src';
import { type BytecodeCache, BytecodeSession } from './bytecode';
import type { BytecodeTrackingResult } from './bytecode/types';
import type { CallSiteAnalysis } from './model';
import { planLiveProcess, planRunOptions } from './planMigration';
import type { DiskGateStore } from './gateStore';
import { analyzePythonProcess, type PolicyMemo, type PythonProcessOptions } from './processAnalysis';
import type { AnalyzeProcessParams, AnalyzeProcessResult, PlanMigrationParams, PlanMigrationResult, PygrationSettings, PygrationState } from './protocol';
import { errorText, fail, pidProblem, processExe, samePath } from './serverHelpers';

/** What the live session uses of the language server (its settings, host, caches, state and views). */
export interface SessionServer {
  readonly connection: Connection;
  readonly cache: BytecodeCache;
  readonly summaryStore: DiskSummaryStore | undefined;
  readonly tablesStore: DiskTablesStore | undefined;
  /** The precise gate's fallbacks on disk (a program debugged before falls back at its prewarm at once). */
  readonly gateStore: DiskGateStore | undefined;
  settings(): PygrationSettings;
  catalog(): Catalog;
  host(): Promise<Set<Feature>>;
  hostInfo(): Promise<HostInfo>;
  /** The open Python documents' files. */
  openFiles(): string[];
  /** The latest static analysis's tracking (reused when the process runs the same interpreter). */
  staticTracking(): BytecodeTrackingResult | undefined;
  setBusy(title: string | undefined): void;
  setError(message: string | undefined): void;
  publishState(): void;
  refreshLenses(): void;
  saveSummaries(): void;
}

/** The attached process's analysis and plan, and the run in progress. */
export class LiveSession {
  /** The live state (the process's report), shown by the client. */
  live?: PygrationState['live'];
  /** The live process's call sites by file: they take the place of the static ones. */
  sites?: Map<string, CallSiteAnalysis[]>;
  private liveRun?: AbortController;
  /** The walk kept from the last analysis (or prewarm) of a process, for its next stop (native/src/trace/stopWalk.ts). */
  private stopWalk?: { pid: number; cache: StopWalkCache; policy: PolicyMemo; bytecode: BytecodeSession };

  constructor(private readonly server: SessionServer) {}

  /** Whether a live run (analysis, plan or prewarm) is in progress. */
  get running(): boolean {
    return this.liveRun !== undefined;
  }

  /**
   * Starts a live run (an analysis or a plan): aborts the previous one, follows the request's cancellation,
   * and reports into the client's own progress UI when it passed a token (cancellation then arrives as the
   * request's cancellation); otherwise into a server-side progress.
   */
  private async beginLiveRun(workDoneToken: WorkDoneProgressParams['workDoneToken'], token: CancellationToken, title: string): Promise<LiveRun> {
    this.liveRun?.abort();
    const run = new AbortController();
    this.liveRun = run;
    token.onCancellationRequested(() => run.abort());
    const progress =
      workDoneToken !== undefined
        ? this.server.connection.window.attachWorkDoneProgress(workDoneToken)
        : await this.server.connection.window.createWorkDoneProgress().catch(() => undefined);
    progress?.begin('Pygration', 0, title, true);
    if (progress && 'token' in progress) (progress.token as CancellationToken).onCancellationRequested(() => run.abort());
    this.server.setBusy(title);
    this.server.publishState();
    return { run, progress };
  }

  private endLiveRun({ run, progress }: LiveRun): void {
    if (this.liveRun === run) {
      this.server.setBusy(undefined);
      this.liveRun = undefined;
    }
    progress?.done();
    this.server.publishState();
  }

  /** An error of a live run as the request's result (and the state's last error). */
  private liveFailure(e: unknown, run: AbortController, what: string): AnalyzeProcessResult {
    if (e instanceof CancelledError || run.signal.aborted || (e instanceof Error && e.name === 'AbortError')) {
      return fail('cancelled', `The ${what} was cancelled.`);
    }
    if (isNativeError(e)) {
      this.server.setError(e.describe());
      return fail(e.kind, e.message, e.hint);
    }
    this.server.connection.console.error(`Live ${what} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    const message = `The ${what} failed: ${errorText(e)}`;
    this.server.setError(message);
    return fail('internal', message);
  }

  async analyzeProcess(params: AnalyzeProcessParams, token: CancellationToken): Promise<AnalyzeProcessResult> {
    const badPid = pidProblem(params.pid);
    if (badPid) return badPid;
    const live = await this.beginLiveRun(params.workDoneToken, token, `Analysing ${params.label ?? `pid ${params.pid}`}`);
    try {
      return await this.analyzeLive(params, live);
    } catch (e) {
      return this.liveFailure(e, live.run, 'analysis');
    } finally {
      this.endLiveRun(live);
    }
  }

  /** The live analysis proper: on success its report becomes the live state. Throws on failure. */
  private async analyzeLive(params: AnalyzeProcessParams, { run, progress }: LiveRun): Promise<AnalyzeProcessResult> {
    const mode = params.mode ?? this.server.settings().analysisMode;
    const label = params.label ?? `pid ${params.pid}`;
    const exe = processExe(params.pid);
    if (!pythonVersionOf(params.pid, exe)) {
      return fail('not-python', `Process ${params.pid} (${path.basename(exe)}) is not a Python interpreter.`, 'Pick a Python process, or use the pygration CLI for other programs.');
    }
    // The program's own files and the open ones: their call sites resolved in the live process (exact),
    // and the native functions behind them added as roots of the process-wide walk.
    const files = this.server.openFiles();
    const staticTracking = this.server.staticTracking();
    const sameInterpreter = staticTracking !== undefined && samePath(staticTracking.python.executable, exe);
    const started = Date.now();
    const stopWalk = this.stopWalkOf(params.pid);
    const sites = { ...stopWalk.siteWalks };
    const { report, callSites: liveSites, firstPhase } = await analyzePythonProcess(params.pid, {
      ...(await this.analysisOptions(mode, run)),
      files,
      tracking: sameInterpreter ? staticTracking : undefined,
      stopWalk,
      policyMemo: this.policyMemoOf(params.pid),
      session: this.bytecodeOf(params.pid),
      // A full scan costs seconds on first use: worth it on request, not on every breakpoint stop.
      withFullScan: params.reason === 'command',
      onProgress: (m) => progress?.report(m),
    });
    this.server.connection.console.info(`Analysed pid ${params.pid} in ${((Date.now() - started) / 1000).toFixed(2)} s (walk from the stable roots: ${firstPhase ?? 'not run'}; held roots: ${stopWalk.lastHeldPhase ?? 'not run'}; call-site walks: ${stopWalk.siteWalks.reused - sites.reused} reused, ${stopWalk.siteWalks.walked - sites.walked} walked).`);
    this.sites = liveSites;
    this.live = { pid: params.pid, sessionId: params.sessionId, label, analyzedAt: new Date().toISOString(), report };
    this.server.setError(undefined);
    this.server.refreshLenses();
    this.server.saveSummaries();
    const callSites = [...(liveSites?.values() ?? [])].reduce((n, l) => n + l.length, 0);
    return { ok: true, report, callSites };
  }

  /**
   * PlanMigration: the live report of the pid (analysing the process first when the live state is of
   * another process, or of an earlier process with the same pid), then the read-only dirty-page sampling
   * and the plan, attached to that report, which becomes the live state.
   */
  async planMigration(params: PlanMigrationParams, token: CancellationToken): Promise<PlanMigrationResult> {
    const badPid = pidProblem(params.pid);
    if (badPid) return badPid;
    const checked = planRunOptions(params, this.server.catalog());
    if (!checked.ok) return fail('malformed', checked.message);
    const label = params.label ?? `pid ${params.pid}`;
    const live = await this.beginLiveRun(params.workDoneToken, token, `Planning the migration of ${label}`);
    let analyzed = false;
    try {
      let current = this.live?.pid === params.pid ? this.live : undefined;
      // Opening the process first turns a vanished pid or a permission problem into its precise error, and
      // tells a reused pid from the process analysed before.
      const exe = processExe(params.pid);
      if (current && current.report.target.exe !== undefined && !samePath(current.report.target.exe, exe)) current = undefined;
      if (!current) {
        analyzed = true;
        const result = await this.analyzeLive({ pid: params.pid, reason: 'command', label: params.label, sessionId: params.sessionId }, live);
        if (!result.ok) return { ...result, analyzed };
        current = this.live!;
      }
      const o = checked.options;
      const sampling = `Sampling the memory writes of ${label} for ${o.seconds} s`;
      this.server.setBusy(sampling);
      this.server.publishState();
      live.progress?.report(sampling);
      const report = await planLiveProcess(params.pid, current.report, o, {
        catalog: this.server.catalog(),
        isCancelled: () => live.run.signal.aborted,
        onProgress: (m) => live.progress?.report(m),
      });
      if (live.run.signal.aborted) throw new CancelledError();
      // The same live state (its call sites stay), now with the plan.
      this.live = { ...current, report };
      this.server.setError(undefined);
      return { ok: true, report, analyzed };
    } catch (e) {
      return { ...this.liveFailure(e, live.run, analyzed ? 'analysis or migration plan' : 'migration plan'), analyzed };
    } finally {
      this.endLiveRun(live);
    }
  }

  /** The options a live analysis and its prewarm share: the server's catalog, caches, host and settings, and `run`'s cancellation. */
  private async analysisOptions(mode: PythonProcessOptions['mode'], run: AbortController): Promise<PythonProcessOptions> {
    const settings = this.server.settings();
    return {
      mode,
      catalog: this.server.catalog(),
      cache: this.server.cache,
      hostFeatures: await this.server.host(),
      hostVendor: (await this.server.hostInfo()).vendor,
      countMasked: settings.countMaskedFeatures,
      cancel: run.signal,
      followImports: settings.followImports,
      strict: settings.analysisStrict,
      stores: { summaries: this.server.summaryStore, tables: this.server.tablesStore },
      gateStore: this.server.gateStore,
      isCancelled: () => run.signal.aborted,
    };
  }

  /** The kept walk of process `pid` (a new one for another process). */
  private stopWalkOf(pid: number): StopWalkCache {
    if (this.stopWalk?.pid !== pid) {
      void this.stopWalk?.bytecode.close();
      // The process's interpreter with its helper, warm from one stop to the next (each analysis would start its own).
      this.stopWalk = { pid, cache: new StopWalkCache(), policy: {}, bytecode: new BytecodeSession({ python: `/proc/${pid}/exe`, cache: this.server.cache }) };
    }
    return this.stopWalk.cache;
  }

  /** The warm bytecode session of process `pid`'s interpreter. */
  private bytecodeOf(pid: number): BytecodeSession {
    this.stopWalkOf(pid);
    return this.stopWalk!.bytecode;
  }

  /** The precise policy's fallback kept for process `pid` (its stops fall back at once once one did). */
  private policyMemoOf(pid: number): PolicyMemo {
    this.stopWalkOf(pid);
    return this.stopWalk!.policy;
  }

  /**
   * Reads a debuggee ahead of its first stop (same analysis, results discarded) so that analysis finds the
   * summaries, tables and files cached, and its walk from the stable roots kept for the first stop. A real analysis aborts it.
   */
  async prewarm(pid: number): Promise<void> {
    if (this.liveRun) return;
    const run = new AbortController();
    this.liveRun = run;
    const started = Date.now();
    try {
      // The same files and tracking as the analysis at a stop, so its walk from the stable roots can be reused there.
      const staticTracking = this.server.staticTracking();
      await analyzePythonProcess(pid, {
        ...(await this.analysisOptions(this.server.settings().analysisMode, run)),
        files: this.server.openFiles(),
        tracking: staticTracking !== undefined && samePath(staticTracking.python.executable, processExe(pid)) ? staticTracking : undefined,
        withFullScan: false,
        stopWalk: this.stopWalkOf(pid),
        policyMemo: this.policyMemoOf(pid),
        session: this.bytecodeOf(pid),
      });
      this.server.connection.console.info(`Read pid ${pid} ahead of its first stop in ${((Date.now() - started) / 1000).toFixed(2)} s.`);
      this.server.saveSummaries();
    } catch {
      // Whatever failed here will be reported by the real analysis at the stop.
    } finally {
      if (this.liveRun === run) this.liveRun = undefined;
    }
  }

  /** On shutdown: stops any analysis and the kept interpreter's helper (waiting up to 2 s for it to exit). */
  async close(): Promise<void> {
    this.liveRun?.abort();
    const exited = this.stopWalk?.bytecode.close();
    this.stopWalk = undefined;
    if (exited) await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  }

  detach(sessionId: string | undefined): void {
    if (this.live && sessionId !== undefined && this.live.sessionId !== sessionId) return;
    this.liveRun?.abort();
    this.live = undefined;
    this.sites = undefined;
    void this.stopWalk?.bytecode.close();
    this.stopWalk = undefined;
    this.server.refreshLenses();
    this.server.publishState();
  }
}

interface LiveRun {
  run: AbortController;
  progress: { report(message: string): void; done(): void } | undefined;
}
