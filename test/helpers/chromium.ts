// Real-browser harness for the webview tests: builds the webview bundle with esbuild, serves it from a
// 127.0.0.1 HTTP server, launches Debian's Chromium through playwright-core, and supplies the two things
// VS Code's webview host would: the `acquireVsCodeApi` bridge and the --vscode-* theme variables.

import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createNonce, renderWebviewHtml } from '../../webview/src/html';
import { REPO_ROOT } from './fixtures';

export const CHROMIUM_PATH = process.env.PYGRATION_CHROMIUM ?? '/usr/bin/chromium';

export interface WebviewBundle {
  js: string;
  css: string;
}

/** Bundles webview/src/main.ts the way esbuild.mjs does for dist/ (browser, iife), in memory. */
export async function buildWebviewBundle(): Promise<WebviewBundle> {
  const result = await esbuild.build({
    entryPoints: { webview: path.join(REPO_ROOT, 'webview', 'src', 'main.ts') },
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'chrome114',
    outdir: path.join(REPO_ROOT, 'out', 'webview-bundle'),
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  });
  const pick = (ext: string) => {
    const f = result.outputFiles.find((o) => o.path.endsWith(ext));
    if (!f) throw new Error(`the webview bundle has no ${ext} output`);
    return f.text;
  };
  return { js: pick('.js'), css: pick('.css') };
}

export interface StaticServer {
  origin: string;
  /** Every request the server answered, as `METHOD /path`. */
  requests: string[];
  close(): Promise<void>;
}

/** Serves fixed files (path → body, content type) on 127.0.0.1 at a free port; anything else is a 404. */
export async function startStaticServer(files: Record<string, { body: string; type: string }>): Promise<StaticServer> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(`${req.method} ${url.pathname}`);
    const file = files[url.pathname];
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Launches Debian's Chromium headless, without any of its background network traffic. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export type ThemeKind = 'dark' | 'light';

