// Debug-session integration: a DebugConfigurationProvider that adds LD_BIND_NOW=1 to python/debugpy launches
// (told once why), and a DebugAdapterTracker per session that runs the live analysis at each stop.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { AnalyzeProcessRequest, DetachNotification, PrewarmNotification, type AnalyzeProcessParams, type AnalyzeProcessResult } from '../../server/src/protocol';
import type { InstanceView } from './instanceView';
import type { PygrationServer } from './languageClient';
import { BIND_NOW_EXPLANATION, injectBindNow, isRemoteAttach, type DebugConfigLike } from './logic/debugConfig';
import { DebugSessionLogic, type TrackerSink } from './logic/debugTracker';
import { Ids } from './logic/ids';
import type { DebuggeeInfo } from './logic/planMigration';
import { analysisErrorMessage, parsePtraceScope } from './logic/messages';
import { liveOrigin } from './logic/report';
import type { Settings } from './logic/settings';
import { openTroubleshooting, readPtraceScope } from './docs';

/** The envFile a launch configuration uses: its own, else the Python extension's default `${workspaceFolder}/.env`. */
function envFileOf(folder: vscode.WorkspaceFolder | undefined, config: DebugConfigLike): string | undefined {
  if (typeof config.envFile === 'string' && config.envFile !== '') {
    return path.isAbsolute(config.envFile) || !folder ? config.envFile : path.join(folder.uri.fsPath, config.envFile);
  }
  return folder ? path.join(folder.uri.fsPath, '.env') : undefined;
}

function readIfExists(file: string | undefined): string | undefined {
  if (!file) return undefined;
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

class BindNowProvider implements vscode.DebugConfigurationProvider {
  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly settings: () => Settings,
  ) {}

  // After variable substitution, so envFile and env hold real paths and values.
  resolveDebugConfigurationWithSubstitutedVariables(folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): vscode.DebugConfiguration {
    const cfg = config as DebugConfigLike;
    const decision = injectBindNow(cfg, {
      enabled: this.settings().client.injectBindNow,
      envFileText: cfg.request === 'launch' ? readIfExists(envFileOf(folder, cfg)) : undefined,
      inheritedEnv: process.env,
    });
    switch (decision.outcome) {
      case 'injected':
        this.log.info(`Debug launch '${config.name}': added ${'LD_BIND_NOW'}=1 to its environment.`);
        this.explainOnce();
        break;
      case 'already-set':
        this.log.info(`Debug launch '${config.name}': LD_BIND_NOW already set (${decision.source}); left as is.`);
        break;
      case 'env-malformed':
        this.log.warn(`Debug launch '${config.name}': its env is not an object of strings; LD_BIND_NOW not added.`);
        break;
      default:
        this.log.trace(`Debug configuration '${config.name}': ${decision.outcome}.`);
    }
    return decision.config as vscode.DebugConfiguration;
  }

  private explainOnce(): void {
    if (this.context.globalState.get<boolean>(Ids.bindNowExplainedKey)) return;
    void this.context.globalState.update(Ids.bindNowExplainedKey, true);
    void vscode.window.showInformationMessage(BIND_NOW_EXPLANATION, 'OK', "Don't Inject").then((choice) => {
      if (choice !== "Don't Inject") return;
      void vscode.workspace.getConfiguration().update(Ids.setting.injectBindNow, false, vscode.ConfigurationTarget.Global).then(
        () => this.log.info(`${Ids.setting.injectBindNow} turned off.`),
        (e: unknown) => this.log.error(`Could not write ${Ids.setting.injectBindNow}: ${e instanceof Error ? e.message : String(e)}`),
      );
    });
  }
}

/** The tracked sessions, for the commands that default to the debugged process. */
const tracked = new Map<string, { session: vscode.DebugSession; logic: DebugSessionLogic }>();

/**
 * The debuggee of the active debug session (else of the only tracked session with a known pid), with
 * whether it is paused; undefined when there is none or it runs on another machine.
 */
export function activeDebuggee(): DebuggeeInfo | undefined {
  const info = (e: { session: vscode.DebugSession; logic: DebugSessionLogic }): DebuggeeInfo | undefined => {
    const pid = e.logic.pid;
    const state = e.logic.debuggeeState;
    if (pid === undefined || state === 'ended') return undefined;
    return { sessionId: e.session.id, name: e.session.name, pid, paused: state === 'stopped' };
  };
  const active = vscode.debug.activeDebugSession;
  const current = active ? tracked.get(active.id) : undefined;
  if (current) return info(current);
  const known = [...tracked.values()].map(info).filter((d): d is DebuggeeInfo => d !== undefined);
  return known.length === 1 ? known[0] : undefined;
}

