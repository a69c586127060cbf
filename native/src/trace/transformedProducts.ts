// Code addresses that code which ran (an initialiser) produced and kept transformed: `offsets[i] = (char *)k_i - (char
// *)base`, a truncated or shifted pointer. No word of live memory shows them, so addressTaken.ts keeps them as targets.

import * as iced from 'iced-x86';
import { type CodeBuffer, CodeDecoder, Flow, type InstructionView } from '../decoder/decoder';
import { FULL_GPR, mnemonicsNamed } from '../decoder/codeInfo';
import { type AddressSpace, type ModuleImage, isInPlt } from '../space/space';
import { ARGUMENTS, bit, CALLER_SAVED } from './followValue';
import { callersOf } from './codeCallers';
import { fileVerdicts } from './summaryCache';

/** Instructions looked at per question (finding the producers, then following them) before the answer is "kept". */
const MAX_STEPS = 20_000;
/**
 * Instructions followed for all the products of one function together, before its other products are kept unfollowed:
 * a function that produces hundreds of addresses (an initialiser filling tables, the interpreter's loop before a live
 * frame's resume point) would otherwise be walked once per address.
 */
const FUNCTION_BUDGET = 40_000;
/** Same-module callees a value is followed into, nested, before the answer is "kept". */
const MAX_DEPTH = 4;
/** Returns to the callers of callers followed, nested, before the answer is "kept". */
const MAX_CALLER_LEVELS = 3;
/** Extents longer than this are not read for producers (their addresses are kept). */
const MAX_EXTENT_BYTES = 4 * 1024 * 1024;
/** Flows after which execution does not go on to the next instruction or a direct target. */
const ENDS = new Set<number>([Flow.Return, Flow.Interrupt, Flow.Exception, Flow.IndirectBranch]);

const R = iced.Register;
const M = iced.Mnemonic;
const RAX = bit(R.RAX);
/** What a call leaves held: the callee-saved general-purpose registers (every vector register is caller-saved). */
const KEPT_BY_CALLS = ~CALLER_SAVED & 0xffff;
const STACK_BASES = new Set<number>([R.RSP, R.RBP]);
const CMOV = mnemonicsNamed(Object.keys(M).filter((k) => k.startsWith('Cmov')));
/** Whole vector register copies, loads and stores. */
const VECTOR_MOVES = mnemonicsNamed(['Movups', 'Movaps', 'Movupd', 'Movapd', 'Movdqu', 'Movdqa', 'Vmovups', 'Vmovaps', 'Vmovupd', 'Vmovapd', 'Vmovdqu', 'Vmovdqa', 'Vmovdqu8', 'Vmovdqu16', 'Vmovdqu32', 'Vmovdqu64', 'Vmovdqa32', 'Vmovdqa64']);
/** 64-bit lane moves between a general-purpose register (or memory) and a vector register. */
const LANE_MOVES = mnemonicsNamed(['Movq', 'Vmovq', 'Pextrq', 'Vpextrq', 'Movhps', 'Movlps', 'Movhpd', 'Movlpd', 'Vmovhps', 'Vmovlps', 'Vmovhpd', 'Vmovlpd']);
/** Instructions that put 64-bit lanes of their sources side by side (compilers pair two pointers so for one store). */
const COMBINES = mnemonicsNamed(['Punpcklqdq', 'Vpunpcklqdq', 'Movlhps', 'Vmovlhps', 'Unpcklpd', 'Vunpcklpd', 'Pinsrq', 'Vpinsrq', 'Vinserti128', 'Vinsertf128', 'Vinserti64x2', 'Vinsertf64x2', 'Vinserti64x4', 'Vinsertf64x4', 'Movhps', 'Movlps', 'Movhpd', 'Movlpd']);
const VECTOR_ZEROING = mnemonicsNamed(['Pxor', 'Xorps', 'Xorpd', 'Vpxor', 'Vxorps', 'Vxorpd', 'Vpxord', 'Vpxorq']);
/** A vector register (xmm, ymm or zmm n) as bit 16 + n of a held set, for n < 16; UNTRACKED for the others. */
const UNTRACKED = -1;
function vectorBit(reg: number | undefined): number {
  if (reg === undefined) return 0;
  const n = reg >= R.XMM0 && reg <= R.XMM31 ? reg - R.XMM0 : reg >= R.YMM0 && reg <= R.YMM31 ? reg - R.YMM0 : reg >= R.ZMM0 && reg <= R.ZMM31 ? reg - R.ZMM0 : -1;
  return n < 0 ? 0 : n < 16 ? 1 << (16 + n) : UNTRACKED;
}

