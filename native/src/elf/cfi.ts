// Call-frame information from .eh_frame for unwinding x86-64 stacks: each FDE with its CIE's alignment factors
// and instructions; rowAt runs their DW_CFA operations (cfaRun.ts) to the CFA and register rules at a pc.

import { NativeError } from '../errors';
import { upperBound } from '../upperBound';
import { LeReader, readCString, readSleb, readUleb } from './binary';
import { CfaRun, type CfaImage } from './cfaRun';
import { readEncodedPointer } from './ehFrame';
import type { ElfFile } from './elfFile';
import { DW_EH_PE_absptr, DW_EH_PE_omit } from './elfConstants';

/** DWARF register numbers of x86-64 used by the unwinder. */
export const DWARF_RBP = 6;
export const DWARF_RSP = 7;
export const DWARF_RA = 16;

/** How a register of the caller is recovered. Rules other than these (expressions) make `unsupported`. */
export type RegisterRule =
  | { kind: 'undefined' }
  | { kind: 'same' }
  /** Saved at CFA + offset. */
  | { kind: 'offset'; offset: number }
  /** Its value is CFA + offset. */
  | { kind: 'valOffset'; offset: number }
  /** Its value is in another register. */
  | { kind: 'register'; register: number }
  | { kind: 'unsupported' };

/** The unwind row at one pc: CFA = register + offset (undefined when an expression computes it). */
export interface CfiRow {
  cfa?: { register: number; offset: number };
  rules: Map<number, RegisterRule>;
  /** The FDE's CIE marks a signal frame ('S'): its pc is not a return address. */
  signalFrame: boolean;
}

export interface Cie {
  codeAlign: number;
  dataAlign: number;
  raRegister: number;
  fdeEncoding: number;
  hasAugData: boolean;
  signalFrame: boolean;
  instructions: { start: number; end: number };
}

interface Fde {
  start: number;
  end: number;
  cie: Cie;
  instructions: { start: number; end: number };
}

function malformed(what: string, detail: string): NativeError {
  return new NativeError('malformed', `${what}: ${detail}.`, { subject: what });
}

/** The FDEs of one .eh_frame image, sorted by start, with a row interpreter. Addresses are link-time. */
export class CfiTable {
  private readonly r: LeReader;
  private readonly fdes: Fde[] = [];

  constructor(
    private readonly bytes: Uint8Array,
    private readonly vaddr: number,
    private readonly what: string,
    private readonly bases: { dataRelBase?: number; textRelBase?: number } = {},
  ) {
    this.r = new LeReader(bytes, what);
    this.parse();
    this.fdes.sort((a, b) => a.start - b.start);
  }

  get size(): number {
    return this.fdes.length;
  }

  private parse(): void {
    const r = this.r;
    const cies = new Map<number, Cie | null>();
    let pos = 0;
    while (pos + 4 <= this.bytes.length) {
      let length = r.u32(pos);
      let header = 4;
      if (length === 0) break;
      if (length === 0xffffffff) {
        if (pos + 12 > this.bytes.length) throw malformed(this.what, `record at ${pos} is truncated`);
        length = r.u64(pos + 4);
        header = 12;
      }
      const body = pos + header;
      const end = body + length;
      const idSize = header === 12 ? 8 : 4;
      if (!Number.isSafeInteger(end) || end > this.bytes.length || length < idSize) throw malformed(this.what, `record at ${pos} has a bad length`);
      const id = idSize === 8 ? r.u64(body) : r.u32(body);
      if (id === 0) {
        if (!cies.has(pos)) cies.set(pos, this.parseCie(pos, body + idSize, end));
      } else {
        const ciePos = body - id;
        let cie = cies.get(ciePos);
        if (cie === undefined && ciePos >= 0 && ciePos < pos) {
          const l = r.u32(ciePos);
          const h = l === 0xffffffff ? 12 : 4;
          const cl = h === 12 ? r.u64(ciePos + 4) : l;
          const cend = ciePos + h + cl;
          cie = cend <= this.bytes.length ? this.parseCie(ciePos, ciePos + h + (h === 12 ? 8 : 4), cend) : null;
          cies.set(ciePos, cie);
        }
        if (cie) this.parseFde(cie, body + idSize, end);
      }
      pos = end;
    }
  }