// The variables VS Code's webview host sets on <html> for its default Dark Modern and Light Modern themes
// (the subset the view and the toolkit read), copied from those themes' color definitions.
const COMMON = {
  '--vscode-font-family': '"DejaVu Sans", "Liberation Sans", system-ui, sans-serif',
  '--vscode-font-size': '13px',
  '--vscode-font-weight': 'normal',
  '--vscode-editor-font-family': '"DejaVu Sans Mono", "Liberation Mono", monospace',
  '--vscode-editor-font-size': '13px',
};
export const THEMES: Record<ThemeKind, Record<string, string>> = {
  dark: {
    ...COMMON,
    '--vscode-foreground': '#cccccc',
    '--vscode-descriptionForeground': '#9d9d9d',
    '--vscode-errorForeground': '#f85149',
    '--vscode-focusBorder': '#0078d4',
    '--vscode-editor-background': '#1f1f1f',
    '--vscode-editor-foreground': '#cccccc',
    '--vscode-widget-border': '#313131',
    '--vscode-panel-border': '#2b2b2b',
    '--vscode-button-background': '#0078d4',
    '--vscode-button-foreground': '#ffffff',
    '--vscode-button-hoverBackground': '#026ec1',
    '--vscode-button-border': '#ffffff12',
    '--vscode-button-secondaryBackground': '#313131',
    '--vscode-button-secondaryForeground': '#cccccc',
    '--vscode-button-secondaryHoverBackground': '#3c3c3c',
    '--vscode-checkbox-background': '#313131',
    '--vscode-checkbox-border': '#3c3c3c',
    '--vscode-checkbox-foreground': '#cccccc',
    '--vscode-dropdown-background': '#313131',
    '--vscode-dropdown-border': '#3c3c3c',
    '--vscode-dropdown-foreground': '#cccccc',
    '--vscode-dropdown-listBackground': '#1f1f1f',
    '--vscode-input-background': '#313131',
    '--vscode-input-border': '#3c3c3c',
    '--vscode-input-foreground': '#cccccc',
    '--vscode-input-placeholderForeground': '#989898',
    '--vscode-badge-background': '#616161',
    '--vscode-badge-foreground': '#f8f8f8',
    '--vscode-list-hoverBackground': '#2a2d2e',
    '--vscode-list-activeSelectionBackground': '#04395e',
    '--vscode-list-activeSelectionForeground': '#ffffff',
    '--vscode-panelTitle-activeBorder': '#0078d4',
    '--vscode-panelTitle-activeForeground': '#cccccc',
    '--vscode-panelTitle-inactiveForeground': '#9d9d9d',
    '--vscode-textCodeBlock-background': '#2b2b2b',
    '--vscode-textLink-foreground': '#4daafc',
    '--vscode-progressBar-background': '#0078d4',
    '--vscode-testing-iconPassed': '#73c991',
    '--vscode-testing-iconFailed': '#f14c4c',
    '--vscode-charts-green': '#89d185',
    '--vscode-charts-red': '#f14c4c',
    '--vscode-charts-blue': '#3794ff',
    '--vscode-charts-yellow': '#cca700',
    '--vscode-charts-orange': '#d18616',
    '--vscode-charts-purple': '#b180d7',
  },
  light: {
    ...COMMON,
    '--vscode-foreground': '#3b3b3b',
    '--vscode-descriptionForeground': '#717171',
    '--vscode-errorForeground': '#f85149',
    '--vscode-focusBorder': '#005fb8',
    '--vscode-editor-background': '#ffffff',
    '--vscode-editor-foreground': '#3b3b3b',
    '--vscode-widget-border': '#e5e5e5',
    '--vscode-panel-border': '#e5e5e5',
    '--vscode-button-background': '#005fb8',
    '--vscode-button-foreground': '#ffffff',
    '--vscode-button-hoverBackground': '#0258a8',
    '--vscode-button-border': '#0000001a',
    '--vscode-button-secondaryBackground': '#e5e5e5',
    '--vscode-button-secondaryForeground': '#3b3b3b',
    '--vscode-button-secondaryHoverBackground': '#cccccc',
    '--vscode-checkbox-background': '#f8f8f8',
    '--vscode-checkbox-border': '#cecece',
    '--vscode-checkbox-foreground': '#3b3b3b',
    '--vscode-dropdown-background': '#ffffff',
    '--vscode-dropdown-border': '#cecece',
    '--vscode-dropdown-foreground': '#3b3b3b',
    '--vscode-dropdown-listBackground': '#ffffff',
    '--vscode-input-background': '#ffffff',
    '--vscode-input-border': '#cecece',
    '--vscode-input-foreground': '#3b3b3b',
    '--vscode-input-placeholderForeground': '#767676',
    '--vscode-badge-background': '#cccccc',
    '--vscode-badge-foreground': '#3b3b3b',
    '--vscode-list-hoverBackground': '#f2f2f2',
    '--vscode-list-activeSelectionBackground': '#e8e8e8',
    '--vscode-list-activeSelectionForeground': '#000000',
    '--vscode-panelTitle-activeBorder': '#005fb8',
    '--vscode-panelTitle-activeForeground': '#3b3b3b',
    '--vscode-panelTitle-inactiveForeground': '#3b3b3b',
    '--vscode-textCodeBlock-background': '#f8f8f8',
    '--vscode-textLink-foreground': '#005fb8',
    '--vscode-progressBar-background': '#005fb8',
    '--vscode-testing-iconPassed': '#388a34',
    '--vscode-testing-iconFailed': '#e51400',
    '--vscode-charts-green': '#388a34',
    '--vscode-charts-red': '#e51400',
    '--vscode-charts-blue': '#1a85ff',
    '--vscode-charts-yellow': '#bf8803',
    '--vscode-charts-orange': '#d18616',
    '--vscode-charts-purple': '#652d90',
  },
};

/**
 * Page setup standing in for VS Code's webview host, which cannot run here: it defines
 * `acquireVsCodeApi()` (posted messages recorded in `window.__posted`, state kept in sessionStorage so it
 * survives reloads like VS Code keeps it across hide/show), sets the theme variables and body classes, and
 * records CSP violations in `window.__cspViolations`. Runs before any page script, outside the page's CSP,
 * as VS Code's own injected script does.
 */
