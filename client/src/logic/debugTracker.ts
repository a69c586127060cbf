// The debug-session state machine behind the DebugAdapterTracker: reads the debuggee's pid from the DAP
// `process` event, asks for a live analysis after each `stopped` event (debounced, stale ones cancelled)
// and drops the live state when the session ends. Pure: fed DAP messages, talks to a sink; no vscode.

import type { DebugProtocol } from '@vscode/debugprotocol';
import type { AnalyzeProcessParams, AnalyzeProcessResult, DetachParams } from '../../../server/src/protocol';

/** Where the tracker sends its requests (the language client in the extension; a recorder or the engine in tests). */
export interface TrackerSink {
  /** Runs the live analysis; must reject or resolve promptly once `signal` aborts. */
  analyze(params: AnalyzeProcessParams, signal: AbortSignal): Promise<AnalyzeProcessResult>;
  detach(params: DetachParams): void;
  /**
   * The debuggee's pid became known, before any stop: the server may read the process ahead (caches warm)
   * so the first stop's analysis is quick.
   */
  prewarm?(pid: number): void;
  /** The result of an analysis that is still current (not superseded by a newer stop, session not ended). */
  onResult?(params: AnalyzeProcessParams, result: AnalyzeProcessResult): void;
  /** An analysis that threw (not cancelled). */
  onFailure?(params: AnalyzeProcessParams, error: unknown): void;
  log?(level: 'trace' | 'info' | 'warn', message: string): void;
}

export interface TrackerOptions {
  sessionId: string;
  /** Shown in the UI: the debug session's name. */
  label: string;
  /** Quiet time after a stop before analysing (stepping produces many stops a second). */
  debounceMs: number;
  /** pygration.debug.analyzeOnStop; when false only the pid is tracked (and detach still sent). */
  analyzeOnStop: boolean;
  /** The process runs on another machine: its pid means nothing here. */
  remote?: boolean;
  timers?: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout };
}

export type DebuggeeState = 'starting' | 'running' | 'stopped' | 'ended';

/** DAP requests after which the debuggee runs again. */
const RESUMING_REQUESTS = new Set(['continue', 'next', 'stepIn', 'stepOut', 'stepBack', 'reverseContinue', 'goto', 'restartFrame']);

