// Following a pointer value through machine code: from the instruction after the load (or the frame's resume point) that
// put it in a register, which offsets of what it points to the code reads, or that the value escapes (heapTables.ts).

import * as iced from 'iced-x86';
import { CALLER_SAVED_REGISTERS, CodeBuffer, CodeDecoder, Flow, type InstructionView } from '../decoder/decoder';
import type { AddressSpace, ModuleImage, Region } from '../space/space';

/** Instructions followed from one load before its value counts as escaping. */
const MAX_STEPS = 4096;
/** Modules with more code than this are not searched or followed through (their values count as escaping). */
export const MAX_CODE_BYTES = 1024 * 1024;

const R = iced.Register;
const M = iced.Mnemonic;
/** Registers a callee may read: the arguments, and r10 (the static chain of GCC's nested functions). */
const ARGUMENT_REGISTERS = [R.RDI, R.RSI, R.RDX, R.RCX, R.R8, R.R9, R.R10];

/** What code can read through a pointer: [offset, size] pairs relative to it, or 'escapes' (any word). */
export type SlotReads = Array<[number, number]> | 'escapes';

/** A module's executable mappings, each with its bytes in a decoder buffer (free them when done). */
export type ModuleCode = Array<{ region: Region; buffer: CodeBuffer }>;

/** `m`'s executable mappings, each with its bytes in a decoder buffer; undefined when too large or unreadable. */
export function moduleCode(space: AddressSpace, m: ModuleImage): ModuleCode | undefined {
  const regions = space.regions().filter((r) => r.module === m && r.exec);
  if (regions.reduce((n, r) => n + r.end - r.start, 0) > MAX_CODE_BYTES) return undefined;
  const out: ModuleCode = [];
  for (const r of regions) {
    const bytes = space.readMemory(r.start, r.end - r.start);
    if (!bytes) {
      for (const c of out) c.buffer.free();
      return undefined;
    }
    out.push({ region: r, buffer: new CodeBuffer(bytes, r.start) });
  }
  return out;
}


/**
 * Follows the value a load put in `reg` from `ip` through the code, as a set of registers holding it: the offsets read
 * through it ([offset, size] of reads at a constant displacement from it), or 'escapes' for any other use of it
 * (passed to a call or a system call, stored, indexed, offset with lea, kept across a return or an indirect jump).
 */
export function followValue(decode: Decode, ip: number, reg: number, returnsTo?: readonly number[]): SlotReads {
  const reads: Array<[number, number]> = [];
  // Seen registers per address and depth in the chain of returns (the same code can run in two frames).
  const seen = new Map<string, number>();
  const work: Array<{ ip: number; held: number; depth: number }> = [{ ip, held: bit(reg), depth: 0 }];
  let steps = 0;
  while (work.length > 0) {
    const item = work.pop()!;
    let at = item.ip;
    let held = item.held;
    const depth = item.depth;
    for (;;) {
      if (held === 0) break;
      const key = `${at}:${depth}`;
      const before = seen.get(key) ?? 0;
      if ((before | held) === before) break;
      seen.set(key, before | held);
      held |= before;
      if (++steps > MAX_STEPS) return 'escapes';
      const result: { r: StepResult | undefined } = { r: undefined };
      const heldNow = held;
      if (!decode(at, (v) => (result.r = step(v, heldNow, reads, returnsTo !== undefined && depth < returnsTo.length)))) return 'escapes';
      const r = result.r;
      if (r === undefined || r === 'escapes') return 'escapes';
      held = r.held;
      if (r.returns) {
        // Back in the caller's frame, where it resumes: only the return registers still hold what they held.
        if (held) work.push({ ip: returnsTo![depth], held, depth: depth + 1 });
        break;
      }
      if (r.next.length === 0) break;
      for (const n of r.next.slice(1)) work.push({ ip: n, held, depth });
      at = r.next[0];
    }
  }
  return reads;
}

/** Decodes the instruction at `ip` for `visit`; false when its bytes cannot be read or decoded. */
export type Decode = (ip: number, visit: (v: InstructionView) => void) => boolean;

/** A Decode over the buffers of a module's code (moduleCode). */
export function decodeIn(code: ModuleCode, decoder: CodeDecoder): Decode {
  return (ip, visit) => {
    const c = code.find((x) => ip >= x.region.start && ip < x.region.end);
    if (!c) return false;
    let ok = false;
    decoder.decodeRange(c.buffer, ip, ip + 1, (v) => {
      ok = true;
      visit(v);
      return 'stop';
    });
    return ok;
  };
}

/** A Decode reading each instruction's bytes where it is (the module's file, else live memory): for a few paths. */
export function decodeAnywhere(space: AddressSpace, decoder: CodeDecoder): Decode {
  return (ip, visit) => {
    const region = space.regionAt(ip);
    if (!region?.exec) return false;
    const m = region.module;
    const bytes = (m && m.elf.tryReadVirtual(ip - m.bias, Math.min(16, region.end - ip))) ?? space.readMemory(ip, Math.min(16, region.end - ip));
    if (!bytes) return false;
    let ok = false;
    decoder.decodeLinear(bytes, ip, (v) => {
      ok = true;
      visit(v);
      return 'stop';
    });
    return ok;
  };
}