/** Debug-stop analyses in flight across sessions, so the view's progress line ends with the last one. */
let activeAnalyses = 0;

function sinkFor(
  session: vscode.DebugSession,
  log: vscode.LogOutputChannel,
  server: PygrationServer,
  view: InstanceView,
): TrackerSink {
  let permissionTold = false;
  return {
    async analyze(params: AnalyzeProcessParams, signal: AbortSignal): Promise<AnalyzeProcessResult> {
      const cts = new vscode.CancellationTokenSource();
      const onAbort = () => cts.cancel();
      signal.addEventListener('abort', onAbort);
      activeAnalyses++;
      view.setProgress(`Analysing pid ${params.pid} (${session.name} stopped)…`);
      const t0 = Date.now();
      try {
        const result = await server.sendRequest(AnalyzeProcessRequest, params, cts.token);
        log.info(`Live analysis of pid ${params.pid} at a stop of '${session.name}': ${result.ok ? 'done' : result.error?.kind ?? 'failed'} in ${Date.now() - t0} ms.`);
        return result;
      } finally {
        signal.removeEventListener('abort', onAbort);
        cts.dispose();
        if (--activeAnalyses === 0) view.setProgress(null);
      }
    },
    prewarm(pid) {
      void server.sendNotification(PrewarmNotification, { pid, sessionId: session.id });
    },
    detach(params) {
      log.info(`Debug session '${session.name}' ended: dropping its live results.`);
      void server.sendNotification(DetachNotification, params);
    },
    onResult(params, result) {
      if (result.ok && result.report) {
        view.setReport(result.report, liveOrigin(params.pid, params.label), 'live');
        return;
      }
      const error = result.error ?? { kind: 'internal' as const, message: 'the server gave no result.' };
      // The debuggee exiting between the stop and the analysis is normal at the end of a session.
      if (error.kind === 'gone' || error.kind === 'cancelled') return;
      const message = analysisErrorMessage(error, params.pid, parsePtraceScope(readPtraceScope()));
      if (!message) return;
      log.warn(`Live analysis of pid ${params.pid} failed (${error.kind}): ${error.message}`);
      view.showError(message.text, error.hint);
      if (error.kind === 'permission' && !permissionTold) {
        // Once per session: every further stop would fail the same way.
        permissionTold = true;
        void vscode.window.showErrorMessage(message.text, 'Learn More').then((c) => {
          if (c === 'Learn More') void openTroubleshooting();
        });
      }
    },
    onFailure(params, error) {
      log.warn(`Live analysis of pid ${params.pid} failed: ${error instanceof Error ? error.message : String(error)}`);
    },
    log(level, message) {
      if (level === 'warn') log.warn(message);
      else if (level === 'info') log.info(message);
      else log.trace(message);
    },
  };
}

export function register(
  context: vscode.ExtensionContext,
  log: vscode.LogOutputChannel,
  server: PygrationServer,
  view: InstanceView,
  settings: () => Settings,
): void {
  const provider = new BindNowProvider(context, log, settings);
  const factory: vscode.DebugAdapterTrackerFactory = {
    createDebugAdapterTracker(session) {
      const s = settings().client;
      const remote = isRemoteAttach(session.configuration as DebugConfigLike);
      if (remote) log.info(`Debug session '${session.name}' attaches to another machine: no live analysis.`);
      const logic = new DebugSessionLogic(
        { sessionId: session.id, label: session.name, debounceMs: s.stopDebounceMs, analyzeOnStop: s.analyzeOnStop, remote },
        sinkFor(session, log, server, view),
      );
      if (!remote) tracked.set(session.id, { session, logic });
      const end = () => {
        tracked.delete(session.id);
        logic.end();
      };
      return {
        onDidSendMessage: (m: unknown) => logic.onDidSendMessage(m),
        onWillReceiveMessage: (m: unknown) => logic.onWillReceiveMessage(m),
        onWillStopSession: end,
        onError: (e: Error) => log.trace(`Debug adapter error in '${session.name}': ${e.message}`),
        onExit: end,
      };
    },
  };
  for (const type of Ids.debugTypes) {
    context.subscriptions.push(
      vscode.debug.registerDebugConfigurationProvider(type, provider),
      vscode.debug.registerDebugAdapterTrackerFactory(type, factory),
    );
  }
}