/** A return into a caller: where it resumes, and the registers that still hold the value there (callee-saved ones). */
interface Frame {
  ip: number;
  held: number;
  parent: Frame | undefined;
}

type Step = { held: number; next: number[]; callee?: number; returns?: true; jumps?: true } | 'kept' | 'data';

/**
 * Whether functions transform the code addresses they produce. A producer is an instruction of the function that puts
 * the address in a register (`lea r,[rip+k]`, `mov r,imm` in position-dependent code, or a load of the GOT slot or word
 * holding it) or stores it (`mov [m],imm`). The value is followed through copies, conditional moves, 64-bit stores to
 * and reloads from stack slots, 64-bit lanes of vector registers, into same-module callees and back, and, when the
 * function returns it, into its callers (codeCallers.ts). Compares leave it alone; a 64-bit store elsewhere or a call of
 * another module's function hands it on whole (a word the census reads). Any other use (arithmetic, a narrower store or
 * reload, an address computed from it, an indirect call or jump while it is held, a return to callers not all known)
 * means it may be kept in a form no word shows: it is "kept". So is a function whose producer of the address is not
 * found, or whose code is too long or cannot be decoded. Memory read or written through it makes it data, not code.
 */
export class TransformedProducts {
  private readonly producers = new Map<string, Map<number, number[]> | null>();
  private readonly budgets = new Map<string, { left: number }>();

  /** `codeOf`: a module's code in one buffer at link-time addresses, when the walk has it (else read per instruction). */
  constructor(
    private readonly space: AddressSpace,
    private readonly codeOf: (m: ModuleImage) => CodeBuffer | undefined,
  ) {}

  /**
   * True when the function at `entry` (absolute) may keep the code address it produces by `target` transformed: `target`
   * is the address itself (a `lea` or an immediate), or the word a load reads it from (a GOT slot). See the class.
   */
  transforms(entry: number, target: number): boolean {
    const m = this.space.regionAt(entry)?.module;
    if (!m) return true;
    // Everything below is in m's link-time addresses: the value is followed inside m only. The code alone decides, so
    // the verdict is kept per file (summaryCache.ts fileVerdicts) for every walk; a module mapped below 4 GiB (a 32-bit
    // register then holds a whole address, see follows) keys it by its place too.
    const verdicts = fileVerdicts(m.identity);
    const key = `${entry - m.bias}:${target - m.bias}${m.bias < 2 ** 32 ? `@${m.bias}` : ''}`;
    let v = verdicts.get(key);
    if (v === undefined) {
      const decoder = new CodeDecoder();
      try {
        const functionKey = `${m.index}:${entry}`;
        let budget = this.budgets.get(functionKey);
        if (!budget) this.budgets.set(functionKey, (budget = { left: FUNCTION_BUDGET }));
        v = budget.left <= 0 || this.decide({ m, decode: decodeInModule(m, this.codeOf(m), decoder), budget }, entry - m.bias, target - m.bias);
      } finally {
        decoder.free();
      }
      verdicts.set(key, v);
    }
    return v;
  }

  private decide(c: ModuleCodeView, entry: number, target: number): boolean {
    const sites = this.producersOf(c, entry)?.get(target);
    if (!sites?.length) return true;
    for (const ip of sites) {
      let kept = true;
      c.decode(ip, (v) => (kept = this.follows(c, v, target, entry)));
      if (kept) return true;
    }
    return false;
  }

