// The extension's entry point: checks the platform (Linux x86-64, else one message and nothing else),
// creates the output channel, the language client, the instance view, the language status item, the debug
// integration, the commands and the context keys; follows workspace trust; activation failures are shown.

import * as vscode from 'vscode';
import type { AnalysisReport } from '../../native/src';
import { SetInterpreterNotification, type PygrationState } from '../../server/src/protocol';
import * as analyzeProcess from './analyzeProcess';
import * as commands from './commands';
import * as debug from './debug';
import * as docs from './docs';
import * as e2e from './e2e';
import * as instanceView from './instanceView';
import * as interpreter from './interpreter';
import * as languageClient from './languageClient';
import * as languageStatus from './languageStatus';
import * as planMigration from './planMigration';
import { changedKeys, contextKeyValues } from './logic/contextKeys';
import { Ids } from './logic/ids';
import { platformSupport } from './logic/platform';
import { originOfLive } from './logic/report';
import { readSettings, type Settings } from './logic/settings';
import type { ServerStatus } from './logic/status';
import { restrictedModeNote, trustedGetter } from './logic/trust';

/** What activate() returns: read-only views for tests (@vscode/test-electron) and other extensions. */
export interface PygrationApi {
  readonly serverStatus: () => ServerStatus;
  readonly state: () => PygrationState | undefined;
  /** The report the instance view shows. */
  readonly report: () => AnalysisReport | undefined;
  readonly onDidChangeState: vscode.Event<PygrationState | undefined>;
}

let server: languageClient.PygrationServer | undefined;

/** globalState key: the unsupported-platform message was shown for this version. */
const UNSUPPORTED_SHOWN_KEY = 'pygration.unsupportedPlatformShown';

/**
 * On a platform other than Linux x86-64: no server, no analysis; one message (once per version), and every
 * contributed command repeats it instead of failing.
 */
function activateUnsupported(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, message: string): undefined {
  log.warn(message);
  for (const [k, v] of Object.entries(contextKeyValues({ supported: false, server: 'stopped', hasReport: false }))) void vscode.commands.executeCommand('setContext', k, v);
  const show = () => void vscode.window.showWarningMessage(message);
  for (const id of Object.values(Ids.command)) {
    context.subscriptions.push(id === Ids.command.showOutput ? vscode.commands.registerCommand(id, () => log.show()) : vscode.commands.registerCommand(id, show));
  }
  const version = String(context.extension.packageJSON?.version ?? '');
  if (context.globalState.get(UNSUPPORTED_SHOWN_KEY) !== version) {
    void context.globalState.update(UNSUPPORTED_SHOWN_KEY, version);
    show();
  }
  return undefined;
}

