// How the bytecode helper may run a live process's own interpreter (/proc/PID/exe) safely: only when that
// file is a CPython 3.8+ executable, with the process's uid and gid (never ours when ours is more), isolated.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ElfFile, fromSystemError, NativeError, openFileSource, processExists, procPath, pythonVersionOf, readCmdline, readCwd, readEnviron, readProcText, readStat, readStatus } from '../../../native/src';

/** `/proc/PID/exe`: the path callers pass as the interpreter of a live process. */
export const LIVE_INTERPRETER = /^\/proc\/(\d+)\/exe$/;

/** The flags of the target's interpreter command line that change its sys.path (-E, -I, -s, -S). */
export interface TargetFlags {
  E?: boolean;
  I?: boolean;
  s?: boolean;
  S?: boolean;
}

/** What the helper needs (--target-site-json) to compute the sys.path the process started with. */
export interface TargetSite {
  flags: TargetFlags;
  /** The process's initial PYTHONPATH, PYTHONHOME, PYTHONNOUSERSITE, PYTHONUSERBASE, PYTHONPLATLIBDIR, HOME. */
  env: Record<string, string>;
  cwd: string;
}

/** A live process's interpreter, opened and checked: what PythonHelper.start runs. Close it after spawning. */
export interface LiveInterpreter {
  pid: number;
  /** The executable, opened from /proc/PID/exe (the very file the process runs, even if since replaced). */
  fd: number;
  /** The path the process was started as (its argv[0], when that is the same file): its argv[0] for us. */
  argv0: string;
  /** Run as this uid/gid (supplementary groups dropped); undefined: as ourselves (the same user). */
  credentials?: { uid: number; gid: number };
  site: TargetSite;
  close(): void;
}

const SITE_VARIABLES = ['PYTHONPATH', 'PYTHONHOME', 'PYTHONNOUSERSITE', 'PYTHONUSERBASE', 'PYTHONPLATLIBDIR', 'HOME', 'PATH'];

/** Interpreter options that take a value (`-W error`, `-Wignore`, `-X dev`). */
const VALUE_OPTIONS = new Set(['W', 'X']);

/** The interpreter flags of a Python command line (argv[0] is the interpreter), up to the program. */
export function interpreterFlags(argv: readonly string[]): TargetFlags {
  const flags: TargetFlags = {};
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--check-hash-based-pycs') {
      i++;
      continue;
    }
    if (!a.startsWith('-') || a === '-' || a === '--' || a.startsWith('--')) break;
    let stop = false;
    for (let j = 1; j < a.length; j++) {
      const c = a[j];
      if (c === 'c' || c === 'm') {
        stop = true;
        break;
      }
      if (VALUE_OPTIONS.has(c)) {
        if (j === a.length - 1) i++;
        break;
      }
      if (c === 'E' || c === 'I' || c === 's' || c === 'S') flags[c] = true;
    }
    if (stop) break;
  }
  return flags;
}

/**
 * Whether an ELF file is a CPython 3.8+ interpreter executable: its python.c main calls Py_BytesMain (new
 * in 3.8), which the executable imports from libpython or exports itself (CPython links with
 * -export-dynamic). Returns undefined when it is, else why not (for a message).
 */
export function cpythonExecutableProblem(elf: ElfFile): string | undefined {
  const names = new Set(elf.dynamicSymbols().map((s) => s.name));
  if (names.has('Py_BytesMain')) return undefined;
  const libpython = elf.dynamic().needed.find((n) => /^libpython\d/.test(n));
  if (names.has('Py_Main') || libpython) return `an older CPython${libpython ? ` (${libpython})` : ''} without Py_BytesMain`;
  return 'not a CPython interpreter (no Py_BytesMain, Py_Main or libpython)';
}

/** The start time of a process (field 22 of /proc/PID/stat): tells it from a later process with the same pid. */
function startTime(pid: number): string {
  return readStat(pid).fields[22 - 3] ?? '';
}

