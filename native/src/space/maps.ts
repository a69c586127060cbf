// Parser for /proc/PID/maps: one MapEntry per line with parsed permissions and a kind (file, anon, heap,
// stack, vdso, vvar, vsyscall, other). Kernel-half addresses such as [vsyscall]'s are kept but flagged.

import { NativeError } from '../errors';

export type MappingKind = 'file' | 'anon' | 'heap' | 'stack' | 'vdso' | 'vvar' | 'vsyscall' | 'other';

export interface MapPermissions {
  read: boolean;
  write: boolean;
  exec: boolean;
  /** True for a private (copy-on-write) mapping, false for shared. */
  private: boolean;
}

export interface MapEntry {
  /** Start address. Only exact when `addressable` is true. */
  start: number;
  /** End address (exclusive). Only exact when `addressable` is true. */
  end: number;
  /** False when the range lies above 2^53 (the [vsyscall] page): skip such entries for numeric use. */
  addressable: boolean;
  perms: MapPermissions;
  /** The permission field as printed, e.g. 'r-xp'. */
  permsText: string;
  /** File offset of `start` (0 for anonymous mappings). */
  offset: number;
  /** Device as 'major:minor' (hex, as printed). */
  dev: string;
  inode: number;
  /** The path or pseudo-name ('[heap]', '[anon:name]', ...) with any ' (deleted)' suffix removed; '' if anonymous. */
  path: string;
  /** True when the kernel marked the file ' (deleted)' (replaced or unlinked since it was mapped). */
  deleted: boolean;
  kind: MappingKind;
}

const LINE = /^([0-9a-f]+)-([0-9a-f]+)\s+([r-][w-][x-][ps])\s+([0-9a-f]+)\s+([0-9a-f]+:[0-9a-f]+)\s+(\d+)(?:\s+(.*))?$/;
const DELETED = ' (deleted)';

/** Parses the text of /proc/PID/maps. Throws NativeError('malformed') on a line it cannot read. */
export function parseMaps(text: string, what = 'maps'): MapEntry[] {
  const out: MapEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    const m = LINE.exec(line);
    if (!m) throw new NativeError('malformed', `${what}: cannot parse line ${i + 1}: ${JSON.stringify(line.slice(0, 200))}`, { subject: what });
    const start = parseInt(m[1], 16);
    const end = parseInt(m[2], 16);
    const permsText = m[3];
    let path = m[7] ?? '';
    let deleted = false;
    if (path.endsWith(DELETED)) {
      deleted = true;
      path = path.slice(0, -DELETED.length);
    }
    const inode = Number(m[6]);
    out.push({
      start,
      end,
      addressable: Number.isSafeInteger(start) && Number.isSafeInteger(end) && end >= start,
      perms: { read: permsText[0] === 'r', write: permsText[1] === 'w', exec: permsText[2] === 'x', private: permsText[3] === 'p' },
      permsText,
      offset: parseInt(m[4], 16),
      dev: m[5],
      inode,
      path,
      deleted,
      kind: kindOf(path, inode),
    });
  }
  return out;
}

function kindOf(path: string, inode: number): MappingKind {
  if (path === '') return 'anon';
  if (path === '[heap]') return 'heap';
  if (path === '[stack]' || path.startsWith('[stack:')) return 'stack';
  if (path === '[vdso]') return 'vdso';
  if (path === '[vvar]' || path === '[vvar_vclock]') return 'vvar';
  if (path === '[vsyscall]') return 'vsyscall';
  if (path.startsWith('/') && inode !== 0) return 'file';
  return 'other';
}