export function activate(context: vscode.ExtensionContext): PygrationApi | undefined {
  const t0 = performance.now();
  const log = vscode.window.createOutputChannel(Ids.outputChannel, { log: true });
  context.subscriptions.push(log);
  const platform = platformSupport(process.platform, process.arch);
  if (!platform.supported) return activateUnsupported(context, log, platform.message!);
  try {
    const { settings, restrictedNote } = settingsReader(context, log);
    docs.register(context);

    const view = instanceView.register(context, log, {
      export: (format) => void vscode.commands.executeCommand(Ids.command.exportReport, format),
    });

    // The interpreter service is created first so the server's initializationOptions can name it.
    let pygrationServer: languageClient.PygrationServer | undefined;
    const interpreterService = interpreter.register(
      context,
      log,
      () => settings().server.pythonPath,
      (path) => void pygrationServer?.sendNotification(SetInterpreterNotification, { interpreter: path }),
    );
    pygrationServer = languageClient.register(context, log, () => ({ settings: settings().server, interpreter: interpreterService.current.path }));
    server = pygrationServer;
    const srv = pygrationServer;

    // The view follows the server's live state: a new live report is shown, a dropped one is cleared. A
    // server that stopped or restarted lost its state without anything being dropped: the view keeps it.
    context.subscriptions.push(
      srv.onDidChangeState((state) => {
        if (state?.live) view.setReport(state.live.report, originOfLive(state.live), 'live');
        else if (state) view.liveDropped();
      }),
      srv.onDidChangeStatus((status) => {
        if (status !== 'running') view.detachFromServer();
      }),
    );

    const status = languageStatus.register(context, srv, interpreterService, restrictedNote);
    debug.register(context, log, srv, view, settings);
    analyzeProcess.register(context, log, srv, view);
    planMigration.register(context, log, srv, view, settings);
    commands.register(context, log, srv, view, settings);
    e2e.register(context, log, view, status.item);

    registerContextKeys(context, srv, view);
    registerTrustGrant(context, log, srv, interpreterService, status);

    log.info(`Pygration activated in ${(performance.now() - t0).toFixed(0)} ms (extension ${context.extension.packageJSON?.version ?? '?'}).`);
    return {
      serverStatus: () => srv.status,
      state: () => srv.state,
      report: () => view.report,
      onDidChangeState: srv.onDidChangeState,
    };
  } catch (e) {
    const message = e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e);
    log.error(`Activation failed: ${message}`);
    void vscode.window.showErrorMessage(`Pygration failed to activate: ${e instanceof Error ? e.message : String(e)}`, 'Show Output').then((c) => {
      if (c) log.show();
    });
    return undefined;
  }
}

/**
 * The settings as the extension reads them, with problems logged now and on every change. In Restricted Mode
 * the settings that name programs or files come from the user's settings only.
 */
function settingsReader(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): { settings: () => Settings; restrictedNote: () => string | undefined } {
  const config = () => vscode.workspace.getConfiguration();
  const settings = (): Settings =>
    readSettings(
      trustedGetter(
        (key) => config().get(key),
        (key) => config().inspect(key),
        vscode.workspace.isTrusted,
      ),
    );
  const restrictedNote = (): string | undefined => restrictedModeNote(vscode.workspace.isTrusted);
  const reportProblems = () => {
    for (const p of settings().problems) log.warn(`Setting ignored: ${p}`);
  };
  reportProblems();
  const note = restrictedNote();
  if (note) log.warn(note);
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(Ids.section)) reportProblems();
    }),
  );
  return { settings, restrictedNote };
}

/** Context keys for the menus' `when` clauses and the walkthrough, set only when a value changes. */
function registerContextKeys(context: vscode.ExtensionContext, srv: languageClient.PygrationServer, view: ReturnType<typeof instanceView.register>): void {
  let keys: Record<string, boolean> | undefined;
  const updateKeys = () => {
    const next = contextKeyValues({ supported: true, server: srv.status, state: srv.state, hasReport: view.report !== undefined });
    for (const [k, v] of changedKeys(next, keys)) void vscode.commands.executeCommand('setContext', k, v);
    keys = next;
  };
  context.subscriptions.push(srv.onDidChangeState(updateKeys), srv.onDidChangeStatus(updateKeys), view.onDidChangeReport(updateKeys));
  updateKeys();
}

/**
 * Trusting the workspace brings its interpreter and catalog settings (and the Python extension's selection)
 * into effect: the interpreter is chosen again and the server restarts with them.
 */
function registerTrustGrant(
  context: vscode.ExtensionContext,
  log: vscode.LogOutputChannel,
  srv: languageClient.PygrationServer,
  interpreterService: ReturnType<typeof interpreter.register>,
  status: ReturnType<typeof languageStatus.register>,
): void {
  context.subscriptions.push(
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      log.info('The workspace is trusted now: using its Pygration settings and the Python extension\'s interpreter.');
      status.update();
      void interpreterService.connect().then(() => interpreterService.refresh('the workspace was trusted'));
      void srv.restart().catch((e: unknown) => log.error(`Restart after the trust grant failed: ${e instanceof Error ? e.message : String(e)}`));
    }),
  );
}

export async function deactivate(): Promise<void> {
  const s = server;
  server = undefined;
  await s?.dispose();
}
