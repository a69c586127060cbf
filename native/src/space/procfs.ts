// The one layer over /proc/PID: cmdline, cwd, environ, exe, stat, status, maps, task and fd listings, memory
// and pagemap handles, smaps_rollup and the clear_refs write. Every failure is a NativeError ('gone' when the
// process exited, 'permission' without ptrace access, 'malformed' for text it cannot read, 'io' otherwise).

import * as fs from 'node:fs';
import { fromSystemError, NativeError } from '../errors';
import { parseMaps, type MapEntry } from './maps';

/** A process id, or 'self' for this process. */
export type ProcPid = number | 'self';

const errorPid = (pid: ProcPid): number | undefined => (pid === 'self' ? undefined : pid);

/** The path of `name` (e.g. 'maps', 'task/12/comm') under /proc/PID, or /proc/PID itself. */
export function procPath(pid: ProcPid, name?: string): string {
  return name === undefined ? `/proc/${pid}` : `/proc/${pid}/${name}`;
}

/** Whether /proc/PID exists (the process, or its zombie, is still there). */
export function processExists(pid: ProcPid): boolean {
  return fs.existsSync(procPath(pid));
}

/** The text of /proc/PID/NAME. */
export function readProcText(pid: ProcPid, name: string): string {
  const file = procPath(pid, name);
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw fromSystemError(e, file, errorPid(pid));
  }
}

/** The target of the link /proc/PID/NAME (exe, cwd, root). */
export function readProcLink(pid: ProcPid, name: string): string {
  const file = procPath(pid, name);
  try {
    return fs.readlinkSync(file);
  } catch (e) {
    throw fromSystemError(e, file, errorPid(pid));
  }
}

/** The entries of the directory /proc/PID/NAME (task, fd). */
export function listProcDir(pid: ProcPid, name: string): string[] {
  const dir = procPath(pid, name);
  try {
    return fs.readdirSync(dir);
  } catch (e) {
    throw fromSystemError(e, dir, errorPid(pid));
  }
}

/** Opens /proc/PID/NAME for reading (mem), returning the file descriptor. */
export function openProcFile(pid: ProcPid, name: string): number {
  const file = procPath(pid, name);
  try {
    return fs.openSync(file, 'r');
  } catch (e) {
    throw fromSystemError(e, file, errorPid(pid));
  }
}

/** The command line: its NUL-separated arguments, without the terminating empty one (a kernel thread has none). */
export function readCmdline(pid: ProcPid): string[] {
  const parts = readProcText(pid, 'cmdline').split('\0');
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** The working directory (readlink /proc/PID/cwd). */
export function readCwd(pid: ProcPid): string {
  return readProcLink(pid, 'cwd');
}

/** The executable's path (readlink /proc/PID/exe; may end in ' (deleted)'). */
export function readExe(pid: ProcPid): string {
  return readProcLink(pid, 'exe');
}

/** The initial environment's entries, in order (duplicates kept; entries without a name before '=' skipped). */
export function readEnviron(pid: ProcPid): Array<{ name: string; value: string }> {
  const out: Array<{ name: string; value: string }> = [];
  for (const item of readProcText(pid, 'environ').split('\0')) {
    const eq = item.indexOf('=');
    if (eq > 0) out.push({ name: item.slice(0, eq), value: item.slice(eq + 1) });
  }
  return out;
}

/** /proc/PID/stat: the command name, and the fields after it (`fields[0]` is field 3, the state letter). */
export interface ProcStat {
  comm: string;
  state: string;
  /** Kernel flags (field 9; PF_KTHREAD marks a kernel thread). */
  flags: number;
  /** Fields 3, 4, … as text: field N is `fields[N - 3]`. */
  fields: string[];
}

/** PF_KTHREAD in /proc/PID/stat's flags field. */
export const PF_KTHREAD = 0x00200000;

/** Parses the text of /proc/PID/stat; the command name (field 2) may hold spaces and parentheses. */
export function parseStat(text: string, subject: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new NativeError('malformed', `${subject}: unexpected format.`, { subject });
  const fields = text.slice(close + 2).split(' ');
  return { comm: text.slice(open + 1, close), state: fields[0] ?? '?', flags: Number(fields[6] ?? 0), fields };
}

export function readStat(pid: ProcPid): ProcStat {
  return parseStat(readProcText(pid, 'stat'), procPath(pid, 'stat'));
}

/** /proc/PID/status as name → value (the text after 'Name:', trimmed), in file order. */
export function readStatus(pid: ProcPid): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readProcText(pid, 'status').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) out.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return out;
}