  /** True when the producer `v` of `target` (or what follows it) may keep the address transformed. */
  private follows(c: ModuleCodeView, v: InstructionView, target: number, entry: number): boolean {
    if (v.info.mnemonic === M.Lea || (v.info.mnemonic === M.Mov && !v.isMemoryOperand(0))) {
      const reg = v.opFullRegister(0);
      // A 32-bit destination zero-extends: it holds the whole address when that is below 4 GiB (position-dependent code).
      const size = v.opRegisterSize(0);
      if (reg === undefined || !(size === 8 || (size === 4 && target + c.m.bias < 2 ** 32))) return true;
      return follow(c, v.nextIp, bit(reg), entry);
    }
    if (v.info.mnemonic === M.Mov && v.isMemoryOperand(0)) return v.memorySize() !== 8;
    // A compare with the address produces nothing; anything else (a push, an exchange) is not followed.
    return !(v.info.mnemonic === M.Cmp || v.info.mnemonic === M.Test) || v.addressImmediate() !== target;
  }

  /**
   * The function's instructions that produce code addresses, by address: every instruction of its extent (as its
   * summary reads it), or, without one, those reached from its entry along direct branches.
   */
  private producersOf(c: ModuleCodeView, entry: number): Map<number, number[]> | undefined {
    const key = `${c.m.index}:${entry}`;
    let found = this.producers.get(key);
    if (found !== undefined) return found ?? undefined;
    const out = new Map<number, number[]>();
    const elf = c.m.elf;
    const note = (v: InstructionView): void => {
      const mnemonic = v.info.mnemonic;
      // A load of a word (`mov r,[rip+slot]`) produces what the word holds: it is listed under the word's address.
      const load = mnemonic === M.Mov && v.isMemoryOperand(1) && !v.isMemoryOperand(0);
      const addr = mnemonic === M.Lea || load ? v.absoluteMemoryAddress() : v.addressImmediate();
      if (addr !== undefined && (load || elf.isCodeAddress(addr))) out.set(addr, [...(out.get(addr) ?? []), v.ip]);
    };
    const extent = elf.functionAt(entry);
    let ok = true;
    if (extent && extent.end - extent.start <= MAX_EXTENT_BYTES) {
      for (let ip = extent.start; ip < extent.end; ) {
        // Linear, as the summary reads an extent; an undecodable byte is stepped over.
        let next = ip + 1;
        c.decode(ip, (v) => {
          note(v);
          next = v.nextIp;
        });
        ip = next;
      }
    } else ok = !extent && this.descend(c, entry, note);
    found = ok ? out : null;
    this.producers.set(key, found);
    return found ?? undefined;
  }

  /** Visits the instructions reached from `entry` along direct branches in its module; false when they cannot all be. */
  private descend(c: ModuleCodeView, entry: number, note: (v: InstructionView) => void): boolean {
    const seen = new Set<number>();
    const work = [entry];
    while (work.length) {
      let ip: number | undefined = work.pop()!;
      while (ip !== undefined && !seen.has(ip) && c.m.elf.isCodeAddress(ip)) {
        seen.add(ip);
        if (seen.size > MAX_STEPS) return false;
        let next: number | undefined;
        const decoded = c.decode(ip, (v) => {
          note(v);
          const t = v.directTarget();
          if (v.info.flow === Flow.ConditionalBranch && t !== undefined) work.push(t);
          next = v.info.flow === Flow.UnconditionalBranch ? t : ENDS.has(v.info.flow) ? undefined : v.nextIp;
        });
        if (!decoded) return false;
        ip = next;
      }
    }
    return true;
  }
}

/** Decodes one instruction of `m` at a link-time address: from `buffer` when it holds it, else from the file. */
function decodeInModule(m: ModuleImage, buffer: CodeBuffer | undefined, decoder: CodeDecoder): Decode {
  return (ip, visit) => {
    let ok = false;
    const once = (v: InstructionView): 'stop' => {
      ok = true;
      visit(v);
      return 'stop';
    };
    if (buffer?.contains(ip, ip + 1)) decoder.decodeRange(buffer, ip, ip + 1, once);
    else {
      const bytes = m.elf.tryReadVirtual(ip, 16) ?? m.elf.tryReadVirtual(ip, 1);
      if (bytes) decoder.decodeLinear(bytes, ip, once);
    }
    return ok;
  };
}

/** A module's code as follow() reads it: link-time addresses. */
interface ModuleCodeView {
  m: ModuleImage;
  decode: Decode;
  /** What is left of the function's budget (FUNCTION_BUDGET). */
  budget: { left: number };
}

