// Help for failures: opens the bundled user guide (docs/extension.md) at its troubleshooting section, and
// reads the host's Yama ptrace_scope so permission messages can say what it allows.

import * as fs from 'node:fs';
import * as vscode from 'vscode';

let extensionUri: vscode.Uri | undefined;

/** Remembers where the extension is installed (called once on activation). */
export function register(context: vscode.ExtensionContext): void {
  extensionUri = context.extensionUri;
}

/** The text of /proc/sys/kernel/yama/ptrace_scope, or undefined without Yama. */
export function readPtraceScope(): string | undefined {
  try {
    return fs.readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8');
  } catch {
    return undefined;
  }
}

/** Opens docs/extension.md (rendered) at "Troubleshooting", or as text when the Markdown preview is absent. */
export async function openTroubleshooting(): Promise<void> {
  if (!extensionUri) return;
  const doc = vscode.Uri.joinPath(extensionUri, 'docs', 'extension.md');
  try {
    await vscode.workspace.fs.stat(doc);
  } catch {
    void vscode.window.showWarningMessage('Pygration: the user guide (docs/extension.md) is not part of this installation.');
    return;
  }
  try {
    await vscode.commands.executeCommand('markdown.showPreview', doc.with({ fragment: 'troubleshooting' }));
  } catch {
    await vscode.window.showTextDocument(doc);
  }
}
