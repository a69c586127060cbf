// The x86-64 decoder wrapper over iced-x86: linear decoding of a byte range with a reusable instruction,
// per-opcode facts cached in JS (codeInfo.ts: canonical features, flow control), and the few operand details the
// analyses need (branch targets, absolute memory/immediate addresses, registers). wasm objects are freed.

import * as iced from 'iced-x86';

export { CALLEE_SAVED_REGISTERS, CALLER_SAVED_REGISTERS, type CodeInfo, Flow, fullRegister, isHighByteRegister, MNEMONIC, REGISTER, REGISTER_RDI, REGISTER_RSI, SIMPLE } from './codeInfo';
import { type InstructionUses, instructionUses } from './uses';
import { type CodeInfo, codeInfo, codeInfoCache, Flow, FULL_GPR, IMPLICIT_WRITERS, REGISTER_COUNT, REGISTER_SIZE, REL_BRANCH, SIMPLE } from './codeInfo';
export { firstOperandMayBeGpr } from './operandNames';
import { icedDecoding } from './icedCalls';

const OK = iced.OpKind;
const R = iced.Register;

/** Operands of a simple-form instruction, parsed from its bytes (one shared object, overwritten). */
export interface SimpleOperands {
  /** The register operand (full 64-bit register number in iced's numbering), or -1. */
  reg: number;
  /** Register operand size in bytes (4 or 8). */
  regSize: number;
  /** True when the r/m operand is memory. */
  isMemory: boolean;
  /** Memory base and index registers (full, iced numbering) or -1; `rip` true for [rip+disp]. */
  base: number;
  index: number;
  rip: boolean;
  disp: number;
  /** A segment override (fs/gs) makes the memory operand thread-relative, never an absolute address. */
  segmented: boolean;
  /** The absolute address of the memory operand when it does not depend on registers, else undefined. */
  absolute: number | undefined;
  /** The immediate (zero/sign-extended like the CPU does for this form), or undefined. */
  imm: number | undefined;
}

/** The one-byte opcodes each simple form may have (anything else falls back to iced). */
const SIMPLE_OPCODE_OK: Record<number, (op: number) => boolean> = {
  1: (op) => op === 0x8b || op === 0x8d || op === 0x63,
  2: (op) => op === 0x89,
  3: (op) => op === 0xc7,
  4: (op) => op >= 0xb8 && op <= 0xbf,
  5: (op) => op === 0x68,
};

const SIMPLE_OUT: SimpleOperands = { reg: -1, regSize: 8, isMemory: false, base: -1, index: -1, rip: false, disp: 0, segmented: false, absolute: undefined, imm: undefined };

function u64At(b: Uint8Array, o: number): number | undefined {
  const lo = i32(b, o) >>> 0;
  const hi = i32(b, o + 4) >>> 0;
  // Values at or above 2^53 are never user-space addresses.
  return hi >= 0x200000 ? undefined : hi * 0x1_0000_0000 + lo;
}

function i32(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
}

/**
 * A view of the instruction being visited. Valid only inside the visitor callback; the getters query the
 * underlying iced instruction lazily so the hot loop pays only for what the analysis asks.
 */
export class InstructionView {
  ip = 0;
  length = 0;
  info!: CodeInfo;
  /** The bytes being decoded and the offset of this instruction in them. */
  bytes: Uint8Array = new Uint8Array(0);
  offset = 0;
  /** @internal */ constructor(private readonly ins: iced.Instruction) {}