type Decode = (ip: number, visit: (v: InstructionView) => void) => boolean;

/** A point to follow the value from: the function it runs in at depth 0 (whose callers a return goes to). */
interface Item {
  ip: number;
  held: number;
  frame: Frame | undefined;
  depth: number;
  fn: number;
  /** How many returns to callers (callersOf) led here. */
  level: number;
}

/**
 * Follows a value held in `held` (register bits) from `ip` in the function at `fn`: true when it may be kept
 * transformed (see the class).
 */
function follow(c: ModuleCodeView, ip: number, held: number, fn: number): boolean {
  const { m, decode } = c;
  const own = (t: number): boolean => m.elf.isCodeAddress(t) && !isInPlt(m.elf, t);
  // Stack slots (`base:displacement`) a 64-bit store of the value wrote: a reload from one holds it again.
  const slots = new Set<string>();
  let seen = new Map<string, number>();
  const start: Item = { ip, held, frame: undefined, depth: 0, fn, level: 0 };
  let work = [start];
  let steps = 0;
  /** The value returned by `from` to its callers: where they resume, holding it in rax; false when they are not known. */
  const returned = (from: number, level: number): boolean => {
    if (level >= MAX_CALLER_LEVELS) return false;
    const callers = callersOf(m.elf, from);
    if (callers === 'loader') return true;
    if (!callers) return false;
    for (const r of callers.returns) {
      const f = m.elf.functionAt(r - 1);
      if (!f) return false;
      work.push({ ip: r, held: RAX, frame: undefined, depth: 0, fn: f.start, level: level + 1 });
    }
    for (const t of callers.tails) {
      // A tail jump: the function that jumps returns the value to its own callers.
      const f = m.elf.functionAt(t);
      if (!f || !returned(f.start, level + 1)) return false;
    }
    return true;
  };
  while (work.length) {
    const item = work.pop()!;
    let { ip: at, held: h } = item;
    const { frame, depth } = item;
    for (;;) {
      // With no register holding it, a stack slot may still: the path goes on to where it may be reloaded.
      if (h === 0 && slots.size === 0) break;
      const key = `${at}:${depth}:${frame?.ip ?? 0}`;
      const before = seen.get(key);
      if (before !== undefined && (before | h) === before) break;
      seen.set(key, (before ?? 0) | h);
      h |= before ?? 0;
      if (++steps > MAX_STEPS || --c.budget.left < 0) return true;
      let r: Step | undefined;
      const slotsBefore = slots.size;
      const heldNow = h;
      if (!decode(at, (v) => (r = step(v, heldNow, slots)))) return true;
      if (r === undefined || r === 'kept') return true;
      // Read or written through: a table of data in the code, not a function.
      if (r === 'data') return false;
      if (slots.size !== slotsBefore) {
        // A new slot holds the value: paths seen before may reload it, so they are followed again.
        seen = new Map();
        work = [start, ...work];
      }
      h = r.held;
      // A jump into another module (a PLT stub): a tail call of a function that takes the arguments as they are.
      const foreign = r.jumps && !own(r.next[0]);
      if (r.returns || foreign) {
        const rax = foreign ? 0 : h & RAX;
        if (frame) work.push({ ...item, ip: frame.ip, held: frame.held | rax, frame: frame.parent, depth: depth - 1 });
        else if (rax && !returned(item.fn, item.level)) return true;
        break;
      }
      if (r.callee !== undefined) {
        if (own(r.callee) && h & ARGUMENTS) {
          if (depth >= MAX_DEPTH) return true;
          work.push({ ...item, ip: r.callee, held: h & ARGUMENTS, frame: { ip: r.next[0], held: h & KEPT_BY_CALLS, parent: frame }, depth: depth + 1 });
        }
        h &= KEPT_BY_CALLS;
      }
      if (r.next.length === 0) break;
      for (const n of r.next.slice(1)) work.push({ ...item, ip: n, held: h });
      at = r.next[0];
    }
  }
  return false;
}

/**
 * One instruction with a vector register operand: the value may be moved into a lane, paired with another (`movq xmm,
 * r; punpcklqdq`), copied and stored whole; any other use of a vector register holding it is 'kept'.
 */
