// Which words of a frozen thread's live frames no code will read: a slot of a frame that, from where it resumes to its
// return, reads only other slots and calls nothing holds a stale value (left by a call that returned long ago).

import * as iced from 'iced-x86';
import { CodeDecoder, Flow, type InstructionView } from '../decoder/decoder';
import type { InstructionUses } from '../decoder/uses';
import { decodeAnywhere } from './followValue';
import type { AddressSpace } from '../space/space';

const R = iced.Register;
const M = iced.Mnemonic;
/** Instructions followed from one frame's resume point before its slots all count as read. */
const MAX_STEPS = 256;

/** One live frame of a frozen thread: where it resumes, its stack pointer there, and its CFA (where its caller's sp is). */
export interface LiveFrame {
  pc: number;
  sp: number;
  cfa: number;
}

/**
 * The words of `frame`'s area [sp, cfa) that its code reads from where it resumes to its return, as a set of
 * addresses (8-byte aligned, each word an access touches), or undefined when any word may be read: the frame calls
 * a function (which may read stack arguments, or a slot whose address escaped), takes a slot's address (lea, a copy
 * of rsp), addresses the stack through another register (rbp) or an index, jumps indirectly, moves rsp by an amount
 * not known, or runs past MAX_STEPS.
 */
export function slotsRead(space: AddressSpace, frame: LiveFrame): Set<number> | undefined {
  const read = new Set<number>();
  return walkPaths(space, frame.pc, (v, delta) => step(space, v, frame.sp + delta, read)) ? read : undefined;
}

/**
 * Follows every path from `pc`, with rsp's offset from its value there: `each` gives an instruction's rsp change and
 * successors (none: the path ends), or 'any' to stop. False when `each` said 'any', a path cannot be read, or the
 * paths run past MAX_STEPS instructions.
 */
function walkPaths(space: AddressSpace, pc: number, each: (v: InstructionView, delta: number) => StepResult): boolean {
  const seen = new Set<string>();
  const work: Array<{ ip: number; delta: number }> = [{ ip: pc, delta: 0 }];
  const decoder = new CodeDecoder();
  const decode = decodeAnywhere(space, decoder);
  let steps = 0;
  try {
    while (work.length > 0) {
      let { ip, delta } = work.pop()!;
      for (;;) {
        const key = `${ip}:${delta}`;
        if (seen.has(key)) break;
        seen.add(key);
        if (++steps > MAX_STEPS) return false;
        const out: { result: StepResult } = { result: 'any' };
        if (!decode(ip, (v) => (out.result = each(v, delta)))) return false;
        const result = out.result;
        if (result === 'any') return false;
        if (result.next.length === 0) break;
        delta += result.delta;
        for (const n of result.next.slice(1)) work.push({ ip: n, delta });
        ip = result.next[0];
      }
    }
  } finally {
    decoder.free();
  }
  return true;
}

type StepResult = 'any' | { delta: number; next: number[] };

/** One instruction at stack pointer `sp`: the words it reads are added to `read`; its rsp change and successors. */
function step(space: AddressSpace, v: InstructionView, sp: number, read: Set<number>): StepResult {
  const { flow, mnemonic } = v.info;
  // The stack protector's failure path: __stack_chk_fail reads no slot of its caller and never returns.
  if (flow === Flow.Call && isStackCheckFail(space, v.directTarget())) return { delta: 0, next: [] };
  // A system call reads memory its arguments point to as data, never as code to call through (rt_sigreturn, which
  // loads registers from the stack, runs only in a signal frame's restorer, where unwinding stops).
  if (mnemonic === M.Syscall) return { delta: 0, next: [v.nextIp] };
  if (flow === Flow.Call || flow === Flow.IndirectCall || flow === Flow.IndirectBranch || flow === Flow.XbeginXabortXend) return 'any';
  const uses = v.uses();
  for (const mem of uses.memory) {
    const onStack = mem.base === R.RSP || mem.base === R.RBP || mem.index === R.RSP || mem.index === R.RBP;
    if (!onStack) continue;
    if (mem.base !== R.RSP || mem.index !== -1 || mem.address || mem.size <= 0) return 'any';
    if (!mem.read) continue;
    const from = sp + mem.displacement;
    for (let a = from - (((from % 8) + 8) % 8); a < from + mem.size; a += 8) read.add(a);
  }
  const delta = flow === Flow.Return ? 0 : rspChange(v, uses);
  if (delta === undefined) return 'any';
  switch (flow) {
    case Flow.Next:
      return { delta, next: [v.nextIp] };
    case Flow.ConditionalBranch: {
      const t = v.directTarget();
      return t === undefined ? 'any' : { delta, next: [v.nextIp, t] };
    }
    case Flow.UnconditionalBranch: {
      // A jump out of the function is a tail call: its callee may read what a call's would.
      const t = v.directTarget();
      return t === undefined ? 'any' : { delta, next: [t] };
    }
    case Flow.Return:
    case Flow.Interrupt:
    case Flow.Exception:
      return { delta, next: [] };
    default:
      return 'any';
  }
}

