// The driver interface the E2E test bodies are written against, with two implementations: the browser one
// (code-server + Chromium, codeServerDriver.ts) and the extension-host one (@vscode/test-electron, vscode/).
// This module imports neither playwright nor vscode, so both sides can load it.

/** A command as the user sees it in the palette (title) and as the API knows it (id). */
export interface CommandRef {
  id: string;
  /** The palette label, `Category: Title`. */
  title: string;
}

/** A position in a file, 1-based like the editor's status bar (`Ln 10, Col 9`). */
export interface SourcePosition {
  line: number;
  column: number;
}

export interface StackFrameInfo {
  name: string;
  /** The file name as the debugger reports it (the code-server driver sees only the base name). */
  file: string;
  line: number;
}

export interface DebugStop {
  /** The DAP `stopped` reason, e.g. 'breakpoint', 'step', 'pause' (lower case). */
  reason: string;
  /** Innermost frame first. */
  frames: StackFrameInfo[];
}

/** A rendered (code-server) or provided (extension host) code lens: the 1-based line it stands above, and its title. */
export interface CodeLensInfo {
  line: number;
  /** The title as the extension wrote it, codicons as `$(name)`. */
  title: string;
}

/** How to answer the quick pick a command opens. */
export interface QuickPickChoice {
  /** The quick pick's title, waited for before typing (code-server). */
  title?: string;
  /** Text typed into the quick pick to filter its rows (code-server). */
  filter?: string;
  /** The row to pick: its accessible label ("label, description, detail") contains the string or matches the RegExp (code-server). */
  row: string | RegExp;
  /**
   * The command's argument that makes the same choice without the pick (extension host: an extension
   * cannot select a row of another extension's quick pick).
   */
  argument: unknown;
}

export interface E2EDriver {
  readonly kind: 'code-server' | 'test-electron';
  /** The opened workspace folder (a temporary copy of a fixture), absolute. */
  readonly workspaceRoot: string;
  /** Opens a workspace file in the editor and makes it the active editor. */
  openFile(relPath: string): Promise<void>;
  /** Waits until the active editor shows (code-server: renders) the text. */
  waitForEditorText(text: string, timeoutMs?: number): Promise<void>;
  /** Runs a command: from the command palette by title (code-server) or by id (extension host). */
  runCommand(command: CommandRef): Promise<void>;
  /** Waits until a code lens of the file matches, and returns all lens titles of the file. */
  waitForCodeLens(relPath: string, match: string | RegExp, timeoutMs?: number): Promise<string[]>;
  /**
   * Opens the file and waits until its code lenses satisfy `accept` (polled); returns them, top to bottom.
   * `what` names the condition in the timeout error, which also lists the last lenses seen.
   */
  waitForCodeLenses(relPath: string, what: string, accept: (lenses: CodeLensInfo[]) => boolean, timeoutMs?: number): Promise<CodeLensInfo[]>;
  /** Runs a command that opens a quick pick and makes the choice (code-server: in the UI; extension host: by argument). */
  runCommandAndPick(command: CommandRef, pick: QuickPickChoice): Promise<void>;
  /** The text of the status bar item with this id (`item.text`, codicons as `$(name)`), or undefined when it is not shown. */
  statusBarText(itemId: string): Promise<string | undefined>;
  /**
   * The text of a language status item (`item.text`, codicons as `$(name)`), or undefined when it is not
   * shown (no editor of its language is active). code-server: the `{ }` hover's row whose link title matches
   * `link` is pinned to the status bar once, as a user would, and read there; extension host: a bridge command.
   */
  languageStatusText(itemId: string, link: string | RegExp): Promise<string | undefined>;
  /** The hover text at a position (code-server: the rendered hover widget; extension host: the providers' markdown). */
  hoverText(relPath: string, position: SourcePosition): Promise<string>;
  /** Waits until an output channel's text matches, and returns that text. */
  waitForOutput(channel: string, match: string | RegExp, timeoutMs?: number): Promise<string>;
  /** The textContent of the first element matching `selector` in the webview titled `viewTitle`. */
  webviewText(viewTitle: string, selector: string): Promise<string>;
  /** How many elements match `selector` in the webview titled `viewTitle`. */
  webviewCount(viewTitle: string, selector: string): Promise<number>;
  /** Clicks the first element matching `selector` in the webview titled `viewTitle`. */
  webviewClick(viewTitle: string, selector: string): Promise<void>;
  /** Toggles a line breakpoint. */
  toggleBreakpoint(relPath: string, line: number): Promise<void>;
  /** Starts the named launch configuration of the workspace. */
  startDebugging(configName: string): Promise<void>;
  /** Waits until the debuggee stops and returns where. */
  waitForDebugStop(timeoutMs?: number): Promise<DebugStop>;
  /** Stops the debug session and waits until it has ended. */
  stopDebugging(): Promise<void>;
  /** Saves a screenshot under test-output/e2e/<run>/ and returns its path; undefined where none can be taken (extension host). */
  screenshot(name: string): Promise<string | undefined>;
}

/** One step of a suite: the same body runs under either driver. */
export interface E2EStep {
  name: string;
  run(driver: E2EDriver): Promise<void>;
}

/** Tests a string against a substring or a regular expression. */
export function matches(text: string, match: string | RegExp): boolean {
  return typeof match === 'string' ? text.includes(match) : match.test(text);
}

/**
 * Polls `probe` until it returns a value other than undefined, and returns it. Rejects after `timeoutMs`
 * with `what` and the last error or value seen, so a failed wait says what it was waiting for.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
