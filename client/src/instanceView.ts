// The instance view's panel host: one webview panel (restored after reloads by a serializer), the current
// report, focus, progress and error it shows, and the messages it sends (ready, export, reveal, command, log).

import * as vscode from 'vscode';
import type { AnalysisReport } from '../../native/src';
import { createNonce, renderWebviewHtml } from '../../webview/src/html';
import {
  isAnalysisReport,
  isFocusCallSite,
  isWebviewMessage,
  type E2eQueryOp,
  type ExportFormat,
  type FocusCallSite,
  type HostMessage,
  type ReportOrigin,
  type WebviewMessage,
} from '../../webview/src/messages';
import { Ids } from './logic/ids';
import { reportFingerprint } from './logic/report';

/** Where the shown report came from: the server's live state, or the panel's own state after a reload. */
export type ReportSource = 'live' | 'restored';

interface Shown {
  report: AnalysisReport;
  origin: ReportOrigin;
  source: ReportSource;
  fingerprint: string;
}

export interface InstanceViewActions {
  export(format: ExportFormat): void;
}

export class InstanceView implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  /** True once the current webview document said `ready` (reset when it is hidden, which unloads it). */
  private viewReady = false;
  private shown: Shown | undefined;
  private focus: FocusCallSite | null = null;
  private progress: string | null = null;
  private error: { message: string; detail?: string } | undefined;
  private readonly panelDisposables: vscode.Disposable[] = [];
  /** Test only (e2eQuery): questions posted to the page, by id, and callers waiting for its `ready`. */
  private nextQueryId = 1;
  private readonly pendingQueries = new Map<number, { resolve: (a: { text?: string; count?: number }) => void; reject: (e: Error) => void }>();
  private readyWaiters: Array<() => void> = [];
  private readonly reportEmitter = new vscode.EventEmitter<AnalysisReport | undefined>();
  /** The report on show changed (for the export command's enablement, tests). */
  readonly onDidChangeReport = this.reportEmitter.event;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    private readonly actions: InstanceViewActions,
  ) {}

  /** The report the view shows (or would show once opened). */
  get report(): AnalysisReport | undefined {
    return this.shown?.report;
  }
  get origin(): ReportOrigin | undefined {
    return this.shown?.origin;
  }
  get isOpen(): boolean {
    return this.panel !== undefined;
  }

  /** Opens the panel, or reveals it where it is. */
  show(preserveFocus = false): vscode.WebviewPanel | undefined {
    if (this.panel) {
      this.panel.reveal(undefined, preserveFocus);
      return this.panel;
    }
    const panel = vscode.window.createWebviewPanel(
      Ids.instanceViewType,
      Ids.instanceViewTitle,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus },
      this.webviewOptions(),
    );
    try {
      this.adopt(panel);
    } catch (e) {
      // A panel without its page would stay blank: close it and say why.
      const message = e instanceof Error ? e.message : String(e);
      this.log.error(`The instance view could not be created: ${message}`);
      panel.dispose();
      void vscode.window.showErrorMessage(`Pygration: the instance view could not be created: ${message}`);
      return undefined;
    }
    return panel;
  }

  /** Shows a report (a new analysis, or the live state again); the same report twice is posted once. */
  setReport(report: AnalysisReport, origin: ReportOrigin, source: ReportSource): void {
    const fingerprint = reportFingerprint(report);
    const same = this.shown?.fingerprint === fingerprint && this.shown.origin.label === origin.label;
    this.shown = { report, origin, source, fingerprint };
    this.error = undefined;
    this.progress = null;
    if (!same) {
      this.post({ type: 'report', report, origin });
      this.reportEmitter.fire(report);
    }
  }

  /** The server dropped its live state (session ended, cleared): a live report goes, a restored one stays. */
  liveDropped(): void {
    if (this.shown?.source !== 'live') return;
    this.clear();
  }

  /**
   * The server restarted and lost its live state: what the view shows stays (it is still true of that
   * process) but no longer follows the server, so a later "no live state" does not clear it.
   */
  detachFromServer(): void {
    if (this.shown?.source === 'live') this.shown = { ...this.shown, source: 'restored' };
  }

  clear(): void {
    const had = this.shown !== undefined;
    this.shown = undefined;
    this.focus = null;
    this.error = undefined;
    this.progress = null;
    this.post({ type: 'clear' });
    if (had) this.reportEmitter.fire(undefined);
  }

  setFocus(focus: FocusCallSite | null): void {
    this.focus = focus;
    this.post({ type: 'focus', callSite: focus });
  }

  setProgress(message: string | null): void {
    if (message === this.progress) return;
    this.progress = message;
    this.post({ type: 'progress', message });
  }

  showError(message: string, detail?: string): void {
    this.error = { message, detail };
    this.progress = null;
    this.post({ type: 'error', message, detail });
  }

  /** For the serializer: takes over a panel VS Code restored, with the view's persisted state. */
  restore(panel: vscode.WebviewPanel, state: unknown): void {
    if (this.panel) {
      // Only one instance view: a second restored panel (two windows' worth of state) is closed.
      panel.dispose();
      return;
    }
    panel.webview.options = this.webviewOptions();
    const saved = typeof state === 'object' && state !== null ? (state as Record<string, unknown>) : undefined;
    const data = saved?.v === 1 && typeof saved.data === 'object' && saved.data !== null ? (saved.data as Record<string, unknown>) : undefined;
    if (!this.shown && data && isAnalysisReport(data.report) && isOrigin(data.origin)) {
      this.shown = { report: data.report, origin: data.origin, source: 'restored', fingerprint: reportFingerprint(data.report) };
      this.reportEmitter.fire(data.report);
    }
    if (this.focus === null && saved && isFocusCallSite(saved.focus)) this.focus = saved.focus;
    try {
      this.adopt(panel);
    } catch (e) {
      this.log.error(`The instance view could not be restored: ${e instanceof Error ? e.message : String(e)}`);
      panel.dispose();
    }
  }

  dispose(): void {
    this.panel?.dispose();
    this.reportEmitter.dispose();
  }

  /**
   * Test only (the `pygration.e2e.webviewQuery` command, registered when PYGRATION_E2E=1): reads, clicks or
   * counts elements of the page. Reveals a hidden panel (without focus) and waits for its page to be ready.
   */
  async e2eQuery(op: E2eQueryOp, selector: string, timeoutMs = 10_000): Promise<{ text?: string; count?: number }> {
    const panel = this.panel;
    if (!panel) throw new Error('the instance view is not open');
    if (!panel.visible) panel.reveal(undefined, true);
    const deadline = Date.now() + timeoutMs;
    const within = <T>(p: Promise<T>, what: string): Promise<T> => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the instance view did not ${what} within ${timeoutMs} ms`)), Math.max(0, deadline - Date.now()));
      });
      return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
    };
    if (!this.viewReady) await within(new Promise<void>((resolve) => this.readyWaiters.push(resolve)), 'load');
    const id = this.nextQueryId++;
    const answer = new Promise<{ text?: string; count?: number }>((resolve, reject) => this.pendingQueries.set(id, { resolve, reject }));
    this.post({ type: 'e2eQuery', id, op, selector });
    try {
      return await within(answer, `answer query ${id} (${op} ${selector})`);
    } finally {
      this.pendingQueries.delete(id);
    }
  }

  private webviewOptions(): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    // No retainContextWhenHidden: the view persists its own state and the host answers `ready`.
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist')], enableFindWidget: true };
  }

  /** Gives the panel its page and handlers; throws (leaving no state behind) when the page cannot be built. */
  private adopt(panel: vscode.WebviewPanel): void {
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist');
    const html = renderWebviewHtml({
      cspSource: panel.webview.cspSource,
      nonce: createNonce(),
      scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js')).toString(),
      styleUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css')).toString(),
    });
    this.panel = panel;
    this.viewReady = false;
    panel.webview.html = html;
    this.panelDisposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => this.receive(m)),
      panel.onDidChangeViewState(() => {
        // A hidden webview is unloaded (no retainContextWhenHidden); it says `ready` again when shown.
        if (!panel.visible) this.viewReady = false;
      }),
      panel.onDidDispose(() => {
        if (this.panel !== panel) return;
        this.panel = undefined;
        this.viewReady = false;
        for (const d of this.panelDisposables.splice(0)) d.dispose();
        for (const q of this.pendingQueries.values()) q.reject(new Error('the instance view was closed'));
        this.pendingQueries.clear();
      }),
    );
  }

  private post(message: HostMessage): void {
    if (!this.panel || !this.viewReady) return;
    this.panel.webview.postMessage(message).then(
      (delivered) => {
        if (!delivered) this.log.trace(`instance view: '${message.type}' not delivered (view hidden).`);
      },
      (e: unknown) => this.log.warn(`instance view: posting '${message.type}' failed: ${e instanceof Error ? e.message : String(e)}`),
    );
  }

  /** Sends everything the view should show, after its `ready`. */
  private replay(): void {
    if (this.shown) this.post({ type: 'report', report: this.shown.report, origin: this.shown.origin });
    else this.post({ type: 'clear' });
    if (this.focus) this.post({ type: 'focus', callSite: this.focus });
    if (this.error) this.post({ type: 'error', ...this.error });
    if (this.progress !== null) this.post({ type: 'progress', message: this.progress });
  }

  private receive(m: unknown): void {
    if (!isWebviewMessage(m)) {
      this.log.warn(`instance view: ignored a malformed message ${JSON.stringify(m)?.slice(0, 200)}`);
      return;
    }
    void this.handle(m);
  }

  private async handle(m: WebviewMessage): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.viewReady = true;
        this.replay();
        for (const resolve of this.readyWaiters.splice(0)) resolve();
        return;
      case 'e2eAnswer': {
        const q = this.pendingQueries.get(m.id);
        if (!q) return;
        if (m.error !== undefined) q.reject(new Error(m.error));
        else q.resolve({ text: m.text, count: m.count });
        return;
      }
      case 'export':
        this.actions.export(m.format);
        return;
      case 'copy':
        await vscode.env.clipboard.writeText(m.text);
        this.log.info(`instance view: copied the result as ${m.format} (${m.text.length} characters).`);
        void vscode.window.setStatusBarMessage(`Pygration: copied as ${m.format}`, 3000);
        return;
      case 'reveal':
        await this.reveal(m.uri, m.line);
        return;
      case 'command':
        if (m.command === 'analyzeProcess') await vscode.commands.executeCommand(Ids.command.analyzeProcess);
        return;
      case 'log':
        if (m.level === 'error') this.log.error(m.message);
        else if (m.level === 'warn') this.log.warn(m.message);
        else this.log.info(m.message);
        return;
    }
  }

  private async reveal(uriText: string, line: number): Promise<void> {
    let uri: vscode.Uri;
    try {
      uri = vscode.Uri.parse(uriText, true);
    } catch {
      this.log.warn(`instance view: cannot reveal ${uriText}: not a URI.`);
      return;
    }
    if (uri.scheme !== 'file' && uri.scheme !== 'untitled' && uri.scheme !== 'vscode-remote') {
      this.log.warn(`instance view: refusing to reveal ${uriText} (scheme ${uri.scheme}).`);
      return;
    }
    try {
      const doc = await vscode.workspace.openTextDocument(uri);
      const l = Math.min(line, Math.max(0, doc.lineCount - 1));
      const range = new vscode.Range(l, 0, l, 0);
      await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, selection: range });
    } catch (e) {
      void vscode.window.showWarningMessage(`Pygration: could not open ${uri.fsPath || uriText}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

function isOrigin(x: unknown): x is ReportOrigin {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  return (o.kind === 'live' || o.kind === 'static') && typeof o.label === 'string';
}

/** Creates the view, its serializer (window reloads restore the panel), and returns it. */
export function register(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, actions: InstanceViewActions): InstanceView {
  const view = new InstanceView(context.extensionUri, log, actions);
  context.subscriptions.push(
    view,
    vscode.window.registerWebviewPanelSerializer(Ids.instanceViewType, {
      deserializeWebviewPanel: async (panel, state: unknown) => view.restore(panel, state),
    }),
  );
  return view;
}
