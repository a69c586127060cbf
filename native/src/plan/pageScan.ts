// The scans of the dirty-page sampler (sampler.ts): per region of a live process's writable mappings, its size,
// resident pages and the pages written since the last scan, from soft-dirty bits or by hashing page contents.

import * as fs from 'node:fs';
import { fromSystemError, NativeError } from '../errors';
import type { MapEntry } from '../space/maps';
import { openProcFile, Pagemap, PM_HI, procPath, processExists, readMaps } from '../space/procfs';
import type { RegionSeries } from './sampler';
import type { DirtyMethod } from './types';

/** x86-64 Linux base pages; the project only analyses x86-64 processes. */
export const PAGE_SIZE = 4096;
export const PAGES_PER_BLOCK = 16;
/** Anonymous mappings at least this large are their own region; smaller ones are grouped. */
const LARGE_ANON_BYTES = 4 << 20;

export interface RegionKey {
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
export function blockHash16(vpn: number): number {
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

export interface RegionAcc {
  id: RegionKey;
  sizeBytes: number;
  resident: number;
  /** Per interval: dirty page numbers (of the compared subset for the content method). */
  pages: number[][];
}

/** One mapping's pages as the pagemap showed them in this scan. */
interface MappingPages {
  m: MapEntry;
  region: RegionAcc;
  startVpn: number;
  count: number;
  /** The pagemap entries' high words (present, swapped, soft-dirty). */
  hi: Uint32Array;
}

/**
 * The scans of one sampling: the process's pagemap (and memory, for the content method), the regions with
 * their per-interval dirty pages, and the content method's page hashes and compared subset.
 */
export class PageScanner {
  readonly regions = new Map<string, RegionAcc>();
  /** Content method: the compared subset is the blocks whose 16-bit hash is below it (65536: every block). */
  threshold = 65536;
  bytesRead = 0;
  lastMapCount = 0;
  readonly pagemap: Pagemap;
  private readonly mem: number | undefined;
  private readonly states = new Map<number, MappingState>();
  private readonly readBuf = new Int32Array((256 * PAGE_SIZE) / 4);
  private readonly readBytes = new Uint8Array(this.readBuf.buffer);
  private readonly hashScratch = new Int32Array(2);

  constructor(
    private readonly pid: number,
    private readonly method: DirtyMethod,
    private readonly maxScanBytes: number,
  ) {
    this.pagemap = new Pagemap(pid);
    this.mem = method === 'content' ? openMem(pid) : undefined;
  }

  /**
   * One scan (`first`: the baseline, no dirty list yet; `intervals`: those before it). Returns the per-block
   * dirty counts of the compared subset (for the error estimate).
   */
  scan(first: boolean, intervals: number): Map<number, number> {
    const maps = scannedMappings(readMaps(this.pid));
    this.lastMapCount = maps.length;
    for (const acc of this.regions.values()) {
      acc.sizeBytes = 0;
      acc.resident = 0;
    }
    const { perMapping, plannedPages } = this.readPagemap(maps, first, intervals);
    if (this.method === 'content') this.chooseSubset(plannedPages, first);
    const blocks = new Map<number, number>();
    const seenStarts = new Set<number>();
    for (const mp of perMapping) {
      if (this.method === 'soft-dirty') {
        this.softDirtyPages(mp, first);
        continue;
      }
      seenStarts.add(mp.m.start);
      this.contentPages(mp, first, blocks);
    }
    if (this.method === 'content') for (const start of [...this.states.keys()]) if (!seenStarts.has(start)) this.states.delete(start);
    return blocks;
  }

  /** Each mapping's pagemap entries, its region (created as it appears), and the resident pages in all. */
  private readPagemap(maps: MapEntry[], first: boolean, intervals: number): { perMapping: MappingPages[]; plannedPages: number } {
    let plannedPages = 0;
    const perMapping: MappingPages[] = [];
    for (const m of maps) {
      const id = regionOf(m);
      let region = this.regions.get(id.key);
      if (!region) {
        // A region that appears mid-sampling has had no dirty pages in the intervals before this one.
        region = { id, sizeBytes: 0, resident: 0, pages: first ? [] : Array.from({ length: intervals + 1 }, () => []) };
        this.regions.set(id.key, region);
      }
      region.sizeBytes += m.end - m.start;
      const startVpn = Math.floor(m.start / PAGE_SIZE);
      const count = Math.floor((m.end - m.start) / PAGE_SIZE);
      const hi = new Uint32Array(count);
      this.pagemap.readHigh(startVpn, count, hi);
      perMapping.push({ m, region, startVpn, count, hi });
      for (let i = 0; i < count; i++) if (hi[i] & PM_HI.present) plannedPages++;
    }
    return { perMapping, plannedPages };
  }

  /** The content method's compared subset, from the number of resident pages and the scan budget. */
  private chooseSubset(plannedPages: number, first: boolean): void {
    const budgetPages = Math.max(PAGES_PER_BLOCK, Math.floor(this.maxScanBytes / PAGE_SIZE));
    if (first && plannedPages > budgetPages) {
      this.threshold = Math.max(1, Math.floor((65536 * budgetPages) / plannedPages));
    } else if (!first) {
      // Memory grew: halve the subset (a subset of the previous one, so baselines stay valid).
      while (this.threshold > 1 && (plannedPages * this.threshold) / 65536 > 1.5 * budgetPages) this.threshold = Math.max(1, this.threshold >> 1);
    }
  }

  /** Soft-dirty method: resident pages, and the pages written since the last clear. */
  private softDirtyPages({ region, startVpn, count, hi }: MappingPages, first: boolean): void {
    const list = first ? undefined : region.pages[region.pages.length - 1];
    for (let i = 0; i < count; i++) {
      const e = hi[i];
      if (e & PM_HI.present) region.resident++;
      if (list && e & PM_HI.softDirty && e & (PM_HI.present | PM_HI.swapped)) list.push(startVpn + i);
    }
  }

  /** Content method: the mapping's hash state, kept across scans (resized with the mapping). */
  private stateOf(m: MapEntry, startVpn: number, count: number): MappingState {
    let st = this.states.get(m.start);
    if (!st || st.count !== count) {
      const fresh: MappingState = { startVpn, count, hashes: new Int32Array(2 * count), known: new Uint8Array(count) };
      if (st) {
        const keep = Math.min(st.count, count);
        fresh.hashes.set(st.hashes.subarray(0, 2 * keep));
        fresh.known.set(st.known.subarray(0, keep));
      }
      st = fresh;
      this.states.set(m.start, st);
    }
    return st;
  }

  /** Content method: reads the selected resident pages in runs and compares their hashes with the last scan's. */
  private contentPages({ m, region, startVpn, count, hi }: MappingPages, first: boolean, blocks: Map<number, number>): void {
    const st = this.stateOf(m, startVpn, count);
    const threshold = this.threshold;
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
      const got = readRun(this.mem!, this.pid, (startVpn + i) * PAGE_SIZE, n * PAGE_SIZE, this.readBytes);
      this.bytesRead += got;
      const pagesRead = Math.floor(got / PAGE_SIZE);
      for (let k = 0; k < pagesRead; k++) this.comparePage(st, i + k, k, list, blocks);
      // A short read means the range was unmapped meanwhile: forget the rest of the run.
      for (let k = pagesRead; k < n; k++) st.known[i + k] = 0;
      i = j;
    }
  }

  /** Page p of a mapping, read into slot k of the buffer: dirty when its hash changed (or, new, is not zero). */
  private comparePage(st: MappingState, p: number, k: number, list: number[] | undefined, blocks: Map<number, number>): void {
    const hashScratch = this.hashScratch;
    hashPage(this.readBuf, (k * PAGE_SIZE) / 4, hashScratch, 0);
    const h1 = hashScratch[0];
    const h2 = hashScratch[1];
    let dirty: boolean;
    if (st.known[p]) dirty = st.hashes[2 * p] !== h1 || st.hashes[2 * p + 1] !== h2;
    else dirty = h1 !== ZERO_HASH[0] || h2 !== ZERO_HASH[1];
    if (dirty && list) {
      list.push(st.startVpn + p);
      const b = Math.floor((st.startVpn + p) / PAGES_PER_BLOCK);
      blocks.set(b, (blocks.get(b) ?? 0) + 1);
    }
    st.hashes[2 * p] = h1;
    st.hashes[2 * p + 1] = h2;
    st.known[p] = 1;
  }

  close(): void {
    this.pagemap.close();
    if (this.mem !== undefined) fs.closeSync(this.mem);
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
