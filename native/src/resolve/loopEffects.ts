// What each instruction does to loopFlow.ts's state (loopState.ts): `lea`s of code, constant words the loader fills
// (GOT slots, RELRO tables), copies, `cmov`s, 64-bit lanes of xmm registers, stack slots and frame addresses, calls;
// and which values a store to an absolute address writes. Anything else makes what it writes unknown.

import * as iced from 'iced-x86';
import { Flow, type InstructionView } from '../decoder/decoder';
import * as C from '../elf/elfConstants';
import type { ElfFile } from '../elf/elfFile';
import { dropEscaped, escape, escapeAll, GPRS, gpr, LANES, RSP, setReg, type State, union, type Val, vectorLanes, xmm, ZERO } from './loopState';

const R = iced.Register;
const M = iced.Mnemonic;


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

// ---------------------------------------------------------------------------------------------- steps

const CALLER_SAVED = [R.RAX, R.RCX, R.RDX, R.RSI, R.RDI, R.R8, R.R9, R.R10, R.R11].map((r) => r - R.RAX);
/** Instructions that write xmm registers they do not name. */
const XMM_IMPLICIT = new Set<number>([M.Pcmpistrm, M.Pcmpestrm, M.Vpcmpistrm, M.Vpcmpestrm, M.Vzeroall, M.Xrstor, M.Xrstor64, M.Xrstors, M.Xrstors64, M.Fxrstor, M.Fxrstor64]);

/**
 * Where a memory operand is: an absolute (RIP-relative) address, or a base register (rsp, or one holding a frame
 * address, makes it a stack slot) with a displacement and maybe an index; `other` without a base register.
 */
type Mem = { kind: 'abs'; at: number } | { kind: 'reg'; base: number; disp: number; indexed: boolean } | { kind: 'other' };

function memOf(v: InstructionView): Mem {
  const at = v.absoluteMemoryAddress();
  if (at !== undefined) return { kind: 'abs', at };
  const base = gpr(v.memoryBase());
  return base < 0 ? { kind: 'other' } : { kind: 'reg', base, disp: v.memoryDisplacement(), indexed: v.memoryIndex() !== R.None };
}

/** The slot `[rsp+disp]`. */
function rspSlot(disp: number): Mem {
  return { kind: 'reg', base: RSP, disp, indexed: false };
}

/** The frame offset a memory operand addresses, when the state knows it. */
function frameKey(s: State, mem: Mem): number | undefined {
  if (mem.kind !== 'reg' || mem.indexed) return undefined;
  const at = mem.base === RSP ? s.sp : s.frame[mem.base];
  return at === null || at === undefined ? undefined : at + mem.disp;
}

/** What one instruction does: to a state, and (a store to an absolute address) which values it writes there. */
export interface Effect {
  apply: (s: State) => void;
  store?: { at: number; values: (s: State) => Val[] };
}

export interface Step extends Effect {
  ip: number;
  next: number;
  flow: Flow;
  target?: number;
  /** The last instruction of a range followed: control does not fall from it into the next one. */
  last?: boolean;
}

/** Instructions whose first operand is memory they only read. */
const READS_FIRST = new Set<number>([M.Cmp, M.Test, M.Bt, M.Prefetcht0, M.Prefetcht1, M.Prefetcht2, M.Prefetchnta, M.Prefetchw, M.Nop, M.Ucomiss, M.Ucomisd, M.Comiss, M.Comisd, M.Push, M.Call, M.Jmp]);

/** True when the instruction may write its memory operand (its first operand is memory, and it is not a compare). */
export function writesMemory(v: InstructionView): boolean {
  return v.isMemoryOperand(0) && !READS_FIRST.has(v.info.mnemonic);
}

/** The function being followed: its file, for constants and immediates. */
export class Context {
  constructor(readonly elf: ElfFile) {}

  /** The values an immediate of a `size`-byte destination holds: 0, or a code address of position-dependent code. */
  immediate(imm: number, size: number): Val {
    const value = size === 4 ? imm >>> 0 : imm;
    if (value === 0) return ZERO;
    return value > 0 && !this.elf.isRelocatable && this.elf.isCodeAddress(value) ? new Set([value]) : null;
  }

  load(s: State, mem: Mem, off: number): Val {
    if (mem.kind === 'abs') return constantWord(this.elf, mem.at + off);
    const key = frameKey(s, mem);
    return key === undefined ? null : (s.stack.get(key + off) ?? null);
  }

  /**
   * A store of `size` bytes whose 8-byte parts are `values` (undefined: not known per part); `from` are the registers
   * it stores, whose frame addresses leave the function's registers.
   */
  storeStep(mem: Mem, size: number, values: (s: State) => Val[] | undefined, from: number[] = []): Effect {
    const out = (s: State): void => from.forEach((r) => s.frame[r] !== undefined && escape(s, s.frame[r]!));
    if (mem.kind === 'abs') {
      const parts = Math.max(1, Math.ceil(size / 8));
      return { apply: out, store: { at: mem.at, values: (s) => (size % 8 === 0 ? values(s) : undefined) ?? new Array<Val>(parts).fill(null) } };
    }
    return {
      apply: (s) => {
        const v = size % 8 === 0 ? values(s) : undefined;
        out(s);
        this.write(s, mem, size, v);
      },
    };
  }

