// The registers and memory operands one instruction uses, and how, from iced's instruction info: what a value is
// followed through (trace/heapTables.ts) needs, beyond the decoder's per-opcode tables.

import * as iced from 'iced-x86';
import { FULL_GPR, REGISTER_COUNT, REGISTER_SIZE } from './codeInfo';

const OA = iced.OpAccess;
const R = iced.Register;

/** A general-purpose register an instruction uses (its full register and the size used). */
export interface RegisterUse {
  full: number;
  size: number;
  read: boolean;
  write: boolean;
  conditional: boolean;
}

/** A memory operand an instruction uses: base and index as full registers (-1 none, -2 rip), `address` for lea. */
export interface MemoryUse {
  base: number;
  index: number;
  displacement: number;
  size: number;
  read: boolean;
  write: boolean;
  address: boolean;
}

export interface InstructionUses {
  registers: RegisterUse[];
  memory: MemoryUse[];
}

let factory: iced.InstructionInfoFactory | undefined;

/** How an operand is accessed, from iced's OpAccess. */
function accessOf(a: number): { read: boolean; write: boolean; conditional: boolean } {
  return {
    read: a === OA.Read || a === OA.CondRead || a === OA.ReadWrite || a === OA.ReadCondWrite,
    write: a === OA.Write || a === OA.CondWrite || a === OA.ReadWrite || a === OA.ReadCondWrite,
    conditional: a === OA.CondWrite || a === OA.ReadCondWrite,
  };
}

const gpr = (r: number): number => (r === R.RIP ? -2 : r < REGISTER_COUNT ? FULL_GPR[r] : -1);

/**
 * Every general-purpose register and memory operand `ins` uses, and how: implicit uses too, and memory bases and
 * indexes also as register reads. Slow (a wasm call per use): for the few instructions a value is followed through.
 */
export function instructionUses(ins: iced.Instruction): InstructionUses {
  factory ??= new iced.InstructionInfoFactory();
  const info = factory.info(ins);
  const registers: RegisterUse[] = [];
  const memory: MemoryUse[] = [];
  try {
    for (const u of info.usedRegisters() as iced.UsedRegister[]) {
      const full = gpr(u.register);
      if (full >= 0) registers.push({ full, size: REGISTER_SIZE[u.register], ...accessOf(u.access) });
      u.free();
    }
    for (const u of info.usedMemory() as iced.UsedMemory[]) {
      memory.push({ base: gpr(u.base), index: gpr(u.index), displacement: Number(BigInt.asIntN(64, u.displacement)), size: iced.MemorySizeExt.size(u.memorySize), address: u.access === OA.NoMemAccess, ...accessOf(u.access) });
      u.free();
    }
  } finally {
    info.free();
  }
  return { registers, memory };
}
