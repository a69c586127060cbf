// Test-only commands for the E2E suite in the extension host (@vscode/test-electron, docs/testing.md), which
// cannot see a webview's DOM or a language status item's text. Registered ONLY when PYGRATION_E2E=1 is set.

import * as vscode from 'vscode';
import type { InstanceView } from './instanceView';
import { E2E_COMMANDS } from './logic/ids';

/** Registers the commands when the environment asks for them (PYGRATION_E2E=1); a no-op otherwise. */
export function register(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, view: InstanceView, status: { readonly text: string }): void {
  // Only for the E2E suite: users never have this variable, so these commands never exist for them.
  if (process.env.PYGRATION_E2E !== '1') return;
  log.info('PYGRATION_E2E=1: registering the test-only commands.');
  context.subscriptions.push(
    vscode.commands.registerCommand(E2E_COMMANDS.webviewQuery, async (op: unknown, selector: unknown): Promise<string | number> => {
      if ((op !== 'text' && op !== 'click' && op !== 'count') || typeof selector !== 'string') {
        throw new Error(`${E2E_COMMANDS.webviewQuery}: expected ('text' | 'click' | 'count', selector)`);
      }
      const answer = await view.e2eQuery(op, selector);
      return op === 'count' ? (answer.count ?? 0) : (answer.text ?? '');
    }),
    vscode.commands.registerCommand(E2E_COMMANDS.statusBarText, () => status.text),
  );
}