  /** Memory written at `mem`: the slot it names, or every slot it may reach. */
  write(s: State, mem: Mem, size: number, values: Val[] | undefined): void {
    if (mem.kind === 'abs') return;
    const key = frameKey(s, mem);
    if (key === undefined) {
      // Through rsp or a frame address at an unknown offset: any slot; through any other pointer: the escaped ones.
      if (mem.kind === 'reg' && (mem.base === RSP || s.frame[mem.base] !== undefined)) s.stack.clear();
      else dropEscaped(s);
      return;
    }
    for (const k of [...s.stack.keys()]) if (k < key + Math.max(size, 1) && k + 8 > key) s.stack.delete(k);
    if (size === 0) s.stack.clear();
    if (values) values.forEach((v, i) => s.stack.set(key + 8 * i, v));
  }
}

const CMOV = new Set<number>(Object.keys(M).filter((k) => k.startsWith('Cmov')).map((k) => (M as unknown as Record<string, number>)[k]));

/** `cmovcc r64, r64/m64`: the destination keeps its values or takes the source's (a frame address in either escapes). */
function cmovEffect(c: Context, v: InstructionView): Effect | undefined {
  const d = gpr(v.opFullRegister(0));
  if (d < 0 || v.opRegisterSize(0) !== 8) return undefined;
  const mem = v.isMemoryOperand(1) ? memOf(v) : undefined;
  const r = gpr(v.opFullRegister(1));
  return {
    apply: (s) => {
      const val = union(s.regs[d], mem ? c.load(s, mem, 0) : r >= 0 ? s.regs[r] : null);
      if (r >= 0 && s.frame[r] !== undefined) escape(s, s.frame[r]!);
      if (s.frame[d] !== undefined) escape(s, s.frame[d]!);
      setReg(s, d, val);
    },
  };
}

/** `mov` between general-purpose registers, memory and immediates; a copy of a frame address stays one. */
function movEffect(c: Context, v: InstructionView): Effect | undefined {
  const imm = v.immediateOperand(1);
  if (!v.isMemoryOperand(0)) {
    const d = gpr(v.opFullRegister(0));
    if (d < 0) return undefined;
    const size = v.opRegisterSize(0);
    if (imm !== undefined) {
      const val = c.immediate(imm, size);
      return { apply: (s) => setReg(s, d, val) };
    }
    if (v.isMemoryOperand(1)) {
      const mem = memOf(v);
      return { apply: (s) => setReg(s, d, size === 8 ? c.load(s, mem, 0) : null) };
    }
    const r = gpr(v.opFullRegister(1));
    if (r < 0 || size !== 8) return { apply: (s) => setReg(s, d, null) };
    // `mov r, rsp` makes r a frame address.
    if (r === RSP) return { apply: (s) => void (setReg(s, d, null), (s.frame[d] = s.sp ?? undefined), s.sp === null && escape(s, -Infinity)) };
    return { apply: (s) => void ((s.regs[d] = s.regs[r]), (s.frame[d] = s.frame[r])) };
  }
  const size = v.memorySize();
  let src: (s: State) => Val;
  const from: number[] = [];
  if (imm !== undefined) {
    const val = size === 8 ? c.immediate(imm, 8) : null;
    src = () => val;
  } else {
    const r = gpr(v.opFullRegister(1));
    if (r >= 0) from.push(r);
    src = size === 8 && r >= 0 ? (s) => s.regs[r] : () => null;
  }
  return c.storeStep(memOf(v), size, (s) => [src(s)], from);
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
      return {
        apply: (s) => {
          if (g >= 0 && s.frame[g] !== undefined) escape(s, s.frame[g]!);
          const value = lo(s);
          s.regs[x0] = value;
          s.regs[x0 + 1] = ZERO;
        },
      };
    }
    if (v.isMemoryOperand(0) && x1 >= 0) return c.storeStep(memOf(v), 8, (s) => [s.regs[x1]]);
    const g0 = gpr(v.opFullRegister(0));
    return g0 >= 0 && x1 >= 0 ? { apply: (s) => setReg(s, g0, s.regs[x1]) } : undefined;
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
    return {
      apply: (s) => {
        if (g >= 0 && s.frame[g] !== undefined) escape(s, s.frame[g]!);
        s.regs[x0 + lane] = mem ? c.load(s, mem, 0) : g >= 0 ? s.regs[g] : null;
      },
    };
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

