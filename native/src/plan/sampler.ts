// The dirty-page sampler: every interval, which pages of a live process's writable mappings were written,
// per region (heap, stacks, large anonymous mappings, each file's writable data), either from the kernel's
// soft-dirty bits (opt-in; clears them through /proc/PID/clear_refs, as CRIU's --track-mem does) or
// read-only by hashing page contents; plus resident/anonymous memory from smaps_rollup. Bounded cost. The
// scans themselves are pageScan.ts.

import { CancelledError, isNativeError, NativeError } from '../errors';
import { clearSoftDirty, listProcDir, PF_KTHREAD, processExists, readMemoryRollup, readStat, softDirtySupport, type MemoryRollup } from '../space/procfs';
import { blockHash16, PAGE_SIZE, PageScanner } from './pageScan';
import type { DirtyMethod } from './types';

export interface SamplerOptions {
  method: DirtyMethod;
  /** Total sampling time (default 5 s). */
  seconds?: number;
  /** Time between scans (default 0.5 s). */
  intervalSeconds?: number;
  /** Content method: page bytes read per scan at most; above it a fixed random subset is compared (default 64 MiB). */
  maxScanBytes?: number;
  /** Called with a short message after each scan. */
  onProgress?: (message: string) => void;
  isCancelled?: () => boolean;
  /**
   * Soft-dirty method: probe the kernel first (default true). False skips the probe: on a kernel without
   * soft-dirty tracking the clear/scan loop then runs and finds no dirty page (the tests use it there).
   */
  checkSupport?: boolean;
}

/** One region's series. */
export interface RegionSeries {
  key: string;
  label: string;
  kind: 'heap' | 'stack' | 'anon' | 'file' | 'other';
  /** Virtual size of the region's writable mappings at the last scan. */
  sizeBytes: number;
  /** Resident pages of the region at the last scan (estimated when content sampling used a subset). */
  residentPages: number;
  /** Dirty pages per interval (estimated totals when a subset was compared). */
  dirty: number[];
  /**
   * window[k-1]: mean number of distinct pages dirtied over k consecutive intervals, k = 1..K (estimated
   * totals). window[0] is the mean of `dirty`.
   */
  window: number[];
  /** Distinct pages dirtied over the whole sampling (estimated total). */
  distinct: number;
}