interface InFlight {
  controller: AbortController;
  params: AnalyzeProcessParams;
  promise: Promise<void>;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

function isEvent(m: unknown): m is DebugProtocol.Event {
  return isObject(m) && m.type === 'event' && typeof m.event === 'string';
}

function isRequest(m: unknown): m is DebugProtocol.Request {
  return isObject(m) && m.type === 'request' && typeof m.command === 'string';
}

/** The pid of a `process` event, when it names a local operating-system process. */
export function pidOfProcessEvent(event: DebugProtocol.Event): number | undefined {
  if (event.event !== 'process' || !isObject(event.body)) return undefined;
  const body = event.body as Partial<DebugProtocol.ProcessEvent['body']>;
  if (body.isLocalProcess === false) return undefined;
  const pid = body.systemProcessId;
  return typeof pid === 'number' && Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export class DebugSessionLogic {
  private state: DebuggeeState = 'starting';
  private currentPid: number | undefined;
  /** A stop seen before the pid was known: analyse as soon as it is. */
  private stopWithoutPid = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight: InFlight | undefined;
  private requested = 0;
  private detached = false;
  private readonly pending = new Set<Promise<void>>();
  private readonly timers: NonNullable<TrackerOptions['timers']>;

  constructor(
    private readonly options: TrackerOptions,
    private readonly sink: TrackerSink,
  ) {
    this.timers = options.timers ?? { setTimeout, clearTimeout };
  }

  get pid(): number | undefined {
    return this.currentPid;
  }
  get debuggeeState(): DebuggeeState {
    return this.state;
  }
  /** How many analyses were sent to the sink (including ones cancelled later). */
  get analysesRequested(): number {
    return this.requested;
  }
  /** Resolves when every analysis asked for so far (cancelled ones too) has settled; for tests and shutdown. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** A message the debug adapter sent to VS Code (events, responses, reverse requests). */
  onDidSendMessage(message: unknown): void {
    if (this.state === 'ended' || !isEvent(message)) return;
    switch (message.event) {
      case 'process': {
        const pid = pidOfProcessEvent(message);
        if (pid === undefined) {
          this.log('info', `debug session '${this.options.label}': the adapter's process event names no local process; no live analysis.`);
          return;
        }
        if (pid !== this.currentPid) {
          this.log('info', `debug session '${this.options.label}': debuggee pid ${pid}.`);
          this.sink.prewarm?.(pid);
        }
        this.currentPid = pid;
        if (this.state === 'starting') this.state = 'running';
        if (this.stopWithoutPid) {
          this.stopWithoutPid = false;
          this.schedule();
        }
        return;
      }
      case 'stopped':
        this.state = 'stopped';
        // A newer stop makes whatever is being analysed stale.
        this.cancelInFlight('a newer stop');
        if (this.currentPid === undefined) this.stopWithoutPid = true;
        else this.schedule();
        return;
      case 'continued':
        this.resumed();
        return;
      case 'exited':
      case 'terminated':
        this.end();
        return;
    }
  }

  /** A message VS Code sends to the debug adapter (requests). */
  onWillReceiveMessage(message: unknown): void {
    if (this.state === 'ended' || !isRequest(message)) return;
    if (RESUMING_REQUESTS.has(message.command)) this.resumed();
  }

  /**
   * The session ends (terminated/exited events, onWillStopSession, onExit, onError): cancel pending work and
   * drop the live state once. Safe to call more than once.
   */
  end(): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.clearTimer();
    this.stopWithoutPid = false;
    this.cancelInFlight('the session ended');
    if (!this.detached && this.currentPid !== undefined) {
      this.detached = true;
      this.sink.detach({ sessionId: this.options.sessionId });
    }
  }

  private resumed(): void {
    if (this.state === 'ended') return;
    this.state = 'running';
    this.stopWithoutPid = false;
    // A stop the user left within the debounce time (stepping) is not worth analysing; the next one is.
    this.clearTimer();
  }

  private schedule(): void {
    if (!this.options.analyzeOnStop || this.options.remote) return;
    this.clearTimer();
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      this.start();
    }, this.options.debounceMs);
  }

  private start(): void {
    if (this.state !== 'stopped' || this.currentPid === undefined) return;
    this.cancelInFlight('a newer stop');
    const params: AnalyzeProcessParams = {
      pid: this.currentPid,
      reason: 'debug-stop',
      sessionId: this.options.sessionId,
      label: this.options.label,
    };
    const controller = new AbortController();
    const entry: InFlight = { controller, params, promise: Promise.resolve() };
    this.inFlight = entry;
    entry.promise = (async () => {
      try {
        // Yield first, so even a sink that throws synchronously settles after `entry` is registered.
        await undefined;
        if (controller.signal.aborted) return;
        this.requested++;
        const result = await this.sink.analyze(params, controller.signal);
        if (controller.signal.aborted || this.inFlight !== entry) return;
        this.sink.onResult?.(params, result);
      } catch (e) {
        if (controller.signal.aborted) return;
        this.sink.onFailure?.(params, e);
      } finally {
        if (this.inFlight === entry) this.inFlight = undefined;
        this.pending.delete(entry.promise);
      }
    })();
    this.pending.add(entry.promise);
  }

  private cancelInFlight(why: string): void {
    const entry = this.inFlight;
    if (!entry) return;
    this.inFlight = undefined;
    this.log('trace', `debug session '${this.options.label}': cancelling the analysis of pid ${entry.params.pid} (${why}).`);
    entry.controller.abort();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private log(level: 'trace' | 'info' | 'warn', message: string): void {
    this.sink.log?.(level, message);
  }
}
