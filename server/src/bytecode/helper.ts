// Runs the Python dump helper under a given interpreter in serve mode and talks to it in JSON lines:
// requests go to stdin, `module` records stream back per request, `done` ends each request.

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromSystemError, isNativeError, NativeError } from '../../../native/src';
import { LIVE_INTERPRETER, type LiveInterpreter, openLiveInterpreter } from './liveInterpreter';
import type { DecodeModel, DoneRecord, HelloRecord, HelperRecord, InterpreterInfo, IntrospectAnswer, ModuleRecord } from './protocol';

export const HELPER_FILE = 'pygration_dump.py';

/** The helper's own modules, beside HELPER_FILE; each goes to the interpreter as an open file, like the script. */
export const HELPER_MODULES = ['pygration_model.py', 'pygration_finder.py', 'pygration_serialize.py', 'pygration_introspect.py', 'pygration_dumper.py', 'pygration_site.py'];

/** The child's descriptors: 3 the script, 4 a live target's executable, HELPER_MODULES from 5 on. */
const FIRST_MODULE_FD = 5;

/**
 * What the interpreter runs (-c): valid Python 2 and 3, so that an interpreter too old for the helper says
 * so in one record instead of a traceback; then the helper's source, read from the descriptor in argv[1]
 * (argv[2] is its path, for tracebacks), run as __main__. argv[3] counts the helper's modules that follow as
 * (descriptor, path) pairs: they are read the same way and imported through a finder of their own, removed
 * again before the helper runs, so that neither its directory nor sys.path is needed (under -I, as another
 * user, the directory may be unreadable). -c puts '' (the working directory) first on sys.path where running
 * the script would put its own directory, which the helper drops: drop '' instead.
 */
const BOOTSTRAP = [
  'import sys',
  'if sys.version_info < (3, 8):',
  '    sys.stdout.write(\'{"type": "old", "version": "%d.%d.%d"}\\n\' % tuple(sys.version_info[:3]))',
  '    sys.stdout.flush()',
  '    sys.exit(3)',
  'import importlib.util, os',
  'fd, path, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])',
  'pairs = sys.argv[4:4 + 2 * n]',
  'del sys.argv[1:4 + 2 * n]',
  'sys.argv[0] = path',
  'def read(fd):',
  "    with os.fdopen(fd, 'rb') as f: return f.read()",
  'sources = dict((os.path.basename(pairs[k + 1])[:-3], (pairs[k + 1], read(int(pairs[k])))) for k in range(0, 2 * n, 2))',
  'class HelperModules(object):',
  '    @staticmethod',
  '    def find_spec(name, path=None, target=None):',
  '        return importlib.util.spec_from_loader(name, HelperModules, origin=sources[name][0]) if name in sources else None',
  '    @staticmethod',
  '    def create_module(spec): return None',
  '    @staticmethod',
  '    def exec_module(module):',
  '        module.__file__, src = sources[module.__name__]',
  "        exec(compile(src, module.__file__, 'exec'), module.__dict__)",
  'sys.meta_path.insert(0, HelperModules)',
  'for name in sources: __import__(name)',
  'sys.meta_path.remove(HelperModules)',
  "if sys.path and sys.path[0] == '': del sys.path[0]",
  "exec(compile(read(fd), path, 'exec'), {'__name__': '__main__', '__file__': path, '__builtins__': __builtins__})",
].join('\n');

/**
 * The helper's script and modules opened for reading (all or none): they go to the interpreter as open files
 * (fd 3, fds 5...), so that a user we run the interpreter as need not reach their directory.
 */
function openAll(files: string[]): number[] {
  const fds: number[] = [];
  try {
    for (const f of files) fds.push(fs.openSync(f, 'r'));
  } catch (e) {
    for (const fd of fds) fs.closeSync(fd);
    throw isNativeError(e) ? e : fromSystemError(e, files[fds.length]);
  }
  return fds;
}

