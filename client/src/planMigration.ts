// "Pygration: Plan Migration of Running Process…": picks the process (the argument, else a quick pick with the
// debugged and the analysed process first), sends the server's PlanMigration request with notification
// progress and Cancel, and opens the instance view on the report, which then has the Est. downtime column.

import * as vscode from 'vscode';
import { PlanMigrationRequest, type PlanMigrationParams, type PlanMigrationResult } from '../../server/src/protocol';
import { pickProcess, requestWithProgress } from './analyzeProcess';
import { activeDebuggee } from './debug';
import { openTroubleshooting, readPtraceScope } from './docs';
import type { InstanceView } from './instanceView';
import type { PygrationServer } from './languageClient';
import { Ids } from './logic/ids';
import { analysisErrorMessage, parsePtraceScope, type AnalysisError } from './logic/messages';
import { PAUSED_WARNING, planParams, planProgressTitle, planResultText, preferredProcesses, type PreferredProcess } from './logic/planMigration';
import { pidFromArgument } from './logic/processPick';
import { commandLabel, liveOrigin } from './logic/report';
import type { Settings } from './logic/settings';

/** Sends the request with notification progress; cancelling the notification cancels the LSP request. */
function runPlan(server: PygrationServer, view: InstanceView, log: vscode.LogOutputChannel, params: PlanMigrationParams): Promise<PlanMigrationResult> {
  return requestWithProgress(server, view, log, {
    title: planProgressTitle(params.pid, params.seconds ?? 5),
    start: `Planning the migration of pid ${params.pid}…`,
    what: `Migration plan of pid ${params.pid}`,
    cancelled: 'The migration plan was cancelled.',
    send: (client, workDoneToken, token) => client.sendRequest(PlanMigrationRequest, { ...params, workDoneToken }, token),
    detail: (result) => (result.analyzed ? ' (analysed first)' : ''),
  });
}

export function register(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, server: PygrationServer, view: InstanceView, settings: () => Settings): void {
  /**
   * The command. Optional argument: a pid (number, numeric string or `{ pid }`) to skip the quick pick and
   * any question. Resolves to the server's result (undefined when dismissed), for tests and other extensions.
   */
  const plan = async (arg?: unknown): Promise<PlanMigrationResult | undefined> => {
    let pid = pidFromArgument(arg);
    let label: string | undefined;
    let sessionId: string | undefined;
    if (pid === undefined) {
      if (arg !== undefined) log.warn(`${Ids.command.planMigration}: ignoring an argument that is not a pid: ${JSON.stringify(arg)?.slice(0, 100)}`);
      const live = server.state?.live;
      const pinned = preferredProcesses(activeDebuggee(), live ? { pid: live.pid, label: live.label, sessionId: live.sessionId } : undefined);
      const picked = await pickProcess(server, log, { title: 'Pygration: Plan Migration of Running Process', pinned });
      if (!picked) return undefined;
      pid = picked.pid;
      const preferred = pinned.find((p) => p === picked) as PreferredProcess | undefined;
      if (preferred) {
        sessionId = preferred.sessionId;
        label = preferred.source === 'live' ? live?.label : preferred.label.replace(/^\$\([^)]*\)\s*/, '');
        if (preferred.paused) {
          const choice = await vscode.window.showWarningMessage(`Pygration: ${PAUSED_WARNING}`, { modal: true }, 'Plan Anyway');
          if (choice !== 'Plan Anyway') return undefined;
        }
      } else if (!picked.typed) {
        label = picked.label;
      }
    }
    // A live report of this pid keeps its label and session (a debuggee's plan is dropped with its session).
    const live = server.state?.live;
    if (live?.pid === pid) {
      label ??= live.label;
      sessionId ??= live.sessionId;
    }
    const params = planParams(pid, settings().client.plan, { label, sessionId });
    const result = await runPlan(server, view, log, params);
    if (result.ok && result.report) {
      view.setReport(result.report, liveOrigin(pid, label ?? commandLabel(result.report)), 'live');
      view.show();
      if (result.report.migration) {
        void vscode.window.showInformationMessage(`Pygration: ${planResultText(pid, result.report.migration, result.report.instances.compatible.length)}`);
      }
      return result;
    }
    const error: AnalysisError = result.error ?? { kind: 'internal', message: 'the server returned no report.' };
    const message = analysisErrorMessage(error, pid, parsePtraceScope(readPtraceScope()), 'plan');
    if (!message) return result;
    if (view.isOpen) view.showError(message.text, error.hint);
    const show = message.severity === 'error' ? vscode.window.showErrorMessage : message.severity === 'warning' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void show(`Pygration: ${message.text}`, ...message.actions).then((choice) => {
      if (choice === 'Learn More') void openTroubleshooting();
      else if (choice === 'Pick Another Process') void vscode.commands.executeCommand(Ids.command.planMigration);
      else if (choice === 'Retry') void vscode.commands.executeCommand(Ids.command.planMigration, pid);
      else if (choice === 'Show Output') log.show();
      else if (choice === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'pygration.plan');
    });
    return result;
  };
  context.subscriptions.push(vscode.commands.registerCommand(Ids.command.planMigration, plan));
}
