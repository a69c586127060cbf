// The E2EDriver inside a VS Code extension host (@vscode/test-electron): the same steps through the vscode
// API (executeCodeLensProvider, executeHoverProvider, debug API, output channel log files) instead of the UI.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { matches, waitFor, type CodeLensInfo, type CommandRef, type DebugStop, type E2EDriver, type QuickPickChoice, type SourcePosition } from '../driver';

export interface VscodeApiDriverOptions {
  workspaceRoot: string;
  /** VS Code's --logsPath: output channels are written below it as `…/output_logging_*\/N-<name>.log`. */
  logsDir: string;
  /**
   * Webview title → a command of the extension under test that answers `(op: 'text' | 'click' | 'count',
   * selector)` with the element's textContent (or the number of matches): the extension host cannot reach a
   * webview's DOM any other way.
   */
  webviewBridges: Record<string, string>;
  /** Status bar item id → a command of its extension that returns the item's text (the API cannot read other extensions' items). */
  statusBarBridges?: Record<string, string>;
}

interface StopEvent {
  sessionId: string;
  threadId: number | undefined;
  reason: string;
}

/** Finds the log file of an output channel: `N-<name>.log` (plain channels) or `<name>.log` (log channels). */
function findChannelLog(dir: string, name: string): string | undefined {
  let found: { file: string; mtime: number } | undefined;
  const visit = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) visit(p);
      else if (entry.name === `${name}.log` || new RegExp(`^\\d+-${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.log$`).test(entry.name)) {
        const mtime = fs.statSync(p).mtimeMs;
        if (!found || mtime > found.mtime) found = { file: p, mtime };
      }
    }
  };
  if (fs.existsSync(dir)) visit(dir);
  return found?.file;
}

