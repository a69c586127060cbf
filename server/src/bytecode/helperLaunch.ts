// How the Python dump helper is launched: its script and modules passed as open files, the bootstrap the
// interpreter runs, its environment and arguments (a live process's interpreter as that process's user), the hello
// handshake, and the line splitter over its output. PythonHelper (helper.ts) talks to the process started here.

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromSystemError, isNativeError, NativeError } from '../../../native/src';
import { LIVE_INTERPRETER, type LiveInterpreter, openLiveInterpreter } from './liveInterpreter';
import type { HelloRecord, HelperRecord } from './helperRecords';

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

/** The helper's process just spawned, before its hello record. */
export interface LaunchedHelper {
  child: ChildProcess;
  /** How messages name the interpreter (a live process's with the path it was started as). */
  label: string;
  /** The user and group the helper runs as, when not ours (a live process of another user). */
  credentials?: { uid: number; gid: number };
}

/**
 * Spawns the interpreter with the helper `script` (see PythonHelper.start); throws a NativeError when the
 * files cannot be opened, the live interpreter is refused, or the process cannot be spawned.
 */
export function launchHelper(options: HelperOptions, script: string): LaunchedHelper {
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
    throw isNativeError(e) ? e : fromSystemError(e, script);
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
  try {
    const child = target
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
    return { child, label, credentials: target?.credentials };
  } catch (e) {
    throw helperStartError(options.python, e);
  } finally {
    for (const fd of [scriptFd, ...moduleFds]) fs.closeSync(fd);
    target?.close();
  }
}

/** One line of the helper's output as a record, or the error saying it is not JSON. */
export function parseRecord(line: string, python: string): HelperRecord | NativeError {
  try {
    return JSON.parse(line) as HelperRecord;
  } catch (e) {
    return new NativeError('malformed', `The bytecode helper printed a line that is not JSON: ${line.slice(0, 120)}`, { subject: python, cause: e });
  }
}

/** Why the helper's first record is not a usable hello record (undefined: it is one). */
export function helloProblem(rec: HelperRecord, label: string, python: string): NativeError | undefined {
  const old = rec as unknown as { type: string; version?: string };
  if (old.type === 'old') {
    // The bootstrap's answer on Python < 3.8 (before the helper, which needs 3.8, is even compiled).
    return new NativeError('unsupported', `Bytecode tracking needs CPython 3.8 or newer; ${label} is Python ${old.version ?? '(unknown version)'}.`, { subject: python, hint: 'Pick a Python 3.8+ interpreter (--python PATH, or the pygration.pythonPath setting).' });
  }
  if (rec.type !== 'hello') return new NativeError('malformed', `The bytecode helper did not start with a hello record.`, { subject: python });
  const hello: HelloRecord = rec;
  const [major, minor] = hello.python.version;
  if (hello.python.implementation !== 'cpython' || major !== 3 || minor < 8) {
    return new NativeError('unsupported', `Bytecode tracking needs CPython 3.8 or newer; ${python} is ${hello.python.implementation} ${hello.python.versionString}.`, { subject: python });
  }
  return undefined;
}

export function helperStartError(python: string, e: unknown): NativeError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new NativeError('io', `The Python interpreter ${python} does not exist.`, { subject: python, cause: e, hint: 'Check the interpreter path (pygration uses the interpreter your program runs on).' });
  if (code === 'EACCES') return new NativeError('permission', `The Python interpreter ${python} cannot be executed.`, { subject: python, cause: e });
  return new NativeError('io', `Could not start ${python}: ${e instanceof Error ? e.message : String(e)}`, { subject: python, cause: e });
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
