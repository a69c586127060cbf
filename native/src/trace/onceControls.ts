// Whether a module's code names a once-control other than by taking its address: `once = PTHREAD_ONCE_INIT` (a reset,
// as a fork handler does) makes the initialiser pthread_once guards run again, so its done bit is no promise
// (addressTaken.ts, completedOnceInits). A byte scan of .text for RIP-relative memory operands that are not `lea`s.

import { NativeError } from '../errors';
import type { ElfFile } from '../elf/elfFile';
import { upperBound } from '../upperBound';

const byFile = new WeakMap<ElfFile, Float64Array>();
/** One-byte opcodes with a ModR/M operand and an 8-bit immediate (mov r/m8, group 1 with imm8, test r/m8, shifts). */
const IMM8 = new Set([0xc6, 0x80, 0x82, 0x83, 0xc0, 0xc1, 0xf6, 0x6b]);
/** With a 32-bit immediate (16-bit under an operand-size prefix): mov r/m32, group 1 with imm32, test r/m32, imul. */
const IMM32 = new Set([0xc7, 0x81, 0xf7, 0x69]);

/**
 * True when an instruction of `elf`'s .text (by a byte scan: a false match only says yes, the safe side) has a
 * RIP-relative memory operand, not a `lea`, that starts in the 4 bytes at link address `control`: a store, a
 * read-modify-write, a load or a compare of the control itself. Code that only passes its address to pthread_once uses
 * a `lea`. Not seen: a store through a pointer to it, or a wider store that starts before it.
 */
export function codeTouchesWord(elf: ElfFile, control: number): boolean {
  let targets = byFile.get(elf);
  if (!targets) byFile.set(elf, (targets = scan(elf)));
  // An access that starts inside the control's 4 bytes.
  const k = upperBound(targets.length, (i) => targets[i] >= control);
  return k < targets.length && targets[k] < control + 4;
}

/** The targets of every RIP-relative operand of .text but `lea`s, for each size the instruction's immediate may have. */
function scan(elf: ElfFile): Float64Array {
  const text = elf.section('.text');
  if (!text || text.size > 256 * 1024 * 1024) return new Float64Array([Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]);
  let code: Uint8Array;
  try {
    code = elf.sectionData(text);
  } catch (e) {
    // Unreadable code: every word counts as touched (the safe side).
    if (e instanceof NativeError) return new Float64Array([Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]);
    throw e;
  }
  const view = new DataView(code.buffer, code.byteOffset, code.byteLength);
  const out: number[] = [];
  for (let i = 1; i + 5 <= code.length; i++) {
    // A ModR/M byte with mod 00 and r/m 101 is RIP-relative in 64-bit code; its disp32 follows. 0x8D before it is lea.
    if ((code[i] & 0xc7) !== 0x05 || code[i - 1] === 0x8d) continue;
    // The displacement counts from the instruction's end, after its immediate (by the opcode before the ModR/M).
    const op = code[i - 1];
    const wide = i >= 2 && (code[i - 2] === 0x66 || (i >= 3 && code[i - 3] === 0x66 && code[i - 2] >= 0x40 && code[i - 2] <= 0x4f));
    const imm = IMM8.has(op) ? 1 : IMM32.has(op) ? (wide ? 2 : 4) : 0;
    out.push(text.addr + i + 5 + imm + view.getInt32(i + 1, true));
  }
  return Float64Array.from(out).sort();
}
