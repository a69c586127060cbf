// Decodes the helper's compact code objects into flat instruction arrays (opcode, arg, offset, stack effects,
// jump targets, positions, exception handlers), driven only by the decode model the interpreter sent.

import { NativeError } from '../../../native/src';
import { isLazyStub, type CodeEntry, type CompactCode, type DecodeModel, type PyConst } from './helperRecords';

/** Marks "no value" in the Int16/Int32 arrays below. */
export const NONE = -0x8000;

export interface ExceptionEntry {
  /** First protected instruction index. */
  start: number;
  /** One past the last protected instruction index. */
  end: number;
  /** Handler instruction index. */
  target: number;
  depth: number;
  lasti: boolean;
}

export interface DecodedCode {
  index: number;
  raw: CompactCode;
  /** Instruction count (EXTENDED_ARG prefixes and inline caches are folded away). */
  n: number;
  op: Uint8Array;
  arg: Int32Array;
  offset: Int32Array;
  /** dis.stack_effect(jump=False); NONE when the interpreter gave none. */
  effect: Int16Array;
  /** dis.stack_effect(jump=True) for jump instructions, else NONE. */
  jumpEffect: Int16Array;
  /** Jump target as an instruction index, -1 when not a jump. */
  target: Int32Array;
  /** Source positions (1-based lines, 0-based columns as CPython reports them); -1 when unknown. */
  line: Int32Array;
  col: Int32Array;
  endLine: Int32Array;
  endCol: Int32Array;
  exceptions: ExceptionEntry[];
  /** Names LOAD_FAST/STORE_FAST index (3.11+: localsplus). */
  localNames: string[];
  /** Names LOAD_DEREF indexes (3.11+: localsplus; before: cellvars + freevars). */
  freeNames: string[];
  /** Number of plain local variables (co_varnames). */
  nvarnames: number;
  /** co_names and co_consts (the raw entry's, here so the simulator reads them from one object shape). */
  names: string[];
  consts: PyConst[];
}

/** Scratch space for the first decoding pass (grown as needed, reused across code objects). */
let scratchOp = new Uint8Array(4096);
let scratchArg = new Int32Array(4096);
let scratchOffset = new Int32Array(4096);
let scratchUnit = new Int32Array(4097);

function ensureScratch(units: number): void {
  if (scratchOp.length >= units) return;
  const size = Math.max(units, scratchOp.length * 2);
  scratchOp = new Uint8Array(size);
  scratchArg = new Int32Array(size);
  scratchOffset = new Int32Array(size);
  scratchUnit = new Int32Array(size + 1);
}

/** The per-instruction arrays of one code object, in one buffer. */
interface InstructionArrays {
  op: Uint8Array;
  arg: Int32Array;
  offset: Int32Array;
  target: Int32Array;
  line: Int32Array;
  col: Int32Array;
  endLine: Int32Array;
  endCol: Int32Array;
  effect: Int16Array;
  jumpEffect: Int16Array;
}

/** One buffer for every per-instruction array of a code object (a slice of the module's arena); unknowns -1. */
function instructionArrays(n: number, arena: { buffer: ArrayBuffer; used: number } | undefined): InstructionArrays {
  const size = n * (4 * 9 + 1);
  let buffer: ArrayBuffer;
  let base = 0;
  if (arena && arena.used + size + 4 <= arena.buffer.byteLength) {
    buffer = arena.buffer;
    base = arena.used;
    arena.used += (size + 3) & ~3;
  } else buffer = new ArrayBuffer(size);
  const a: InstructionArrays = {
    arg: new Int32Array(buffer, base, n),
    offset: new Int32Array(buffer, base + 4 * n, n),
    target: new Int32Array(buffer, base + 8 * n, n),
    line: new Int32Array(buffer, base + 12 * n, n),
    col: new Int32Array(buffer, base + 16 * n, n),
    endLine: new Int32Array(buffer, base + 20 * n, n),
    endCol: new Int32Array(buffer, base + 24 * n, n),
    effect: new Int16Array(buffer, base + 28 * n, n),
    jumpEffect: new Int16Array(buffer, base + 30 * n, n),
    op: new Uint8Array(buffer, base + 36 * n, n),
  };
  a.target.fill(-1);
  a.line.fill(-1);
  a.col.fill(-1);
  a.endLine.fill(-1);
  a.endCol.fill(-1);
  return a;
}

