// The language client: starts the bundled server (dist/server.js) as a Node module over IPC, keeps the
// `pygration` settings in sync (in Restricted Mode without the workspace's values of the settings that name
// executables or files), restarts it a bounded number of times, and exposes its state and requests.

import * as fs from 'node:fs';
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  RevealOutputChannelOn,
  State,
  TransportKind,
  type ErrorHandler,
  type LanguageClientOptions,
  type NotificationType,
  type RequestParam,
  type RequestType,
  type ServerOptions,
} from 'vscode-languageclient/node';
import { GetStateRequest, StateNotification, type InitializationOptions, type PygrationState } from '../../server/src/protocol';
import { Ids, RESTART_LIMIT } from './logic/ids';
import { RestartPolicy, gaveUpMessage } from './logic/restartPolicy';
import { sanitizeConfiguration } from './logic/trust';
import type { ServerStatus } from './logic/status';

export class PygrationServer implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<LanguageClient> | undefined;
  private serverStatus: ServerStatus = 'starting';
  private currentState: PygrationState | undefined;
  private readonly policy = new RestartPolicy(RESTART_LIMIT.maxRestarts, RESTART_LIMIT.windowMs);
  private readonly stateEmitter = new vscode.EventEmitter<PygrationState | undefined>();
  private readonly statusEmitter = new vscode.EventEmitter<ServerStatus>();
  private readonly clientEmitter = new vscode.EventEmitter<LanguageClient>();
  private disposed = false;

  /** The server's state changed (StateNotification), or was dropped when the server stopped. */
  readonly onDidChangeState = this.stateEmitter.event;
  readonly onDidChangeStatus = this.statusEmitter.event;
  /** A new LanguageClient was created (first start or restart): register per-client handlers here. */
  readonly onDidCreateClient = this.clientEmitter.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly initializationOptions: () => InitializationOptions,
  ) {}

  get state(): PygrationState | undefined {
    return this.currentState;
  }
  get status(): ServerStatus {
    return this.serverStatus;
  }
  /** The current client, if one was created (it may not be running). */
  get languageClient(): LanguageClient | undefined {
    return this.client;
  }

  /** Starts the server (once; later calls share the same start). Rejects when it cannot start. */
  start(): Promise<LanguageClient> {
    if (this.disposed) return Promise.reject(new Error('Pygration is shutting down.'));
    this.starting ??= this.startNew().catch((e: unknown) => {
      this.starting = undefined;
      this.setStatus('failed');
      throw e;
    });
    return this.starting;
  }

  /** The running client, starting it if needed. */
  async ready(): Promise<LanguageClient> {
    const client = await this.start();
    if (client.state !== State.Running) throw new Error('The Pygration language server is not running. Restart it with "Pygration: Restart Language Server".');
    return client;
  }

  async sendRequest<P, R>(type: RequestType<P, R, void>, params: RequestParam<P>, token?: vscode.CancellationToken): Promise<R> {
    const client = await this.ready();
    return token ? client.sendRequest(type, params, token) : client.sendRequest(type, params);
  }

  /** Sends a notification if the server runs; logs (never throws) otherwise. */
  async sendNotification<P>(type: NotificationType<P>, params: RequestParam<P>): Promise<void> {
    try {
      const client = await this.ready();
      await client.sendNotification(type, params);
    } catch (e) {
      this.log.warn(`Could not send ${type.method}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Restarts by hand (the command): a fresh client, and the crash count starts again. */
  async restart(): Promise<void> {
    this.policy.reset();
    const old = this.client;
    this.client = undefined;
    this.starting = undefined;
    this.setState(undefined);
    if (old) {
      this.log.info('Restarting the language server.');
      try {
        await old.dispose(2000);
      } catch (e) {
        this.log.warn(`Stopping the old server failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    await this.start();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const client = this.client;
    this.client = undefined;
    this.stateEmitter.dispose();
    this.statusEmitter.dispose();
    this.clientEmitter.dispose();
    if (client) await client.dispose(2000).catch(() => undefined);
  }

  private setStatus(status: ServerStatus): void {
    if (status === this.serverStatus) return;
    this.serverStatus = status;
    this.statusEmitter.fire(status);
  }

  private setState(state: PygrationState | undefined): void {
    this.currentState = state;
    this.stateEmitter.fire(state);
  }

  private async startNew(): Promise<LanguageClient> {
    const module = this.context.asAbsolutePath('dist/server.js');
    if (!fs.existsSync(module)) {
      throw new Error(`The language server bundle is missing (${module}). Rebuild the extension with \`node esbuild.mjs\`.`);
    }
    this.setStatus('starting');
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.ipc },
      debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6011'] } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file', language: 'python' }],
      synchronize: { configurationSection: Ids.section },
      initializationOptions: () => this.initializationOptions(),
      middleware: {
        workspace: {
          // VS Code already hides the workspace's values of restrictedConfigurations in Restricted Mode;
          // this keeps the server's view the same even where a host does not (the settings name programs).
          configuration: async (params, token, next) => {
            const answer = await next(params, token);
            if (!Array.isArray(answer) || vscode.workspace.isTrusted) return answer;
            const inspect = (key: string) => vscode.workspace.getConfiguration().inspect(key);
            return answer.map((value: unknown, i: number) => sanitizeConfiguration(params.items[i]?.section, value, inspect, false));
          },
        },
      },
      outputChannel: this.log,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      errorHandler: this.errorHandler(),
      initializationFailedHandler: (error) => {
        this.log.error(`The language server failed to initialise: ${error instanceof Error ? error.message : JSON.stringify(error)}`);
        return false;
      },
    };
    const client = new LanguageClient(Ids.clientId, Ids.clientName, serverOptions, clientOptions);
    this.client = client;
    client.onDidChangeState((e) => {
      if (this.client !== client) return;
      if (e.newState === State.Running) {
        this.setStatus('running');
        // The state may predate this connection (a restart): ask once instead of waiting for a change.
        this.fetchState(client);
      }
      else if (e.newState === State.Starting) this.setStatus('starting');
      else if (e.newState === State.StartFailed) this.setStatus('failed');
      else if (e.newState === State.Stopped) {
        this.setStatus('stopped');
        this.setState(undefined);
      }
    });
    // Registered before start, so they survive the client's own restarts.
    client.onNotification(StateNotification, (state) => {
      if (this.client === client) this.setState(state);
    });
    this.clientEmitter.fire(client);
    const t0 = Date.now();
    await client.start();
    this.log.info(`Language server started in ${Date.now() - t0} ms.`);
    this.setStatus('running');
    return client;
  }

  private fetchState(client: LanguageClient): void {
    client.sendRequest(GetStateRequest, undefined).then(
      (state) => {
        if (this.client === client && state) this.setState(state);
      },
      (e: unknown) => this.log.warn(`pygration/getState failed: ${e instanceof Error ? e.message : String(e)}`),
    );
  }

  private errorHandler(): ErrorHandler {
    return {
      error: (error, _message, count) => {
        this.log.error(`Language server connection error: ${error.message}`);
        return { action: count !== undefined && count <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown, handled: true };
      },
      closed: () => {
        const decision = this.policy.onCrash();
        if (decision.restart) {
          this.log.warn(`The language server stopped unexpectedly; restarting it (crash ${decision.crashes} in ${RESTART_LIMIT.windowMs / 60_000} minutes; after ${RESTART_LIMIT.maxRestarts + 1} it stays stopped).`);
          return { action: CloseAction.Restart, handled: true };
        }
        const message = gaveUpMessage(decision.crashes, RESTART_LIMIT.windowMs);
        this.log.error(message);
        void vscode.window.showErrorMessage(message, 'Restart Server', 'Show Output').then((choice) => {
          if (choice === 'Restart Server') void vscode.commands.executeCommand(Ids.command.restartServer);
          else if (choice === 'Show Output') this.log.show();
        });
        return { action: CloseAction.DoNotRestart, handled: true };
      },
    };
  }
}

/** Creates the server connection and starts it without blocking activation; start failures are shown. */
export function register(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, initializationOptions: () => InitializationOptions): PygrationServer {
  const server = new PygrationServer(context, log, initializationOptions);
  context.subscriptions.push({ dispose: () => void server.dispose() });
  server.start().catch((e: unknown) => {
    const message = e instanceof Error ? e.message : String(e);
    log.error(`The language server could not start: ${message}`);
    void vscode.window.showErrorMessage(`Pygration: the language server could not start. ${message}`, 'Show Output', 'Restart Server').then((choice) => {
      if (choice === 'Show Output') log.show();
      else if (choice === 'Restart Server') void vscode.commands.executeCommand(Ids.command.restartServer);
    });
  });
  return server;
}
