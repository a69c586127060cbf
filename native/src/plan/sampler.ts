// The dirty-page sampler: every interval, which pages of a live process's writable mappings were written,
// per region (heap, stacks, large anonymous mappings, each file's writable data), either from the kernel's
// soft-dirty bits (opt-in; clears them through /proc/PID/clear_refs, as CRIU's --track-mem does) or
// read-only by hashing page contents; plus resident/anonymous memory from smaps_rollup. Bounded cost.

import * as fs from 'node:fs';
import { CancelledError, fromSystemError, isNativeError, NativeError } from '../errors';
import type { MapEntry } from '../space/maps';
import type { DirtyMethod } from './types';
import {
  clearSoftDirty,
  listProcDir,
  openProcFile,
  Pagemap,
  PF_KTHREAD,
  PM_HI,
  procPath,
  processExists,
  readMaps,
  readMemoryRollup,
  readStat,
  softDirtySupport,
  type MemoryRollup,
} from '../space/procfs';

/** x86-64 Linux base pages; the project only analyses x86-64 processes. */
export const PAGE_SIZE = 4096;
const PAGES_PER_BLOCK = 16;
/** Anonymous mappings at least this large are their own region; smaller ones are grouped. */
const LARGE_ANON_BYTES = 4 << 20;

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

interface RegionKey {
  key: string;
  label: string;
  kind: RegionSeries['kind'];
}

/** The region a writable mapping belongs to. */
export function regionOf(m: MapEntry): RegionKey {
  switch (m.kind) {
    case 'heap':
      return { key: '[heap]', label: '[heap]', kind: 'heap' };
    case 'stack':
      return { key: '[stack]', label: '[stack]', kind: 'stack' };
    case 'file':
      return { key: `file:${m.path}`, label: m.path, kind: 'file' };
    case 'anon':
      if (m.end - m.start >= LARGE_ANON_BYTES) {
        const label = `anon@0x${m.start.toString(16)}`;
        return { key: label, label: `${label} (${Math.round((m.end - m.start) / 1048576)} MiB)`, kind: 'anon' };
      }
      return { key: 'anon:small', label: 'anonymous (small mappings)', kind: 'anon' };
    default:
      return { key: `other:${m.path}`, label: m.path || 'other', kind: 'other' };
  }
}

/** Writable mappings whose pages can be dirtied and migrated (not the vDSO/vvar/vsyscall pages). */
export function scannedMappings(maps: readonly MapEntry[]): MapEntry[] {
  return maps.filter((m) => m.perms.write && m.addressable && m.end > m.start && m.kind !== 'vvar' && m.kind !== 'vdso' && m.kind !== 'vsyscall');
}

/** Two 32-bit multiply-xor lanes over a page's words: any change of a single word always changes its lane. */
function hashPage(words: Int32Array, base: number, out: Int32Array, at: number): void {
  let h1 = 0x811c9dc5 | 0;
  let h2 = 0x9e3779b9 | 0;
  const end = base + PAGE_SIZE / 4;
  for (let i = base; i < end; i += 2) {
    h1 = Math.imul(h1 ^ words[i], 0x01000193);
    h2 = Math.imul(h2 ^ words[i + 1], 0x85ebca6b);
  }
  out[at] = h1;
  out[at + 1] = h2;
}

const ZERO_HASH = (() => {
  const out = new Int32Array(2);
  hashPage(new Int32Array(PAGE_SIZE / 4), 0, out, 0);
  return out;
})();

