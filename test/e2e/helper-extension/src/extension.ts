// The E2E helper extension (test only): the `debugpy` debugger type over `python3 -m debugpy.adapter`, plus
// a command, a status bar item, code lenses, hovers and a webview that give every harness helper a real target.

import * as vscode from 'vscode';
import { HELPER_COMMANDS, HELPER_OUTPUT_CHANNEL, HELPER_STATUS_ITEM_ID, HELPER_WEBVIEW_TITLE } from './ids';

/** A request from the extension host to the webview page, answered with a `bridgeResult` message. */
interface BridgeRequest {
  type: 'bridge';
  id: number;
  op: 'text' | 'click' | 'count';
  selector: string;
}
type FromWebview = { type: 'clicked'; count: number } | { type: 'bridgeResult'; id: number; text?: string; count?: number; error?: string };

/** What activate() returns: the helper's log folder, whose parent holds the output channels' log files. */
export interface HelperApi {
  logDir: string;
}

export function activate(context: vscode.ExtensionContext): HelperApi {
  // PYGRATION_E2E_HELPER_UI=minimal: only the debug type and the commands, none of the helper's own status
  // item, lenses and hovers (the extension suite's screenshots show the extension under test alone).
  const minimal = process.env.PYGRATION_E2E_HELPER_UI === 'minimal';
  const output = vscode.window.createOutputChannel(HELPER_OUTPUT_CHANNEL);
  const status = vscode.window.createStatusBarItem(HELPER_STATUS_ITEM_ID, vscode.StatusBarAlignment.Left, 1000);
  status.name = 'Pygration E2E';
  status.text = '$(beaker) E2E ready';
  status.command = HELPER_COMMANDS.ping.id;
  if (!minimal) status.show();
  context.subscriptions.push(output, status);
  output.appendLine(`activated in ${vscode.env.appName} ${vscode.version} (${vscode.env.appHost})`);

  let pings = 0;
  context.subscriptions.push(
    vscode.commands.registerCommand(HELPER_COMMANDS.ping.id, () => {
      pings += 1;
      status.text = `$(beaker) E2E ping ${pings}`;
      output.appendLine(`ping ${pings}`);
      return pings;
    }),
    vscode.commands.registerCommand(HELPER_COMMANDS.lensClicked.id, (name: string) => {
      output.appendLine(`lens clicked: ${name}`);
    }),
  );

  // Code lenses above every `def` line, and hovers naming the word under the pointer.
  const python: vscode.DocumentSelector = { language: 'python' };
  if (!minimal) context.subscriptions.push(
    vscode.languages.registerCodeLensProvider(python, {
      provideCodeLenses(document) {
        const lenses: vscode.CodeLens[] = [];
        for (let i = 0; i < document.lineCount; i++) {
          const m = /^\s*def\s+(\w+)/.exec(document.lineAt(i).text);
          if (!m) continue;
          lenses.push(
            new vscode.CodeLens(document.lineAt(i).range, {
              title: `E2E lens: ${m[1]}() at line ${i + 1}`,
              command: HELPER_COMMANDS.lensClicked.id,
              arguments: [m[1]],
            }),
          );
        }
        return lenses;
      },
    }),
    vscode.languages.registerHoverProvider(python, {
      provideHover(document, position) {
        const range = document.getWordRangeAtPosition(position);
        if (!range) return undefined;
        const word = document.getText(range);
        return new vscode.Hover(new vscode.MarkdownString(`E2E hover: \`${word}\` at line ${position.line + 1}`), range);
      },
    }),
  );

  // The webview: a counter button whose clicks reach the extension host as messages.
  let panel: vscode.WebviewPanel | undefined;
  let nextBridgeId = 1;
  const pending = new Map<number, { resolve: (answer: string | number) => void; reject: (e: Error) => void }>();
  context.subscriptions.push(
    vscode.commands.registerCommand(HELPER_COMMANDS.showWebview.id, () => {
      if (panel) {
        panel.reveal();
        return;
      }
      panel = vscode.window.createWebviewPanel('pygrationE2E.view', HELPER_WEBVIEW_TITLE, vscode.ViewColumn.Active, {
        enableScripts: true,
        localResourceRoots: [],
        retainContextWhenHidden: false,
      });
      panel.webview.html = webviewHtml(panel.webview.cspSource);
      panel.webview.onDidReceiveMessage((m: FromWebview) => {
        if (m.type === 'clicked') {
          status.text = `$(beaker) E2E webview ${m.count}`;
          output.appendLine(`webview clicked ${m.count}`);
        } else if (m.type === 'bridgeResult') {
          const p = pending.get(m.id);
          pending.delete(m.id);
          if (m.error !== undefined) p?.reject(new Error(m.error));
          else p?.resolve(m.count ?? m.text ?? '');
        }
      });
      panel.onDidDispose(() => {
        panel = undefined;
        for (const p of pending.values()) p.reject(new Error('the webview was closed'));
        pending.clear();
      });
      output.appendLine('webview opened');
    }),
    vscode.commands.registerCommand(HELPER_COMMANDS.webviewBridge.id, (op: BridgeRequest['op'], selector: string) => {
      if (!panel) return Promise.reject(new Error('the E2E webview is not open'));
      const id = nextBridgeId++;
      const request: BridgeRequest = { type: 'bridge', id, op, selector };
      return new Promise<string | number>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        void panel!.webview.postMessage(request);
      });
    }),
  );

  // The `debugpy` type, served by Debian's adapter on stdio; the tracker logs what the adapter reports.
  const pythonForAdapter = process.env.PYGRATION_E2E_PYTHON || 'python3';
  context.subscriptions.push(
    vscode.debug.registerDebugAdapterDescriptorFactory('debugpy', {
      createDebugAdapterDescriptor() {
        output.appendLine(`debug adapter: ${pythonForAdapter} -m debugpy.adapter`);
        return new vscode.DebugAdapterExecutable(pythonForAdapter, ['-m', 'debugpy.adapter']);
      },
    }),
    vscode.debug.registerDebugAdapterTrackerFactory('debugpy', {
      createDebugAdapterTracker() {
        return {
          onDidSendMessage(message: { type?: string; event?: string; body?: Record<string, unknown> }) {
            if (message.type !== 'event') return;
            if (message.event === 'process') output.appendLine(`debug process: pid ${String(message.body?.systemProcessId)}`);
            if (message.event === 'stopped') output.appendLine(`debug stopped: ${String(message.body?.reason)}`);
          },
        };
      },
    }),
  );
  return { logDir: context.logUri.fsPath };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}

