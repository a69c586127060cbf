// A forward data-flow over one function of a file at rest, for staticLoops.ts: which code addresses each register,
// 64-bit lane of xmm0–15 and stack slot can hold, from `lea`s, constant words the loader fills (GOT slots, RELRO tables)
// and copies, and so which values each store to an absolute address writes. What it cannot follow is unknown.

import * as iced from 'iced-x86';
import { CodeDecoder, Flow, type InstructionView } from '../decoder/decoder';
import * as C from '../elf/elfConstants';
import type { ElfFile } from '../elf/elfFile';

const R = iced.Register;
const M = iced.Mnemonic;

/** A value set: the link addresses (0 for a null pointer) a register, lane or stack slot may hold; null when unknown. */
export type Val = ReadonlySet<number> | null;
/** Value sets larger than this are taken as unknown (a table slot holds one of a few CPU variants). */
const MAX_VALUES = 256;
export const ZERO: Val = new Set([0]);

/** A store to an absolute address: where, and the values it writes, one per 8 bytes (null: unknown). */
export interface AbsoluteStore {
  at: number;
  values: Val[];
}

/** Whether the word at link address `a` cannot change after loading: in a read-only segment or in PT_GNU_RELRO. */
function readOnlyAfterLoad(elf: ElfFile, a: number): boolean {
  for (const p of elf.programHeaders) {
    if (a < p.vaddr || a + 8 > p.vaddr + p.memsz) continue;
    if (p.type === C.PT_GNU_RELRO) return true;
    if (p.type === C.PT_LOAD && !(p.flags & C.PF_W)) return true;
  }
  return false;
}

/**
 * The value the loader leaves in the word at `a`: a relocation's (the function it names, or 0), else the file's bytes
 * (in position-dependent code an address is a plain word; in position-independent code an unrelocated word is none).
 */
export function loadedWord(elf: ElfFile, a: number): Val {
  const rel = elf.relocationAt(a);
  if (rel) {
    if (rel.type !== C.R_X86_64_RELATIVE && rel.type !== C.R_X86_64_GLOB_DAT && rel.type !== C.R_X86_64_64) return null;
    const v = rel.symbol ? (rel.symbol.defined ? rel.symbol.value + rel.addend : undefined) : rel.addend;
    if (v === undefined) return null;
    return v === 0 ? ZERO : new Set([v]);
  }
  const b = elf.tryReadVirtual(a, 8);
  if (!b) return null;
  const lo = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  const hi = (b[4] | (b[5] << 8) | (b[6] << 16) | (b[7] << 24)) >>> 0;
  if (lo === 0 && hi === 0) return ZERO;
  return elf.isRelocatable ? null : new Set([hi * 2 ** 32 + lo]);
}

/** A word code loads: what the loader put there when nothing can write it later, else unknown. */
function constantWord(elf: ElfFile, a: number): Val {
  return readOnlyAfterLoad(elf, a) ? loadedWord(elf, a) : null;
}

// ---------------------------------------------------------------------------------------------- states

/** Registers: the 16 general-purpose ones, then xmm0–15 as two 64-bit lanes each. */
const GPRS = 16;
const LANES = 32;
const CALLER_SAVED = [R.RAX, R.RCX, R.RDX, R.RSI, R.RDI, R.R8, R.R9, R.R10, R.R11].map((r) => r - R.RAX);
/** Instructions that write xmm registers they do not name. */
const XMM_IMPLICIT = new Set<number>([M.Pcmpistrm, M.Pcmpestrm, M.Vpcmpistrm, M.Vpcmpestrm, M.Vzeroall, M.Xrstor, M.Xrstor64, M.Xrstors, M.Xrstors64, M.Fxrstor, M.Fxrstor64]);

/** A state: every register's (and lane's) values, the stack slots by offset from the entry's rsp, and that offset. */
interface State {
  regs: Val[];
  stack: Map<number, Val>;
  sp: number | null;
}

