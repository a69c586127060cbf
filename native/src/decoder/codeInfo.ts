// Per-opcode facts of the decoder, computed once per iced Code and cached in JS tables: flow control, canonical
// features, register writes and simple operand forms, plus the register and mnemonic constants the analyses use.

import * as iced from 'iced-x86';
import type { Feature } from '../features/vocabulary';
import { icedFeatureMeaning } from '../features/iced';
import { firstOperandMayBeGpr } from './operandNames';

export enum Flow {
  Next = 0,
  UnconditionalBranch = 1,
  IndirectBranch = 2,
  ConditionalBranch = 3,
  Return = 4,
  Call = 5,
  IndirectCall = 6,
  Interrupt = 7,
  XbeginXabortXend = 8,
  Exception = 9,
}

/** Facts that depend only on the opcode (iced `Code`), computed once per code and cached. */
export interface CodeInfo {
  readonly code: number;
  readonly mnemonic: number;
  readonly flow: Flow;
  /** Canonical features the target must have for this instruction (baseline and NOP-compatible removed). */
  readonly features: readonly Feature[];
  /** True when the instruction runs as a NOP/hint on CPUs without its feature (endbr64, pause, rdssp...). */
  readonly nopCompatible: boolean;
  /**
   * Which general-purpose registers it may write: 0 none, 1 at most its first operand (when that is a
   * register), 2 others too (implicit writes: ask iced's instruction info). Over-approximates.
   */
  readonly gprWrite: 0 | 1 | 2;
  /** The opcode shape the JS operand parser understands (see parseSimpleOperands), or 0. */
  readonly simpleForm: number;
}

const M = iced.Mnemonic;
const R = iced.Register;
const CPUID_NAMES: Record<number, string> = iced.CpuidFeature as unknown as Record<number, string>;

const NOP_MNEMONICS = new Set<number>([M.Rdsspd, M.Rdsspq, M.Nop, M.Pause, M.Endbr64, M.Endbr32]);
const LAHF_SAHF = new Set<number>([M.Lahf, M.Sahf]);

export const MNEMONIC = {
  lea: M.Lea,
  mov: M.Mov,
  push: M.Push,
  pop: M.Pop,
  movsxd: M.Movsxd,
  add: M.Add,
  cmp: M.Cmp,
  ja: M.Ja,
  jae: M.Jae,
  movzx: M.Movzx,
  call: M.Call,
  jmp: M.Jmp,
  xbegin: M.Xbegin,
  cpuid: M.Cpuid,
  xgetbv: M.Xgetbv,
} as const;

export const REGISTER = { none: R.None, rip: R.RIP, rsp: R.RSP } as const;
export const REGISTER_RDI: number = R.RDI;
/** True for ah, ch, dh, bh: bits 8-15 of their full register, not its low byte. */
export function isHighByteRegister(reg: number): boolean {
  return reg >= R.AH && reg <= R.BH;
}
export const REGISTER_RSI: number = R.RSI;
export const REGISTER_RCX: number = R.RCX;

/** The System V caller-saved general-purpose registers (clobbered by calls). */
export const CALLER_SAVED_REGISTERS: readonly number[] = [R.RAX, R.RCX, R.RDX, R.RSI, R.RDI, R.R8, R.R9, R.R10, R.R11];
/** The System V callee-saved general-purpose registers (preserved across calls). */
export const CALLEE_SAVED_REGISTERS: readonly number[] = [R.RBX, R.RBP, R.R12, R.R13, R.R14, R.R15];

/** Register facts in JS tables (asking iced each time costs a wasm call): full GPR or -1, and size. */
export const REGISTER_COUNT = 256;
export const FULL_GPR = new Int16Array(REGISTER_COUNT).fill(-1);
export const REGISTER_SIZE = new Uint8Array(REGISTER_COUNT);
for (let r = 0; r < REGISTER_COUNT; r++) {
  if (iced.Register[r] === undefined) continue;
  REGISTER_SIZE[r] = iced.RegisterExt.size(r);
  if (iced.RegisterExt.isGPR(r)) FULL_GPR[r] = iced.RegisterExt.fullRegister(r);
}

/** The full 64-bit register of a general-purpose register (`eax` → `rax`); other registers unchanged. */
export function fullRegister(reg: number): number {
  const f = reg < REGISTER_COUNT ? FULL_GPR[reg] : -1;
  return f >= 0 ? f : reg;
}

/**
 * Mnemonics that write general-purpose registers other than (or besides) their first operand; for these
 * the exact written set comes from iced's instruction info. Every other instruction is assumed to write
 * at most its first operand.
 */
/** The iced mnemonics of these names (names iced does not know are left out). */
export function mnemonicsNamed(names: readonly string[]): Set<number> {
  return new Set(names.map((n) => (M as unknown as Record<string, number>)[n]).filter((v): v is number => typeof v === 'number'));
}