function vectorStep(v: InstructionView, held: number): Step {
  const mnemonic = v.info.mnemonic;
  const n = v.opCount();
  const holds = (i: number): boolean => {
    const r = v.opRegister(i);
    const vb = vectorBit(r);
    if (vb === UNTRACKED) return true;
    return ((vb || (r !== undefined ? bitOf(r) : 0)) & held) !== 0;
  };
  const sources = [...Array(n).keys()].slice(1).some(holds);
  const next = [v.nextIp];
  if (v.isMemoryOperand(0)) {
    // Stored whole (or one lane of it): a word the census reads; on the stack, not followed.
    if (!sources) return { held, next };
    return (VECTOR_MOVES.has(mnemonic) || LANE_MOVES.has(mnemonic)) && !stackSlot(v) ? { held, next } : 'kept';
  }
  const dst = v.opRegister(0);
  const vb = vectorBit(dst);
  if (vb === 0) {
    // Into a general-purpose register: a lane taken out of a vector that holds the value.
    const full = v.opFullRegister(0);
    if (full === undefined) return sources ? 'kept' : { held, next };
    if (!sources) return { held: held & ~bit(full), next };
    return LANE_MOVES.has(mnemonic) && v.opRegisterSize(0) === 8 ? { held: held | bit(full), next } : 'kept';
  }
  if (VECTOR_ZEROING.has(mnemonic) && n >= 2 && v.opRegister(n - 1) === v.opRegister(n - 2)) return { held: vb === UNTRACKED ? held : held & ~vb, next };
  const merges = COMBINES.has(mnemonic) && !(M as unknown as Record<number, string>)[mnemonic]?.startsWith('V');
  if (sources) {
    if (vb === UNTRACKED || !(VECTOR_MOVES.has(mnemonic) || LANE_MOVES.has(mnemonic) || COMBINES.has(mnemonic))) return 'kept';
    return { held: held | vb, next };
  }
  if (vb === UNTRACKED || !(held & vb)) return { held, next };
  // The destination held it: a merge keeps it, a move overwrites it, anything else computes with it.
  if (merges) return { held, next };
  return VECTOR_MOVES.has(mnemonic) || LANE_MOVES.has(mnemonic) ? { held: held & ~vb, next } : 'kept';
}

/**
 * Whether an operand of `v` is a register holding the value (general-purpose or vector), or a memory operand based or
 * indexed on one, or a stack slot holding it (which a load reloads).
 */
function namesHeld(v: InstructionView, held: number, slots: Set<string>): boolean {
  const n = v.opCount();
  for (let i = 0; i < n; i++) {
    if (v.isMemoryOperand(i)) {
      if ((bitOf(v.memoryBase()) | bitOf(v.memoryIndex())) & held) return true;
      const slot = slots.size > 0 ? stackSlot(v) : undefined;
      if (slot && slots.has(slot)) return true;
      continue;
    }
    const r = v.opRegister(i);
    if (r === undefined) continue;
    const vb = vectorBit(r);
    if ((vb === UNTRACKED ? 0 : vb | bitOf(r)) & held) return true;
  }
  return false;
}

/** bit() of a register given as iced names it (a 32-bit name too): its full general-purpose register's bit. */
function bitOf(reg: number): number {
  return bit(FULL_GPR[reg] ?? -1);
}

/** A general-purpose `mov`: copies, 64-bit stores (stack slots followed) and reloads; narrower ones are 'kept'. */
function moveStep(v: InstructionView, held: number, slots: Set<string>): Step {
  const next = [v.nextIp];
  const src = v.opFullRegister(1);
  if (v.isMemoryOperand(0)) {
    if (src !== undefined && bit(src) & held) {
      // Stored: whole (a word the census reads; on the stack, followed), or narrowed (kept).
      if (v.opRegisterSize(1) !== 8) return 'kept';
      const slot = stackSlot(v);
      if (slot) slots.add(slot);
    }
    return { held, next };
  }
  const dst = v.opFullRegister(0)!;
  if (src !== undefined) {
    if (bit(src) & held && v.opRegisterSize(1) !== 8) return 'kept';
    return { held: bit(src) & held ? held | bit(dst) : held & ~bit(dst), next };
  }
  const slot = v.isMemoryOperand(1) ? stackSlot(v) : undefined;
  if (!slot || !slots.has(slot)) return { held: held & ~bit(dst), next };
  // A reload of a slot holding the value: whole, or part of it (kept).
  return v.opRegisterSize(0) === 8 ? { held: held | bit(dst), next } : 'kept';
}

