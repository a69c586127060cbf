// An ELF file's allocated sections as the loader would present them, before relocation: raw bytes, the dynamic
// relocations by slot, which ranges are code, read-only and writable data, and pointer slots read through them.

import * as C from './elfConstants';
import type { ElfFile, Relocation } from './elfFile';
import { rangeContaining } from '../upperBound';

/** A pointer field's target: a local address, or an external symbol (resolved by the loader). */
export type CodeRef = { kind: 'local'; address: number } | { kind: 'external'; symbol: string };

/** A pointer slot that holds an external symbol's address. */
const EXTERNAL = -1;
/** A slot whose value cannot be a pointer (an unsupported relocation, or raw bytes in a shared object). */
const BAD = -2;

export const NOT_DATA = /^\.(eh_frame|eh_frame_hdr|gcc_except_table|interp|note\..*|stapsdt\.base|probes|PyRuntime)$/;
export const DOTTED = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
export const MAX_NAME = 256;

export interface Chunk {
  start: number;
  end: number;
  bytes: Uint8Array;
}

/**
 * The file's allocated sections as the loader would present them, before relocation: raw bytes, the
 * dynamic relocations by slot, and which ranges are code, read-only data and writable data.
 */
export class LinkImage {
  readonly relocs: ReadonlyMap<number, Relocation>;
  /** True for position-independent objects: a slot holds an address only through a relocation. */
  readonly pic: boolean;
  readonly data: Chunk[] = [];
  private readonly rodata: Chunk[] = [];
  /** Zero-initialised data (.bss): an empty PyMethodDef array {0} lands there. */
  private readonly zero: Array<{ start: number; end: number }> = [];
  private readonly exec: Array<{ start: number; end: number }>;
  private readonly strings = new Map<number, string | null>();
  private functionStarts?: (a: number) => boolean;

  constructor(readonly elf: ElfFile) {
    this.pic = elf.header.type === C.ET_DYN;
    this.relocs = elf.gotSlotRelocations();
    this.exec = elf.executableRanges().sort((a, b) => a.start - b.start);
    const alloc = elf.sections.filter((s) => (s.flags & C.SHF_ALLOC) !== 0 && s.addr !== 0 && s.size > 0);
    if (alloc.length > 0) {
      for (const s of alloc) {
        if ((s.flags & C.SHF_EXECINSTR) !== 0) continue;
        if (s.type === C.SHT_NOBITS) {
          if ((s.flags & C.SHF_WRITE) !== 0 && (s.flags & C.SHF_TLS) === 0) this.zero.push({ start: s.addr, end: s.addr + s.size });
          continue;
        }
        if (s.type !== C.SHT_PROGBITS && s.type !== C.SHT_INIT_ARRAY && s.type !== C.SHT_FINI_ARRAY) continue;
        // Unwind tables and notes are read-only but never hold Python tables or names.
        if (NOT_DATA.test(s.name)) continue;
        const chunk = { start: s.addr, end: s.addr + s.size, bytes: new Uint8Array(elf.sectionData(s)) };
        if ((s.flags & C.SHF_WRITE) !== 0) {
          // The GOT and the dynamic section hold the loader's data, never Python tables.
          if (s.name === '.got' || s.name === '.got.plt' || s.name === '.dynamic') continue;
          this.data.push(chunk);
        } else this.rodata.push(chunk);
      }
    } else {
      // No section headers: fall back to the loadable segments.
      for (const p of elf.loadSegments()) {
        if ((p.flags & C.PF_X) !== 0 || p.filesz === 0) continue;
        const bytes = elf.tryReadVirtual(p.vaddr, p.filesz);
        if (!bytes) continue;
        const chunk = { start: p.vaddr, end: p.vaddr + p.filesz, bytes: new Uint8Array(bytes) };
        if ((p.flags & C.PF_W) !== 0) this.data.push(chunk);
        else this.rodata.push(chunk);
      }
    }
    this.data.sort((a, b) => a.start - b.start);
    this.rodata.sort((a, b) => a.start - b.start);
    this.zero.sort((a, b) => a.start - b.start);
  }

  private inZero(a: number, n: number): boolean {
    for (const z of this.zero) if (a >= z.start && a + n <= z.end) return true;
    return false;
  }

