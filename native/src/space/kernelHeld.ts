// Values the kernel keeps for a process that its memory need not hold any more: the user data of its epoll
// registrations (/proc/PID/fdinfo of each epoll file) and the values of its POSIX timers (/proc/PID/timers). A loop
// that gets a callback back from epoll_wait, or a signal handler that calls what a timer's si_value carries, runs
// code only the kernel points to.

import { listProcDir, readProcLink, readProcText, type ProcPid } from './procfs';

/**
 * A word held outside the process's memory, and where (for a root's reason): by the kernel for the process (these), or
 * in a frozen thread's register (trace/pvm.ts threadRoots).
 */
export interface HeldWord {
  value: number;
  what: string;
  holder: 'kernel' | 'register';
}

/**
 * The epoll user data and POSIX timer values of process `pid`, each non-zero word once. What cannot be read (a file
 * closed meanwhile, no permission) is left out: these are extra roots, and the analysis says where they came from.
 */
export function kernelHeldWords(pid: ProcPid): HeldWord[] {
  const out: HeldWord[] = [];
  const seen = new Set<number>();
  const add = (hex: string, what: string) => {
    const value = Number.parseInt(hex, 16);
    if (!Number.isSafeInteger(value) || value === 0 || seen.has(value)) return;
    seen.add(value);
    out.push({ value, what, holder: 'kernel' });
  };
  // Every open file is looked at (a readlink each): an epoll file skipped could hold the one callback that runs.
  for (const fd of quietly(() => listProcDir(pid, 'fd'), [])) {
    if (quietly(() => readProcLink(pid, `fd/${fd}`), undefined) !== 'anon_inode:[eventpoll]') continue;
    // "tfd:        4 events:       19 data:     563f789c1240  pos:0 ino:40f sdev:10", one line per registered file.
    for (const m of quietly(() => readProcText(pid, `fdinfo/${fd}`), '').matchAll(/^tfd:\s*(\d+)\s+events:\s*[0-9a-f]+\s+data:\s*([0-9a-f]+)/gm)) {
      add(m[2], `the user data of epoll file ${fd}'s registration of file ${m[1]}`);
    }
  }
  // "ID: 0 / signal: 34/00005561d4c8e1a9 / notify: signal/pid.1234 / ClockID: 1", per timer.
  for (const m of quietly(() => readProcText(pid, 'timers'), '').matchAll(/^ID:\s*(-?\d+)\s*\nsignal:\s*\d+\/([0-9a-f]+)/gm)) add(m[2], `the value of POSIX timer ${m[1]}`);
  return out;
}

/** What `read` gives, or `otherwise` when it fails (a file closed meanwhile, no permission, the process gone). */
function quietly<T>(read: () => T, otherwise: T): T {
  try {
    return read();
  } catch {
    return otherwise;
  }
}
