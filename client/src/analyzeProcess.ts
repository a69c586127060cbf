// "Pygration: Analyze Running Process": a quick pick of the user's Python processes (pid, command line,
// LD_BIND_NOW, owner), then the live analysis with cancellable progress, then the instance view.

import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { WorkDoneProgress } from 'vscode-languageclient/node';
import { AnalyzeProcessRequest, ListProcessesRequest, type AnalyzeProcessParams, type AnalyzeProcessResult, type ProcessCandidate } from '../../server/src/protocol';
import { openTroubleshooting, readPtraceScope } from './docs';
import type { InstanceView } from './instanceView';
import type { PygrationServer } from './languageClient';
import type { LanguageClient } from 'vscode-languageclient/node';
import { Ids } from './logic/ids';
import { analysisErrorMessage, errorFromException, parsePtraceScope, type AnalysisError } from './logic/messages';
import { pidFromArgument, processPickItems, typedPidItem, type ProcessPickItem } from './logic/processPick';
import { commandLabel, liveOrigin } from './logic/report';

type PickItem = vscode.QuickPickItem & { pid?: number };

const SHOW_ALL: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('list-flat'), tooltip: 'Show all processes, not only Python' };
const SHOW_PYTHON: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('filter'), tooltip: 'Show only Python processes' };

export interface PickOptions {
  title: string;
  /** Entries shown above the process list (the first is active: Enter takes it). */
  pinned?: readonly ProcessPickItem[];
}

/** Lets the user pick a process; resolves to its item, or undefined when dismissed. */
export async function pickProcess(
  server: PygrationServer,
  log: vscode.LogOutputChannel,
  options: PickOptions = { title: 'Pygration: Analyze Running Process' },
): Promise<ProcessPickItem | undefined> {
  const qp = vscode.window.createQuickPick<PickItem>();
  qp.title = options.title;
  qp.placeholder = 'Pick a Python process, or type a pid';
  const pinned = options.pinned ?? [];
  qp.matchOnDescription = true;
  qp.matchOnDetail = false;
  qp.ignoreFocusOut = false;
  let pythonOnly = true;
  let listed: ProcessPickItem[] = [];
  const exclude = new Set([process.pid]);

  const refreshItems = () => {
    const typed = typedPidItem(qp.value, listed);
    const items: PickItem[] = listed.map((i) => ({ ...i, alwaysShow: false }));
    if (pinned.length > 0) {
      const separator: PickItem[] = items.length > 0 ? [{ label: 'Processes', kind: vscode.QuickPickItemKind.Separator }] : [];
      items.unshift(...pinned.map((i) => ({ ...i, alwaysShow: qp.value === '' })), ...separator);
    }
    if (typed) items.unshift({ ...typed, alwaysShow: true });
    if (items.length === 0 && !qp.busy) {
      items.push({ label: pythonOnly ? 'No Python processes of yours are running' : 'No processes found', description: 'Type a pid to analyse any process', alwaysShow: true });
    }
    qp.items = items;
  };
  const load = async () => {
    qp.busy = true;
    qp.buttons = [pythonOnly ? SHOW_ALL : SHOW_PYTHON];
    try {
      const candidates: ProcessCandidate[] = await server.sendRequest(ListProcessesRequest, { pythonOnly });
      listed = processPickItems(candidates, exclude);
    } catch (e) {
      listed = [];
      const message = errorFromException(e).message;
      log.error(`Listing processes failed: ${message}`);
      qp.placeholder = `Could not list processes (${message}); type a pid`;
    } finally {
      qp.busy = false;
      refreshItems();
    }
  };

  return new Promise<ProcessPickItem | undefined>((resolve) => {
    let done = false;
    const finish = (item: ProcessPickItem | undefined) => {
      if (done) return;
      done = true;
      resolve(item);
      qp.dispose();
    };
    qp.onDidChangeValue(() => refreshItems());
    qp.onDidTriggerButton(() => {
      pythonOnly = !pythonOnly;
      void load();
    });
    qp.onDidAccept(() => {
      const chosen = qp.selectedItems[0] ?? qp.activeItems[0];
      const typedPid = chosen?.pid === undefined ? typedPidItem(qp.value, listed)?.pid : undefined;
      const pid = chosen?.pid ?? typedPid;
      if (pid === undefined) return;
      const item = (chosen?.pid !== undefined ? pinned.find((i) => i.pid === pid) : undefined) ?? listed.find((i) => i.pid === pid) ?? { label: `pid ${pid}`, description: '', detail: '', pid, typed: true };
      finish(item);
    });
    qp.onDidHide(() => finish(undefined));
    qp.show();
    void load();
  });
}

