// Runs the Python dump helper under a given interpreter in serve mode and talks to it in JSON lines:
// requests go to stdin, `module` records stream back per request, `done` ends each request.

import type { ChildProcess } from 'node:child_process';
import { NativeError } from '../../../native/src';
import { defaultHelperPath, helloProblem, helperStartError, launchHelper, LineSplitter, parseRecord, type HelperOptions, type LaunchedHelper } from './helperLaunch';
import type { DecodeModel, DoneRecord, HelloRecord, HelperRecord, InterpreterInfo, IntrospectAnswer, ModuleRecord } from './helperRecords';

export interface DumpRequest {
  modules?: string[];
  files?: string[];
  /** Modules the caller has cached: name → [file, size, mtimeNs]; when still found there, unchanged, they
   * come back with `unchanged: true` and no code. */
  known?: Record<string, [string, number, string]>;
  format?: 'compact' | 'full';
  /** Locate only (no code). */
  code?: boolean;
  /** Drop the finder's caches first (files were added or removed). */
  invalidate?: boolean;
  /** Send function bodies apart, as unparsed text (ModuleRecord.lazyCodes), for lazy simulation. */
  split?: boolean;
}

interface Pending {
  onModule: (m: ModuleRecord) => void;
  onIntrospect?: (answers: IntrospectAnswer[]) => void;
  resolve: (d: DoneRecord) => void;
  reject: (e: Error) => void;
  errors: string[];
}

/** A running helper process. Requests are answered in order; several may be in flight. */
export class PythonHelper {
  readonly info: InterpreterInfo;
  readonly model: DecodeModel;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  private exitError: Error | null = null;

  private constructor(
    private readonly child: ChildProcess,
    hello: HelloRecord,
    /** The interpreter as the caller named it (the subject of errors). */
    private readonly python: string,
    private readonly stderr: () => string,
    /** The user and group the helper runs as, when not ours (a live process of another user). */
    readonly credentials?: { uid: number; gid: number },
  ) {
    this.info = hello.python;
    this.model = hello.model;
  }

