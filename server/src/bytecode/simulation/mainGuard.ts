// A module body's `if __name__ == '__main__':` blocks: they run only when the module is the program (its file run as
// the script, or with -m), never when it is imported by name. What only they use (tokenize's `main()`, which imports
// argparse) is no use of an imported module; the reachability gate (pythonGate.ts) leaves it out there.

import type { Decoder, DecodedCode } from '../decode';
import { nameIndexOf } from './common';
import type { CodeFacts } from './types';

/** Instructions that bind or import a name without using it (as gateFacts' usedNames). */
const BINDS = new Set(['STORE_NAME', 'STORE_GLOBAL', 'DELETE_NAME', 'DELETE_GLOBAL', 'IMPORT_NAME', 'IMPORT_FROM']);

/** Between the comparison and its jump: 3.13's TO_BOOL, and what folds away. */
const BETWEEN = new Set(['TO_BOOL', 'CACHE', 'NOP', 'EXTENDED_ARG']);

/**
 * The instruction ranges [start, end) of `code`'s `if __name__ == '__main__':` bodies: `LOAD_NAME __name__`, the
 * constant `'__main__'`, `COMPARE_OP ==` (either order), and a forward jump when false, over the body (an `else:`
 * starts at the target, so it stays out). Only a module body's own `__name__` (LOAD_NAME) counts.
 */
export function mainGuardRanges(decoder: Decoder, code: DecodedCode): [number, number][] {
  const opnames = decoder.model.opnames;
  const op = (i: number) => opnames[code.op[i]] ?? '';
  const isName = (i: number) => op(i) === 'LOAD_NAME' && code.names[nameIndexOf(decoder, code, i)] === '__name__';
  const isMain = (i: number) => op(i) === 'LOAD_CONST' && code.consts[code.arg[i]] === '__main__';
  const out: [number, number][] = [];
  for (let i = 0; i + 2 < code.n; i++) {
    if (!((isName(i) && isMain(i + 1)) || (isMain(i) && isName(i + 1))) || op(i + 2) !== 'COMPARE_OP') continue;
    if (decoder.model.cmpOps[code.arg[i + 2] >> decoder.model.cmpShift] !== '==') continue;
    let j = i + 3;
    while (j < code.n && BETWEEN.has(op(j))) j++;
    const jump = op(j);
    if (!/^POP_JUMP_(FORWARD_)?IF_FALSE$/.test(jump) || code.target[j] <= j) continue;
    out.push([j + 1, code.target[j]]);
  }
  return out;
}

/**
 * What a module body uses only inside its `__main__` blocks: the names no instruction outside them uses (of
 * `used`, the code's used names), and the blocks' source lines (its reflection there). Undefined when it has none.
 */
export function mainGuardFacts(decoder: Decoder, code: DecodedCode, used: readonly string[]): CodeFacts['mainOnly'] {
  const ranges = mainGuardRanges(decoder, code);
  if (ranges.length === 0) return undefined;
  const inside = (i: number) => ranges.some(([s, e]) => i >= s && i < e);
  const outside = new Set<number>();
  const lines: [number, number][] = [];
  const opnames = decoder.model.opnames;
  for (let i = 0; i < code.n; i++) {
    // As usedNames: binding or importing a name (`def main():` outside the block) uses nothing by it.
    if (inside(i) || BINDS.has(opnames[code.op[i]] ?? '')) continue;
    const k = nameIndexOf(decoder, code, i);
    if (k >= 0) outside.add(k);
  }
  for (const [s, e] of ranges) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = s; i < e; i++) {
      if (code.line[i] < 0) continue;
      lo = Math.min(lo, code.line[i]);
      hi = Math.max(hi, code.line[i]);
    }
    if (lo <= hi) lines.push([lo, hi]);
  }
  const outsideNames = new Set([...outside].map((k) => code.names[k]));
  return { names: used.filter((n) => !outsideNames.has(n)), lines };
}
