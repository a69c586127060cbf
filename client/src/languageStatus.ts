// The language status item of Python editors: required x86-64 level, feature count and "migratable to
// N/383" (live over static), busy while the server works, an error state; its link shows the instance view
// (or restarts the server). It replaces a permanent status bar entry: it shows only beside Python files.

import * as vscode from 'vscode';
import type { InterpreterService } from './interpreter';
import type { PygrationServer } from './languageClient';
import { Ids } from './logic/ids';
import { formatLanguageStatus } from './logic/status';

const SEVERITY = {
  information: vscode.LanguageStatusSeverity.Information,
  warning: vscode.LanguageStatusSeverity.Warning,
  error: vscode.LanguageStatusSeverity.Error,
} as const;

export function register(
  context: vscode.ExtensionContext,
  server: PygrationServer,
  interpreter: InterpreterService,
  restrictedNote: () => string | undefined,
): { item: vscode.LanguageStatusItem; update(): void } {
  const item = vscode.languages.createLanguageStatusItem(Ids.languageStatusId, { language: 'python' });
  item.name = Ids.languageStatusName;
  const update = () => {
    const view = formatLanguageStatus({ state: server.state, server: server.status, interpreter: interpreter.description, restrictedNote: restrictedNote() });
    item.text = view.text;
    item.detail = view.detail;
    item.severity = SEVERITY[view.severity];
    item.busy = view.busy;
    item.command = { title: view.command.title, command: view.command.command, tooltip: view.command.tooltip };
    item.accessibilityInformation = { label: view.accessibleText, role: 'button' };
  };
  context.subscriptions.push(item, server.onDidChangeState(update), server.onDidChangeStatus(update), interpreter.onDidChange(update));
  update();
  return { item, update };
}