/** True when `target` is glibc's `__stack_chk_fail` (or its local alias), directly or through a PLT stub. */
function isStackCheckFail(space: AddressSpace, target: number | undefined): boolean {
  if (target === undefined) return false;
  const m = space.regionAt(target)?.module;
  if (!m) return false;
  const link = target - m.bias;
  const name = m.elf.pltStubAt(link)?.symbol ?? m.elf.symbolize(link)?.name;
  return name !== undefined && STACK_CHECK_FAIL.test(name);
}
const STACK_CHECK_FAIL = /^__(stack_chk_fail|stack_chk_fail_local)(@.*)?$/;

/**
 * True when the innermost frame of a frozen thread may still read the red zone below its stack pointer (the 128 bytes
 * a function may use without moving rsp): an instruction on a path from `pc` reads below rsp, or addresses memory
 * through rbp, before the path's first call (which may overwrite the red zone, so no code relies on it after one) or
 * return; or the paths cannot be followed. Copies left there by calls that returned are then no one's data.
 */
export function redZoneRead(space: AddressSpace, pc: number): boolean {
  return !walkPaths(space, pc, (v, delta) => {
    const r = redZoneStep(v, delta);
    return r === 'read' ? 'any' : r;
  });
}

/**
 * One instruction of redZoneRead, `delta` bytes below the frozen rsp: 'read' when it may read the red zone (below the
 * frozen rsp: its stack reads are tracked relative to it), else its rsp change and successors (none after a call).
 */
function redZoneStep(v: InstructionView, delta: number): 'read' | { delta: number; next: number[] } {
  const { flow, mnemonic } = v.info;
  if (flow === Flow.Call || flow === Flow.IndirectCall) return mnemonic === M.Syscall ? { delta: 0, next: [v.nextIp] } : { delta: 0, next: [] };
  if (flow === Flow.Return || flow === Flow.Interrupt || flow === Flow.Exception) return { delta: 0, next: [] };
  if (flow === Flow.IndirectBranch || flow === Flow.XbeginXabortXend) return 'read';
  const uses = v.uses();
  for (const mem of uses.memory) {
    if (mem.base === R.RBP || mem.index === R.RSP || mem.index === R.RBP) return 'read';
    if (mem.base === R.RSP && (mem.read || mem.address) && delta + mem.displacement < 0) return 'read';
  }
  const change = rspChange(v, uses);
  if (change === undefined) return 'read';
  if (flow === Flow.ConditionalBranch || flow === Flow.UnconditionalBranch) {
    const t = v.directTarget();
    if (t === undefined) return 'read';
    return { delta: change, next: flow === Flow.ConditionalBranch ? [v.nextIp, t] : [t] };
  }
  return { delta: change, next: [v.nextIp] };
}

/**
 * How `v` moves rsp: push, pop, add or sub of an immediate, else 0 when it neither writes rsp nor reads it as a value;
 * undefined when the change is not known, or rsp is read as a value (mov rbp,rsp hands a slot's address on).
 */
function rspChange(v: InstructionView, uses: InstructionUses): number | undefined {
  const mnemonic = v.info.mnemonic;
  if (mnemonic === M.Push) return -8;
  if (mnemonic === M.Pop) return 8;
  if ((mnemonic === M.Add || mnemonic === M.Sub) && v.opFullRegister(0) === R.RSP) {
    const imm = v.opCount() === 2 ? v.immediateOperand(1) : undefined;
    return imm === undefined ? undefined : mnemonic === M.Add ? imm : -imm;
  }
  return uses.registers.some((r) => r.full === R.RSP && (r.write || (r.read && !uses.memory.some((m) => m.base === R.RSP)))) ? undefined : 0;
}