function gpr(reg: number | undefined): number {
  if (reg === undefined) return -1;
  const i = reg - R.RAX;
  return i >= 0 && i < GPRS ? i : -1;
}
/** The index of xmm n's low lane (the high one follows), -1 for any other register. */
function xmm(reg: number | undefined): number {
  return reg !== undefined && reg >= R.XMM0 && reg <= R.XMM15 ? GPRS + 2 * (reg - R.XMM0) : -1;
}
/** A vector register of any width (xmm, ymm, zmm), for clobbering: the low lane of its xmm part, or -1. */
function vectorLanes(reg: number | undefined): number {
  if (reg === undefined) return -1;
  for (const base of [R.XMM0, R.YMM0, R.ZMM0]) if (reg >= base && reg < base + 16) return GPRS + 2 * (reg - base);
  return -1;
}

function unknownState(sp: number | null): State {
  return { regs: new Array<Val>(GPRS + LANES).fill(null), stack: new Map(), sp };
}
function copyState(s: State): State {
  return { regs: s.regs.slice(), stack: new Map(s.stack), sp: s.sp };
}

function union(a: Val, b: Val): Val {
  if (!a || !b) return null;
  if (a === b) return a;
  let grew = false;
  for (const x of b) if (!a.has(x)) grew = true;
  if (!grew) return a;
  const u = new Set([...a, ...b]);
  return u.size > MAX_VALUES ? null : u;
}

/** Joins `b` into `into`; true when `into` changed. */
function join(into: State, b: State): boolean {
  let changed = false;
  for (let i = 0; i < into.regs.length; i++) {
    const u = union(into.regs[i], b.regs[i]);
    if (u !== into.regs[i]) {
      into.regs[i] = u;
      changed = true;
    }
  }
  if (into.sp !== b.sp) {
    changed ||= into.sp !== null || into.stack.size > 0;
    into.sp = null;
    into.stack.clear();
    return changed;
  }
  for (const [k, v] of into.stack) {
    const w = b.stack.get(k);
    const u = w === undefined ? null : union(v, w);
    if (u === null) into.stack.delete(k);
    else if (u !== v) into.stack.set(k, u);
    changed ||= u !== v;
  }
  return changed;
}

// ---------------------------------------------------------------------------------------------- steps

/** Where a memory operand is: an absolute (RIP-relative) address, a slot off rsp, or anywhere else. */
type Mem = { kind: 'abs'; at: number } | { kind: 'stack'; disp: number } | { kind: 'other' };

function memOf(v: InstructionView): Mem {
  const at = v.absoluteMemoryAddress();
  if (at !== undefined) return { kind: 'abs', at };
  if (v.memoryBase() === R.RSP && v.memoryIndex() === R.None) return { kind: 'stack', disp: v.memoryDisplacement() };
  return { kind: 'other' };
}

/** What one instruction does: to a state, and (a store to an absolute address) which values it writes there. */
interface Effect {
  apply: (s: State) => void;
  store?: { at: number; values: (s: State) => Val[] };
}

interface Step extends Effect {
  ip: number;
  next: number;
  flow: Flow;
  target?: number;
}

const NOTHING = (): void => undefined;
/** Instructions whose first operand is memory they only read. */
const READS_FIRST = new Set<number>([M.Cmp, M.Test, M.Bt, M.Prefetcht0, M.Prefetcht1, M.Prefetcht2, M.Prefetchnta, M.Prefetchw, M.Nop, M.Ucomiss, M.Ucomisd, M.Comiss, M.Comisd, M.Push, M.Call, M.Jmp]);

/** True when the instruction may write its memory operand (its first operand is memory, and it is not a compare). */
export function writesMemory(v: InstructionView): boolean {
  return v.isMemoryOperand(0) && !READS_FIRST.has(v.info.mnemonic);
}

/** The function being followed: its file, and whether its stack slots can be tracked (the stack's address not taken). */
class Context {
  stackTracked = true;
  constructor(readonly elf: ElfFile) {}

  /** The values an immediate of a `size`-byte destination holds: 0, or a code address of position-dependent code. */
  immediate(imm: number, size: number): Val {
    const value = size === 4 ? imm >>> 0 : imm;
    if (value === 0) return ZERO;
    return value > 0 && !this.elf.isRelocatable && this.elf.isCodeAddress(value) ? new Set([value]) : null;
  }

  load(s: State, mem: Mem, off: number): Val {
    if (mem.kind === 'abs') return constantWord(this.elf, mem.at + off);
    if (mem.kind !== 'stack' || !this.stackTracked || s.sp === null) return null;
    return s.stack.get(s.sp + mem.disp + off) ?? null;
  }