/** The helper's environment: a live target's few variables (HOME for its user site), or the program's own. */
function helperEnv(options: HelperOptions, target: LiveInterpreter | undefined): NodeJS.ProcessEnv {
  if (target) {
    // Under -I the interpreter reads no PYTHON* variable; the target's HOME is for the user site.
    const env: NodeJS.ProcessEnv = {};
    for (const k of ['PATH', 'LANG', 'LC_ALL', 'LC_CTYPE']) if (process.env[k] !== undefined) env[k] = process.env[k];
    if (target.site.env.HOME !== undefined) env.HOME = target.site.env.HOME;
    return env;
  }
  const env = { ...(options.env ?? process.env) };
  // The helper must see the same sys.path as the program; only make its output deterministic.
  env.PYTHONIOENCODING = 'utf-8';
  delete env.PYTHONSTARTUP;
  return env;
}

/** Where the helper script lives: next to the sources (repo), under dist/python (bundle), or given. */
export function defaultHelperPath(): string {
  const candidates = [
    path.resolve(__dirname, '..', '..', '..', '..', 'server', 'python', HELPER_FILE), // out/server/src/bytecode
    path.resolve(__dirname, '..', '..', 'python', HELPER_FILE), // server/src/bytecode (ts-node style)
    path.resolve(__dirname, 'python', HELPER_FILE), // dist/ bundle with the script copied next to it
    path.resolve(__dirname, '..', 'server', 'python', HELPER_FILE), // dist/ inside the repository
  ];
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new NativeError('io', `The bytecode helper ${HELPER_FILE} was not found.`, {
    subject: candidates[0],
    hint: 'Pass helperPath, or ship server/python/pygration_dump.py next to the bundle (dist/python/).',
  });
}