function hostShim(theme: { kind: ThemeKind; vars: Record<string, string> }): void {
  const w = window as unknown as Record<string, unknown>;
  const posted: unknown[] = [];
  const violations: unknown[] = [];
  w.__posted = posted;
  w.__cspViolations = violations;
  document.addEventListener('securitypolicyviolation', (e) => {
    violations.push({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample, source: `${e.sourceFile}:${e.lineNumber}:${e.columnNumber}` });
  });
  // This runs before the document has any element: style <html> and <body> as soon as the parser
  // creates them, before the page's script runs.
  const observer = new MutationObserver(() => {
    const html = document.documentElement;
    if (html && !html.dataset.themed) {
      html.dataset.themed = '1';
      for (const [k, v] of Object.entries(theme.vars)) html.style.setProperty(k, v);
    }
    if (document.body) {
      document.body.classList.add(`vscode-${theme.kind}`);
      document.body.setAttribute('data-vscode-theme-kind', `vscode-${theme.kind}`);
      observer.disconnect();
    }
  });
  observer.observe(document, { childList: true, subtree: true });
  let acquired = false;
  w.acquireVsCodeApi = () => {
    if (acquired) throw new Error('An instance of the VS Code API has already been acquired');
    acquired = true;
    return {
      postMessage: (m: unknown) => void posted.push(JSON.parse(JSON.stringify(m))),
      getState: () => {
        const s = sessionStorage.getItem('vscode-state');
        return s === null ? undefined : JSON.parse(s);
      },
      setState: (s: unknown) => {
        sessionStorage.setItem('vscode-state', JSON.stringify(s));
        return s;
      },
    };
  };
}

export async function installHostShim(page: Page, kind: ThemeKind): Promise<void> {
  await page.addInitScript(hostShim, { kind, vars: THEMES[kind] });
}

/** Switches the theme of a loaded page the way VS Code does: new variables, new body class. */
export async function switchTheme(page: Page, kind: ThemeKind): Promise<void> {
  await page.evaluate(
    ({ kind, vars }) => {
      for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
      document.body.classList.remove('vscode-dark', 'vscode-light');
      document.body.setAttribute('data-vscode-theme-kind', `vscode-${kind}`);
      document.body.classList.add(`vscode-${kind}`);
    },
    { kind, vars: THEMES[kind] },
  );
}

/** Messages the page posted to the "host" so far. */
export function postedMessages(page: Page): Promise<Array<{ type: string; [k: string]: unknown }>> {
  return page.evaluate(() => (window as unknown as { __posted: Array<{ type: string }> }).__posted);
}

/** Delivers a host message the way VS Code does: a `message` event on the webview's window. */
export async function postToWebview(page: Page, message: unknown): Promise<void> {
  await page.evaluate((m) => window.postMessage(m, '*'), message);
}

/** The instance view served as VS Code's host would: its bundle and index page over HTTP, and Chromium launched. */
export async function serveInstanceView(nonce = createNonce()): Promise<{ browser: Browser; server: StaticServer; html: string }> {
  const [bundle, browser] = await Promise.all([buildWebviewBundle(), launchChromium()]);
  // The server's origin is only known once it listens, and the page needs it for its CSP; so the index is
  // filled in after start (the files object is read per request).
  const files: Record<string, { body: string; type: string }> = {
    '/webview.js': { body: bundle.js, type: 'text/javascript' },
    '/webview.css': { body: bundle.css, type: 'text/css' },
  };
  const server = await startStaticServer(files);
  const html = renderWebviewHtml({ cspSource: server.origin, nonce, scriptUri: `${server.origin}/webview.js`, styleUri: `${server.origin}/webview.css` });
  files['/index.html'] = { body: html, type: 'text/html' };
  return { browser, server, html };
}

/**
 * A page of the served instance view, with the host shim (dark theme), loaded until the view posts `ready`.
 * `onPage` attaches listeners before it loads.
 */
export async function openInstanceView(
  browser: Browser,
  server: StaticServer,
  options: { viewport: { width: number; height: number }; deviceScaleFactor?: number; onPage?: (page: Page) => void },
): Promise<Page> {
  const page = await browser.newPage({ viewport: options.viewport, ...(options.deviceScaleFactor !== undefined ? { deviceScaleFactor: options.deviceScaleFactor } : {}) });
  options.onPage?.(page);
  await installHostShim(page, 'dark');
  await page.goto(`${server.origin}/index.html`);
  await page.waitForFunction(() => (window as unknown as { __posted: Array<{ type: string }> }).__posted.some((m) => m.type === 'ready'));
  return page;
}
