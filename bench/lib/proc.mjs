// /proc readings of a running child for the benchmark: its CPU seconds (its own and its reaped children's)
// and its peak RSS, so a long-lived process (the language server) can be measured between two requests.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

let ticks;
function clockTicks() {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** utime + stime + cutime + cstime of `pid`, in seconds (resolution 1/CLK_TCK, usually 10 ms). */
export function procCpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14-17 of stat(5), counted from the state (field 3) at index 0.
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / clockTicks();
  } catch {
    return NaN;
  }
}

/** VmHWM of `pid` in MB, or NaN. */
export function procPeakMB(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : NaN;
  } catch {
    return NaN;
  }
}

/**
 * CPU seconds of `pid` and of its live descendants (procCpuSeconds of each): a child the process keeps (the
 * language server's warm Python helper) is never reaped, so its CPU is not in the parent's cutime. A child
 * reaped between two readings counts whole at the second (its part before the first too): an overcount, never
 * an undercount.
 */
export function procTreeCpuSeconds(pid) {
  let total = procCpuSeconds(pid);
  let children = [];
  try {
    children = fs.readdirSync(`/proc/${pid}/task`).flatMap((t) => fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean));
  } catch {
    // Gone, or a kernel without the children file: the process alone.
  }
  for (const c of children) {
    const v = procTreeCpuSeconds(Number(c));
    if (Number.isFinite(v)) total += v;
  }
  return total;
}