  get nextIp(): number {
    return this.ip + this.length;
  }
  /** Target of a direct near branch/call (rel8/rel32), or undefined. */
  directTarget(): number | undefined {
    // The common encodings end with their displacement: read it from the bytes (no wasm call, no BigInt).
    const size = REL_BRANCH.get(this.info.code);
    if (size !== undefined) {
      const end = this.offset + this.length;
      const b = this.bytes;
      const disp = size === 1 ? (b[end - 1] << 24) >> 24 : b[end - 4] | (b[end - 3] << 8) | (b[end - 2] << 16) | (b[end - 1] << 24);
      const t = this.ip + this.length + disp;
      if (t >= 0) return t;
    }
    return this.icedDirectTarget();
  }
  /** directTarget() as iced computes it (for encodings the byte reader does not cover, and cross-checks). */
  icedDirectTarget(): number | undefined {
    if (this.ins.op0Kind !== OK.NearBranch64) return undefined;
    return Number(this.ins.nearBranchTarget);
  }
  /** The register of an indirect `call/jmp reg`, or undefined when the operand is memory or a branch. */
  branchRegister(): number | undefined {
    return this.ins.op0Kind === OK.Register ? this.ins.op0Register : undefined;
  }
  /** True if operand `i` is a memory operand. */
  isMemoryOperand(i: number): boolean {
    return (i === 0 ? this.ins.op0Kind : i === 1 ? this.ins.op1Kind : this.ins.opKind(i)) === OK.Memory;
  }
  opCount(): number {
    return this.ins.opCount;
  }
  opRegister(i: number): number | undefined {
    return this.ins.opKind(i) === OK.Register ? this.ins.opRegister(i) : undefined;
  }
  memoryBase(): number {
    return this.ins.memoryBase;
  }
  memoryIndex(): number {
    return this.ins.memoryIndex;
  }
  /** The scale of the memory operand's index register (1, 2, 4 or 8). */
  memoryIndexScale(): number {
    return this.ins.memoryIndexScale;
  }
  /** Displacement of the memory operand, as a signed number (for `[reg+disp]`). */
  memoryDisplacement(): number {
    return Number(BigInt.asIntN(64, this.ins.memoryDisplacement));
  }
  /**
   * The absolute address of the memory operand when it does not depend on registers: `[rip+X]`, or a bare
   * 32-bit displacement (non-PIE code). Undefined otherwise.
   */
  absoluteMemoryAddress(): number | undefined {
    const base = this.ins.memoryBase;
    if (base === R.RIP) return Number(this.ins.ipRelMemoryAddress);
    if (base === R.None && this.ins.memoryIndex === R.None && this.ins.memoryDisplSize >= 4) {
      // fs:/gs:[disp] is thread-local storage, not an absolute address.
      const seg = this.ins.segmentPrefix;
      if (seg === R.FS || seg === R.GS) return undefined;
      return Number(BigInt.asUintN(64, this.ins.memoryDisplacement));
    }
    return undefined;
  }
  /** The value of an immediate operand that can hold an address (imm32 sign/zero-extended, imm64). */
  addressImmediate(): number | undefined {
    const n = this.ins.opCount;
    for (let i = 0; i < n; i++) {
      const k = this.ins.opKind(i);
      if (k === OK.Immediate64 || k === OK.Immediate32to64 || k === OK.Immediate32) {
        return Number(BigInt.asUintN(64, this.ins.immediate(i)));
      }
    }
    return undefined;
  }
  /** The signed value of operand `i` when it is an immediate of any width (`add rsp, 0x28`), else undefined. */
  immediateOperand(i: number): number | undefined {
    const k = this.ins.opKind(i);
    if (k < OK.Immediate8 || k > OK.Immediate32to64) return undefined;
    return Number(BigInt.asIntN(64, this.ins.immediate(i)));
  }
  /** The size in bytes of the memory operand (movzx/movsxd source width), 0 when none. */
  memorySize(): number {
    return iced.MemorySizeExt.size(this.ins.memorySize);
  }
  /**
   * The full 64-bit general-purpose registers this instruction writes (explicitly or implicitly), from
   * iced's instruction info. Slower than the other getters: call it only while tracking register values.
   */
  writtenRegisters(): number[] {
    const info = infoFactory().info(this.ins);
    const out: number[] = [];
    try {
      for (const used of info.usedRegisters() as iced.UsedRegister[]) {
        const access = used.access;
        const reg = used.register;
        used.free();
        if (access === OA.Write || access === OA.CondWrite || access === OA.ReadWrite || access === OA.ReadCondWrite) {
          const f = reg < REGISTER_COUNT ? FULL_GPR[reg] : -1;
          if (f >= 0) out.push(f);
        }
      }
    } finally {
      info.free();
    }
    return out;
  }
  /** The registers and memory operands this instruction uses, and how (slow: see instructionUses). */
  uses(): InstructionUses {
    return instructionUses(this.ins);
  }
  /**
   * writtenRegisters() for an instruction with implicit writes, with `pop r64` (the common case: every
   * epilogue) answered without iced's instruction info: it writes its register and rsp.
   */
  implicitlyWrittenRegisters(): number[] {
    if (this.info.code === CODE_POP_R64) {
      const r = this.opFullRegister(0);
      if (r !== undefined) return [r, R.RSP];
    }
    return this.writtenRegisters();
  }
  /**
   * Parses the operands of a simple-form instruction (info.simpleForm ≠ 0) from its bytes. Returns a
   * shared object (valid until the next call), or undefined for an encoding it does not handle (the
   * caller then asks iced).
   */
  simpleOperands(): SimpleOperands | undefined {
    const form = this.info.simpleForm;
    if (form === 0) return undefined;
    const b = this.bytes;
    const end = this.offset + this.length;
    let i = this.offset;
    let rex = 0;
    let segmented = false;
    for (;;) {
      const p = b[i];
      if (p === 0x2e || p === 0x3e || p === 0x26 || p === 0x36) i++;
      else if (p === 0x66 || p === 0x67 || p === 0xf0 || p === 0xf2 || p === 0xf3) return undefined;
      else if (p === 0x64 || p === 0x65) {
        segmented = true;
        i++;
      } else break;
      if (i >= end) return undefined;
    }
    if ((b[i] & 0xf0) === 0x40) rex = b[i++];
    const opcode = b[i++];
    if (!SIMPLE_OPCODE_OK[form](opcode)) return undefined;
    const out = SIMPLE_OUT;
    out.segmented = segmented;
    out.absolute = undefined;
    out.imm = undefined;
    out.isMemory = false;
    out.base = -1;
    out.index = -1;
    out.rip = false;
    out.disp = 0;
    out.regSize = rex & 8 ? 8 : 4;
    if (form === SIMPLE.regImm) {
      out.reg = R.RAX + ((opcode & 7) | (rex & 1 ? 8 : 0));
      out.imm = rex & 8 ? u64At(b, i) : i32(b, i) >>> 0;
      return i + (rex & 8 ? 8 : 4) === end ? out : undefined;
    }
    if (form === SIMPLE.pushImm) {
      out.reg = -1;
      const v = i32(b, i);
      out.imm = v < 0 ? undefined : v; // sign-extended to 64 bits: negative values are not addresses
      return i + 4 === end ? out : undefined;
    }
    const modrm = b[i++];
    const mod = modrm >> 6;
    const rm = modrm & 7;
    out.reg = form === SIMPLE.rmImm ? -1 : R.RAX + (((modrm >> 3) & 7) | (rex & 4 ? 8 : 0));
    if (mod === 3) {
      // Register-direct r/m: report it as the base register of a non-memory operand.
      out.base = R.RAX + (rm | (rex & 1 ? 8 : 0));
    } else {
      out.isMemory = true;
      let noBase = false;
      if (rm === 4) {
        const sib = b[i++];
        const idx = ((sib >> 3) & 7) | (rex & 2 ? 8 : 0);
        if (idx !== 4) out.index = R.RAX + idx;
        if ((sib & 7) === 5 && mod === 0) noBase = true;
        else out.base = R.RAX + ((sib & 7) | (rex & 1 ? 8 : 0));
      } else if (rm === 5 && mod === 0) {
        out.rip = true;
      } else out.base = R.RAX + (rm | (rex & 1 ? 8 : 0));
      if (mod === 1) out.disp = (b[i++] << 24) >> 24;
      else if (mod === 2 || out.rip || noBase) {
        out.disp = i32(b, i);
        i += 4;
      }
      if (!segmented) {
        if (out.rip) out.absolute = this.ip + this.length + out.disp;
        else if (noBase && out.index === -1) out.absolute = out.disp >>> 0;
      }
    }
    if (form === SIMPLE.rmImm) {
      const v = i32(b, i);
      // MOV r/m64, imm32 sign-extends; MOV r/m32, imm32 stores 32 bits.
      out.imm = rex & 8 ? (v < 0 ? undefined : v) : v >>> 0;
      i += 4;
    }
    return i === end ? out : undefined;
  }