/** `push`, `pop`, `sub rsp, n`, `add rsp, n` and calls: the stack pointer's offset, and what calls clobber. */
function stackEffect(c: Context, v: InstructionView): Effect | undefined {
  const mn = v.info.mnemonic;
  if (v.info.flow === Flow.Call || v.info.flow === Flow.IndirectCall) {
    return {
      apply: (s) => {
        // The callee may read any register, and write what escaped.
        escapeAll(s);
        dropEscaped(s);
        for (const i of CALLER_SAVED) setReg(s, i, null);
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
        if (r >= 0 && s.frame[r] !== undefined) escape(s, s.frame[r]!);
        if (r === RSP) escape(s, s.sp ?? -Infinity);
        if (s.sp === null) return;
        const value = r >= 0 ? s.regs[r] : null;
        s.sp -= 8;
        c.write(s, rspSlot(0), 8, [value]);
      },
    };
  }
  if (mn === M.Pop && v.opCount() === 1) {
    const r = gpr(v.opFullRegister(0));
    if (r < 0 || r === RSP) return undefined;
    return { apply: (s) => void (setReg(s, r, c.load(s, rspSlot(0), 0)), s.sp !== null && (s.sp += 8)) };
  }
  const d = gpr(v.opFullRegister(0));
  const imm = v.immediateOperand(1);
  if ((mn === M.Sub || mn === M.Add) && d >= 0 && v.opRegisterSize(0) === 8 && imm !== undefined) {
    const delta = mn === M.Sub ? -imm : imm;
    if (d === RSP) return { apply: (s) => void (s.sp !== null && (s.sp += delta)) };
    // A frame address moved by a constant stays one; any other value becomes unknown.
    return { apply: (s) => void ((s.regs[d] = null), s.frame[d] !== undefined && (s.frame[d]! += delta)) };
  }
  return undefined;
}

/**
 * Any other instruction: the frame addresses it reads leave the flow; the registers it may write become unknown, and
 * so do the slots it writes.
 */
function defaultEffect(c: Context, v: InstructionView): Effect {
  const mn = v.info.mnemonic;
  if (mn === M.Xor && v.opCount() === 2 && v.opRegister(0) !== undefined && v.opRegister(0) === v.opRegister(1)) {
    const r = gpr(v.opFullRegister(0));
    if (r >= 0 && r !== RSP) return { apply: (s) => setReg(s, r, ZERO) };
  }
  const read: number[] = [];
  for (let i = 0; i < v.opCount(); i++) {
    const r = gpr(v.opRegister(i) === undefined ? undefined : v.opFullRegister(i));
    if (r >= 0) read.push(r);
  }
  // Registers an instruction uses without naming them (string instructions, cpuid, syscall): any of them.
  const implicit = v.hasImplicitWrites;
  const clobbered = v.clobberedRegisters().map(gpr).filter((i) => i >= 0);
  const lanes = v.opCount() > 0 ? vectorLanes(v.opRegister(0)) : -1;
  const allLanes = XMM_IMPLICIT.has(mn);
  const mem = writesMemory(v) ? memOf(v) : undefined;
  const size = mem ? v.memorySize() : 0;
  const effect: Effect = {
    apply: (s) => {
      if (implicit) escapeAll(s);
      for (const r of read) {
        if (r === RSP) escape(s, s.sp ?? -Infinity);
        else if (s.frame[r] !== undefined) escape(s, s.frame[r]!);
      }
      if (mem) c.write(s, mem, size, undefined);
      for (const i of clobbered) if (i !== RSP) setReg(s, i, null);
      if (lanes >= 0) s.regs[lanes] = s.regs[lanes + 1] = null;
      if (allLanes) for (let i = GPRS; i < GPRS + LANES; i++) s.regs[i] = null;
      if (clobbered.includes(RSP)) {
        s.sp = null;
        s.stack.clear();
      }
    },
  };
  if (mem?.kind === 'abs') effect.store = { at: mem.at, values: () => new Array<Val>(Math.max(1, Math.ceil(size / 8))).fill(null) };
  return effect;
}

/** `lea r, [rip+x]` (a code address), `lea r, [rsp+n]` or `[frame address+n]` (a frame address), else unknown. */
function leaEffect(c: Context, v: InstructionView): Effect | undefined {
  const d = gpr(v.opFullRegister(0));
  if (d < 0 || d === RSP) return undefined;
  const at = v.absoluteMemoryAddress();
  if (at !== undefined) {
    const val: Val = v.opRegisterSize(0) === 8 && c.elf.isCodeAddress(at) ? new Set([at]) : null;
    return { apply: (s) => setReg(s, d, val) };
  }
  const mem = memOf(v);
  const wide = v.opRegisterSize(0) === 8;
  return {
    apply: (s) => {
      const key = wide ? frameKey(s, mem) : undefined;
      // An address computed from a frame address some other way (an index, a narrower result) leaves the flow.
      if (key === undefined && mem.kind === 'reg') {
        if (mem.base === RSP) escape(s, s.sp ?? -Infinity);
        else if (s.frame[mem.base] !== undefined) escape(s, s.frame[mem.base]!);
      }
      setReg(s, d, null);
      s.frame[d] = key;
    },
  };
}

export function effectOf(c: Context, v: InstructionView): Effect {
  const mn = v.info.mnemonic;
  const special = mn === M.Lea ? leaEffect(c, v) : mn === M.Mov ? movEffect(c, v) : CMOV.has(mn) ? cmovEffect(c, v) : undefined;
  return special ?? laneEffect(c, v) ?? stackEffect(c, v) ?? defaultEffect(c, v);
}
