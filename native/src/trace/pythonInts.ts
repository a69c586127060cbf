// Addresses a CPython int object holds (an extension's PyLong_FromVoidPtr(&kernel), ctypes' `cast(f, c_void_p).value`):
// an int keeps its value as 30-bit digits, not as a 64-bit word, so a census of words does not see the pointer. The
// census finds int objects by their type pointer (PyLong_Type) and reads the value of those with one or two digits.

import * as path from 'node:path';
import type { AddressSpace } from '../space/space';
import { inRanges } from './eptUtil';
import type { HeapPointerLog } from './heapPointers';

/**
 * The census's reader of int objects: at a word pair equal to PyLong_Type, the address the int holds. One into the
 * heap is logged as a heap pointer held at the int (heapTables then counts its chunk readable whole: no rule of its
 * knows what reads an int); one into a module (or generated code) is returned, for the census to keep as a word's.
 */
export class PythonInts {
  /** PyLong_Type's address, when the process has one (a word pair equal to it is where take may find an int). */
  readonly type: PyLongType | undefined;
  /** The module addresses found. */
  readonly found = new Set<number>();

  constructor(
    space: AddressSpace,
    private readonly ranges: Array<{ start: number; end: number }>,
    private readonly heap: HeapPointerLog,
  ) {
    this.type = pyLongType(space);
  }

  /** At the word pair `i` of `words` (read at `base`): the module address an int object there holds, if any. */
  take(words: Uint32Array, i: number, base: number): number | undefined {
    const t = this.type;
    if (!t || words[i] !== t.lo || words[i + 1] !== t.hi) return undefined;
    const v = intValueAt(words, i);
    if (v === undefined || this.heap.take(v, base + (i + 4) * 4) || !inRanges(this.ranges, v)) return undefined;
    this.found.add(v);
    return v;
  }
}

/** The address of the interpreter's PyLong_Type, as 32-bit halves. */
export interface PyLongType {
  lo: number;
  hi: number;
}

/**
 * PyLong_Type in the first loaded interpreter object (a `python3.X` executable or a `libpython3.X` library) that
 * defines it; undefined in a process without CPython.
 */
export function pyLongType(space: AddressSpace): PyLongType | undefined {
  for (const m of space.modules()) {
    if (!/^(lib)?python3/.test(path.basename(m.path))) continue;
    try {
      const s = m.elf.findSymbol('PyLong_Type');
      if (!s?.defined || s.value === 0) continue;
      const a = s.value + m.bias;
      return { lo: a % 2 ** 32, hi: Math.floor(a / 2 ** 32) };
    } catch {
      // An interpreter object whose symbols cannot be read: ints are not decoded (the walk notes what it cannot read).
    }
  }
  return undefined;
}

/**
 * The value of the int object whose `ob_type` is the word pair at `i` (its low half) of `words`, when it is a positive
 * int of one or two digits at least 2^16 (below 2^60: every code address of a 64-bit process; one digit for a
 * non-PIE executable's code below 1 GiB, Debian's python3); else undefined. The size word follows the type (3.8–3.11:
 * `ob_size`, the number of digits; 3.12+: `lv_tag`, that number << 3), then the digits, 32 bits each, 30 of them used.
 */
export function intValueAt(words: Uint32Array, i: number): number | undefined {
  if (i + 5 >= words.length || words[i + 3] !== 0) return undefined;
  const size = words[i + 2];
  const digits = size === 1 || size === 8 ? 1 : size === 2 || size === 16 ? 2 : 0;
  if (digits === 0) return undefined;
  const d0 = words[i + 4];
  if (d0 >= 2 ** 30) return undefined;
  if (digits === 1) return d0 >= 2 ** 16 ? d0 : undefined;
  const d1 = words[i + 5];
  if (d1 >= 2 ** 30 || d1 === 0) return undefined;
  return d1 * 2 ** 30 + d0;
}