  /** The full 64-bit register of operand `i` when it is a general-purpose register. */
  opFullRegister(i: number): number | undefined {
    // op0Register/op1Register answer Register.None for non-register operands: one wasm call, not two.
    const reg = i === 0 ? this.ins.op0Register : i === 1 ? this.ins.op1Register : this.ins.opKind(i) === OK.Register ? this.ins.opRegister(i) : R.None;
    const f = reg < REGISTER_COUNT ? FULL_GPR[reg] : -1;
    return f >= 0 ? f : undefined;
  }
  /** The register size in bytes of operand `i` (for `mov r32, imm32` zero-extension). */
  opRegisterSize(i: number): number {
    const reg = this.ins.opRegister(i);
    return reg < REGISTER_COUNT ? REGISTER_SIZE[reg] : 0;
  }
  /**
   * Full general-purpose registers this instruction may write: exact (from iced's instruction info) for
   * instructions with implicit register writes, else its first operand when that is a register. May
   * over-approximate (a `cmp` "writes" its first register), never under-approximate.
   */
  clobberedRegisters(): number[] {
    if (IMPLICIT_WRITERS.has(this.info.mnemonic)) return this.implicitlyWrittenRegisters();
    const r = this.opFullRegister(0);
    return r === undefined ? NO_REGISTERS : [r];
  }
  /** True when clobberedRegisters() needs iced's full instruction info (implicit writes). */
  get hasImplicitWrites(): boolean {
    return IMPLICIT_WRITERS.has(this.info.mnemonic);
  }
  /** Intel-syntax text of the instruction (slow; for reports only). */
  format(): string {
    return formatter().format(this.ins);
  }
}