  /** A store of `size` bytes whose 8-byte parts are `values` (undefined: not known per part). */
  storeStep(mem: Mem, size: number, values: (s: State) => Val[] | undefined): Effect {
    if (mem.kind === 'abs') {
      const parts = Math.max(1, Math.ceil(size / 8));
      return { apply: NOTHING, store: { at: mem.at, values: (s) => (size % 8 === 0 ? values(s) : undefined) ?? new Array<Val>(parts).fill(null) } };
    }
    if (mem.kind !== 'stack') return { apply: NOTHING };
    return { apply: (s) => this.setStack(s, mem.disp, size, size % 8 === 0 ? values(s) : undefined) };
  }

  setStack(s: State, disp: number, size: number, values: Val[] | undefined): void {
    if (s.sp === null || !this.stackTracked) return;
    const key = s.sp + disp;
    for (const k of [...s.stack.keys()]) if (k < key + Math.max(size, 1) && k + 8 > key) s.stack.delete(k);
    if (size === 0) s.stack.clear();
    if (values) values.forEach((v, i) => s.stack.set(key + 8 * i, v));
  }
}

const CMOV = new Set<number>(Object.keys(M).filter((k) => k.startsWith('Cmov')).map((k) => (M as unknown as Record<string, number>)[k]));

/** `cmovcc r64, r64/m64`: the destination keeps its values or takes the source's. */
function cmovEffect(c: Context, v: InstructionView): Effect | undefined {
  const d = gpr(v.opFullRegister(0));
  if (d < 0 || v.opRegisterSize(0) !== 8) return undefined;
  const mem = v.isMemoryOperand(1) ? memOf(v) : undefined;
  const r = gpr(v.opFullRegister(1));
  return { apply: (s) => void (s.regs[d] = union(s.regs[d], mem ? c.load(s, mem, 0) : r >= 0 ? s.regs[r] : null)) };
}

/** `mov` between general-purpose registers, memory and immediates. */
function movEffect(c: Context, v: InstructionView): Effect | undefined {
  const imm = v.immediateOperand(1);
  if (!v.isMemoryOperand(0)) {
    const d = gpr(v.opFullRegister(0));
    if (d < 0) return undefined;
    const size = v.opRegisterSize(0);
    let src: (s: State) => Val;
    if (imm !== undefined) {
      const val = c.immediate(imm, size);
      src = () => val;
    } else if (v.isMemoryOperand(1)) {
      const mem = memOf(v);
      src = size === 8 ? (s) => c.load(s, mem, 0) : () => null;
    } else {
      const r = gpr(v.opFullRegister(1));
      src = size === 8 && r >= 0 ? (s) => s.regs[r] : () => null;
    }
    return { apply: (s) => void (s.regs[d] = src(s)) };
  }
  const size = v.memorySize();
  let src: (s: State) => Val;
  if (imm !== undefined) {
    const val = size === 8 ? c.immediate(imm, 8) : null;
    src = () => val;
  } else {
    const r = gpr(v.opFullRegister(1));
    src = size === 8 && r >= 0 ? (s) => s.regs[r] : () => null;
  }
  return c.storeStep(memOf(v), size, (s) => [src(s)]);
}

const HIGH_HALF = new Set<number>([M.Movhps, M.Movhpd, M.Vmovhps, M.Vmovhpd]);
const LOW_HALF = new Set<number>([M.Movlps, M.Movlpd, M.Vmovlps, M.Vmovlpd]);
const PAIRS = new Set<number>([M.Punpcklqdq, M.Movlhps, M.Unpcklpd]);
const WHOLE = new Set<number>([M.Movaps, M.Movups, M.Movapd, M.Movupd, M.Movdqa, M.Movdqu, M.Lddqu, M.Vmovaps, M.Vmovups, M.Vmovapd, M.Vmovupd, M.Vmovdqa, M.Vmovdqu]);
const ZEROING = new Set<number>([M.Pxor, M.Xorps, M.Xorpd]);