/** Source positions per instruction: the 3.11+ location table, the 3.10 line table, or the older line starts. */
function instructionLines(raw: CompactCode, codeBytes: number, units: number, n: number, a: InstructionArrays): void {
  const unitToInstr = scratchUnit;
  const { offset, line } = a;
  if (raw.linetable !== undefined) decodeLocationTable(Buffer.from(raw.linetable, 'base64'), raw.firstlineno, units, offset, n, unitToInstr, line, a.col, a.endLine, a.endCol);
  else if (raw.lines) {
    for (const [start, end, ln] of raw.lines) {
      if (ln === null) continue;
      for (let i = unitToInstr[Math.min(start >> 1, units)]; i < n && offset[i] < end; i++) line[i] = ln;
    }
  } else if (raw.lineStarts) {
    const starts = raw.lineStarts;
    for (let s = 0; s < starts.length; s++) {
      const from = starts[s][0];
      const to = s + 1 < starts.length ? starts[s + 1][0] : codeBytes;
      for (let i = unitToInstr[Math.min(from >> 1, units)]; i < n && offset[i] < to; i++) line[i] = starts[s][1];
    }
  }
}

/** The 3.11+ exception table in instruction indexes (bounds-checked against the code). */
function exceptionTable(raw: CompactCode, codeBytes: number): ExceptionEntry[] {
  const unitToInstr = scratchUnit;
  const exceptions: ExceptionEntry[] = [];
  const table = raw.exceptions;
  if (table) {
    for (let i = 0; i + 4 < table.length; i += 5) {
      const start = table[i];
      const end = table[i + 1];
      const tgt = table[i + 2];
      if (start < 0 || end > codeBytes || start > end || tgt < 0 || tgt >= codeBytes) throw new NativeError('malformed', `Exception table entry outside the code of ${raw.qualname ?? raw.name}.`);
      exceptions.push({ start: unitToInstr[start >> 1], end: unitToInstr[end >> 1], target: unitToInstr[tgt >> 1], depth: table[i + 3], lasti: table[i + 4] !== 0 });
    }
  }
  return exceptions;
}

/** A model's stack effects for arg 0..255 flattened to [op * 256 + arg] (what effectOf says; NONE when unknown). */
function effectTable(rows: DecodeModel['effects']): Int16Array {
  const out = new Int16Array(256 * 256).fill(NONE);
  for (let op = 0; op < 256; op++) {
    const e = rows[op];
    if (e === null || e === undefined) continue;
    if (typeof e === 'number') out.fill(e, op * 256, op * 256 + 256);
    else for (let a = 0; a < 256 && a < e.length; a++) if (e[a] !== null && e[a] !== undefined) out[op * 256 + a] = e[a]!;
  }
  return out;
}

/** Per-model tables precomputed once per interpreter. */
export class Decoder {
  readonly opIndex: Map<string, number>;
  private readonly jumpKinds: Uint8Array; // 0 none, 1 jabs, 2 jrel, 3 jback
  /** Stack effects for arg 0..255 flattened: [op * 256 + arg]; NONE when unknown. */
  private readonly effects: Int16Array;
  private readonly jumpEffects: Int16Array;

  constructor(readonly model: DecodeModel) {
    this.opIndex = new Map();
    model.opnames.forEach((n, i) => {
      if (n) this.opIndex.set(n, i);
    });
    this.jumpKinds = new Uint8Array(256);
    model.argKinds.forEach((k, i) => {
      this.jumpKinds[i] = k === 'jabs' ? 1 : k === 'jrel' ? 2 : k === 'jback' ? 3 : 0;
    });
    this.effects = effectTable(model.effects);
    this.jumpEffects = effectTable(model.jumpEffects);
  }

  /** The stack effect of (op, arg) from the model's tables; null when unknown. */
  effectOf(op: number, arg: number, jump: boolean): number | null {
    const e = jump ? this.model.jumpEffects[op] : this.model.effects[op];
    if (e === null || e === undefined) return null;
    if (typeof e === 'number') return e;
    return arg >= 0 && arg < e.length ? (e[arg] ?? null) : null;
  }

  isJump(op: number): boolean {
    return this.jumpKinds[op] !== 0;
  }

  /** Decodes all code objects of a module into one shared buffer (fewer allocations than one per code). */
  decodeAll(raws: CompactCode[]): DecodedCode[] {
    return this.decodeEntries(raws) as DecodedCode[];
  }

