// ESLint flat config: only the layer boundaries (docs/architecture in DESIGN.md, Conventions 1), checked by
// `npm run lint` and scripts/test.sh; type checking and style stay with tsc, so no other rule is turned on.
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

// Node's built-in modules by their bare names (fs, path, child_process, ... and fs/promises), for the webview.
const nodeBuiltins = builtinModules.filter((name) => !name.startsWith('_'));

const vscode = { regex: '^vscode$', message: 'Only client/ may import vscode.' };
const server = { regex: '(^|/)server/', message: 'The engine (native/) must not import the language server.' };
const client = { regex: '(^|/)client/', message: 'Only the extension host (client/) may import client/.' };
// The engine's one public face is native/src/index.ts: its users outside native/ never reach past it.
const deepEngine = { regex: '(^|/)native/src/(?!index$)', message: 'Import the engine through native/src (its index.ts), not a file inside it.' };

/** A `no-restricted-imports` rule with the given patterns (and bare module names). */
function forbid(patterns, paths = []) {
  return { 'no-restricted-imports': ['error', { patterns, paths }] };
}

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', '.e2e/**', 'test/**', 'eval/**', 'bench/**', 'scripts/**', '*.mjs'] },
  {
    files: ['native/src/**/*.ts', 'server/src/**/*.ts', 'client/src/**/*.ts', 'webview/src/**/*.ts'],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: 'module' },
    // The plugin is registered (no rule of it turned on) so that comments naming its rules still resolve.
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'off' },
  },
  // The engine: Node only, never the editor, the server or the client.
  { files: ['native/src/**/*.ts'], rules: forbid([vscode, server, client]) },
  // The language server and CLI: the engine below it (through its index), never the editor or the client.
  {
    files: ['server/src/**/*.ts'],
    rules: forbid([
      { ...vscode, message: 'The language server runs outside the editor: it must not import vscode.' },
      { ...client, message: 'The language server must not import the client.' },
      deepEngine,
    ]),
  },
  // The client speaks to the server through its protocol module only (requests, notifications, their types),
// and to the engine through its index.
  {
    files: ['client/src/**/*.ts'],
    rules: forbid([{ regex: '(^|/)server/src/(?!protocol$)', message: 'The client imports the server only through server/src/protocol.' }, deepEngine]),
  },
  // The webview runs in a browser: no Node built-ins, no editor API (it talks through acquireVsCodeApi), and the
  // engine only through its browser-safe face.
  {
    files: ['webview/src/**/*.ts'],
    rules: forbid(
      [
        { regex: '^node:', message: 'The webview runs in a browser: no Node built-ins.' },
        { ...vscode, message: 'The webview runs in a browser: it talks to the extension through acquireVsCodeApi, not vscode.' },
        { regex: '(^|/)(server|client)/', message: 'The webview must not import the server or the client.' },
        { regex: '(^|/)native/src(/(?!browser$)|$)', message: 'The webview imports the engine only through native/src/browser (its browser-safe face).' },
      ],
      nodeBuiltins.map((name) => ({ name, message: 'The webview runs in a browser: no Node built-ins.' })),
    ),
  },
);