  /** The helper's process id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * Starts the interpreter with the helper and waits for its hello record. A live process's interpreter
   * (/proc/PID/exe) is first checked to be CPython 3.8+ (openLiveInterpreter), then run as that process's
   * user, isolated (-I -S): the sys.path the process started with is computed from its flags, environment
   * and site directories without running its start-up code (.pth import lines, sitecustomize).
   */
  static start(options: HelperOptions): Promise<PythonHelper> {
    const script = options.helperPath ?? defaultHelperPath();
    let launched: LaunchedHelper;
    try {
      launched = launchHelper(options, script);
    } catch (e) {
      return Promise.reject(e);
    }
    const { child, label, credentials } = launched;
    return new Promise<PythonHelper>((resolve, reject) => {
      let err = '';
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (d: string) => {
        if (err.length < 65536) err += d;
      });
      let helper: PythonHelper | null = null;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new NativeError('io', `${label} did not start the bytecode helper in time.`, { subject: options.python, hint: err.trim() || undefined }));
      }, options.startTimeoutMs ?? 30_000);
      const lines = new LineSplitter((line) => {
        if (helper) {
          helper.receive(line);
          return;
        }
        // The first line: the hello record, or why the helper cannot serve.
        clearTimeout(timer);
        const rec = parseRecord(line, options.python);
        if (rec instanceof NativeError) {
          reject(rec);
          return;
        }
        const problem = helloProblem(rec, label, options.python);
        if (problem) {
          child.kill('SIGKILL');
          reject(problem);
          return;
        }
        helper = new PythonHelper(child, rec as HelloRecord, options.python, () => err, credentials);
        resolve(helper);
      });
      child.stdout!.on('data', (chunk: Buffer) => lines.push(chunk));
      child.once('error', (e) => {
        clearTimeout(timer);
        const error = helperStartError(options.python, e);
        if (helper) helper.fail(error);
        else reject(error);
      });
      // 'close', not 'exit': it comes after the helper's output was read, so the record saying why it could not
      // serve (an interpreter older than 3.8, before it exits with 3) is parsed first, however the events race.
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        const error = new NativeError('io', `The bytecode helper (${label}) exited (${code ?? signal}).`, {
          subject: options.python,
          hint: err.trim().split('\n').slice(-3).join(' ') || undefined,
        });
        if (helper) helper.fail(error);
        else reject(error);
      });
    });
  }

  /** One line of the helper's output after its hello record. */
  private receive(line: string): void {
    // '#' + JSON: the function bodies of the module record just received (split requests), kept as text.
    if (line.charCodeAt(0) === 35) {
      this.attachLazy(line);
      return;
    }
    const rec = parseRecord(line, this.python);
    if (rec instanceof NativeError) {
      this.fail(rec);
      return;
    }
    if (rec.type === 'module' && (rec.codes || rec.syntaxError)) rec.source = line;
    this.dispatch(rec);
  }
  /** Sends one dump request; `onModule` sees each module record as it arrives. */
  dump(request: DumpRequest, onModule: (m: ModuleRecord) => void, signal?: AbortSignal): Promise<DoneRecord> {
    return this.request({ op: 'dump', ...request }, onModule, signal);
  }

  /** Puts directories in front of the helper's sys.path (a script's directory, the workspace root). */
  prependPath(paths: string[]): Promise<DoneRecord> {
    return this.request({ op: 'prependPath', paths }, () => undefined);
  }

  /**
   * What standard-library modules bind the names to at import time ([module, file the analysis found it at,
   * names]): the helper imports a module only when it is the standard library's (see pygration_introspect.py).
   * Rejects when the helper does not answer within timeoutMs (an import that hangs): the helper is then
   * closed, and a later run starts a new one.
   */
  introspect(modules: [string, string | null, string[]][], timeoutMs = 10_000): Promise<IntrospectAnswer[]> {
    let answers: IntrospectAnswer[] = [];
    const done = this.request({ op: 'introspect', modules }, () => undefined, undefined, (a) => (answers = a));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.close();
        reject(new NativeError('io', `The bytecode helper did not answer an introspect request within ${timeoutMs} ms.`));
      }, timeoutMs);
    });
    return Promise.race([done.then(() => answers), timeout]).finally(() => clearTimeout(timer));
  }

  /** Forgets the finder's caches (call after files were added or removed). */
  invalidate(): Promise<DoneRecord> {
    return this.request({ op: 'invalidate' }, () => undefined);
  }

  /** Stops reading the helper's output (it blocks once the pipe is full): flow control for slow consumers. */
  pauseOutput(): void {
    this.child.stdout?.pause();
  }

  resumeOutput(): void {
    this.child.stdout?.resume();
  }

  get running(): boolean {
    return !this.closed && this.exitError === null;
  }

  /** Resolves once the helper process has exited (at once if it has). */
  exited(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  /** Ends the helper (closes its stdin; kills it if it does not exit promptly). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.child.stdin!.end(JSON.stringify({ op: 'exit' }) + '\n');
    } catch {
      // The process is already gone.
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    timer.unref();
    this.child.once('exit', () => clearTimeout(timer));
  }

  private request(body: Record<string, unknown>, onModule: (m: ModuleRecord) => void, signal?: AbortSignal, onIntrospect?: (answers: IntrospectAnswer[]) => void): Promise<DoneRecord> {
    if (this.exitError) return Promise.reject(this.exitError);
    if (this.closed) return Promise.reject(new NativeError('gone', 'The bytecode helper was closed.'));
    if (signal?.aborted) return Promise.reject(abortError());
    const id = this.nextId++;
    return new Promise<DoneRecord>((resolve, reject) => {
      const entry: Pending = {
        onModule,
        resolve: (d) => {
          this.unwatch(signal, entry);
          resolve(d);
        },
        reject: (e) => {
          this.unwatch(signal, entry);
          reject(e);
        },
        errors: [],
        onIntrospect,
      };
      this.pending.set(id, entry);
      if (signal) this.watch(signal, entry, () => reject(abortError()));
      this.child.stdin!.write(JSON.stringify({ id, ...body }) + '\n');
    });
  }

  /**
   * Requests in flight per abort signal. One signal serves a whole tracking run, which keeps dozens of
   * requests in flight: one listener per signal (not one per request, which Node reports as a leak past 10).
   */
  private readonly watched = new Map<AbortSignal, { entries: Map<Pending, () => void>; listener: () => void }>();

  private watch(signal: AbortSignal, entry: Pending, abort: () => void): void {
    let w = this.watched.get(signal);
    if (!w) {
      const entries = new Map<Pending, () => void>();
      const listener = () => {
        this.watched.delete(signal);
        for (const [e, rejectNow] of entries) {
          // The helper finishes the request; its records are dropped. Abort is the caller's to see now.
          e.onModule = () => undefined;
          e.resolve = () => undefined;
          e.reject = () => undefined;
          rejectNow();
        }
      };
      w = { entries, listener };
      this.watched.set(signal, w);
      signal.addEventListener('abort', listener, { once: true });
    }
    w.entries.set(entry, abort);
  }

  private unwatch(signal: AbortSignal | undefined, entry: Pending): void {
    const w = signal && this.watched.get(signal);
    if (!w) return;
    w.entries.delete(entry);
    if (w.entries.size === 0) {
      signal!.removeEventListener('abort', w.listener);
      this.watched.delete(signal!);
    }
  }

  /** A module record whose function bodies follow on the next line. */
  private awaitingLazy: { rec: ModuleRecord; entry: Pending | undefined } | null = null;

  /** Attaches a '#' line (the function bodies) to the record that announced it, and delivers the record. */
  attachLazy(line: string): void {
    const waiting = this.awaitingLazy;
    if (!waiting) {
      this.fail(new NativeError('malformed', 'The bytecode helper sent function bodies without their module record.'));
      return;
    }
    this.awaitingLazy = null;
    waiting.rec.lazyCodes = line.slice(1);
    waiting.entry?.onModule(waiting.rec);
  }

  private dispatch(rec: HelperRecord): void {
    const id = (rec as { id?: number | null }).id ?? null;
    const entry = id === null ? undefined : this.pending.get(id);
    if (this.awaitingLazy) {
      // The announced bodies did not come: deliver the record without them (its functions stay unknown).
      const waiting = this.awaitingLazy;
      this.awaitingLazy = null;
      waiting.entry?.onModule(waiting.rec);
    }
    switch (rec.type) {
      case 'module':
        if (rec.lazy && rec.lazy > 0) this.awaitingLazy = { rec, entry };
        else entry?.onModule(rec);
        return;
      case 'done':
        if (entry) {
          this.pending.delete(id!);
          entry.resolve(rec);
        }
        return;
      case 'error':
        if (entry) entry.errors.push(rec.message);
        return;
      case 'introspect':
        entry?.onIntrospect?.(Array.isArray(rec.modules) ? rec.modules : []);
        return;
      default:
        return;
    }
  }

  private fail(error: Error): void {
    if (this.exitError) return;
    this.exitError = error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  /** What the interpreter printed on stderr (diagnostics). */
  stderrText(): string {
    return this.stderr();
  }
}

export function abortError(): Error {
  const e = new Error('The operation was aborted.');
  e.name = 'AbortError';
  return e;
}