  /**
   * Decodes the code objects present (a split record's stubs stay undefined), or only those at `indexes`,
   * into one shared buffer; the result is indexed like `entries`.
   */
  decodeEntries(entries: (CodeEntry | undefined)[], indexes?: number[]): (DecodedCode | undefined)[] {
    const out = new Array<DecodedCode | undefined>(entries.length);
    const which = indexes ?? entries.map((_e, i) => i);
    let units = 0;
    for (const i of which) {
      const r = entries[i];
      if (r && !isLazyStub(r)) units += Buffer.byteLength(r.code, 'base64') >> 1;
    }
    const arena = { buffer: new ArrayBuffer(Math.max(8, units * 40)), used: 0 };
    for (const i of which) {
      const r = entries[i];
      if (r && !isLazyStub(r)) out[i] = this.decode(r, i, arena);
    }
    return out;
  }

  decode(raw: CompactCode, index: number, arena?: { buffer: ArrayBuffer; used: number }): DecodedCode {
    const m = this.model;
    const bytes = Buffer.from(raw.code, 'base64');
    if (bytes.length % 2 !== 0) throw new NativeError('malformed', `Code object ${raw.qualname ?? raw.name} has an odd co_code length.`);
    const units = bytes.length >> 1;
    const n = this.scanUnits(bytes, units);
    const a = instructionArrays(n, arena);
    a.op.set(scratchOp.subarray(0, n));
    a.arg.set(scratchArg.subarray(0, n));
    a.offset.set(scratchOffset.subarray(0, n));
    this.effectsAndTargets(raw, bytes.length, n, a);
    instructionLines(raw, bytes.length, units, n, a);
    const exceptions = exceptionTable(raw, bytes.length);
    const localNames = raw.localNames ?? raw.varnames ?? [];
    return {
      index,
      raw,
      n,
      op: a.op,
      arg: a.arg,
      offset: a.offset,
      effect: a.effect,
      jumpEffect: a.jumpEffect,
      target: a.target,
      line: a.line,
      col: a.col,
      endLine: a.endLine,
      endCol: a.endCol,
      exceptions,
      localNames,
      freeNames: m.localsPlus ? localNames : (raw.cellNames ?? []),
      nvarnames: raw.nvarnames ?? raw.varnames?.length ?? 0,
      names: raw.names,
      consts: raw.consts,
    };
  }

  /**
   * Code units to instructions in the scratch arrays (opcode, argument, offset; EXTENDED_ARG folded into the
   * next instruction, inline caches skipped), and each unit's instruction in scratchUnit. Returns the count.
   */
  private scanUnits(bytes: Buffer, units: number): number {
    const m = this.model;
    ensureScratch(units);
    const sop = scratchOp;
    const sarg = scratchArg;
    const soff = scratchOffset;
    const unitToInstr = scratchUnit;
    const hasArg = m.hasArg;
    const cacheCounts = m.caches;
    const ext = m.extendedArg;
    let n = 0;
    let extended = 0;
    let caches = 0;
    for (let u = 0; u < units; u++) {
      unitToInstr[u] = n;
      if (caches) {
        caches--;
        continue;
      }
      const o = bytes[2 * u];
      caches = cacheCounts[o];
      if (hasArg[o]) {
        const a = bytes[2 * u + 1] | extended;
        if (o === ext) {
          extended = a << 8;
          continue; // the prefix belongs to the next instruction (targets may point at it)
        }
        extended = 0;
        sop[n] = o;
        sarg[n] = a;
      } else {
        extended = 0;
        sop[n] = o;
        sarg[n] = -1;
      }
      soff[n] = 2 * u;
      n++;
    }
    unitToInstr[units] = n;
    return n;
  }

  /** Stack effects (the model's tables for arg < 256, the per-code list for larger arguments) and jump targets. */
  private effectsAndTargets(raw: CompactCode, codeBytes: number, n: number, arrays: InstructionArrays): void {
    const m = this.model;
    const { op, arg, offset, effect, jumpEffect, target } = arrays;
    const unitToInstr = scratchUnit;
    const cacheCounts = m.caches;
    let extEffects: Map<number, [number | null, number | null]> | null = null;
    const extList = raw.ext;
    if (extList && extList.length) {
      extEffects = new Map();
      for (let i = 0; i + 2 < extList.length; i += 3) extEffects.set(extList[i] as number, [extList[i + 1], extList[i + 2]]);
    }
    const jumpUnit = m.jumpUnit;
    const effects = this.effects;
    const jumpEffects = this.jumpEffects;
    const jumpKinds = this.jumpKinds;
    const addsCaches = m.jumpAddsCaches;
    for (let i = 0; i < n; i++) {
      const o = op[i];
      const a = arg[i];
      if (a >= 256) {
        const big = extEffects?.get(offset[i]);
        effect[i] = big && big[0] !== null ? big[0] : NONE;
        jumpEffect[i] = big && big[1] !== null ? big[1] : NONE;
      } else {
        const k = o * 256 + (a < 0 ? 0 : a);
        effect[i] = effects[k];
        jumpEffect[i] = jumpEffects[k];
      }
      const jk = jumpKinds[o];
      if (jk) {
        let t: number;
        if (jk === 1) t = a * jumpUnit;
        else {
          t = offset[i] + 2 + (jk === 3 ? -a : a) * jumpUnit;
          if (addsCaches) t += 2 * cacheCounts[o];
        }
        if (t < 0 || t >= codeBytes || t % 2 !== 0) throw new NativeError('malformed', `Jump at offset ${offset[i]} of ${raw.qualname ?? raw.name} leaves the code (${t}).`);
        target[i] = unitToInstr[t >> 1];
      }
    }
  }