/** A 16-bit hash of a page block number, for a stable pseudo-random subset of blocks. */
function blockHash16(vpn: number): number {
  const block = Math.floor(vpn / PAGES_PER_BLOCK);
  let h = Math.imul((block >>> 0) ^ Math.floor(block / 4294967296), 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return (h >>> 0) >>> 16;
}

/** Per-mapping content state: two hash words per page and whether a baseline exists. */
interface MappingState {
  startVpn: number;
  count: number;
  hashes: Int32Array;
  known: Uint8Array;
}

interface RegionAcc {
  id: RegionKey;
  sizeBytes: number;
  resident: number;
  /** Per interval: dirty page numbers (of the compared subset for the content method). */
  pages: number[][];
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
  const notes: string[] = [];
  const startMemory = readMemoryRollup(pid);
  const pagemap = new Pagemap(pid);
  const mem = method === 'content' ? openMem(pid) : undefined;
  const states = new Map<number, MappingState>();
  const regions = new Map<string, RegionAcc>();
  const times: number[] = [];
  const durations: number[] = [];
  const totalError: number[] = [];
  const scanSeconds: number[] = [];
  const errorSq: number[] = [];
  let bytesRead = 0;
  let clears = 0;
  let threshold = 65536;
  let lastMapCount = 0;
  const cpuStart = process.cpuUsage();
  const readBuf = new Int32Array((256 * PAGE_SIZE) / 4);
  const readBytes = new Uint8Array(readBuf.buffer);
  const hashScratch = new Int32Array(2);

  /** One scan. Returns the per-block dirty counts of the compared subset (for the error estimate). */
  const scan = (first: boolean): { blocks: Map<number, number> } => {
    const maps = scannedMappings(readMaps(pid));
    lastMapCount = maps.length;
    for (const acc of regions.values()) {
      acc.sizeBytes = 0;
      acc.resident = 0;
    }
    const blocks = new Map<number, number>();
    const seenStarts = new Set<number>();
    // The content method first decides the compared subset from the number of resident pages.
    let plannedPages = 0;
    const perMapping: Array<{ m: MapEntry; region: RegionAcc; startVpn: number; count: number; hi: Uint32Array }> = [];
    for (const m of maps) {
      const id = regionOf(m);
      let region = regions.get(id.key);
      if (!region) {
        // A region that appears mid-sampling has had no dirty pages in the intervals before this one.
        region = { id, sizeBytes: 0, resident: 0, pages: first ? [] : Array.from({ length: durations.length + 1 }, () => []) };
        regions.set(id.key, region);
      }
      region.sizeBytes += m.end - m.start;
      const startVpn = Math.floor(m.start / PAGE_SIZE);
      const count = Math.floor((m.end - m.start) / PAGE_SIZE);
      const hi = new Uint32Array(count);
      pagemap.readHigh(startVpn, count, hi);
      perMapping.push({ m, region, startVpn, count, hi });
      for (let i = 0; i < count; i++) if (hi[i] & PM_HI.present) plannedPages++;
    }
    if (method === 'content') {
      const budgetPages = Math.max(PAGES_PER_BLOCK, Math.floor(maxScanBytes / PAGE_SIZE));
      if (first && plannedPages > budgetPages) {
        threshold = Math.max(1, Math.floor((65536 * budgetPages) / plannedPages));
      } else if (!first) {
        // Memory grew: halve the subset (a subset of the previous one, so baselines stay valid).
        while (threshold > 1 && (plannedPages * threshold) / 65536 > 1.5 * budgetPages) threshold = Math.max(1, threshold >> 1);
      }
    }
    for (const { m, region, startVpn, count, hi } of perMapping) {
      if (method === 'soft-dirty') {
        const list = first ? undefined : region.pages[region.pages.length - 1];
        for (let i = 0; i < count; i++) {
          const e = hi[i];
          if (e & PM_HI.present) region.resident++;
          if (list && e & PM_HI.softDirty && e & (PM_HI.present | PM_HI.swapped)) list.push(startVpn + i);
        }
        continue;
      }
      // Content method.
      seenStarts.add(m.start);
      let st = states.get(m.start);
      if (!st || st.count !== count) {
        const fresh: MappingState = { startVpn, count, hashes: new Int32Array(2 * count), known: new Uint8Array(count) };
        if (st) {
          const keep = Math.min(st.count, count);
          fresh.hashes.set(st.hashes.subarray(0, 2 * keep));
          fresh.known.set(st.known.subarray(0, keep));
        }
        st = fresh;
        states.set(m.start, st);
      }
      const list = first ? undefined : region.pages[region.pages.length - 1];
      let i = 0;
      while (i < count) {
        const e = hi[i];
        if (!(e & PM_HI.present)) {
          // Swapped pages keep their baseline (reading them would swap them in); freed pages lose it.
          if (!(e & PM_HI.swapped)) st.known[i] = 0;
          i++;
          continue;
        }
        if (threshold < 65536 && blockHash16(startVpn + i) >= threshold) {
          i++;
          continue;
        }
        region.resident++;
        // A run of present, selected pages, read at once.
        let j = i + 1;
        while (j < count && j - i < 256 && hi[j] & PM_HI.present && (threshold >= 65536 || blockHash16(startVpn + j) < threshold)) j++;
        const n = j - i;
        const got = readRun(mem!, pid, (startVpn + i) * PAGE_SIZE, n * PAGE_SIZE, readBytes);
        bytesRead += got;
        const pagesRead = Math.floor(got / PAGE_SIZE);
        for (let k = 0; k < pagesRead; k++) {
          const p = i + k;
          hashPage(readBuf, (k * PAGE_SIZE) / 4, hashScratch, 0);
          const h1 = hashScratch[0];
          const h2 = hashScratch[1];
          let dirty: boolean;
          if (st.known[p]) dirty = st.hashes[2 * p] !== h1 || st.hashes[2 * p + 1] !== h2;
          else dirty = h1 !== ZERO_HASH[0] || h2 !== ZERO_HASH[1];
          if (dirty && list) {
            list.push(startVpn + p);
            const b = Math.floor((startVpn + p) / PAGES_PER_BLOCK);
            blocks.set(b, (blocks.get(b) ?? 0) + 1);
          }
          st.hashes[2 * p] = h1;
          st.hashes[2 * p + 1] = h2;
          st.known[p] = 1;
        }
        // A short read means the range was unmapped meanwhile: forget the rest of the run.
        for (let k = pagesRead; k < n; k++) st.known[i + k] = 0;
        i = j;
      }
    }
    if (method === 'content') for (const start of [...states.keys()]) if (!seenStarts.has(start)) states.delete(start);
    return { blocks };
  };

  try {
    const deadline = nowSeconds() + seconds;
    const scans = Math.max(1, Math.round(seconds / interval));
    let t0 = nowSeconds();
    if (method === 'soft-dirty') {
      scan(true); // resident pages and regions; no dirty list yet
      clearSoftDirty(pid);
      clears++;
      times.push(nowSeconds());
    } else {
      const before = nowSeconds();
      scan(true);
      const after = nowSeconds();
      scanSeconds.push(after - before);
      times.push((before + after) / 2);
    }
    t0 = times[0];
    for (let k = 1; k <= scans; k++) {
      if (options.isCancelled?.()) throw new CancelledError();
      await sleep((t0 + k * interval - nowSeconds()) * 1000);
      for (const acc of regions.values()) acc.pages.push([]);
      const before = nowSeconds();
      const { blocks } = scan(false);
      const afterRead = nowSeconds();
      if (method === 'soft-dirty') {
        durations.push(afterRead - times[times.length - 1]);
        clearSoftDirty(pid);
        clears++;
        times.push(nowSeconds());
        scanSeconds.push(times[times.length - 1] - before);
      } else {
        const mid = (before + afterRead) / 2;
        durations.push(mid - times[times.length - 1]);
        times.push(mid);
        scanSeconds.push(afterRead - before);
        const f = threshold / 65536;
        let v = 0;
        if (f < 1) for (const y of blocks.values()) v += ((1 - f) / (f * f)) * y * y;
        errorSq.push(v);
      }
      options.onProgress?.(`Sampling dirty pages of process ${pid}: ${k}/${scans} intervals`);
      if (nowSeconds() > deadline + interval) break;
    }
    const endMemory = readMemoryRollup(pid);
    const f = method === 'content' ? threshold / 65536 : 1;
    const n = durations.length;
    const regionSeries: RegionSeries[] = [];
    const allPages: number[][] = Array.from({ length: n }, () => []);
    const maxK = Math.min(n, 16);
    for (const acc of regions.values()) {
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
    if (f < 1) {
      notes.push(
        `The process has more resident writable memory than the scan budget (${Math.round(maxScanBytes / 1048576)} MiB per interval): a fixed pseudo-random ${(100 * f).toFixed(1)} % of it (in 64 KiB blocks) was compared and the counts scaled up; each interval's total has the standard error given with it.`,
      );
    }
    const cpu = process.cpuUsage(cpuStart);
    return {
      pid,
      method,
      pageSize: PAGE_SIZE,
      intervalSeconds: interval,
      times,
      durations,
      total: allPages.map((l) => l.length / f),
      totalError: method === 'content' ? errorSq.slice(-n).map(Math.sqrt) : durations.map(() => 0),
      window: windowCurve(allPages, maxK).map((w) => w / f),
      distinct: distinctOf(allPages) / f,
      regions: regionSeries,
      sampledFraction: f,
      memory: { start: startMemory, end: endMemory },
      threads: countEntries(pid, 'task'),
      openFiles: countEntries(pid, 'fd'),
      mappings: lastMapCount,
      cost: { scans: scanSeconds.length, scanSeconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, bytesRead, pagemapBytes: pagemap.bytesRead, clears },
      notes,
    };
  } finally {
    pagemap.close();
    if (mem !== undefined) fs.closeSync(mem);
  }
}

function openMem(pid: number): number {
  return openProcFile(pid, 'mem');
}

/** Reads up to `length` bytes of process memory; returns how many were read (short when unmapped meanwhile). */
function readRun(fd: number, pid: number, address: number, length: number, into: Uint8Array): number {
  let done = 0;
  while (done < length) {
    let n: number;
    try {
      n = fs.readSync(fd, into, done, length - done, address + done);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EIO' || code === 'EFAULT') return done;
      throw fromSystemError(e, procPath(pid, 'mem'), pid);
    }
    if (n === 0) {
      if (!processExists(pid)) throw new NativeError('gone', `Process ${pid} exited while it was being sampled.`, { subject: procPath(pid, 'mem') });
      return done;
    }
    done += n;
  }
  return done;
}