/** Moves of 64-bit lanes between xmm registers, general-purpose registers and memory (how gcc pairs pointers). */
function laneEffect(c: Context, v: InstructionView): Effect | undefined {
  const mn = v.info.mnemonic;
  const two = v.opCount() === 2;
  const x0 = xmm(v.opRegister(0));
  const x1 = two ? xmm(v.opRegister(1)) : -1;
  const m1 = two && v.isMemoryOperand(1);
  if (mn === M.Movq || mn === M.Vmovq) {
    if (x0 >= 0) {
      const g = gpr(v.opFullRegister(1));
      const mem = m1 ? memOf(v) : undefined;
      const lo = mem ? (s: State) => c.load(s, mem, 0) : g >= 0 ? (s: State) => s.regs[g] : x1 >= 0 ? (s: State) => s.regs[x1] : () => null;
      return { apply: (s) => void ((s.regs[x0] = lo(s)), (s.regs[x0 + 1] = ZERO)) };
    }
    if (v.isMemoryOperand(0) && x1 >= 0) return c.storeStep(memOf(v), 8, (s) => [s.regs[x1]]);
    const g0 = gpr(v.opFullRegister(0));
    return g0 >= 0 && x1 >= 0 ? { apply: (s) => void (s.regs[g0] = s.regs[x1]) } : undefined;
  }
  if ((HIGH_HALF.has(mn) || LOW_HALF.has(mn)) && two) {
    const lane = HIGH_HALF.has(mn) ? 1 : 0;
    if (x0 >= 0 && m1) {
      const mem = memOf(v);
      return { apply: (s) => void (s.regs[x0 + lane] = c.load(s, mem, 0)) };
    }
    return v.isMemoryOperand(0) && x1 >= 0 ? c.storeStep(memOf(v), 8, (s) => [s.regs[x1 + lane]]) : undefined;
  }
  if (PAIRS.has(mn) && two && x0 >= 0) {
    if (x1 >= 0) return { apply: (s) => void (s.regs[x0 + 1] = s.regs[x1]) };
    const mem = memOf(v);
    return m1 ? { apply: (s) => void (s.regs[x0 + 1] = c.load(s, mem, 0)) } : undefined;
  }
  if (WHOLE.has(mn) && two) return wholeEffect(c, v, x0, x1, m1);
  if (ZEROING.has(mn) && two && x0 >= 0 && v.opRegister(0) === v.opRegister(1)) return { apply: (s) => void ((s.regs[x0] = ZERO), (s.regs[x0 + 1] = ZERO)) };
  if ((mn === M.Pinsrq || mn === M.Vpinsrq) && v.opCount() === 3 && x0 >= 0) {
    const lane = (v.immediateOperand(2) ?? 0) & 1;
    const mem = v.isMemoryOperand(1) ? memOf(v) : undefined;
    const g = gpr(v.opFullRegister(1));
    return { apply: (s) => void (s.regs[x0 + lane] = mem ? c.load(s, mem, 0) : g >= 0 ? s.regs[g] : null) };
  }
  return undefined;
}

/** A whole 16-byte move: xmm to xmm, memory to xmm, xmm to memory (wider registers are left to the default). */
function wholeEffect(c: Context, v: InstructionView, x0: number, x1: number, m1: boolean): Effect | undefined {
  if (x0 >= 0 && x1 >= 0) {
    return {
      apply: (s) => {
        const lo = s.regs[x1];
        const hi = s.regs[x1 + 1];
        s.regs[x0] = lo;
        s.regs[x0 + 1] = hi;
      },
    };
  }
  if (x0 >= 0 && m1) {
    const mem = memOf(v);
    return { apply: (s) => void ((s.regs[x0] = c.load(s, mem, 0)), (s.regs[x0 + 1] = c.load(s, mem, 8))) };
  }
  if (v.isMemoryOperand(0) && x1 >= 0) return c.storeStep(memOf(v), 16, (s) => [s.regs[x1], s.regs[x1 + 1]]);
  return undefined;
}

const RSP = R.RSP - R.RAX;

