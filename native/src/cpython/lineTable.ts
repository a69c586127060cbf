// The line number of a bytecode offset from a code object's line table, as PyCode_Addr2Line computes it:
// 3.8–3.9 co_lnotab, 3.10 co_linetable, and the 3.11+ location table (Objects/locations.md).

import type { LineTableFormat } from './frameLayouts';

/**
 * The source line of the instruction at byte offset `lasti` of a code object whose first line is
 * `firstLineNo`; undefined when the table gives that instruction no line (or does not cover it).
 * A negative `lasti` (a frame that has not started) gives the first line, as CPython does.
 */
export function lineForOffset(format: LineTableFormat, table: Uint8Array, firstLineNo: number, lasti: number): number | undefined {
  if (lasti < 0) return firstLineNo;
  if (format === 'lnotab') return lnotabLine(table, firstLineNo, lasti);
  if (format === 'linetable') return linetable310Line(table, firstLineNo, lasti);
  return locationsLine(table, firstLineNo, lasti);
}

/** 3.8–3.9 (Objects/codeobject.c PyCode_Addr2Line): pairs of unsigned byte delta, signed line delta. */
function lnotabLine(t: Uint8Array, line: number, lasti: number): number {
  let addr = 0;
  for (let i = 0; i + 1 < t.length; i += 2) {
    addr += t[i];
    if (addr > lasti) break;
    line += (t[i + 1] << 24) >> 24;
  }
  return line;
}

/** 3.10 (Objects/codeobject.c advance()): each pair ends a range [start, end) of bytes; −128 means no line. */
function linetable310Line(t: Uint8Array, line: number, lasti: number): number | undefined {
  let end = 0;
  for (let i = 0; i + 1 < t.length; i += 2) {
    end += t[i];
    const delta = (t[i + 1] << 24) >> 24;
    let current: number | undefined;
    if (delta !== -128) {
      line += delta;
      current = line;
    }
    if (end > lasti) return current;
  }
  return undefined;
}

/**
 * 3.11+ location table: each entry starts with a byte 1cccclll (code c, length l+1 code units); codes 0–9 are
 * "same line" with one column byte, 10–12 move by 0–2 lines with two column bytes, 13 has a signed-varint line
 * delta and no columns, 14 a signed-varint line delta then three varints, 15 means no location.
 */
function locationsLine(t: Uint8Array, line: number, lasti: number): number | undefined {
  const unit = Math.floor(lasti / 2);
  let end = 0;
  let i = 0;
  while (i < t.length) {
    const head = t[i];
    if ((head & 0x80) === 0) return undefined; // Out of step: not a location table.
    const code = (head >> 3) & 15;
    end += (head & 7) + 1;
    let current: number | undefined;
    if (code === 15) current = undefined;
    else {
      if (code === 13 || code === 14) {
        const [v] = varint(t, i + 1);
        line += v & 1 ? -(v >>> 1) : v >>> 1;
      } else if (code >= 10) line += code - 10;
      current = line;
    }
    if (end > unit) return current;
    i++;
    while (i < t.length && (t[i] & 0x80) === 0) i++;
  }
  return undefined;
}

/** An unsigned varint of 6-bit chunks, bit 6 set on every chunk but the last; returns [value, next index]. */
function varint(t: Uint8Array, i: number): [number, number] {
  let b = t[i++] ?? 0;
  let value = b & 63;
  let shift = 0;
  while (b & 64 && i < t.length) {
    b = t[i++];
    shift += 6;
    value += (b & 63) * 2 ** shift;
  }
  return [value, i];
}
