// Which pages of a private anonymous mapping hold data: /proc/PID/pagemap's present and swapped bits. A page
// that is neither was never written, and one mapped to the kernel's zero page was only read: both read as zeros.

import * as fs from 'node:fs';
import { PM_HI } from './procfs';
import type { MapEntry } from './maps';

const PAGE_SIZE = 4096;
/** KPF_ZERO_PAGE in /proc/kpageflags (Documentation/admin-guide/mm/pagemap.rst). */
const KPF_ZERO_PAGE = 1 << 24;

/** The zero page's frame number once /proc/kpageflags confirmed it; null when it cannot be read (not root). */
let zeroPfn: number | null | undefined;

/**
 * The parts of [start, end) of mapping `m` whose pages are in memory (other than the zero page) or swapped out,
 * in address order, when `m` is private anonymous memory (anonymous, [heap], [stack]). Undefined when it is
 * not, or when pagemap cannot be read: then every byte may hold data.
 */
export function residentRanges(pid: number, m: MapEntry | undefined, start: number, end: number): Array<{ start: number; end: number }> | undefined {
  if (!m || start < m.start || end > m.end || !m.perms.private || m.inode !== 0 || (m.kind !== 'anon' && m.kind !== 'heap' && m.kind !== 'stack')) return undefined;
  const first = Math.floor(start / PAGE_SIZE);
  const pages = Math.ceil(end / PAGE_SIZE) - first;
  if (pages <= 0) return [];
  const entries = readPagemap(pid, first, pages);
  if (!entries) return undefined;
  const zero = zeroPageOf(entries, pages);
  const out: Array<{ start: number; end: number }> = [];
  for (let i = 0; i < pages; i++) {
    const hi = entries[2 * i + 1];
    if ((hi & (PM_HI.present | PM_HI.swapped)) === 0) continue;
    if (zero !== undefined && hi & PM_HI.present && pfnOf(entries, i) === zero) continue;
    const lo = Math.max(start, (first + i) * PAGE_SIZE);
    const hiEnd = Math.min(end, (first + i + 1) * PAGE_SIZE);
    const last = out[out.length - 1];
    if (last && last.end === lo) last.end = hiEnd;
    else out.push({ start: lo, end: hiEnd });
  }
  return out;
}

/** The 64-bit pagemap entries of `pages` pages from page `first`, as (low, high) 32-bit pairs. */
function readPagemap(pid: number, first: number, pages: number): Uint32Array | undefined {
  const buf = Buffer.alloc(pages * 8);
  let fd: number | undefined;
  try {
    fd = fs.openSync(`/proc/${pid}/pagemap`, 'r');
    for (let got = 0; got < buf.length; ) {
      const n = fs.readSync(fd, buf, got, buf.length - got, first * 8 + got);
      if (n <= 0) return undefined;
      got += n;
    }
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  return new Uint32Array(buf.buffer, buf.byteOffset, pages * 2);
}

/** The frame number of entry `i` (bits 0-54; 0 without CAP_SYS_ADMIN, which hides it). */
function pfnOf(entries: Uint32Array, i: number): number {
  return (entries[2 * i + 1] & 0x7f_ffff) * 2 ** 32 + entries[2 * i];
}

/**
 * The zero page's frame number, when known or when the frame most often mapped among these entries is it (a
 * private page sits at one address; the zero page at every address only read), as /proc/kpageflags says.
 */
function zeroPageOf(entries: Uint32Array, pages: number): number | undefined {
  if (zeroPfn !== undefined) return zeroPfn ?? undefined;
  const counts = new Map<number, number>();
  let best = 0;
  let bestCount = 1;
  for (let i = 0; i < pages; i++) {
    if (!(entries[2 * i + 1] & PM_HI.present)) continue;
    const pfn = pfnOf(entries, i);
    if (pfn === 0) return (zeroPfn = null) ?? undefined; // Frame numbers are hidden (not root): nothing to compare.
    const c = (counts.get(pfn) ?? 0) + 1;
    counts.set(pfn, c);
    if (c > bestCount) [best, bestCount] = [pfn, c];
  }
  if (bestCount < 2) return undefined;
  const flags = Buffer.alloc(8);
  let fd: number | undefined;
  try {
    fd = fs.openSync('/proc/kpageflags', 'r');
    if (fs.readSync(fd, flags, 0, 8, best * 8) !== 8) return undefined;
  } catch {
    zeroPfn = null;
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  if (flags.readUInt32LE(0) & KPF_ZERO_PAGE) zeroPfn = best;
  return zeroPfn ?? undefined;
}