export interface HelperOptions {
  /** The interpreter: a path (/usr/bin/python3, a pyenv python, /proc/PID/exe of a live process). */
  python: string;
  helperPath?: string;
  /** Replace the interpreter's sys.path (default: its own, site-packages included; a live process's: computed). */
  sysPath?: string[];
  /** Directories put in front of sys.path (the script's directory, the workspace root). */
  prependPath?: string[];
  /** The interpreter's environment and working directory; not used for a live process's interpreter (see start). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Time allowed for the interpreter to start and print its hello record. */
  startTimeoutMs?: number;
}

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
    const live = LIVE_INTERPRETER.exec(options.python);
    let target: LiveInterpreter | undefined;
    let scriptFd: number;
    let moduleFds: number[];
    const modules = HELPER_MODULES.map((m) => path.join(path.dirname(script), m));
    try {
      target = live ? openLiveInterpreter(Number(live[1])) : undefined;
      [scriptFd, ...moduleFds] = openAll([script, ...modules]);
    } catch (e) {
      target?.close();
      return Promise.reject(isNativeError(e) ? e : fromSystemError(e, script));
    }
    // -B: importing the helper's own modules never writes a .pyc (nothing is written on the target's behalf).
    const moduleArgs = modules.flatMap((m, k) => [String(FIRST_MODULE_FD + k), m]);
    const args = ['-B', '-u', '-c', BOOTSTRAP, '3', script, String(modules.length), ...moduleArgs, '--serve'];
    // -X utf8: requests (file paths) are UTF-8 whatever the locale; PYTHONIOENCODING is not read under -I.
    if (target) args.unshift('-I', '-S', '-X', 'utf8');
    if (target) args.push('--target-site-json', JSON.stringify(target.site));
    else if (options.sysPath) args.push('--sys-path-json', JSON.stringify(options.sysPath));
    for (const p of options.prependPath ?? []) args.push('--prepend-path', p);
    const env = helperEnv(options, target);
    const label = target ? `${options.python} (${target.argv0})` : options.python;
    return new Promise<PythonHelper>((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = target
          ? // The very file the process runs, through our open descriptor (fd 4 in the child), as its user.
            spawn('/proc/self/fd/4', args, {
              argv0: target.argv0,
              stdio: ['pipe', 'pipe', 'pipe', scriptFd, target.fd, ...moduleFds],
              env,
              cwd: '/',
              uid: target.credentials?.uid,
              gid: target.credentials?.gid,
            })
          : spawn(options.python, args, { stdio: ['pipe', 'pipe', 'pipe', scriptFd, 'ignore', ...moduleFds], env, cwd: options.cwd });
      } catch (e) {
        reject(helperStartError(options.python, e));
        return;
      } finally {
        for (const fd of [scriptFd, ...moduleFds]) fs.closeSync(fd);
        target?.close();
      }
      const credentials = target?.credentials;
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
        // '#' + JSON: the function bodies of the module record just received (split requests), kept as text.
        if (helper && line.charCodeAt(0) === 35) {
          helper.attachLazy(line);
          return;
        }
        let rec: HelperRecord;
        try {
          rec = JSON.parse(line) as HelperRecord;
        } catch (e) {
          const error = new NativeError('malformed', `The bytecode helper printed a line that is not JSON: ${line.slice(0, 120)}`, { subject: options.python, cause: e });
          if (helper) helper.fail(error);
          else {
            clearTimeout(timer);
            reject(error);
          }
          return;
        }
        if (!helper) {
          const old = rec as unknown as { type: string; version?: string };
          if (old.type === 'old') {
            // The bootstrap's answer on Python < 3.8 (before the helper, which needs 3.8, is even compiled).
            clearTimeout(timer);
            child.kill('SIGKILL');
            reject(new NativeError('unsupported', `Bytecode tracking needs CPython 3.8 or newer; ${label} is Python ${old.version ?? '(unknown version)'}.`, { subject: options.python, hint: 'Pick a Python 3.8+ interpreter (--python PATH, or the pygration.pythonPath setting).' }));
            return;
          }
          if (rec.type !== 'hello') {
            clearTimeout(timer);
            reject(new NativeError('malformed', `The bytecode helper did not start with a hello record.`, { subject: options.python }));
            child.kill('SIGKILL');
            return;
          }
          const hello = rec;
          const [major, minor] = hello.python.version;
          if (hello.python.implementation !== 'cpython' || major !== 3 || minor < 8) {
            clearTimeout(timer);
            child.kill('SIGKILL');
            reject(new NativeError('unsupported', `Bytecode tracking needs CPython 3.8 or newer; ${options.python} is ${hello.python.implementation} ${hello.python.versionString}.`, { subject: options.python }));
            return;
          }
          clearTimeout(timer);
          helper = new PythonHelper(child, hello, () => err, credentials);
          resolve(helper);
          return;
        }
        if (rec.type === 'module' && (rec.codes || rec.syntaxError)) rec.source = line;
        helper.dispatch(rec);
      });
      child.stdout!.on('data', (chunk: Buffer) => lines.push(chunk));
      child.once('error', (e) => {
        clearTimeout(timer);
        const error = helperStartError(options.python, e);
        if (helper) helper.fail(error);
        else reject(error);
      });
      child.once('exit', (code, signal) => {
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

function helperStartError(python: string, e: unknown): NativeError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new NativeError('io', `The Python interpreter ${python} does not exist.`, { subject: python, cause: e, hint: 'Check the interpreter path (pygration uses the interpreter your program runs on).' });
  if (code === 'EACCES') return new NativeError('permission', `The Python interpreter ${python} cannot be executed.`, { subject: python, cause: e });
  return new NativeError('io', `Could not start ${python}: ${e instanceof Error ? e.message : String(e)}`, { subject: python, cause: e });
}

export function abortError(): Error {
  const e = new Error('The operation was aborted.');
  e.name = 'AbortError';
  return e;
}

/** Splits a byte stream into lines without re-scanning earlier chunks (module records can be megabytes). */
export class LineSplitter {
  private parts: Buffer[] = [];

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      let line: string;
      if (this.parts.length) {
        this.parts.push(piece);
        line = Buffer.concat(this.parts).toString('utf8');
        this.parts = [];
      } else {
        line = piece.toString('utf8');
      }
      if (line.length) this.onLine(line);
      start = nl + 1;
    }
    if (start < chunk.length) this.parts.push(chunk.subarray(start));
  }
}
