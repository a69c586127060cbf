// Test fixtures: builds the small C sources under test/fixtures with gcc (cached by content hash under
// out/fixtures), starts real processes and waits for their ready line, and reads the host's CPU flags so
// expectations are derived from the machine the tests run on.

import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The repository root (tests run from out/test/...). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const FIXTURE_SRC = path.join(REPO_ROOT, 'test', 'fixtures');
export const FIXTURE_OUT = path.join(REPO_ROOT, 'out', 'fixtures');
/** Debian's interpreter, which has the Debian python3-* packages (numpy, sklearn, debugpy, ...). */
export const DEBIAN_PYTHON = '/usr/bin/python3';

export interface BuildOptions {
  /** Extra gcc flags, e.g. ['-fno-plt', '-mavx2']. */
  flags?: string[];
  /** Build a shared object instead of an executable. */
  shared?: boolean;
  /** Libraries and objects to link (paths or -l flags), placed after the source. */
  link?: string[];
  /** Output file name (default: derived from the source and a hash). */
  outName?: string;
}

/**
 * Compiles test/fixtures/<source> with gcc and returns the output path. Rebuilds only when the source
 * text, flags or linked inputs change.
 */
export function buildC(source: string, options: BuildOptions = {}): string {
  const src = path.join(FIXTURE_SRC, source);
  const flags = options.flags ?? [];
  const link = options.link ?? [];
  const hash = crypto
    .createHash('sha256')
    .update(fs.readFileSync(src))
    .update(JSON.stringify([flags, link, options.shared ?? false]))
    .update(link.filter((l) => fs.existsSync(l)).map((l) => String(fs.statSync(l).mtimeMs)).join(','))
    .digest('hex')
    .slice(0, 12);
  const base = path.basename(source).replace(/\.[^.]+$/, '');
  const name = options.outName ?? (options.shared ? `lib${base}-${hash}.so` : `${base}-${hash}`);
  const out = path.join(FIXTURE_OUT, name);
  // A fixed outName is rebuilt when its inputs change: the hash is kept next to it.
  const stamp = `${out}.hash`;
  if (fs.existsSync(out) && (!options.outName || (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === hash))) return out;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const args = ['-O2', '-g0', ...flags];
  if (options.shared) args.push('-shared', '-fPIC');
  const tmp = `${out}.tmp${process.pid}`;
  args.push('-o', tmp, src, ...link);
  execFileSync('gcc', args, { stdio: ['ignore', 'inherit', 'inherit'] });
  fs.renameSync(tmp, out);
  if (options.outName) fs.writeFileSync(stamp, hash);
  return out;
}

/** Whether Debian's interpreter can import every module of `modules` (`'cffi, setuptools'`): a package a test needs. */
export function pythonImports(modules: string): boolean {
  try {
    execFileSync(DEBIAN_PYTHON, ['-c', `import ${modules}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface StartedProcess {
  child: ChildProcess;
  pid: number;
  /** Everything the process printed on stdout so far. */
  stdout(): string;
  /** Kills the process (SIGKILL) and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** Resolve once stdout contains this text (default: 'READY'). */
  readyLine?: string;
  timeoutMs?: number;
  cwd?: string;
}

/** Starts a process and resolves when it prints its ready line; rejects (and kills it) on timeout or exit. */
/**
 * Whether this kernel executes `exe` at all: false when execve fails with ENOEXEC (an i386 program on a kernel without
 * IA32 emulation). spawn cannot tell: execvp then hands the file to /bin/sh, which fails with a syntax error. Python's
 * os.execv calls execve alone; a program that runs is killed after a second.
 */
export function kernelExecutes(exe: string): boolean {
  const r = spawnSync(DEBIAN_PYTHON, ['-c', 'import os, sys\nos.execv(sys.argv[1], [sys.argv[1]])', exe], { encoding: 'utf8', timeout: 1000, killSignal: 'SIGKILL' });
  return !/Exec format error/.test(r.stderr ?? '');
}

export function startProcess(command: string, args: string[], options: StartOptions = {}): Promise<StartedProcess> {
  const readyLine = options.readyLine ?? 'READY';
  const timeoutMs = options.timeoutMs ?? 30_000;
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  };
  return new Promise<StartedProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${command} ${args.join(' ')} did not print '${readyLine}' within ${timeoutMs} ms. stderr: ${err}`));
    }, timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(readyLine)) {
        clearTimeout(timer);
        resolve({ child, pid: child.pid!, stdout: () => out, stop });
      }
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited (${code ?? signal}) before printing '${readyLine}'. stderr: ${err}`));
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** The host's /proc/cpuinfo flags (first processor), as a set. */
export function hostFlags(): Set<string> {
  const text = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const line = text.split('\n').find((l) => l.startsWith('flags'));
  return new Set((line?.split(':')[1] ?? '').trim().split(/\s+/).filter(Boolean));
}

/** True when an executable is on PATH or at an absolute path. */
export function haveCommand(cmd: string): boolean {
  if (path.isAbsolute(cmd)) return fs.existsSync(cmd);
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** True when Debian's python3 can import every named module. */
export function debianPythonHas(...modules: string[]): boolean {
  try {
    execFileSync(DEBIAN_PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ')], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * A running `sleep 600`, the stock non-Python process of the tests. `sh -c 'echo READY; exec sleep'` prints READY
 * before the exec, so a test reading the process at once could land on the exec (the old memory vanishes, the
 * executable is still sh): this waits until /proc/PID/exe is the sleep binary.
 */
export async function startSleeper(): Promise<StartedProcess> {
  const p = await startProcess('sh', ['-c', 'echo READY; exec sleep 600']);
  const deadline = Date.now() + 30_000;
  for (;;) {
    let exe = '';
    try {
      exe = fs.readlinkSync(`/proc/${p.pid}/exe`);
    } catch {
      // Not readable yet or gone: retry until the deadline.
    }
    if (path.basename(exe) === 'sleep') return p;
    if (Date.now() > deadline) {
      await p.stop();
      throw new Error(`process ${p.pid} did not exec sleep within 30 s (exe: ${exe || 'unreadable'})`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