/** The fields of /proc/PID/smaps_rollup the planner uses, in bytes. */
export interface MemoryRollup {
  rss: number;
  anonymous: number;
  swap: number;
  /** Proportional share of shared memory (shmem, tmpfs) mapped by the process. */
  pssShmem: number;
  anonHugePages: number;
}

/** Parses the text of /proc/PID/smaps_rollup (values in kB). Missing fields read as 0. */
export function parseSmapsRollup(text: string): MemoryRollup {
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  };
  if (!/^Rss:/m.test(text)) throw new NativeError('malformed', 'smaps_rollup has no Rss line.', { subject: 'smaps_rollup' });
  return { rss: field('Rss'), anonymous: field('Anonymous'), swap: field('Swap'), pssShmem: field('Pss_Shmem'), anonHugePages: field('AnonHugePages') };
}

export function readMemoryRollup(pid: number): MemoryRollup {
  const file = procPath(pid, 'smaps_rollup');
  const text = readProcText(pid, 'smaps_rollup');
  if (text === '') {
    // A zombie or a kernel thread has no address space left.
    throw new NativeError('gone', `Process ${pid} has no memory left to read (it is exiting or a kernel thread).`, { subject: file });
  }
  return parseSmapsRollup(text);
}

/** The memory mappings (/proc/PID/maps). */
export function readMaps(pid: ProcPid): MapEntry[] {
  return parseMaps(readProcText(pid, 'maps'), procPath(pid, 'maps'));
}

/** Bits of a pagemap entry, as bits of its high 32-bit word (Documentation/admin-guide/mm/pagemap.rst). */
export const PM_HI = {
  /** Bit 63: page present in RAM. */
  present: 1 << 31,
  /** Bit 62: page swapped. */
  swapped: 1 << 30,
  /** Bit 61: file-page or shared-anonymous. */
  fileOrShared: 1 << 29,
  /** Bit 56: page exclusively mapped. */
  exclusive: 1 << 24,
  /** Bit 55: PTE is soft-dirty. */
  softDirty: 1 << 23,
} as const;

const PAGEMAP_CHUNK_ENTRIES = 1 << 16;

/** An open /proc/PID/pagemap: reads the high word of each entry for a range of virtual pages. */
export class Pagemap {
  private fd: number | undefined;
  readonly file: string;
  bytesRead = 0;
  private scratch = new Uint32Array(2 * PAGEMAP_CHUNK_ENTRIES);

  constructor(readonly pid: number | 'self') {
    this.file = procPath(pid, 'pagemap');
    this.fd = openProcFile(pid, 'pagemap');
  }

