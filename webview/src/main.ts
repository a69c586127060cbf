// The instance view's entry point (bundled by esbuild into dist/webview.js, with media/main.css into
// dist/webview.css): registers the toolkit, starts the App and wires it to the host's messages.
import '../media/main.css';
import { App, type PersistedState } from './app';
import { registerToolkit } from './toolkit';
import { getVsCodeApi } from './vscodeApi';

const vscode = getVsCodeApi<PersistedState>();

window.addEventListener('error', (e) => {
  vscode.postMessage({ type: 'log', level: 'error', message: `instance view: ${e.message} (${e.filename}:${e.lineno})` });
});
window.addEventListener('unhandledrejection', (e) => {
  vscode.postMessage({ type: 'log', level: 'error', message: `instance view: unhandled rejection ${String(e.reason)}` });
});

registerToolkit();
const root = document.getElementById('app');
if (!root) throw new Error('instance view: the document has no #app element');
const app = new App(root, vscode);
window.addEventListener('message', (e: MessageEvent) => app.receive(e.data));
vscode.postMessage({ type: 'ready' });