/**
 * Sends a request of the server that reports work-done progress on a token of ours, under a cancellable
 * notification: the server's steps show in the notification and the instance view, cancelling the notification
 * cancels the LSP request, and any failure comes back as `{ ok: false, error }` (logged).
 */
export async function requestWithProgress<R extends AnalyzeProcessResult>(
  server: PygrationServer,
  view: InstanceView,
  log: vscode.LogOutputChannel,
  o: {
    title: string;
    /** Shown in the instance view until the server's first step. */
    start: string;
    /** Names the job in the log: `Analysis of pid 42`. */
    what: string;
    cancelled: string;
    send(client: LanguageClient, workDoneToken: string, token: vscode.CancellationToken): Promise<R>;
    /** More for the log line of a result. */
    detail?(result: R): string;
  },
): Promise<R> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: o.title, cancellable: true }, async (progress, token) => {
    const workDoneToken = `pygration/${randomUUID()}`;
    view.setProgress(o.start);
    const t0 = Date.now();
    let sub: vscode.Disposable | undefined;
    try {
      const client = await server.ready();
      // The server reports its steps as work-done progress on our token (LSP WorkDoneProgressParams).
      sub = client.onProgress(WorkDoneProgress.type, workDoneToken, (value) => {
        if (value.kind !== 'end' && value.message) {
          progress.report({ message: value.message });
          view.setProgress(value.message);
        }
      });
      const result = await o.send(client, workDoneToken, token);
      log.info(`${o.what}: ${result.ok ? 'done' : `failed (${result.error?.kind})`}${o.detail?.(result) ?? ''} in ${Date.now() - t0} ms.`);
      return result;
    } catch (e) {
      const error = errorFromException(e);
      if (token.isCancellationRequested) return { ok: false, error: { kind: 'cancelled', message: o.cancelled } } as R;
      log.error(`${o.what} failed: ${e instanceof Error ? e.message : String(e)}`);
      return { ok: false, error } as R;
    } finally {
      sub?.dispose();
      view.setProgress(null);
    }
  });
}

/** Runs the analysis with notification progress; cancelling the notification cancels the LSP request. */
function runAnalysis(server: PygrationServer, view: InstanceView, log: vscode.LogOutputChannel, pid: number, label: string | undefined): Promise<AnalyzeProcessResult> {
  return requestWithProgress(server, view, log, {
    title: `Pygration: analysing pid ${pid}`,
    start: `Analysing pid ${pid}…`,
    what: `Analysis of pid ${pid}`,
    cancelled: 'The analysis was cancelled.',
    send: (client, workDoneToken, token) => {
      const params: AnalyzeProcessParams & { workDoneToken: string } = { pid, reason: 'command', label, workDoneToken };
      return client.sendRequest(AnalyzeProcessRequest, params, token);
    },
  });
}

export function register(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, server: PygrationServer, view: InstanceView): void {
  /**
   * The command. Optional argument: a pid (number, numeric string or `{ pid }`) to skip the quick pick.
   * Resolves to the server's result (undefined when the pick was dismissed), for tests and other extensions.
   */
  const analyze = async (arg?: unknown): Promise<AnalyzeProcessResult | undefined> => {
    let pid = pidFromArgument(arg);
    let label: string | undefined;
    if (pid === undefined) {
      if (arg !== undefined) log.warn(`${Ids.command.analyzeProcess}: ignoring an argument that is not a pid: ${JSON.stringify(arg)?.slice(0, 100)}`);
      const picked = await pickProcess(server, log);
      if (!picked) return undefined;
      pid = picked.pid;
      if (!picked.typed) label = picked.label;
    }
    const result = await runAnalysis(server, view, log, pid, label);
    if (result.ok && result.report) {
      view.setReport(result.report, liveOrigin(pid, label ?? commandLabel(result.report)), 'live');
      view.show();
      return result;
    }
    const error: AnalysisError = result.error ?? { kind: 'internal', message: 'the server returned no report.' };
    const message = analysisErrorMessage(error, pid, parsePtraceScope(readPtraceScope()));
    if (!message) return result;
    if (view.isOpen) view.showError(message.text, error.hint);
    const show = message.severity === 'error' ? vscode.window.showErrorMessage : message.severity === 'warning' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void show(`Pygration: ${message.text}`, ...message.actions).then((choice) => {
      if (choice === 'Learn More') void openTroubleshooting();
      else if (choice === 'Pick Another Process') void vscode.commands.executeCommand(Ids.command.analyzeProcess);
      else if (choice === 'Retry') void vscode.commands.executeCommand(Ids.command.analyzeProcess, pid);
      else if (choice === 'Show Output') log.show();
    });
    return result;
  };
  context.subscriptions.push(vscode.commands.registerCommand(Ids.command.analyzeProcess, analyze));
}