/** A stack slot's key (`base:displacement`) when the memory operand of `v` is one, else undefined. */
function stackSlot(v: InstructionView): string | undefined {
  const base = v.memoryBase();
  return STACK_BASES.has(base) && v.memoryIndex() === R.None ? `${base}:${v.memoryDisplacement()}` : undefined;
}

/** One instruction of follow(): where the value is after it, or 'kept'. */
function step(v: InstructionView, held: number, slots: Set<string>): Step {
  // Most instructions name no register holding the value and use none implicitly: they leave it as it is (asking iced
  // what an instruction uses is the slow part).
  if (v.info.flow === Flow.Next && v.info.gprWrite !== 2 && !namesHeld(v, held, slots)) return { held, next: [v.nextIp] };
  const mnemonic = v.info.mnemonic;
  const uses = v.uses();
  // An address computed from the value (`lea r,[v+8]`) is kept; memory read or written through it makes it data: assembly
  // keeps constant tables in .text (OpenSSL's K256) and walks them with pointer arithmetic.
  for (const mem of uses.memory) {
    if ((mem.base >= 0 && bit(mem.base) & held) || (mem.index >= 0 && bit(mem.index) & held)) return mem.address ? 'kept' : 'data';
  }
  let after = held;
  const vectors = [0, 1, 2, 3].slice(0, v.opCount()).some((i) => vectorBit(v.opRegister(i)) !== 0);
  if (vectors) return vectorStep(v, held);
  if (CMOV.has(mnemonic)) {
    // A conditional copy: the destination may hold the value when the source does, and keeps it when it did.
    const dst = v.opFullRegister(0);
    const src = v.opFullRegister(1);
    const fromHeld = src !== undefined && (bit(src) & held) !== 0;
    if (dst === undefined || ((fromHeld || bit(dst) & held) && v.opRegisterSize(0) !== 8)) return 'kept';
    return { held: fromHeld ? held | bit(dst) : held, next: [v.nextIp] };
  }
  if (mnemonic === M.Mov) return moveStep(v, held, slots);
  const zeroing = (mnemonic === M.Xor || mnemonic === M.Sub) && v.opCount() === 2 && v.opFullRegister(0) !== undefined && v.opFullRegister(0) === v.opFullRegister(1);
  const compares = mnemonic === M.Cmp || mnemonic === M.Test;
  const flow = v.info.flow;
  const branches = flow === Flow.Call || flow === Flow.IndirectCall || flow === Flow.IndirectBranch || flow === Flow.Return;
  for (const r of uses.registers) {
    if (!(bit(r.full) & held) || zeroing || compares) continue;
    // A call reads rsp, a return too; the argument registers are judged below.
    if (branches && r.full === R.RSP) continue;
    if (r.read && !branches) return 'kept';
    if (r.write && (r.size < 4 || r.conditional)) return 'kept';
  }
  for (const r of uses.registers) if (r.write && !r.conditional && r.size >= 4) after &= ~bit(r.full);
  switch (flow) {
    case Flow.Next:
      return { held: after, next: [v.nextIp] };
    case Flow.Call: {
      const t = v.directTarget();
      if (t === undefined) return 'kept';
      return { held, next: [v.nextIp], callee: t };
    }
    case Flow.IndirectCall:
      // A callee not known may do anything with an argument.
      return held & ARGUMENTS ? 'kept' : { held: held & KEPT_BY_CALLS, next: [v.nextIp] };
    case Flow.ConditionalBranch: {
      const t = v.directTarget();
      return t === undefined ? 'kept' : { held: after, next: [v.nextIp, t] };
    }
    case Flow.UnconditionalBranch: {
      const t = v.directTarget();
      return t === undefined ? 'kept' : { held: after, next: [t], jumps: true };
    }
    case Flow.Return:
      return { held, next: [], returns: true };
    case Flow.Interrupt:
    case Flow.Exception:
      return { held: 0, next: [] };
    default:
      return 'kept';
  }
}