/** A general-purpose register (its full iced register) as one bit of a set of registers; 0 for any other. */
export const bit = (reg: number): number => {
  const i = GPR_INDEX.get(reg);
  return i === undefined ? 0 : 1 << i;
};
const GPR_INDEX = new Map<number, number>([R.RAX, R.RCX, R.RDX, R.RBX, R.RSP, R.RBP, R.RSI, R.RDI, R.R8, R.R9, R.R10, R.R11, R.R12, R.R13, R.R14, R.R15].map((r, i) => [r, i]));
/** The argument registers a callee may read, as bits (argumentReads.ts too). */
export const ARGUMENTS = ARGUMENT_REGISTERS.reduce((m, r) => m | bit(r), 0);
/** The registers a system call reads its number and arguments from, as bits. */
export const SYSCALL_ARGUMENTS = [R.RAX, R.RDI, R.RSI, R.RDX, R.R10, R.R8, R.R9].reduce((m, r) => m | bit(r), 0);
const SYSCALL_CLOBBERS = bit(R.RCX) | bit(R.R11) | bit(R.RAX);
const RETURNED = bit(R.RAX) | bit(R.RDX);
/** The caller-saved registers, as bits. */
export const CALLER_SAVED = CALLER_SAVED_REGISTERS.reduce((m, r) => m | bit(r), 0);

/** One instruction of followValue: the registers holding the value after it and where execution goes, or 'escapes'. */
type StepResult = { held: number; next: number[]; returns?: true } | 'escapes';

function step(v: InstructionView, held: number, reads: Array<[number, number]>, mayReturn: boolean): StepResult {
  const flow = v.info.flow;
  const mnemonic = v.info.mnemonic;
  const uses = v.uses();
  // Registers read as memory bases and indexes (counted once each use).
  let asAddress = 0;
  for (const m of uses.memory) {
    const b = m.base >= 0 ? bit(m.base) : 0;
    const x = m.index >= 0 ? bit(m.index) : 0;
    if (x & held) return 'escapes';
    if (!(b & held)) continue;
    // An index (`[rax+rcx*8]`) can reach any word; lea makes a pointer into the chunk.
    if (m.index !== -1 || m.address || m.size <= 0) return 'escapes';
    if (m.read) reads.push([m.displacement, m.size]);
    asAddress |= b;
  }
  let after = held;
  for (const r of uses.registers) {
    const b = bit(r.full);
    if (r.read && b & held && !(asAddress & b)) {
      // A copy into another register keeps following the value there; compares and tests only set flags.
      const copy = mnemonic === M.Mov && r.size === 8 && v.opCount() === 2 && v.opFullRegister(1) === r.full && v.opFullRegister(0) !== undefined && v.opRegisterSize(0) === 8;
      if (copy) after |= bit(v.opFullRegister(0)!);
      else if (mnemonic !== M.Cmp && mnemonic !== M.Test) return 'escapes';
    }
  }
  for (const r of uses.registers) {
    const b = bit(r.full);
    if (!r.write || !(b & after)) continue;
    const copied = mnemonic === M.Mov && v.opFullRegister(0) === r.full && v.opCount() === 2 && v.opFullRegister(1) !== undefined && (bit(v.opFullRegister(1)!) & held) !== 0;
    if (copied) continue;
    // A partial write leaves part of the pointer: count it as escaping rather than guess what is left.
    if (r.conditional || r.size < 4) return 'escapes';
    after &= ~b;
  }
  const nextIp = v.nextIp;
  // A system call reads its arguments from registers iced does not list (rax, rdi, rsi, rdx, r10, r8, r9), and
  // clobbers rcx and r11.
  if (mnemonic === M.Syscall) {
    if (after & SYSCALL_ARGUMENTS) return 'escapes';
    return { held: after & ~SYSCALL_CLOBBERS, next: [v.nextIp] };
  }
  // int 0x80 and sysenter take theirs elsewhere (ebx, ecx, ebp…): any value followed escapes.
  if ((mnemonic === M.Sysenter || mnemonic === M.Int) && after) return 'escapes';
  switch (flow) {
    case Flow.Next:
      return { held: after, next: [nextIp] };
    case Flow.Call:
    case Flow.IndirectCall:
      if (after & ARGUMENTS) return 'escapes';
      return { held: after & ~CALLER_SAVED, next: [nextIp] };
    case Flow.ConditionalBranch: {
      const t = v.directTarget();
      return t === undefined ? 'escapes' : { held: after, next: [nextIp, t] };
    }
    case Flow.UnconditionalBranch: {
      const t = v.directTarget();
      return t === undefined ? 'escapes' : { held: after, next: [t] };
    }
    case Flow.Interrupt:
    case Flow.Exception:
      return { held: after, next: [] };
    case Flow.Return:
      // Into the caller's frame (when it is known: a live frame's chain) in the return registers; the other
      // caller-saved registers are dead there, and a callee-saved one still held was not restored (no ABI code).
      if (!after) return { held: 0, next: [] };
      if (!mayReturn || after & ~CALLER_SAVED) return 'escapes';
      return { held: after & RETURNED, next: [], returns: true };
    default:
      // Indirect jump, transactions: the value would leave what can be followed.
      return after ? 'escapes' : { held: after, next: [] };
  }
}
