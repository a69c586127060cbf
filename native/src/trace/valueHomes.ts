// Where the live frames of a frozen thread keep their general registers' values: the thread's register, or the stack
// slot a callee saved it to (.eh_frame CFI), each with the frame that owns the value: what heapTables follows a
// pointer held there through, from where that frame resumes.

import * as iced from 'iced-x86';
import type { ThreadRegisters } from '../space/threadFreezer';
import { GPR_NAMES } from '../space/threadFreezer';
import type { AddressSpace } from '../space/space';
import type { LiveFrame } from './deadSlots';
import { unwindFrames } from './pvm';

const R = iced.Register;

/** A value a frame of a frozen thread keeps in a register, and where it is now. */
export interface ValueHome {
  /** The frame's register (iced, full 64-bit). */
  register: number;
  /** The stack slot a callee saved it to; undefined: still in the thread's register. */
  slot?: number;
  /** The value, when it could be read. */
  value?: number;
  /** Where the owning frame resumes: the thread's pc (the innermost frame) or a return address. */
  pc: number;
  /** Where the frames outside it resume, innermost first: where its returns go. */
  returnsTo: number[];
}

/** DWARF register numbers (x86-64 psABI) of the callee-saved registers, with their iced registers. */
const CALLEE_SAVED: ReadonlyArray<[number, number]> = [
  [3, R.RBX],
  [6, R.RBP],
  [12, R.R12],
  [13, R.R13],
  [14, R.R14],
  [15, R.R15],
];
const CALLER_SAVED = [R.RAX, R.RCX, R.RDX, R.RSI, R.RDI, R.R8, R.R9, R.R10, R.R11];
const ICED_OF_NAME = new Map<string, number>(GPR_NAMES.map((n) => [n, R[n.toUpperCase() as keyof typeof R] as number]));

/**
 * The homes of a frozen thread's register values, and its live frames (where each resumes, its sp there and its CFA),
 * or undefined when the unwinding does not reach the outermost frame (a frame whose values cannot be placed). A callee-saved register keeps one value through the frames
 * that do not save it, so the value belongs to the outermost of them (the innermost frames do not touch it, by the
 * ABI and their CFI); a frame that saves it (a CFI `offset` rule) moves its caller's value to a stack slot. The
 * caller-saved registers belong to the innermost frame (its callers' were clobbered by the calls they made).
 */
export function valueHomes(space: AddressSpace, regs: ThreadRegisters): { homes: ValueHome[]; frames: LiveFrame[] } | undefined {
  if (!regs.registers) return undefined;
  const live = new Map<number, number | undefined>([[R.RBP, regs.rbp]]);
  regs.registers.forEach((v, k) => live.set(ICED_OF_NAME.get(GPR_NAMES[k])!, v));
  // Homes with the index of their owning frame (0: the innermost), whose callers' resume points are filled in last.
  const owned: Array<{ home: Omit<ValueHome, 'returnsTo'>; frame: number }> = CALLER_SAVED.map((register) => ({ home: { register, value: live.get(register), pc: regs.rip }, frame: 0 }));
  // The current home of each callee-saved register's value (undefined: a slot we cannot place), and the last frame
  // sharing it.
  type Run = { slot: number | undefined | 'register'; frame: number; read?: (a: number) => number | undefined };
  const at = new Map<number, Run>(CALLEE_SAVED.map(([d]) => [d, { slot: 'register', frame: 0 }]));
  let placed = true;
  const frames: LiveFrame[] = [];
  const close = (d: number, run: Run) => {
    // Saved by the outermost frame: its caller's value, which no live frame owns.
    if (run.frame >= frames.length) return;
    const register = CALLEE_SAVED.find(([x]) => x === d)![1];
    const pc = frames[run.frame].pc;
    if (run.slot === 'register') owned.push({ home: { register, value: live.get(register), pc }, frame: run.frame });
    else if (run.slot !== undefined) owned.push({ home: { register, slot: run.slot, value: run.read?.(run.slot), pc }, frame: run.frame });
  };
  const walk = unwindFrames(space, regs, (pc, row, cfa, read) => {
    const k = frames.length;
    frames.push({ pc, sp: k ? frames[k - 1].cfa : regs.rsp, cfa });
    for (const [d] of CALLEE_SAVED) {
      const run = at.get(d)!;
      run.frame = k;
      run.read = read;
      const rule = row.rules.get(d);
      if (!rule || rule.kind === 'same') continue;
      // This frame saved its caller's value: the run of frames sharing the current one ends here, with its owner.
      close(d, run);
      at.set(d, { slot: rule.kind === 'offset' ? cfa + rule.offset : undefined, frame: k + 1 });
      if (rule.kind !== 'offset') placed = false;
    }
  });
  if (!walk.complete || !placed) return undefined;
  for (const [d] of CALLEE_SAVED) close(d, at.get(d)!);
  const homes = owned.map(({ home, frame }) => ({ ...home, returnsTo: frames.slice(frame + 1).map((f) => f.pc) }));
  return { homes, frames };
}
