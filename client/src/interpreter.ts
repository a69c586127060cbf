// The interpreter for bytecode tracking: the ms-python extension's selection when it is installed, else
// the pygration.pythonPath setting, else python3 on PATH; changes go to the server (SetInterpreterNotification).
// In Restricted Mode the Python extension's selection (which may be a workspace's virtual environment) is not
// followed and the setting is read from the user's settings only, until the workspace is trusted.

import * as vscode from 'vscode';
import { Ids } from './logic/ids';
import { adaptPythonApi, chooseInterpreter, type ChosenInterpreter, type PythonInterpreterSource, ORIGIN_TEXT } from './logic/pythonApi';

/** How long to wait for the Python extension to activate before going on without it. */
const PYTHON_EXTENSION_TIMEOUT_MS = 15_000;

export class InterpreterService implements vscode.Disposable {
  private chosen: ChosenInterpreter;
  private fromExtension: string | undefined;
  private source: PythonInterpreterSource | undefined;
  private readonly emitter = new vscode.EventEmitter<ChosenInterpreter>();
  private readonly disposables: vscode.Disposable[] = [this.emitter];
  readonly onDidChange = this.emitter.event;

  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly pythonPathSetting: () => string,
    private readonly trusted: () => boolean = () => vscode.workspace.isTrusted,
  ) {
    this.chosen = chooseInterpreter(undefined, pythonPathSetting());
  }

  /** The interpreter now (may change once the Python extension answers). */
  get current(): ChosenInterpreter {
    return this.chosen;
  }
  get description(): { path?: string; source: string } {
    return { path: this.chosen.path, source: ORIGIN_TEXT[this.chosen.origin] };
  }

  /** Connects to the Python extension if it is installed; never throws. */
  async connect(): Promise<void> {
    if (this.source) return;
    if (!this.trusted()) {
      this.log.info(`Restricted Mode: the Python extension's interpreter selection is not followed until the workspace is trusted; the interpreter comes from the user setting ${Ids.setting.pythonPath} or python3 on PATH.`);
      return;
    }
    const ext = vscode.extensions.getExtension(Ids.pythonExtension);
    if (!ext) {
      this.log.info(`The Python extension (${Ids.pythonExtension}) is not installed; the interpreter comes from ${Ids.setting.pythonPath} or python3 on PATH.`);
      return;
    }
    try {
      const exports: unknown = ext.isActive ? ext.exports : await withTimeout(Promise.resolve(ext.activate()), PYTHON_EXTENSION_TIMEOUT_MS);
      this.source = adaptPythonApi(exports);
      if (!this.source) {
        this.log.warn(`The Python extension's API has neither environments.getActiveEnvironmentPath nor settings.getExecutionDetails; ignoring it.`);
        return;
      }
      this.log.info(`Following the Python extension's interpreter selection (${this.source.kind} API).`);
      const d = this.source.onDidChange(() => void this.refresh('the Python extension changed its selection'));
      if (d) this.disposables.push({ dispose: () => void d.dispose() });
      await this.refresh('the Python extension is available');
    } catch (e) {
      this.log.warn(`Could not use the Python extension's API: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Re-reads every source and fires onDidChange when the result differs. */
  async refresh(why: string): Promise<void> {
    if (this.source && this.trusted()) {
      try {
        this.fromExtension = await this.source.interpreter(vscode.workspace.workspaceFolders?.[0]?.uri);
      } catch (e) {
        this.log.warn(`The Python extension could not tell its interpreter: ${e instanceof Error ? e.message : String(e)}`);
        this.fromExtension = undefined;
      }
    }
    const next = chooseInterpreter(this.trusted() ? this.fromExtension : undefined, this.pythonPathSetting());
    if (next.path === this.chosen.path && next.origin === this.chosen.origin) return;
    this.chosen = next;
    this.log.info(`Interpreter: ${next.path ?? 'python3 on PATH'} (${ORIGIN_TEXT[next.origin]}; ${why}).`);
    this.emitter.fire(next);
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * Creates the interpreter service, follows the Python extension and the setting, and tells the server about
 * every change. `sendToServer` is the server's notification sender.
 */
export function register(
  context: vscode.ExtensionContext,
  log: vscode.LogOutputChannel,
  pythonPathSetting: () => string,
  sendToServer: (interpreter: string | undefined) => void,
): InterpreterService {
  const service = new InterpreterService(log, pythonPathSetting);
  context.subscriptions.push(
    service,
    service.onDidChange((chosen) => sendToServer(chosen.path)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(Ids.setting.pythonPath)) void service.refresh(`${Ids.setting.pythonPath} changed`);
    }),
  );
  // Not awaited: the Python extension can take seconds to activate, and activation must stay fast.
  void service.connect();
  return service;
}