export const IMPLICIT_WRITERS = mnemonicsNamed(
  [
    'Xchg', 'Xadd', 'Cmpxchg', 'Cmpxchg8b', 'Cmpxchg16b', 'Mul', 'Imul', 'Div', 'Idiv', 'Mulx', 'Cpuid', 'Rdtsc',
    'Rdtscp', 'Rdpmc', 'Rdmsr', 'Syscall', 'Sysenter', 'Movsb', 'Movsw', 'Movsd', 'Movsq', 'Stosb', 'Stosw',
    'Stosd', 'Stosq', 'Lodsb', 'Lodsw', 'Lodsd', 'Lodsq', 'Scasb', 'Scasw', 'Scasd', 'Scasq', 'Cmpsb',
    'Cmpsw', 'Cmpsd', 'Cmpsq', 'Insb', 'Insw', 'Insd', 'Outsb', 'Outsw', 'Outsd', 'Cwd', 'Cdq', 'Cqo', 'Cbw',
    'Cwde', 'Cdqe', 'Lahf', 'Enter', 'Leave', 'Loop', 'Loope', 'Loopne', 'Xgetbv', 'Rdpkru', 'Xlatb', 'Pop',
    'Popf', 'Popfq', 'Push', 'Pushf', 'Pushfq', 'Call', 'Ret', 'Int', 'Int3', 'Xbegin', 'Xend', 'Xabort',
    'Rdsspq', 'Rdsspd', 'Pconfig', 'Enclu', 'Umwait', 'Tpause', 'Senduipi',
  ],
);

/** CodeInfo by iced Code (an array: the hot loop indexes it instead of hashing). */
export const codeInfoCache: Array<CodeInfo | undefined> = [];

function computeCodeInfo(ins: iced.Instruction): CodeInfo {
  const code = ins.code;
  const mnemonic = ins.mnemonic;
  const flow = ins.flowControl as number as Flow;
  const features: Feature[] = [];
  let nopCompatible = NOP_MNEMONICS.has(mnemonic);
  if (!nopCompatible) {
    const ids = ins.cpuidFeatures();
    let sawNop = false;
    for (const id of ids) {
      const meaning = icedFeatureMeaning(CPUID_NAMES[id] ?? `cpuid_${id}`);
      if (meaning === 'nop') sawNop = true;
      else if (meaning !== 'baseline' && !features.includes(meaning)) features.push(meaning);
    }
    if (LAHF_SAHF.has(mnemonic)) features.push('lahf_lm'); // valid in 64-bit mode only with LAHF-SAHF
    nopCompatible = sawNop && features.length === 0;
  }
  features.sort();
  const gprWrite: 0 | 1 | 2 = IMPLICIT_WRITERS.has(mnemonic) ? 2 : (mnemonic === M.Test || mnemonic === M.Cmp || mnemonic === M.Bt) ? 0 : firstOperandMayBeGpr(code) ? 1 : 0; // test/cmp/bt only read it
  return { code, mnemonic, flow, features: nopCompatible ? [] : features, nopCompatible, gprWrite, simpleForm: SIMPLE_FORMS.get(code) ?? 0 };
}

/**
 * Opcode shapes whose operands parseSimpleOperands reads straight from the bytes, so the hot path of the
 * analyses asks iced nothing more than the opcode: 1 = `op r, r/m` (MOV r,r/m; LEA; MOVSXD), 2 = `op r/m, r`
 * (MOV r/m,r), 3 = `op r/m, imm32` (MOV r/m,imm32), 4 = `op r, imm` (MOV r32,imm32 / MOV r64,imm64), 5 = PUSH imm32.
 */
export const SIMPLE = { regRm: 1, rmReg: 2, rmImm: 3, regImm: 4, pushImm: 5 } as const;
const SIMPLE_FORMS = new Map<number, number>([
  [iced.Code.Lea_r64_m, SIMPLE.regRm],
  [iced.Code.Lea_r32_m, SIMPLE.regRm],
  [iced.Code.Mov_r64_rm64, SIMPLE.regRm],
  [iced.Code.Mov_r32_rm32, SIMPLE.regRm],
  [iced.Code.Movsxd_r64_rm32, SIMPLE.regRm],
  [iced.Code.Mov_rm64_r64, SIMPLE.rmReg],
  [iced.Code.Mov_rm32_r32, SIMPLE.rmReg],
  [iced.Code.Mov_rm64_imm32, SIMPLE.rmImm],
  [iced.Code.Mov_rm32_imm32, SIMPLE.rmImm],
  [iced.Code.Mov_r32_imm32, SIMPLE.regImm],
  [iced.Code.Mov_r64_imm64, SIMPLE.regImm],
  [iced.Code.Pushq_imm32, SIMPLE.pushImm],
]);

/**
 * Size in bytes (1 or 4) of the displacement that ends a direct near branch of 64-bit code (jcc, jmp, call,
 * loop*, jrcxz), by iced Code: its target is computed from the bytes (nextIp + disp) without asking iced.
 */
export const REL_BRANCH = new Map<number, number>();
for (const [name, value] of Object.entries(iced.Code as unknown as Record<string, number>)) {
  if (typeof value !== 'number') continue;
  const m = /^(?:J[a-z]+|Call|Jmp|Loop[a-z]*)_rel(8|32)_64(?:_[ER]CX)?$/.exec(name);
  if (m) REL_BRANCH.set(value, m[1] === '8' ? 1 : 4);
}

/** The cached CodeInfo for the instruction currently held by `ins`. */
export function codeInfo(ins: iced.Instruction): CodeInfo {
  const code = ins.code;
  let info = codeInfoCache[code];
  if (!info) {
    info = computeCodeInfo(ins);
    codeInfoCache[code] = info;
  }
  return info;
}
