// Holding a workload stopped (SIGSTOP, as CRIU's freezer holds a process) at a reproducible kind of instant:
// every thread either executes the interpreter itself or waits in a system call, so no thread is inside the
// extension code it loops on and the Python→C calls must come from the analysis's roots (its hardest case).
import * as fs from 'node:fs';
import * as path from 'node:path';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** True when every thread of `pid` is stopped (state T in /proc/PID/task/TID/stat). */
export function allStopped(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/task`).every((tid) => {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return /^\S+ \(.*\) [tT] /s.test(stat);
    });
  } catch {
    return false;
  }
}

/** Executable mappings of `pid` as [start, end, basename] rows. */
function execMappings(pid) {
  const rows = [];
  for (const line of fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) ..x. \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) rows.push([Number.parseInt(m[1], 16), Number.parseInt(m[2], 16), path.basename(m[3] || '[anon]')]);
  }
  return rows;
}

/**
 * Where each thread of the stopped process `pid` stands: 'syscall' (waiting in a system call), or the
 * basename of the mapping holding its pc.
 */
export function threadPlaces(pid) {
  const maps = execMappings(pid);
  const out = [];
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    let text;
    try {
      text = fs.readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'utf8').trim();
    } catch {
      continue; // the thread ended
    }
    const parts = text.split(' ');
    if (parts[0] === 'running') out.push({ tid: Number(tid), place: 'running' });
    else if (parts[0] !== '-1') out.push({ tid: Number(tid), place: 'syscall' });
    else {
      const pc = Number.parseInt(parts[2], 16);
      const m = maps.find(([s, e]) => s <= pc && pc < e);
      out.push({ tid: Number(tid), place: m ? m[2] : '?' });
    }
  }
  return out;
}

/**
 * Stops `pid` at an instant where every thread runs the interpreter executable or waits in a system call,
 * retrying (continue, a short random pause, stop again) up to `attempts` times; past that it keeps the last
 * stop. Resolves with how many stops it took and where the threads stood.
 */
export async function stopAtInterpreter(pid, attempts = 80) {
  const exe = path.basename(fs.readlinkSync(`/proc/${pid}/exe`));
  for (let attempt = 1; ; attempt++) {
    process.kill(pid, 'SIGSTOP');
    for (let i = 0; i < 200 && !allStopped(pid); i++) await sleep(5);
    if (!allStopped(pid)) {
      process.kill(pid, 'SIGCONT');
      throw new Error(`process ${pid} did not stop`);
    }
    const places = threadPlaces(pid);
    const atInterpreter = places.every((p) => p.place === 'syscall' || p.place === exe);
    if (atInterpreter || attempt >= attempts) return { attempts: attempt, atInterpreter, places };
    process.kill(pid, 'SIGCONT');
    await sleep(2 + Math.floor(Math.random() * 25));
  }
}

/** Runs `fn` with `pid` stopped as stopAtInterpreter leaves it, then continues it; returns [result, stop]. */
export async function whileStopped(pid, fn) {
  const stop = await stopAtInterpreter(pid);
  try {
    return [await fn(), stop];
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}