  /**
   * Slots of the scanned chunks whose pointer value is a string matching `re`, in address order. In a PIC
   * object only relocated slots can hold addresses, so the relocations are walked instead of every slot.
   */
  nameSlots(re: RegExp): number[] {
    const out: number[] = [];
    const dotted = re === DOTTED;
    const check = (p: number) => {
      const v = this.ptr(p);
      if (v <= 0) return;
      // Most pointers lead to doc strings and other text: rule them out from the bytes, without a string.
      if (dotted && !this.mayBeDotted(v)) return;
      const s = this.cstring(v);
      if (s !== null && re.test(s)) out.push(p);
    };
    if (this.pic) {
      for (const slot of this.relocs.keys()) if ((slot & 7) === 0 && this.chunkAt(this.data, slot)) check(slot);
      return out.sort((a, b) => a - b);
    }
    if (this.rodata.length === 0) return out;
    const lo = this.rodata[0].start;
    const hi = this.rodata[this.rodata.length - 1].end;
    for (const c of this.scanChunks()) {
      const b = c.bytes;
      const first = (8 - (c.start & 7)) & 7;
      // An aligned 32-bit view when the chunk allows it (copies start at byte 0 of their buffer).
      const words = b.byteOffset === 0 && first === 0 ? new Uint32Array(b.buffer, 0, b.length >>> 2) : undefined;
      for (let o = first; o + 8 <= b.length; o += 8) {
        let v: number;
        if (words) {
          const i = o >>> 2;
          v = words[i + 1] === 0 ? words[i] : -1;
        } else {
          const hiWord = b[o + 4] | (b[o + 5] << 8) | (b[o + 6] << 16) | (b[o + 7] << 24);
          v = hiWord === 0 ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0 : -1;
        }
        if (v >= lo && v < hi && !this.relocs.has(c.start + o)) check(c.start + o);
      }
    }
    // Relocated slots (rare in executables) are checked through ptr().
    for (const slot of this.relocs.keys()) if ((slot & 7) === 0 && this.chunkAt(this.data, slot)) check(slot);
    return out.sort((a, b) => a - b);
  }

  /** The chunks scanned for tables: writable data, and read-only data in non-PIC files (const tables). */
  scanChunks(): Chunk[] {
    return this.pic ? this.data : [...this.data, ...this.rodata];
  }

  private chunkAt(list: Chunk[], a: number): Chunk | undefined {
    return rangeContaining(list, a);
  }


  isExec(a: number): boolean {
    for (const r of this.exec) if (a >= r.start && a < r.end) return true;
    return false;
  }

  isRodata(a: number): boolean {
    return this.chunkAt(this.rodata, a) !== undefined;
  }

  isData(a: number): boolean {
    return this.chunkAt(this.data, a) !== undefined || this.chunkAt(this.rodata, a) !== undefined || this.inZero(a, 1);
  }

  private last?: Chunk;

  /** The data or rodata chunk holding `a` (the last one found is tried first: reads cluster). */
  private anyChunk(a: number): Chunk | undefined {
    const l = this.last;
    if (l && a >= l.start && a < l.end) return l;
    const c = this.chunkAt(this.data, a) ?? this.chunkAt(this.rodata, a);
    if (c) this.last = c;
    return c;
  }

  /** Raw little-endian u64 at a link-time address inside a data or rodata chunk; undefined elsewhere. */
  raw64(a: number): number | undefined {
    const c = this.anyChunk(a);
    if (!c || a + 8 > c.end) return this.inZero(a, 8) ? 0 : undefined;
    const o = a - c.start;
    const b = c.bytes;
    const lo = b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
    const hi = b[o + 4] | (b[o + 5] << 8) | (b[o + 6] << 16) | (b[o + 7] << 24);
    return (hi >>> 0) * 0x1_0000_0000 + (lo >>> 0);
  }

  raw32(a: number): number | undefined {
    const c = this.anyChunk(a);
    if (!c || a + 4 > c.end) return this.inZero(a, 4) ? 0 : undefined;
    const o = a - c.start;
    const b = c.bytes;
    return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
  }

  /** A plain (unrelocated) integer field: raw bytes with no relocation; undefined when a relocation patches it. */
  int64(a: number): number | undefined {
    if (this.relocs.has(a)) return undefined;
    return this.raw64(a);
  }

  /** Signed 64-bit view of int64 for values that fit in ±2^31 (sizes and offsets). */
  smallSigned(a: number): number | undefined {
    const v = this.int64(a);
    if (v === undefined) return undefined;
    if (v < 0x8000_0000) return v;
    if (v >= 0xffff_ffff_8000_0000) return v - 0x1_0000_0000_0000_0000;
    return undefined;
  }

  /**
   * The link-time value of the pointer slot at `a`: through its relocation when there is one (RELATIVE →
   * addend; a symbol this file defines → its value + addend; an undefined symbol → EXTERNAL), else the raw
   * value in a non-PIC file; in a PIC file a slot without relocation holds an address only if it is NULL.
   */
  ptr(a: number): number {
    const rel = this.relocs.get(a);
    if (rel) {
      switch (rel.type) {
        case C.R_X86_64_RELATIVE:
          return rel.addend;
        case C.R_X86_64_64:
        case C.R_X86_64_GLOB_DAT:
        case C.R_X86_64_JUMP_SLOT: {
          const s = rel.symbol;
          if (!s || !s.name) return BAD;
          if (!s.defined) return EXTERNAL;
          if (s.type === C.STT_GNU_IFUNC) return BAD;
          return s.value + (rel.type === C.R_X86_64_64 ? rel.addend : 0);
        }
        default:
          return BAD;
      }
    }
    const raw = this.raw64(a);
    if (raw === undefined) return BAD;
    if (this.pic && raw !== 0) return BAD;
    return raw;
  }

