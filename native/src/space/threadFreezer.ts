// Exact registers of every thread of a live process: runs the pygration-freeze helper (native/ptrace/), which
// freezes the threads for milliseconds with PTRACE_SEIZE + PTRACE_INTERRUPT, reads rip/rsp/rbp (and the other
// general registers) and a copy of each stack from rsp up, and detaches.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The helper's file name, next to the bundles in dist/. */
export const FREEZE_HELPER_FILE = 'pygration-freeze';
/** Environment variable naming the helper explicitly (tests, unusual installs). */
export const FREEZE_HELPER_ENV = 'PYGRATION_FREEZE_HELPER';
/** The helper detaches every thread and exits when this runs out; Node kills it a little later as a last resort. */
const HELPER_TIMEOUT_MS = 2000;

/** The general registers the helper gives besides rip, rsp and rbp, in its order. */
export const GPR_NAMES = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];

export interface ThreadRegisters {
  tid: number;
  rip: number;
  rsp: number;
  /** Undefined when rbp holds a value that is not a safe integer (it is a general register in most code). */
  rbp: number | undefined;
  /** The other general registers (GPR_NAMES, in that order; undefined: not a safe integer), when the helper gave them. */
  registers?: Array<number | undefined>;
  /**
   * The stack from rsp up (to the end of its mapping, at most 512 KiB), copied while the thread was frozen: a
   * running thread's frames change as soon as it resumes, so unwinding reads this copy, not live memory.
   */
  stack?: Uint8Array;
  /** How the thread stopped for us: interrupt (it was running or blocked), group-stop (the process was stopped), signal. */
  stop: string;
}

export interface FreezeResult {
  /** Registers by thread id, for the threads that could be frozen. */
  threads: Map<number, ThreadRegisters>;
  /** Threads that could not be frozen, with the reason (errno name and step). */
  failed: { tid: number; error: string; message: string }[];
  /** When no thread could be frozen: one sentence saying why (no helper, ptrace refused, ...). */
  unavailable?: string;
  /** How long the threads were stopped, in microseconds, as the helper measured it. */
  frozenUs?: number;
}

/** Where the helper is: $PYGRATION_FREEZE_HELPER, next to this bundle (dist/), or the repository's dist/ (tests run from out/). */
export function freezeHelperPath(): string | undefined {
  const env = process.env[FREEZE_HELPER_ENV];
  if (env) return env;
  const candidates = [path.join(__dirname, FREEZE_HELPER_FILE), path.resolve(__dirname, '..', '..', '..', '..', 'dist', FREEZE_HELPER_FILE)];
  return candidates.find((c) => fs.existsSync(c));
}

function address(text: unknown): number | undefined {
  if (typeof text !== 'string' || !/^0x[0-9a-f]{1,16}$/i.test(text)) return undefined;
  const v = BigInt(text);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
}

/** Explains a ptrace errno as the reason the exact thread roots could not be used. */
function reasonOf(error: string, message: string): string {
  if (error === 'EPERM') {
    return `ptrace was refused (${message}): the process is already traced by a debugger such as gdb or strace, belongs to another user, or the kernel's Yama ptrace_scope or a container forbids it`;
  }
  if (error === 'ESRCH') return `the threads vanished while being frozen (${message})`;
  return `ptrace failed (${error}: ${message})`;
}

/**
 * Freezes every thread of `pid` for a few milliseconds and returns their registers. Never throws: when the helper
 * is missing or ptrace is not allowed, `unavailable` says why and the caller keeps its fallback. The helper
 * detaches on every path (and the kernel releases the threads if it dies), so no thread stays stopped.
 */
export function freezeThreads(pid: number, options: { helperPath?: string; timeoutMs?: number } = {}): FreezeResult {
  const empty = (unavailable: string): FreezeResult => ({ threads: new Map(), failed: [], unavailable });
  const helper = options.helperPath ?? freezeHelperPath();
  if (!helper) return empty(`the ${FREEZE_HELPER_FILE} helper was not found (it is built by esbuild.mjs with gcc into dist/)`);
  const timeout = options.timeoutMs ?? HELPER_TIMEOUT_MS;
  const run = () =>
    spawnSync(helper, [String(pid), '--timeout-ms', String(timeout)], {
      encoding: 'utf8',
      timeout: timeout + 1000,
      killSignal: 'SIGKILL',
      // Stack copies: at most 96 MiB in all (the helper's cap), in base64.
      maxBuffer: 160 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  let res = run();
  if ((res.error as NodeJS.ErrnoException | undefined)?.code === 'EACCES') {
    // A .vsix may not keep the executable bit: restore it once (the file is ours), then retry.
    try {
      fs.chmodSync(helper, 0o755);
      res = run();
    } catch {
      // Reported below.
    }
  }
  if (res.error) return empty(`the ${FREEZE_HELPER_FILE} helper could not run (${res.error.message})`);
  if (res.signal) return empty(`the ${FREEZE_HELPER_FILE} helper was killed by ${res.signal}`);
  let parsed: { threads?: unknown[]; error?: string; message?: string; frozenUs?: number };
  try {
    parsed = JSON.parse(res.stdout.trim().split('\n').pop() ?? '');
  } catch {
    return empty(`the ${FREEZE_HELPER_FILE} helper exited with ${res.status} without a result${res.stderr ? ` (${res.stderr.trim()})` : ''}`);
  }
  if (res.status === 124) return empty(`freezing the threads took longer than ${timeout} ms, so every thread was released unread`);
  if (parsed.error || !Array.isArray(parsed.threads)) return empty(reasonOf(parsed.error ?? 'EIO', parsed.message ?? 'no thread list'));
  const out: FreezeResult = { threads: new Map(), failed: [], frozenUs: parsed.frozenUs };
  for (const t of parsed.threads as Record<string, unknown>[]) {
    const tid = typeof t.tid === 'number' ? t.tid : undefined;
    if (tid === undefined) continue;
    const rip = address(t.rip);
    const rsp = address(t.rsp);
    if (typeof t.error === 'string' || rip === undefined || rsp === undefined) {
      out.failed.push({ tid, error: typeof t.error === 'string' ? t.error : 'EIO', message: typeof t.message === 'string' ? t.message : 'no registers' });
      continue;
    }
    const stack = typeof t.stack === 'string' ? new Uint8Array(Buffer.from(t.stack, 'base64')) : undefined;
    const registers = Array.isArray(t.gprs) && t.gprs.length === GPR_NAMES.length ? t.gprs.map(address) : undefined;
    out.threads.set(tid, { tid, rip, rsp, rbp: address(t.rbp), registers, stack, stop: typeof t.stop === 'string' ? t.stop : 'interrupt' });
  }
  if (out.threads.size === 0) {
    const first = out.failed[0];
    out.unavailable = first ? reasonOf(first.error, first.message) : 'the process had no thread to freeze';
  }
  return out;
}