function statusIds(status: Map<string, string>, field: 'Uid' | 'Gid'): number[] {
  const m = /^(\d+)\s+(\d+)/.exec(status.get(field) ?? '');
  return m ? [Number(m[1]), Number(m[2])] : [];
}

/** The user a process runs as: its effective id, or its real id when the effective one is root's. */
function targetIds(pid: number): { uid: number; gid: number } {
  const status = readStatus(pid);
  const [ru, eu] = statusIds(status, 'Uid');
  const [rg, eg] = statusIds(status, 'Gid');
  if (ru === undefined || rg === undefined) throw new NativeError('malformed', `${procPath(pid, 'status')} has no Uid/Gid lines.`, { subject: procPath(pid, 'status') });
  return { uid: eu !== 0 ? eu : ru, gid: eg !== 0 ? eg : rg };
}

function userName(uid: number): string {
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length > 2 && Number(f[2]) === uid && f[0]) return `${f[0]} (uid ${uid})`;
    }
  } catch {
    // No passwd file: the number alone.
  }
  return `uid ${uid}`;
}

/** The same file as `fd` (device and inode)? */
function sameFile(file: string, fd: number): boolean {
  try {
    const a = fs.statSync(file);
    const b = fs.fstatSync(fd);
    return a.isFile() && a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

/**
 * The path the process was started as, when it names the file it runs: `/venv/bin/python` rather than the
 * /usr/bin/python3.11 it links to, so the interpreter finds the same pyvenv.cfg. Else the executable's path.
 */
function startedAs(argv: readonly string[], env: Record<string, string>, cwd: string, fd: number, exe: string): string {
  const a0 = argv[0];
  const candidates: string[] = [];
  if (a0?.includes('/')) candidates.push(path.resolve(cwd, a0));
  else if (a0) for (const dir of (env.PATH ?? '').split(':')) if (dir) candidates.push(path.resolve(cwd, dir, a0));
  for (const c of candidates) if (sameFile(c, fd)) return c;
  return exe.replace(/ \(deleted\)$/, '');
}

/**
 * Opens and checks the interpreter of live process `pid` for the bytecode helper. Throws NativeError:
 * 'permission' when we may not read it, or would have to run it as a user we cannot become; 'unsupported'
 * when it is not a CPython 3.8+ executable or the process is a kernel thread; 'gone' when it exited.
 */
export function openLiveInterpreter(pid: number): LiveInterpreter {
  const before = startTime(pid);
  const exeLink = procPath(pid, 'exe');
  const ids = targetIds(pid);
  const { exe, fd } = openExecutable(pid, exeLink, ids.uid);
  let ok = false;
  try {
    let argv: string[];
    let cwd: string;
    const env: Record<string, string> = {};
    try {
      argv = readCmdline(pid).filter(Boolean);
      cwd = readCwd(pid);
      for (const { name, value } of readEnviron(pid)) if (SITE_VARIABLES.includes(name)) env[name] = value;
    } catch (e) {
      throw fromSystemError(e, procPath(pid), pid);
    }
    // Everything above describes the same process only if it did not exit and give its pid to another.
    if (startTime(pid) !== before) throw new NativeError('gone', `Process ${pid} exited while it was being read.`, { subject: `pid ${pid}`, hint: 'Pick a running process and try again.' });
    requireCpython(pid, fd, exe);
    const credentials = credentialsFor(pid, ids, exeLink);
    const site: TargetSite = { flags: interpreterFlags(argv), env: {}, cwd };
    for (const k of SITE_VARIABLES) if (k !== 'PATH' && env[k] !== undefined) site.env[k] = env[k];
    const live: LiveInterpreter = {
      pid,
      fd,
      argv0: startedAs(argv, env, cwd, fd, exe),
      credentials,
      site,
      close: () => {
        try {
          fs.closeSync(fd);
        } catch {
          // Already closed.
        }
      },
    };
    ok = true;
    return live;
  } finally {
    if (!ok) fs.closeSync(fd);
  }
}

/** The process's executable, opened through /proc/PID/exe; a refusal, a kernel thread or a vanished process explained. */
function openExecutable(pid: number, exeLink: string, uid: number): { exe: string; fd: number } {
  let exe: string;
  let fd: number;
  try {
    exe = fs.readlinkSync(exeLink);
    fd = fs.openSync(exeLink, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // The same user refused: ptrace access (Yama), which fromSystemError explains.
    if ((code === 'EACCES' || code === 'EPERM') && uid !== process.geteuid?.()) {
      throw new NativeError('permission', `Process ${pid} belongs to ${userName(uid)}, and this user (${userName(process.geteuid?.() ?? -1)}) may not read its interpreter ${exeLink}, so its Python code cannot be tracked.`, {
        subject: exeLink,
        cause: e,
        hint:
          uid === 0
            ? 'Run pygration as root (sudo pygration …) to analyse a process of root.'
            : `Run pygration as ${userName(uid)} (sudo -u '#${uid}' pygration …), or as root: it then runs the interpreter as that user, never as root.`,
      });
    }
    if (code === 'ENOENT' && processExists(pid)) {
      let comm = '';
      try {
        comm = readProcText(pid, 'comm').trim();
      } catch {
        // Only for the message.
      }
      throw new NativeError('unsupported', `Process ${pid}${comm ? ` (${comm})` : ''} has no executable: it is a kernel thread or has no program image, so it runs no Python.`, { subject: exeLink, cause: e });
    }
    throw fromSystemError(e, exeLink, pid);
  }
  return { exe, fd };
}

/** Throws 'unsupported' unless the executable (open as `fd`) is a CPython 3.8+ interpreter. */
function requireCpython(pid: number, fd: number, exe: string): void {
  let elf: ElfFile;
  try {
    elf = ElfFile.open(openFileSource(`/proc/self/fd/${fd}`), exe);
  } catch (e) {
    const why = e instanceof NativeError ? e.message : String(e);
    throw new NativeError('unsupported', `Process ${pid} runs ${exe}, which is not a CPython interpreter (${why}); it was not executed.`, { subject: exe, cause: e });
  }
  let problem: string | undefined;
  try {
    problem = cpythonExecutableProblem(elf);
  } finally {
    elf.close();
  }
  if (problem) {
    const version = pythonVersionOf(pid, exe);
    const older = problem.startsWith('an older');
    throw new NativeError(
      'unsupported',
      older
        ? `Bytecode tracking needs CPython 3.8 or newer; process ${pid} runs ${exe}${version ? ` (Python ${version})` : ''}, ${problem}. It was not executed.`
        : `Process ${pid} runs ${exe}, which is ${problem}; it was not executed.`,
      { subject: exe, hint: older ? undefined : 'Pick a process that runs a CPython 3.8+ interpreter.' },
    );
  }
}

/** Whom the interpreter runs as: the process's user and group when not ours; refused when we cannot switch. */
function credentialsFor(pid: number, ids: { uid: number; gid: number }, exeLink: string): LiveInterpreter['credentials'] {
  const euid = process.geteuid?.() ?? 0;
  const egid = process.getegid?.() ?? 0;
  let credentials: LiveInterpreter['credentials'];
  if (ids.uid !== euid) {
    if (euid !== 0) {
      throw new NativeError('permission', `Process ${pid} belongs to ${userName(ids.uid)}; pygration runs as ${userName(euid)} and cannot switch to that user, and it never runs another user's interpreter with its own privileges.`, {
        subject: exeLink,
        hint: `Run pygration as ${userName(ids.uid)}, or as root (it then runs the interpreter as that user).`,
      });
    }
    credentials = { uid: ids.uid, gid: ids.gid };
  } else if (euid === 0 && ids.gid !== egid) {
    credentials = { uid: ids.uid, gid: ids.gid };
  }
  return credentials;
}
