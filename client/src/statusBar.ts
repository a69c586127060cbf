// The status bar item: required x86-64 level, feature count and "migratable to N/383" (live over static),
// a spinner while the server works, an error state; a click shows the instance view (or restarts the server).

import * as vscode from 'vscode';
import type { InterpreterService } from './interpreter';
import type { PygrationServer } from './languageClient';
import { formatStatus } from './logic/status';

export function register(context: vscode.ExtensionContext, server: PygrationServer, interpreter: InterpreterService): vscode.StatusBarItem {
  const item = vscode.window.createStatusBarItem('pygration.status', vscode.StatusBarAlignment.Left, 10);
  item.name = 'Pygration';
  const update = () => {
    const view = formatStatus({ state: server.state, server: server.status, interpreter: interpreter.description });
    item.text = view.text;
    const tooltip = new vscode.MarkdownString(view.tooltip, true);
    tooltip.isTrusted = false;
    item.tooltip = tooltip;
    item.command = view.command;
    item.accessibilityInformation = { label: view.accessibleText, role: 'button' };
    item.backgroundColor =
      view.severity === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : view.severity === 'warning' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  };
  context.subscriptions.push(item, server.onDidChangeState(update), server.onDidChangeStatus(update), interpreter.onDidChange(update));
  update();
  item.show();
  return item;
}