/** `push`, `pop`, `sub rsp, n`, `add rsp, n` and calls: the stack pointer's offset, and what calls clobber. */
function stackEffect(c: Context, v: InstructionView): Effect | undefined {
  const mn = v.info.mnemonic;
  if (v.info.flow === Flow.Call || v.info.flow === Flow.IndirectCall) {
    return {
      apply: (s) => {
        for (const i of CALLER_SAVED) s.regs[i] = null;
        for (let i = GPRS; i < GPRS + LANES; i++) s.regs[i] = null;
        // The callee's frame lies below rsp.
        if (s.sp !== null) for (const k of [...s.stack.keys()]) if (k < s.sp) s.stack.delete(k);
      },
    };
  }
  if (mn === M.Push && v.opCount() === 1) {
    const r = v.opRegisterSize(0) === 8 ? gpr(v.opFullRegister(0)) : -1;
    return {
      apply: (s) => {
        if (s.sp === null) return;
        const value = r >= 0 ? s.regs[r] : null;
        s.sp -= 8;
        c.setStack(s, 0, 8, [value]);
      },
    };
  }
  if (mn === M.Pop && v.opCount() === 1) {
    const r = gpr(v.opFullRegister(0));
    if (r < 0 || r === RSP) return undefined;
    return { apply: (s) => void ((s.regs[r] = s.sp === null ? null : c.load(s, { kind: 'stack', disp: 0 }, 0)), s.sp !== null && (s.sp += 8)) };
  }
  if ((mn === M.Sub || mn === M.Add) && gpr(v.opFullRegister(0)) === RSP && v.opRegisterSize(0) === 8) {
    const imm = v.immediateOperand(1);
    if (imm === undefined) return undefined;
    const delta = mn === M.Sub ? -imm : imm;
    return { apply: (s) => void (s.sp !== null && (s.sp += delta)) };
  }
  return undefined;
}

/** Any other instruction: the registers it may write become unknown, and so do the stack slots it writes. */
function defaultEffect(c: Context, v: InstructionView): Effect {
  const mn = v.info.mnemonic;
  if (mn === M.Xor && v.opCount() === 2 && v.opRegister(0) !== undefined && v.opRegister(0) === v.opRegister(1)) {
    const r = gpr(v.opFullRegister(0));
    if (r >= 0 && r !== RSP) return { apply: (s) => void (s.regs[r] = ZERO) };
  }
  const clobbered = v.clobberedRegisters().map(gpr).filter((i) => i >= 0);
  const lanes = v.opCount() > 0 ? vectorLanes(v.opRegister(0)) : -1;
  const allLanes = XMM_IMPLICIT.has(mn);
  const writes = writesMemory(v);
  const mem = writes ? memOf(v) : undefined;
  const size = writes ? v.memorySize() : 0;
  const effect: Effect = {
    apply: (s) => {
      for (const i of clobbered) s.regs[i] = null;
      if (lanes >= 0) s.regs[lanes] = s.regs[lanes + 1] = null;
      if (allLanes) for (let i = GPRS; i < GPRS + LANES; i++) s.regs[i] = null;
      if (clobbered.includes(RSP)) {
        s.sp = null;
        s.stack.clear();
      }
      if (mem?.kind === 'stack') c.setStack(s, mem.disp, size, undefined);
    },
  };
  if (mem?.kind === 'abs') effect.store = { at: mem.at, values: () => new Array<Val>(Math.max(1, Math.ceil(size / 8))).fill(null) };
  return effect;
}

/** Whether the instruction lets the stack's address out (`lea r,[rsp+n]`, `mov rbp, rsp`): its slots are then not tracked. */
function takesStackAddress(v: InstructionView): boolean {
  if (v.info.mnemonic === M.Lea) return v.memoryBase() === R.RSP || v.memoryBase() === R.RBP;
  for (let i = 1; i < v.opCount(); i++) if (v.opRegister(i) === R.RSP) return true;
  return false;
}

function effectOf(c: Context, v: InstructionView): Effect {
  if (takesStackAddress(v)) c.stackTracked = false;
  const mn = v.info.mnemonic;
  if (mn === M.Lea) {
    const d = gpr(v.opFullRegister(0));
    const at = v.absoluteMemoryAddress();
    const val: Val = at !== undefined && v.opRegisterSize(0) === 8 && c.elf.isCodeAddress(at) ? new Set([at]) : null;
    if (d >= 0) return { apply: (s) => void (s.regs[d] = val) };
  }
  return (mn === M.Mov ? movEffect(c, v) : CMOV.has(mn) ? cmovEffect(c, v) : undefined) ?? laneEffect(c, v) ?? stackEffect(c, v) ?? defaultEffect(c, v);
}

