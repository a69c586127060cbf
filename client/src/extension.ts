// The extension's entry point: creates the output channel, the language client, the instance view, the
// status bar, the debug integration and the commands; activation failures are logged and shown.

import * as vscode from 'vscode';
import type { AnalysisReport } from '../../native/src/report';
import { SetInterpreterNotification, type PygrationState } from '../../server/src/protocol';
import * as analyzeProcess from './analyzeProcess';
import * as commands from './commands';
import * as debug from './debug';
import * as docs from './docs';
import * as e2e from './e2e';
import * as instanceView from './instanceView';
import * as interpreter from './interpreter';
import * as languageClient from './languageClient';
import * as planMigration from './planMigration';
import { Ids } from './logic/ids';
import { originOfLive } from './logic/report';
import { readSettings, type Settings } from './logic/settings';
import type { ServerStatus } from './logic/status';
import * as statusBar from './statusBar';

/** What activate() returns: read-only views for tests (@vscode/test-electron) and other extensions. */
export interface PygrationApi {
  readonly serverStatus: () => ServerStatus;
  readonly state: () => PygrationState | undefined;
  /** The report the instance view shows. */
  readonly report: () => AnalysisReport | undefined;
  readonly onDidChangeState: vscode.Event<PygrationState | undefined>;
}

let server: languageClient.PygrationServer | undefined;

export function activate(context: vscode.ExtensionContext): PygrationApi | undefined {
  const t0 = performance.now();
  const log = vscode.window.createOutputChannel(Ids.outputChannel, { log: true });
  context.subscriptions.push(log);
  try {
    const settings = (): Settings => readSettings((key) => vscode.workspace.getConfiguration().get(key));
    const reportProblems = () => {
      for (const p of settings().problems) log.warn(`Setting ignored: ${p}`);
    };
    reportProblems();
    context.subscriptions.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(Ids.section)) reportProblems();
      }),
    );
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

    const statusItem = statusBar.register(context, srv, interpreterService);
    debug.register(context, log, srv, view, settings);
    analyzeProcess.register(context, log, srv, view);
    planMigration.register(context, log, srv, view, settings);
    commands.register(context, log, srv, view, settings);
    e2e.register(context, log, view, statusItem);

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

export async function deactivate(): Promise<void> {
  const s = server;
  server = undefined;
  await s?.dispose();
}