const OA = iced.OpAccess;
const CODE_POP_R64: number = iced.Code.Pop_r64;
/**
 * iced Codes of `cmp r/m, imm` and `cmp al/ax/eax/rax, imm` (all operand sizes): the immediate's size in bytes,
 * negative when it is sign-extended to a wider operand (imm8 of a 16/32/64-bit compare).
 */
export const CMP_IMMEDIATE_SIZE: ReadonlyMap<number, number> = new Map([
  [iced.Code.Cmp_AL_imm8, 1],
  [iced.Code.Cmp_rm8_imm8, 1],
  [iced.Code.Cmp_AX_imm16, 2],
  [iced.Code.Cmp_rm16_imm16, 2],
  [iced.Code.Cmp_EAX_imm32, 4],
  [iced.Code.Cmp_RAX_imm32, -4],
  [iced.Code.Cmp_rm32_imm32, 4],
  [iced.Code.Cmp_rm64_imm32, -4],
  [iced.Code.Cmp_rm16_imm8, -1],
  [iced.Code.Cmp_rm32_imm8, -1],
  [iced.Code.Cmp_rm64_imm8, -1],
]);
/**
 * The register, its size in bytes and the immediate of a `cmp reg, imm` (the bytes of an instruction whose iced Code
 * is in CMP_IMMEDIATE_SIZE), read from the bytes so that the many compares of a walk cost no call into iced;
 * undefined for a memory operand or a high-byte register (ah, ch, dh, bh). The immediate is sign-extended when the
 * instruction extends it, else unsigned (a 4-byte one of 2^31 or more reads negative).
 */
export function cmpRegisterImmediate(b: Uint8Array, offset: number, length: number, code: number): { reg: number; size: number; imm: number } | undefined {
  const immSize = CMP_IMMEDIATE_SIZE.get(code);
  if (immSize === undefined) return undefined;
  const end = offset + length;
  let i = offset;
  let operand16 = false;
  for (; i < end; i++) {
    const x = b[i];
    if (x === 0x66) operand16 = true;
    else if (!LEGACY_PREFIXES.has(x)) break;
  }
  const rex = (b[i] & 0xf0) === 0x40 ? b[i++] : 0;
  const op = b[i];
  let rm = 0;
  if (op !== 0x3c && op !== 0x3d) {
    const modrm = b[i + 1];
    if (modrm >> 6 !== 3) return undefined;
    rm = (modrm & 7) | (rex & 1 ? 8 : 0);
  }
  const byteOperand = op === 0x3c || op === 0x80;
  if (byteOperand && !rex && rm >= 4) return undefined;
  const size = byteOperand ? 1 : rex & 8 ? 8 : operand16 ? 2 : 4;
  let imm: number;
  if (immSize === 1) imm = b[end - 1];
  else if (immSize === -1) imm = (b[end - 1] << 24) >> 24;
  else if (immSize === 2) imm = b[end - 2] | (b[end - 1] << 8);
  else imm = b[end - 4] | (b[end - 3] << 8) | (b[end - 2] << 16) | (b[end - 1] << 24);
  return { reg: iced.Register.RAX + rm, size, imm };
}
const LEGACY_PREFIXES = new Set([0x67, 0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65]);
/** iced Code of `push r64`: no memory operand, no immediate, writes only rsp. */
export const CODE_PUSH_R64: number = iced.Code.Push_r64;
const NO_REGISTERS: number[] = [];
let sharedInfoFactory: iced.InstructionInfoFactory | undefined;
function infoFactory(): iced.InstructionInfoFactory {
  if (!sharedInfoFactory) sharedInfoFactory = new iced.InstructionInfoFactory();
  return sharedInfoFactory;
}

let sharedFormatter: iced.Formatter | undefined;
function formatter(): iced.Formatter {
  if (!sharedFormatter) sharedFormatter = new iced.Formatter(iced.FormatterSyntax.Intel);
  return sharedFormatter;
}