  /** The symbol of the relocation at `a` (for EXTERNAL slots). */
  externalName(a: number): string | undefined {
    return this.relocs.get(a)?.symbol?.name || undefined;
  }

  /** A NUL-terminated string at a link-time address in read-only data (at most MAX_NAME bytes), or null. */
  cstring(a: number): string | null {
    const cached = this.strings.get(a);
    if (cached !== undefined) return cached;
    let out: string | null = null;
    const c = this.chunkAt(this.rodata, a);
    if (c) {
      const o = a - c.start;
      const limit = Math.min(c.bytes.length, o + MAX_NAME + 1);
      let e = o;
      while (e < limit && c.bytes[e] !== 0) {
        const ch = c.bytes[e];
        if (ch < 0x20 || ch > 0x7e) break;
        e++;
      }
      if (e < limit && c.bytes[e] === 0 && e > o) out = Buffer.from(c.bytes.buffer, c.bytes.byteOffset + o, e - o).toString('latin1');
    }
    this.strings.set(a, out);
    return out;
  }

  /**
   * False when the string at `a` cannot match DOTTED: cstring(a) would be null, or would hold a byte other
   * than [A-Za-z0-9_.], or would not start with [A-Za-z_]. True does not mean it matches.
   */
  private mayBeDotted(a: number): boolean {
    const c = this.chunkAt(this.rodata, a);
    if (!c) return false;
    const b = c.bytes;
    const o = a - c.start;
    const limit = Math.min(b.length, o + MAX_NAME + 1);
    let e = o;
    for (; e < limit; e++) {
      const ch = b[e];
      if (ch === 0) break;
      const letter = (ch >= 0x61 && ch <= 0x7a) || (ch >= 0x41 && ch <= 0x5a) || ch === 0x5f;
      if (!letter && (e === o || !((ch >= 0x30 && ch <= 0x39) || ch === 0x2e))) return false;
    }
    return e < limit && e > o;
  }

  /** True when a NUL-terminated string (any bytes) starts at `a` in read-only data, e.g. a doc string. */
  isStringStart(a: number): boolean {
    const c = this.chunkAt(this.rodata, a);
    if (!c) return false;
    const end = c.bytes.indexOf(0, a - c.start);
    return end >= 0;
  }

  /**
   * isStringStart, or a NUL-terminated string in writable data with no relocation in it: Cython 0.29 keeps its doc
   * strings in non-const arrays (`static char __pyx_doc_…[]`), which land in .data.
   */
  isDocString(a: number): boolean {
    if (this.isStringStart(a)) return true;
    const c = this.chunkAt(this.data, a);
    if (!c) return false;
    const end = c.bytes.indexOf(0, a - c.start);
    if (end < 0) return false;
    for (let o = (a - c.start) & ~7; o < end; o += 8) if (this.relocs.has(c.start + o)) return false;
    return true;
  }

  /** True when `a` may start a function: no known extent contains it except one starting there. */
  isFunctionStart(a: number): boolean {
    if (!this.functionStarts) {
      const elf = this.elf;
      this.functionStarts = (x: number) => {
        const f = elf.functionAt(x);
        return !f || f.start === x;
      };
    }
    return this.functionStarts(a);
  }

  /** A code pointer field: NULL, a local address at a function start, or an external symbol. BAD → undefined. */
  code(a: number): CodeRef | null | undefined {
    const v = this.ptr(a);
    if (v === 0) return null;
    if (v === EXTERNAL) {
      const name = this.externalName(a);
      return name ? { kind: 'external', symbol: name } : undefined;
    }
    if (v > 0 && this.isExec(v) && this.isFunctionStart(v)) return { kind: 'local', address: v };
    return undefined;
  }

  /** A data pointer field: NULL, a local data address, or an external symbol. */
  dataRef(a: number): CodeRef | null | undefined {
    const v = this.ptr(a);
    if (v === 0) return null;
    if (v === EXTERNAL) {
      const name = this.externalName(a);
      return name ? { kind: 'external', symbol: name } : undefined;
    }
    if (v > 0 && this.isData(v)) return { kind: 'local', address: v };
    return undefined;
  }

  /** NULL or a doc string (isDocString). */
  optionalString(a: number): boolean {
    const v = this.ptr(a);
    return v === 0 || (v > 0 && this.isDocString(v));
  }

  /** True when every byte of [a, a+n) is zero and no relocation patches it. */
  isZero(a: number, n: number): boolean {
    for (let o = 0; o < n; o += 8) {
      if (this.relocs.has(a + o)) return false;
      const v = o + 8 <= n ? this.raw64(a + o) : this.raw32(a + o);
      if (v !== 0) return false;
    }
    return true;
  }
}