export interface DirtySampling {
  pid: number;
  method: DirtyMethod;
  pageSize: number;
  intervalSeconds: number;
  /**
   * Scan instants in seconds of CLOCK_MONOTONIC (length n+1): the content method's are the midpoints of
   * each scan; the soft-dirty method's are the clear_refs writes (time[k] starts interval k).
   */
  times: number[];
  /** Interval lengths in seconds (length n). For soft-dirty: from a clear to the next pagemap read. */
  durations: number[];
  /** Dirty pages per interval over all regions (estimated totals). */
  total: number[];
  /** Standard error of each total from comparing a subset of pages (0 when every page was compared). */
  totalError: number[];
  window: number[];
  distinct: number;
  regions: RegionSeries[];
  /** Fraction of resident writable pages compared (content method; 1 for soft-dirty). */
  sampledFraction: number;
  memory: { start: MemoryRollup; end: MemoryRollup };
  threads: number;
  openFiles: number;
  mappings: number;
  cost: { scans: number; scanSeconds: number[]; cpuSeconds: number; bytesRead: number; pagemapBytes: number; clears: number };
  notes: string[];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

function nowSeconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

function countEntries(pid: number, dir: string): number {
  try {
    return listProcDir(pid, dir).length;
  } catch (e) {
    if (isNativeError(e) && e.kind === 'gone') throw e;
    return 0;
  }
}

/**
 * Mean number of distinct pages dirtied over k consecutive intervals, k = 1..K, from per-interval page
 * lists: for each page, the windows [t, t+k) that contain one of its dirty intervals are counted once.
 */
export function windowCurve(pages: readonly (readonly number[])[], maxK: number): number[] {
  const n = pages.length;
  const K = Math.min(maxK, n);
  const byPage = new Map<number, number[]>();
  pages.forEach((list, t) => {
    for (const p of list) {
      const l = byPage.get(p);
      if (l === undefined) byPage.set(p, [t]);
      else if (l[l.length - 1] !== t) l.push(t);
    }
  });
  const out: number[] = [];
  for (let k = 1; k <= K; k++) {
    const last = n - k;
    let covered = 0;
    for (const indices of byPage.values()) {
      // Window starts t in [i-k+1, i] ∩ [0, n-k] contain interval i; merge those ranges over the page's i.
      let runLo = -1;
      let runHi = -2;
      for (const i of indices) {
        const lo = Math.max(0, i - k + 1);
        const hi = Math.min(last, i);
        if (lo > hi) continue;
        if (lo > runHi + 1) {
          covered += runHi - runLo + 1;
          runLo = lo;
        }
        runHi = Math.max(runHi, hi);
      }
      covered += runHi - runLo + 1;
    }
    out.push(covered / (last + 1));
  }
  return out;
}

function distinctOf(pages: readonly (readonly number[])[]): number {
  const seen = new Set<number>();
  for (const list of pages) for (const p of list) seen.add(p);
  return seen.size;
}

/** Throws NativeError('unsupported') when this kernel does not track soft-dirty bits. */
export function requireSoftDirty(): void {
  const support = softDirtySupport();
  if (!support.supported) {
    throw new NativeError('unsupported', `This kernel does not track soft-dirty bits: ${support.reason}.`, {
      subject: 'soft-dirty',
      hint: "Measure read-only instead (without --clear-soft-dirty). CRIU's pre-dump --track-mem needs the same bits, so iterative pre-copy with CRIU is not possible on this kernel either.",
    });
  }
}

/** Throws 'unsupported' for a kernel thread: it has no user memory to sample (its /proc files say nothing). */
function requireUserProcess(pid: number): void {
  const { comm, flags } = readStat(pid);
  if ((flags & PF_KTHREAD) !== 0) {
    throw new NativeError('unsupported', `Process ${pid} (${comm}) is a kernel thread: it has no user-space memory to sample, and CRIU cannot checkpoint it.`, {
      subject: `pid ${pid}`,
      hint: 'Pick a user-space process (one with a command line in /proc/PID/cmdline).',
    });
  }
}

/** The instants and costs of the scans, filled as the sampling goes. */
interface Timeline {
  times: number[];
  durations: number[];
  scanSeconds: number[];
  /** Content method: the squared standard error of each interval's total (from the compared subset). */
  errorSq: number[];
  clears: number;
}

/**
 * Samples a live process's dirty pages. The soft-dirty method clears the process's soft-dirty bits
 * (writes "4" to /proc/PID/clear_refs) at the start and after every scan; the content method only reads.
 * Throws NativeError: 'gone' (no such process, or it exited), 'permission' (no ptrace-read access, or
 * clear_refs not writable), 'unsupported' (soft-dirty asked on a kernel without it).
 */
export async function sampleDirtyPages(pid: number, options: SamplerOptions): Promise<DirtySampling> {
  const method = options.method;
  const seconds = options.seconds ?? 5;
  const interval = options.intervalSeconds ?? 0.5;
  if (!(seconds > 0) || !(interval > 0) || interval > seconds) {
    throw new NativeError('malformed', `Sampling needs 0 < interval (${interval} s) ≤ duration (${seconds} s).`);
  }
  const maxScanBytes = options.maxScanBytes ?? 64 << 20;
  if (!processExists(pid)) {
    throw new NativeError('gone', `Process ${pid} does not exist (it may have exited).`, { subject: `pid ${pid}`, hint: 'Pick a running process and try again.' });
  }
  requireUserProcess(pid);
  if (method === 'soft-dirty' && options.checkSupport !== false) requireSoftDirty();
  const startMemory = readMemoryRollup(pid);
  const scanner = new PageScanner(pid, method, maxScanBytes);
  const cpuStart = process.cpuUsage();
  try {
    const timeline = await sampleIntervals(scanner, pid, method, seconds, interval, options);
    const endMemory = readMemoryRollup(pid);
    const { notes, ...series } = summarize(scanner, timeline, pid, method, interval, maxScanBytes);
    const cpu = process.cpuUsage(cpuStart);
    return {
      ...series,
      memory: { start: startMemory, end: endMemory },
      threads: countEntries(pid, 'task'),
      openFiles: countEntries(pid, 'fd'),
      mappings: scanner.lastMapCount,
      cost: { scans: timeline.scanSeconds.length, scanSeconds: timeline.scanSeconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, bytesRead: scanner.bytesRead, pagemapBytes: scanner.pagemap.bytesRead, clears: timeline.clears },
      notes,
    };
  } finally {
    scanner.close();
  }
}

/** The baseline scan, then one scan per interval until the duration is over (the soft-dirty bits cleared after each). */
async function sampleIntervals(scanner: PageScanner, pid: number, method: DirtyMethod, seconds: number, interval: number, options: SamplerOptions): Promise<Timeline> {
  const tl: Timeline = { times: [], durations: [], scanSeconds: [], errorSq: [], clears: 0 };
  const { times, durations, scanSeconds } = tl;
  const deadline = nowSeconds() + seconds;
  const scans = Math.max(1, Math.round(seconds / interval));
  if (method === 'soft-dirty') {
    scanner.scan(true, 0); // resident pages and regions; no dirty list yet
    clearSoftDirty(pid);
    tl.clears++;
    times.push(nowSeconds());
  } else {
    const before = nowSeconds();
    scanner.scan(true, 0);
    const after = nowSeconds();
    scanSeconds.push(after - before);
    times.push((before + after) / 2);
  }
  const t0 = times[0];
  for (let k = 1; k <= scans; k++) {
    if (options.isCancelled?.()) throw new CancelledError();
    await sleep((t0 + k * interval - nowSeconds()) * 1000);
    for (const acc of scanner.regions.values()) acc.pages.push([]);
    const before = nowSeconds();
    const blocks = scanner.scan(false, durations.length);
    const afterRead = nowSeconds();
    if (method === 'soft-dirty') {
      durations.push(afterRead - times[times.length - 1]);
      clearSoftDirty(pid);
      tl.clears++;
      times.push(nowSeconds());
      scanSeconds.push(times[times.length - 1] - before);
    } else {
      const mid = (before + afterRead) / 2;
      durations.push(mid - times[times.length - 1]);
      times.push(mid);
      scanSeconds.push(afterRead - before);
      const f = scanner.threshold / 65536;
      let v = 0;
      if (f < 1) for (const y of blocks.values()) v += ((1 - f) / (f * f)) * y * y;
      tl.errorSq.push(v);
    }
    options.onProgress?.(`Sampling dirty pages of process ${pid}: ${k}/${scans} intervals`);
    if (nowSeconds() > deadline + interval) break;
  }
  return tl;
}

/** The series per region and in all (scaled up when a subset was compared), with the sampling's note. */
function summarize(
  scanner: PageScanner,
  tl: Timeline,
  pid: number,
  method: DirtyMethod,
  interval: number,
  maxScanBytes: number,
): Omit<DirtySampling, 'memory' | 'threads' | 'openFiles' | 'mappings' | 'cost'> {
  const threshold = scanner.threshold;
  const f = method === 'content' ? threshold / 65536 : 1;
  const n = tl.durations.length;
  const regionSeries: RegionSeries[] = [];
  const allPages: number[][] = Array.from({ length: n }, () => []);
  const maxK = Math.min(n, 16);
  for (const acc of scanner.regions.values()) {
    // Pages are compared against the final subset so every interval counts the same pages.
    const pages = acc.pages.slice(-n).map((list) => (f < 1 ? list.filter((p) => blockHash16(p) < threshold) : list));
    while (pages.length < n) pages.unshift([]);
    pages.forEach((list, t) => allPages[t].push(...list));
    const dirty = pages.map((l) => l.length / f);
    if (acc.sizeBytes === 0 && dirty.every((d) => d === 0)) continue;
    regionSeries.push({
      key: acc.id.key,
      label: acc.id.label,
      kind: acc.id.kind,
      sizeBytes: acc.sizeBytes,
      residentPages: acc.resident / f,
      dirty,
      window: windowCurve(pages, maxK).map((w) => w / f),
      distinct: distinctOf(pages) / f,
    });
  }
  regionSeries.sort((a, b) => b.distinct - a.distinct || a.label.localeCompare(b.label));
  const notes: string[] = [];
  if (f < 1) {
    notes.push(
      `The process has more resident writable memory than the scan budget (${Math.round(maxScanBytes / 1048576)} MiB per interval): a fixed pseudo-random ${(100 * f).toFixed(1)} % of it (in 64 KiB blocks) was compared and the counts scaled up; each interval's total has the standard error given with it.`,
    );
  }
  return {
    pid,
    method,
    pageSize: PAGE_SIZE,
    intervalSeconds: interval,
    times: tl.times,
    durations: tl.durations,
    total: allPages.map((l) => l.length / f),
    totalError: method === 'content' ? tl.errorSq.slice(-n).map(Math.sqrt) : tl.durations.map(() => 0),
    window: windowCurve(allPages, maxK).map((w) => w / f),
    distinct: distinctOf(allPages) / f,
    regions: regionSeries,
    sampledFraction: f,
    notes,
  };
}