/** The webview page: nonce CSP, nothing loaded from anywhere. */
function webviewHtml(cspSource: string): string {
  const nonce = Array.from({ length: 32 }, () => Math.floor(Math.random() * 36).toString(36)).join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${cspSource} 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<style nonce="${nonce}">body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); }</style>
</head>
<body>
<h1 id="title">E2E Test View</h1>
<p id="count">clicks: 0</p>
<button id="inc">Increment</button>
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
let count = 0;
document.getElementById('inc').addEventListener('click', () => {
  count += 1;
  document.getElementById('count').textContent = 'clicks: ' + count;
  vscode.postMessage({ type: 'clicked', count });
});
window.addEventListener('message', (e) => {
  const m = e.data;
  if (!m || m.type !== 'bridge') return;
  if (m.op === 'count') { vscode.postMessage({ type: 'bridgeResult', id: m.id, count: document.querySelectorAll(m.selector).length }); return; }
  const el = document.querySelector(m.selector);
  if (!el) { vscode.postMessage({ type: 'bridgeResult', id: m.id, error: 'no element matches ' + m.selector }); return; }
  if (m.op === 'click') el.click();
  vscode.postMessage({ type: 'bridgeResult', id: m.id, text: el.textContent });
});
</script>
</body>
</html>`;
}
