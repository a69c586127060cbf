// Which pages of a private anonymous mapping hold data: /proc/PID/pagemap's present and swapped bits. A page
// that is neither was never written and reads as zeros (reading it would only map the zero page).

import { PM_HI, Pagemap } from '../plan/procfs';
import type { MapEntry } from './maps';

const PAGE_SIZE = 4096;

/**
 * The parts of [start, end) of mapping `m` whose pages are in memory or swapped out, in address order, when `m`
 * is private anonymous memory (anonymous, [heap], [stack]). Undefined when it is not, or when pagemap cannot be
 * read: then every byte may hold data.
 */
export function residentRanges(pid: number, m: MapEntry | undefined, start: number, end: number): Array<{ start: number; end: number }> | undefined {
  if (!m || start < m.start || end > m.end || !m.perms.private || m.inode !== 0 || (m.kind !== 'anon' && m.kind !== 'heap' && m.kind !== 'stack')) return undefined;
  const first = Math.floor(start / PAGE_SIZE);
  const pages = Math.ceil(end / PAGE_SIZE) - first;
  if (pages <= 0) return [];
  const high = new Uint32Array(pages);
  let pagemap: Pagemap | undefined;
  try {
    pagemap = new Pagemap(pid);
    pagemap.readHigh(first, pages, high);
  } catch {
    return undefined;
  } finally {
    pagemap?.close();
  }
  const out: Array<{ start: number; end: number }> = [];
  for (let i = 0; i < pages; i++) {
    if ((high[i] & (PM_HI.present | PM_HI.swapped)) === 0) continue;
    const lo = Math.max(start, (first + i) * PAGE_SIZE);
    const hi = Math.min(end, (first + i + 1) * PAGE_SIZE);
    const last = out[out.length - 1];
    if (last && last.end === lo) last.end = hi;
    else out.push({ start: lo, end: hi });
  }
  return out;
}