  /**
   * The high 32 bits of the entries of `count` pages from virtual page number `vpn`, into `out` (which
   * must hold `count` entries). Pages past the end of the address space read as 0.
   */
  readHigh(vpn: number, count: number, out: Uint32Array): void {
    if (this.fd === undefined) throw new NativeError('io', `${this.file} is closed.`, { subject: this.file });
    if (!Number.isSafeInteger(vpn) || vpn < 0 || !Number.isSafeInteger(count) || count < 0 || out.length < count) {
      throw new NativeError('truncated', `${this.file}: invalid range ${vpn} (+${count}).`, { subject: this.file });
    }
    const bytes = new Uint8Array(this.scratch.buffer);
    for (let done = 0; done < count; ) {
      const n = Math.min(PAGEMAP_CHUNK_ENTRIES, count - done);
      let got = 0;
      while (got < n * 8) {
        let r: number;
        try {
          r = fs.readSync(this.fd, bytes, got, n * 8 - got, (vpn + done) * 8 + got);
        } catch (e) {
          throw fromSystemError(e, this.file, this.pid === 'self' ? undefined : this.pid);
        }
        if (r === 0) break;
        got += r;
      }
      this.bytesRead += got;
      const entries = got >> 3;
      for (let i = 0; i < entries; i++) out[done + i] = this.scratch[2 * i + 1];
      for (let i = entries; i < n; i++) out[done + i] = 0;
      if (got === 0 && this.pid !== 'self') {
        // pagemap reads 0 bytes once the process has released its mm (it exited).
        if (!processExists(this.pid)) throw new NativeError('gone', `Process ${this.pid} exited while it was being sampled.`, { subject: this.file });
      }
      done += n;
    }
  }

  close(): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

/**
 * Clears the soft-dirty bits of every page of the process: writes "4" to /proc/PID/clear_refs. This is
 * the only write the planner ever makes to another process, and only when the user opted in.
 */
export function clearSoftDirty(pid: number): void {
  const file = procPath(pid, 'clear_refs');
  try {
    fs.writeFileSync(file, '4');
  } catch (e) {
    const err = fromSystemError(e, file, pid);
    if (err.kind === 'permission') {
      throw new NativeError('permission', `Permission denied writing ${file} (clearing soft-dirty bits needs the target's user or root).`, {
        subject: file,
        cause: e,
        hint: 'Run as the same user as the target, or measure read-only without --clear-soft-dirty.',
      });
    }
    throw err;
  }
}

export interface SoftDirtySupport {
  supported: boolean;
  /** How it was decided, one sentence. */
  reason: string;
}

let softDirtyCache: SoftDirtySupport | undefined;

/**
 * Whether this kernel tracks soft-dirty bits (CONFIG_MEM_SOFT_DIRTY), decided without writing anything:
 * our own stack pages are written continually, so with soft-dirty tracking at least one present stack
 * page has pagemap bit 55 set whatever clears happened before; without it, bit 55 is never set.
 */
export function softDirtySupport(): SoftDirtySupport {
  if (softDirtyCache) return softDirtyCache;
  let maps: MapEntry[];
  try {
    maps = readMaps('self');
  } catch (e) {
    return (softDirtyCache = { supported: false, reason: `cannot read /proc/self/maps (${(e as Error).message})` });
  }
  const stack = maps.find((m) => m.path === '[stack]' && m.addressable);
  if (!stack) return (softDirtyCache = { supported: false, reason: 'this process has no [stack] mapping to probe' });
  let pm: Pagemap;
  try {
    pm = new Pagemap('self');
  } catch (e) {
    return (softDirtyCache = { supported: false, reason: `/proc/self/pagemap is not readable (${(e as Error).message}); the kernel may lack CONFIG_PROC_PAGE_MONITOR` });
  }
  try {
    const pageSize = 4096;
    const first = Math.floor(stack.start / pageSize);
    const count = Math.min(64, Math.floor((stack.end - stack.start) / pageSize));
    const from = Math.floor(stack.end / pageSize) - count;
    const out = new Uint32Array(count);
    pm.readHigh(Math.max(first, from), count, out);
    let present = 0;
    for (const hi of out) {
      if (hi & PM_HI.present) {
        present++;
        if (hi & PM_HI.softDirty) return (softDirtyCache = { supported: true, reason: 'a present page of our own stack has pagemap bit 55 (soft-dirty) set' });
      }
    }
    return (softDirtyCache = {
      supported: false,
      reason: `none of the ${present} present pages of our own (continually written) stack has pagemap bit 55 set: the kernel was built without CONFIG_MEM_SOFT_DIRTY`,
    });
  } catch (e) {
    return (softDirtyCache = { supported: false, reason: `reading /proc/self/pagemap failed (${(e as Error).message})` });
  } finally {
    pm.close();
  }
}