// ---------------------------------------------------------------------------------------------- the function

/** The function's instructions with their effects, or undefined when it has an indirect jump (targets unknown). */
function decodeSteps(c: Context, start: number, end: number): Step[] | undefined {
  const steps: Step[] = [];
  let ok = true;
  const d = new CodeDecoder();
  try {
    d.decodeLinear(c.elf.readVirtual(start, end - start), start, (v) => {
      const flow = v.info.flow;
      // A jump through a GOT slot or a constant word is a tail call; through a register or table, a switch.
      if (flow === Flow.IndirectBranch && v.absoluteMemoryAddress() === undefined) ok = false;
      const target = flow === Flow.UnconditionalBranch || flow === Flow.ConditionalBranch ? v.directTarget() : undefined;
      steps.push({ ip: v.ip, next: v.nextIp, flow, target, ...effectOf(c, v) });
      return ok ? undefined : 'stop';
    });
  } finally {
    d.free();
  }
  return ok ? steps : undefined;
}

/** Flows after which the next instruction is not reached by falling through. */
const NO_FALLTHROUGH = new Set<Flow>([Flow.UnconditionalBranch, Flow.IndirectBranch, Flow.Return, Flow.Interrupt, Flow.Exception]);

/**
 * The stores to absolute addresses of the function [start, end) with the values each can write, after a forward
 * data-flow from an entry where every register is unknown; a block a branch from outside enters (`enteredFromOutside`)
 * starts unknown too. A store in a block no path reaches writes unknown values. Undefined when the function cannot be
 * followed (an indirect jump, a branch into an instruction).
 */
export function functionStores(elf: ElfFile, start: number, end: number, enteredFromOutside: (target: number) => boolean): Map<number, AbsoluteStore> | undefined {
  const c = new Context(elf);
  const steps = decodeSteps(c, start, end);
  if (!steps?.length) return undefined;
  const at = new Map<number, number>(steps.map((s, i) => [s.ip, i]));
  const leader = new Uint8Array(steps.length + 1);
  leader[0] = 1;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    if (NO_FALLTHROUGH.has(s.flow) || s.flow === Flow.ConditionalBranch) leader[i + 1] = 1;
    if (s.target === undefined || s.target < start || s.target >= end) continue;
    const j = at.get(s.target);
    if (j === undefined) return undefined;
    leader[j] = 1;
  }
  const entry: (State | undefined)[] = new Array(steps.length);
  entry[0] = unknownState(0);
  const work = [0];
  for (let j = 1; j < steps.length; j++) {
    if (!enteredFromOutside(steps[j].ip)) continue;
    leader[j] = 1;
    entry[j] = unknownState(null);
    work.push(j);
  }
  const propagate = (j: number, s: State) => {
    if (j >= steps.length) return;
    const e = entry[j];
    if (!e) {
      entry[j] = copyState(s);
      work.push(j);
    } else if (join(e, s)) work.push(j);
  };
  while (work.length) {
    const b = work.pop()!;
    const s = copyState(entry[b]!);
    for (let i = b; ; i++) {
      const step = steps[i];
      step.apply(s);
      if (step.target !== undefined && at.has(step.target)) propagate(at.get(step.target)!, s);
      if (NO_FALLTHROUGH.has(step.flow)) break;
      if (leader[i + 1]) {
        propagate(i + 1, s);
        break;
      }
    }
  }
  return storesOf(steps, entry, leader);
}

/** Replays each reached block once in its final entry state, collecting what its absolute stores write. */
function storesOf(steps: Step[], entry: (State | undefined)[], leader: Uint8Array): Map<number, AbsoluteStore> {
  const out = new Map<number, AbsoluteStore>();
  let s: State | undefined;
  for (let i = 0; i < steps.length; i++) {
    if (leader[i]) s = entry[i] ? copyState(entry[i]!) : undefined;
    const step = steps[i];
    if (step.store) out.set(step.ip, { at: step.store.at, values: s ? step.store.values(s) : [null] });

    if (s) step.apply(s);
  }
  return out;
}