/** Bytes to decode many ranges from, copied into one iced decoder once. Call free() when done. */
export class CodeBuffer {
  readonly decoder: iced.Decoder;
  constructor(
    readonly bytes: Uint8Array,
    /** Address of bytes[0]. */
    readonly ip: number,
  ) {
    this.decoder = new iced.Decoder(64, bytes, iced.DecoderOptions.None);
  }
  contains(start: number, end: number): boolean {
    return start >= this.ip && end <= this.ip + this.bytes.length;
  }
  free(): void {
    this.decoder.free();
  }
}

/** The wasm-bindgen object handle of iced's classes. */

/** What the visitor returns: 'stop' ends decoding of this range early. */
export type VisitResult = void | 'stop';

/**
 * Decodes x86-64 code. One CodeDecoder holds one reusable iced Instruction; call free() when done.
 * Not re-entrant: do not decode from inside a visitor of the same decoder.
 */
export class CodeDecoder {
  private readonly ins = new iced.Instruction();
  private readonly view = new InstructionView(this.ins);
  /** Instructions decoded over this decoder's lifetime. */
  decoded = 0;
  /** Invalid encodings met (decoding resumes one byte later). */
  invalid = 0;

  /**
   * Decodes `bytes` (which start at address `ip`) from `start` (an address inside the range) to the
   * end, calling `visit` for each instruction. Invalid bytes are skipped one at a time and counted.
   */
  decodeLinear(bytes: Uint8Array, ip: number, visit: (v: InstructionView) => VisitResult, start = ip): void {
    if (bytes.length === 0) return;
    const decoder = new iced.Decoder(64, bytes, iced.DecoderOptions.None);
    try {
      this.run(decoder, bytes, ip, start - ip, bytes.length, visit);
    } finally {
      decoder.free();
    }
  }

  /**
   * Decodes [start, end) of a CodeBuffer (bytes copied into the decoder once for many ranges). An
   * instruction that starts before `end` is decoded whole.
   */
  decodeRange(buffer: CodeBuffer, start: number, end: number, visit: (v: InstructionView) => VisitResult): void {
    const from = start - buffer.ip;
    const to = Math.min(end - buffer.ip, buffer.bytes.length);
    if (from < 0 || from >= to) return;
    this.run(buffer.decoder, buffer.bytes, buffer.ip, from, to, visit);
  }

  private run(decoder: iced.Decoder, bytes: Uint8Array, ip: number, startPos: number, endPos: number, visit: (v: InstructionView) => VisitResult): void {
    const view = this.view;
    const ins = this.ins;
    const n = bytes.length;
    let pos = startPos;
    if (pos < 0 || pos >= endPos) return;
    decoder.position = pos;
    decoder.ip = BigInt(ip + pos);
    // Handles for icedDecoding() (raw pointers stay valid while the decoder and the instruction are alive).
    const D = icedDecoding();
    const decoderHandle = D.handle(decoder);
    const insHandle = D.handle(ins);
    while (pos < endPos) {
      D.decodeOut(decoderHandle, insHandle);
      const code = D.code(insHandle);
      if (code === 0 /* Code.INVALID */) {
        // A truncated last instruction ends the range; an invalid one is skipped one byte at a time.
        if (decoder.lastError === iced.DecoderError.NoMoreBytes) break;
        this.invalid++;
        pos += 1;
        if (pos >= endPos || pos >= n) break;
        decoder.position = pos;
        decoder.ip = BigInt(ip + pos);
        continue;
      }
      const len = D.length(insHandle);
      this.decoded++;
      view.ip = ip + pos;
      view.length = len;
      view.bytes = bytes;
      view.offset = pos;
      view.info = codeInfoCache[code] ?? codeInfo(ins);
      pos += len;
      if (visit(view) === 'stop') return;
    }
  }

  free(): void {
    this.ins.free();
  }
}

/** Decodes one instruction at `ip` from `bytes` (for tests and reports); undefined if invalid. */
export function decodeOne(bytes: Uint8Array, ip = 0): { info: CodeInfo; length: number; text: string } | undefined {
  const d = new CodeDecoder();
  let out: { info: CodeInfo; length: number; text: string } | undefined;
  try {
    d.decodeLinear(bytes, ip, (v) => {
      out = { info: v.info, length: v.length, text: v.format() };
      return 'stop';
    });
  } finally {
    d.free();
  }
  return out;
}
