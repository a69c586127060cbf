// The E2EDriver over a code-server workbench in Chromium: every step goes through the UI as a person would
// (command palette, Quick Open, Go to Line, the mouse for hovers, the debug toolbar, the Output panel).

import type { CommandRef, DebugStop, E2EDriver, SourcePosition } from './driver';
import type { Workbench } from './harness';

export class CodeServerDriver implements E2EDriver {
  readonly kind = 'code-server';

  constructor(readonly workbench: Workbench) {}

  get workspaceRoot(): string {
    return this.workbench.server.workspaceDir;
  }

  openFile(relPath: string): Promise<void> {
    return this.workbench.openFile(relPath);
  }

  waitForEditorText(text: string, timeoutMs?: number): Promise<void> {
    return this.workbench.waitForEditorText(text, timeoutMs);
  }

  runCommand(command: CommandRef): Promise<void> {
    return this.workbench.runCommand(command.title);
  }

  async waitForCodeLens(relPath: string, match: string | RegExp, timeoutMs?: number): Promise<string[]> {
    await this.workbench.openFile(relPath);
    return this.workbench.waitForCodeLens(match, timeoutMs);
  }

  async hoverText(relPath: string, position: SourcePosition): Promise<string> {
    await this.workbench.openFile(relPath);
    const text = await this.workbench.hover(position);
    await this.workbench.screenshot(`hover-${position.line}-${position.column}`);
    await this.workbench.clearHover();
    return text;
  }

  waitForOutput(channel: string, match: string | RegExp, timeoutMs?: number): Promise<string> {
    return this.workbench.waitForOutput(channel, match, timeoutMs);
  }

  webviewText(viewTitle: string, selector: string): Promise<string> {
    return this.workbench.webviewText(viewTitle, selector);
  }

  webviewClick(viewTitle: string, selector: string): Promise<void> {
    return this.workbench.webviewClick(viewTitle, selector);
  }

  async toggleBreakpoint(relPath: string, line: number): Promise<void> {
    await this.workbench.openFile(relPath);
    await this.workbench.toggleBreakpoint(line);
  }

  startDebugging(configName: string): Promise<void> {
    return this.workbench.startDebugging(configName);
  }

  waitForDebugStop(timeoutMs?: number): Promise<DebugStop> {
    return this.workbench.waitForDebugStop(timeoutMs);
  }

  stopDebugging(): Promise<void> {
    return this.workbench.stopDebugging();
  }

  screenshot(name: string): Promise<string> {
    return this.workbench.screenshot(name);
  }
}