  /** Parses a CIE whose fields start at `p` (after the id); null when its version or augmentation is unknown. */
  private parseCie(recordPos: number, p: number, end: number): Cie | null {
    const b = this.bytes;
    if (p >= end) throw malformed(this.what, `CIE at ${recordPos} is truncated`);
    const version = b[p++];
    if (version !== 1 && version !== 3 && version !== 4) return null;
    const aug = readCString(b, p, end, this.what);
    p = aug.next;
    if (aug.value.startsWith('eh')) p += 8;
    if (version === 4) p += 2;
    const ca = readUleb(b, p, end, this.what);
    p += ca.length;
    const da = readSleb(b, p, end, this.what);
    p += da.length;
    let raRegister: number;
    if (version === 1) {
      raRegister = b[p++];
    } else {
      const ra = readUleb(b, p, end, this.what);
      raRegister = ra.value;
      p += ra.length;
    }
    let fdeEncoding = DW_EH_PE_absptr;
    let signalFrame = false;
    let hasAugData = false;
    if (aug.value !== '') {
      if (!aug.value.startsWith('z')) return null;
      hasAugData = true;
      const len = readUleb(b, p, end, this.what);
      p += len.length;
      const augEnd = p + len.value;
      if (augEnd > end) throw malformed(this.what, `CIE at ${recordPos} has augmentation data past its end`);
      let q = p;
      for (let i = 1; i < aug.value.length; i++) {
        const c = aug.value[i];
        if (c === 'R') fdeEncoding = b[q++];
        else if (c === 'L') q++;
        else if (c === 'P') {
          const enc = b[q++];
          q += readEncodedPointer(this.r, q, augEnd, enc & 0x7f, this.vaddr + q, this.bases).length;
        } else if (c === 'S') signalFrame = true;
        else if (c === 'B' || c === 'G') {
          // No data.
        } else break;
      }
      p = augEnd;
    }
    if (p > end) throw malformed(this.what, `CIE at ${recordPos} is truncated`);
    return { codeAlign: ca.value, dataAlign: da.value, raRegister, fdeEncoding, hasAugData, signalFrame, instructions: { start: p, end } };
  }

  private parseFde(cie: Cie, p: number, end: number): void {
    if (cie.fdeEncoding === DW_EH_PE_omit) return;
    const begin = readEncodedPointer(this.r, p, end, cie.fdeEncoding, this.vaddr + p, this.bases);
    p += begin.length;
    const range = readEncodedPointer(this.r, p, end, cie.fdeEncoding & 0x0f, this.vaddr + p);
    p += range.length;
    if (cie.hasAugData) {
      const len = readUleb(this.bytes, p, end, this.what);
      p += len.length + len.value;
    }
    if (begin.value === undefined || range.value === undefined || range.value <= 0 || p > end) return;
    this.fdes.push({ start: begin.value, end: begin.value + range.value, cie, instructions: { start: p, end } });
  }

  private find(pc: number): Fde | undefined {
    const fdes = this.fdes;
    const best = upperBound(fdes.length, (i) => fdes[i].start > pc) - 1;
    // Overlapping FDEs are rare; look back a little for one that covers pc.
    for (let i = best; i >= 0 && i > best - 4; i--) {
      const f = this.fdes[i];
      if (f.start <= pc && pc < f.end) return f;
    }
    return undefined;
  }

  /** The unwind row in effect at link-time `pc`, or undefined when no FDE covers it. */
  rowAt(pc: number): CfiRow | undefined {
    const fde = this.find(pc);
    if (!fde) return undefined;
    const cie = fde.cie;
    const state: { cfa?: { register: number; offset: number }; rules: Map<number, RegisterRule> } = { cfa: undefined, rules: new Map() };
    const image: CfaImage = { bytes: this.bytes, r: this.r, what: this.what, vaddr: this.vaddr, bases: this.bases };
    new CfaRun(image, cie, cie.instructions, state, undefined, fde.start, Number.POSITIVE_INFINITY).run();
    const initial = new Map(state.rules);
    new CfaRun(image, cie, fde.instructions, state, initial, fde.start, pc).run();
    return { cfa: state.cfa, rules: state.rules, signalFrame: cie.signalFrame };
  }
}

/** True when two rows describe the same frame: the same CFA and the same rule for every register (undefined: none). */
export function sameRow(a: CfiRow | undefined, b: CfiRow | undefined): boolean {
  if (!a?.cfa || !b?.cfa || a.cfa.register !== b.cfa.register || a.cfa.offset !== b.cfa.offset || a.rules.size !== b.rules.size) return false;
  for (const [reg, rule] of a.rules) {
    const other = b.rules.get(reg);
    if (!other || other.kind !== rule.kind || ('offset' in rule && 'offset' in other && rule.offset !== other.offset) || ('register' in rule && 'register' in other && rule.register !== other.register)) return false;
  }
  return true;
}

const tables = new WeakMap<ElfFile, CfiTable | null>();

/** The CFI table of an ELF file's .eh_frame section (cached), or undefined when it has none or it is unreadable. */
export function cfiTableOf(elf: ElfFile): CfiTable | undefined {
  const cached = tables.get(elf);
  if (cached !== undefined) return cached ?? undefined;
  let table: CfiTable | null = null;
  try {
    const sec = elf.sections.find((s) => s.name === '.eh_frame' && s.size > 0);
    const bytes = sec ? elf.tryReadVirtual(sec.addr, sec.size) : undefined;
    if (sec && bytes) {
      const got = elf.sections.find((s) => s.name === '.got.plt') ?? elf.sections.find((s) => s.name === '.got');
      const text = elf.sections.find((s) => s.name === '.text');
      table = new CfiTable(bytes, sec.addr, `${elf.name} .eh_frame`, { dataRelBase: got?.addr, textRelBase: text?.addr });
    }
  } catch (e) {
    if (!(e instanceof NativeError)) throw e;
    table = null;
  }
  tables.set(elf, table);
  return table ?? undefined;
}
