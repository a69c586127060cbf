// Values the kernel keeps for a process that its memory need not hold any more: the user data of its epoll
// registrations (/proc/PID/fdinfo of each epoll file) and the values of its POSIX timers (/proc/PID/timers). A loop
// that gets a callback back from epoll_wait, or a signal handler that calls what a timer's si_value carries, runs
// code only the kernel points to.

import { listProcDir, readProcLink, readProcText, type ProcPid } from './procfs';

/** A word the kernel holds for the process, and where (for a root's reason). */
export interface KernelHeldWord {
  value: number;
  what: string;
  /** Who holds it (for the reason): the kernel (default), or a frozen thread's register (trace/pvm.ts threadRoots). */
  holder?: 'kernel' | 'register';
}

/**
 * The epoll user data and POSIX timer values of process `pid`, each non-zero word once. What cannot be read (a file
 * closed meanwhile, no permission) is left out: these are extra roots, and the analysis says where they came from.
 */
export function kernelHeldWords(pid: ProcPid): KernelHeldWord[] {
  const out: KernelHeldWord[] = [];
  const seen = new Set<number>();
  const add = (hex: string, what: string) => {
    const value = Number.parseInt(hex, 16);
    if (!Number.isSafeInteger(value) || value === 0 || seen.has(value)) return;
    seen.add(value);
    out.push({ value, what });
  };
  // Every open file is looked at (a readlink each): an epoll file skipped could hold the one callback that runs.
  for (const fd of tryList(pid, 'fd')) {
    if (tryLink(pid, `fd/${fd}`) !== 'anon_inode:[eventpoll]') continue;
    // "tfd:        4 events:       19 data:     563f789c1240  pos:0 ino:40f sdev:10", one line per registered file.
    for (const m of tryText(pid, `fdinfo/${fd}`).matchAll(/^tfd:\s*(\d+)\s+events:\s*[0-9a-f]+\s+data:\s*([0-9a-f]+)/gm)) {
      add(m[2], `the user data of epoll file ${fd}'s registration of file ${m[1]}`);
    }
  }
  // "ID: 0 / signal: 34/00005561d4c8e1a9 / notify: signal/pid.1234 / ClockID: 1", per timer.
  for (const m of tryText(pid, 'timers').matchAll(/^ID:\s*(-?\d+)\s*\nsignal:\s*\d+\/([0-9a-f]+)/gm)) add(m[2], `the value of POSIX timer ${m[1]}`);
  return out;
}

function tryList(pid: ProcPid, name: string): string[] {
  try {
    return listProcDir(pid, name);
  } catch {
    return [];
  }
}

function tryLink(pid: ProcPid, name: string): string | undefined {
  try {
    return readProcLink(pid, name);
  } catch {
    return undefined;
  }
}

function tryText(pid: ProcPid, name: string): string {
  try {
    return readProcText(pid, name);
  } catch {
    return '';
  }
}