  /** The argval dis would show for instruction i (used by the tests and for names/constants). */
  argval(code: DecodedCode, i: number): PyConst | PyConst[] | undefined {
    const m = this.model;
    const o = code.op[i];
    const a = code.arg[i];
    if (a < 0) return null;
    const raw = code.raw;
    switch (m.argKinds[o]) {
      case 'const':
        return raw.consts[a];
      case 'name':
        return raw.names[a];
      case 'name1':
        return raw.names[a >> 1];
      case 'name2':
        return raw.names[a >> 2];
      case 'jabs':
        return a * m.jumpUnit;
      case 'jrel':
      case 'jback':
        // The raw target (it may be the EXTENDED_ARG prefix of the instruction `target` points at).
        return code.offset[i] + 2 + (m.argKinds[o] === 'jback' ? -a : a) * m.jumpUnit + (m.jumpAddsCaches ? 2 * m.caches[o] : 0);
      case 'local':
        return code.localNames[a];
      case 'local2':
        return [code.localNames[a >> 4], code.localNames[a & 15]];
      case 'free':
        return code.freeNames[a];
      case 'compare':
        return m.cmpOps[a >> m.cmpShift];
      default:
        return a;
    }
  }
}

/** Decodes the 3.11+ location table (Objects/locations.md): one entry per run of code units. */
function decodeLocationTable(
  table: Buffer,
  firstLine: number,
  units: number,
  offset: Int32Array,
  n: number,
  unitToInstr: Int32Array,
  line: Int32Array,
  col: Int32Array,
  endLine: Int32Array,
  endCol: Int32Array,
): void {
  let p = 0;
  let ln = firstLine;
  let unit = 0;
  const len = table.length;
  const varint = (): number => {
    let b = table[p++];
    let val = b & 63;
    let shift = 0;
    while (b & 64) {
      if (p >= len) throw new NativeError('truncated', 'Location table ends inside a varint.');
      b = table[p++];
      shift += 6;
      val |= (b & 63) << shift;
    }
    return val;
  };
  const svarint = (): number => {
    const u = varint();
    return u & 1 ? -(u >>> 1) : u >>> 1;
  };
  while (p < len && unit < units) {
    const first = table[p++];
    if (!(first & 0x80)) throw new NativeError('malformed', 'Location table entry without its start bit.');
    const code = (first >> 3) & 15;
    const length = (first & 7) + 1;
    let l = -1;
    let el = -1;
    let c = -1;
    let ec = -1;
    if (code === 15) {
      // No location.
    } else if (code === 14) {
      ln += svarint();
      l = ln;
      el = ln + varint();
      const cc = varint();
      c = cc === 0 ? -1 : cc - 1;
      const ecc = varint();
      ec = ecc === 0 ? -1 : ecc - 1;
    } else if (code === 13) {
      ln += svarint();
      l = ln;
      el = ln;
    } else if (code >= 10) {
      ln += code - 10;
      l = ln;
      el = ln;
      c = table[p++];
      ec = table[p++];
    } else {
      const second = table[p++];
      l = ln;
      el = ln;
      c = (code << 3) | (second >> 4);
      ec = c + (second & 15);
    }
    for (let k = 0; k < length && unit < units; k++, unit++) {
      const i = unitToInstr[unit];
      // Only the instruction's own unit carries its position (not its EXTENDED_ARG prefix or caches).
      if (i < n && offset[i] === 2 * unit) {
        line[i] = l;
        col[i] = c;
        endLine[i] = el;
        endCol[i] = ec;
      }
    }
  }
}