export class VscodeApiDriver implements E2EDriver, vscode.Disposable {
  readonly kind = 'test-electron';
  readonly workspaceRoot: string;
  private stops: StopEvent[] = [];
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly options: VscodeApiDriverOptions) {
    this.workspaceRoot = options.workspaceRoot;
    // Every debug session's `stopped` events, as the adapter sends them.
    this.disposables.push(
      vscode.debug.registerDebugAdapterTrackerFactory('*', {
        createDebugAdapterTracker: (session) => ({
          onDidSendMessage: (m: { type?: string; event?: string; body?: { reason?: string; threadId?: number } }) => {
            if (m.type === 'event' && m.event === 'stopped') this.stops.push({ sessionId: session.id, threadId: m.body?.threadId, reason: String(m.body?.reason ?? '') });
          },
        }),
      }),
    );
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  private uri(relPath: string): vscode.Uri {
    return vscode.Uri.file(path.join(this.workspaceRoot, relPath));
  }

  async openFile(relPath: string): Promise<void> {
    const document = await vscode.workspace.openTextDocument(this.uri(relPath));
    await vscode.window.showTextDocument(document, { preview: false });
  }

  async waitForEditorText(text: string, timeoutMs = 30_000): Promise<void> {
    await waitFor(`the active editor to contain "${text}"`, () => (vscode.window.activeTextEditor?.document.getText().includes(text) ? true : undefined), timeoutMs);
  }

  async runCommand(command: CommandRef): Promise<void> {
    await vscode.commands.executeCommand(command.id);
  }

  async waitForCodeLens(relPath: string, match: string | RegExp, timeoutMs = 30_000): Promise<string[]> {
    const uri = this.uri(relPath);
    await vscode.workspace.openTextDocument(uri);
    return waitFor(
      `a code lens matching ${String(match)}`,
      async () => {
        // The second argument resolves up to that many unresolved lenses, so titles are filled in.
        const lenses = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri, 100)) ?? [];
        const titles = lenses
          .slice()
          .sort((a, b) => a.range.start.line - b.range.start.line)
          .map((l) => l.command?.title ?? '')
          .filter((t) => t !== '');
        if (!titles.some((t) => matches(t, match))) throw new Error(`lenses: ${JSON.stringify(titles)}`);
        return titles;
      },
      timeoutMs,
    );
  }

  async waitForCodeLenses(relPath: string, what: string, accept: (lenses: CodeLensInfo[]) => boolean, timeoutMs = 30_000): Promise<CodeLensInfo[]> {
    const uri = this.uri(relPath);
    await this.openFile(relPath);
    return waitFor(
      `code lenses of ${relPath}: ${what}`,
      async () => {
        const provided = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri, 100)) ?? [];
        const lenses = provided
          .filter((l) => (l.command?.title ?? '') !== '')
          .map((l) => ({ line: l.range.start.line + 1, title: l.command!.title }))
          .sort((a, b) => a.line - b.line);
        if (!accept(lenses)) throw new Error(`lenses: ${JSON.stringify(lenses)}`);
        return lenses;
      },
      timeoutMs,
      250,
    );
  }

  async runCommandAndPick(command: CommandRef, pick: QuickPickChoice): Promise<void> {
    // The extension host cannot select a row of another extension's quick pick: the argument makes the same choice.
    await vscode.commands.executeCommand(command.id, pick.argument);
  }

  async statusBarText(itemId: string): Promise<string | undefined> {
    const command = this.options.statusBarBridges?.[itemId];
    if (!command) throw new Error(`no status bar bridge command is configured for "${itemId}"`);
    return vscode.commands.executeCommand<string | undefined>(command);
  }

  /** Through the same bridges as statusBarText: the extension's bridge command returns its item's text. */
  languageStatusText(itemId: string): Promise<string | undefined> {
    return this.statusBarText(itemId);
  }

  async webviewCount(viewTitle: string, selector: string): Promise<number> {
    return (await vscode.commands.executeCommand<number>(this.bridge(viewTitle), 'count', selector)) ?? 0;
  }

  async hoverText(relPath: string, position: SourcePosition): Promise<string> {
    const hovers =
      (await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', this.uri(relPath), new vscode.Position(position.line - 1, position.column - 1))) ?? [];
    return hovers
      .flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value)))
      .join('\n')
      .trim();
  }

  async waitForOutput(channel: string, match: string | RegExp, timeoutMs = 30_000): Promise<string> {
    return waitFor(
      `output channel "${channel}" to match ${String(match)}`,
      () => {
        const file = findChannelLog(this.options.logsDir, channel);
        if (!file) throw new Error(`no log file for the channel under ${this.options.logsDir}`);
        const text = fs.readFileSync(file, 'utf8');
        if (!matches(text, match)) throw new Error(`text: ${JSON.stringify(text.slice(-500))}`);
        return text;
      },
      timeoutMs,
    );
  }

  private bridge(viewTitle: string): string {
    const command = this.options.webviewBridges[viewTitle];
    if (!command) throw new Error(`no webview bridge command is configured for "${viewTitle}"`);
    return command;
  }

  async webviewText(viewTitle: string, selector: string): Promise<string> {
    return (await vscode.commands.executeCommand<string>(this.bridge(viewTitle), 'text', selector)) ?? '';
  }

  async webviewClick(viewTitle: string, selector: string): Promise<void> {
    await vscode.commands.executeCommand(this.bridge(viewTitle), 'click', selector);
  }

  async toggleBreakpoint(relPath: string, line: number): Promise<void> {
    const uri = this.uri(relPath);
    const existing = vscode.debug.breakpoints.filter(
      (b) => b instanceof vscode.SourceBreakpoint && b.location.uri.fsPath === uri.fsPath && b.location.range.start.line === line - 1,
    );
    if (existing.length > 0) vscode.debug.removeBreakpoints(existing);
    else vscode.debug.addBreakpoints([new vscode.SourceBreakpoint(new vscode.Location(uri, new vscode.Position(line - 1, 0)))]);
  }

  async startDebugging(configName: string): Promise<void> {
    this.stops = [];
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!(await vscode.debug.startDebugging(folder, configName))) throw new Error(`the launch configuration "${configName}" did not start`);
  }

  async waitForDebugStop(timeoutMs = 30_000): Promise<DebugStop> {
    const stop = await waitFor('a `stopped` event from the debug adapter', () => this.stops.shift(), timeoutMs);
    const session = await waitFor('the stopped debug session', () => (vscode.debug.activeDebugSession?.id === stop.sessionId ? vscode.debug.activeDebugSession : undefined), 10_000);
    let threadId = stop.threadId;
    if (threadId === undefined) {
      const threads = (await session.customRequest('threads')) as { threads: Array<{ id: number }> };
      threadId = threads.threads[0]?.id;
    }
    const trace = (await session.customRequest('stackTrace', { threadId, startFrame: 0, levels: 20 })) as {
      stackFrames: Array<{ name: string; line: number; source?: { path?: string; name?: string } }>;
    };
    return {
      reason: stop.reason.toLowerCase(),
      frames: trace.stackFrames.map((f) => ({ name: f.name, line: f.line, file: f.source?.path ?? f.source?.name ?? '' })),
    };
  }

  async stopDebugging(): Promise<void> {
    const session = vscode.debug.activeDebugSession;
    if (!session) return;
    let ended = false;
    const listener = vscode.debug.onDidTerminateDebugSession((s) => {
      if (s.id === session.id) ended = true;
    });
    try {
      await vscode.debug.stopDebugging(session);
      await waitFor('the debug session to end', () => (ended ? true : undefined), 30_000);
    } finally {
      listener.dispose();
    }
  }

  async screenshot(_name: string): Promise<undefined> {
    // The extension host has no access to the window's pixels; the code-server run takes the screenshots.
    return undefined;
  }
}
