// Discovery of CPython's native tables in an ELF file: PyMethodDef arrays (and Cython's lone entries),
// PyModuleDef (single- and multi-phase), static PyTypeObject instances with their slot suites, tp_methods and
// tp_getset, and PyType_Spec (heap types). Pointers are read through the dynamic relocations in shared objects
// and as link-time values in non-PIE executables; every candidate is validated field by field. Cached per file.

import * as fs from 'node:fs';
import * as C from '../elf/elfConstants';
import { openFileSource } from '../elf/byteSource';
import { ElfFile, type Relocation } from '../elf/elfFile';
import { NativeError } from '../errors';
import {
  GETSETDEF,
  METHODDEF,
  MODULEDEF,
  NUMBER_SLOTS,
  SEQUENCE_SLOTS,
  MODULEDEF_SLOT,
  type PyVersion,
  type SlotSuite,
  SUITE_FIELD,
  TYPE,
  TYPE_FUNCTION_SLOTS,
  TYPE_MIN_SIZE,
  TYPE_SLOT,
  TYPE_SPEC,
  TYPESLOT_NAMES,
  isValidMethodFlags,
  suiteSlots,
  versionFromFileName,
} from './abi';

/** A code pointer stored in a table: a link-time address in this file, or a symbol another object defines. */
export type CodeRef = { kind: 'local'; address: number } | { kind: 'external'; symbol: string };

/** One PyMethodDef. */
export interface MethodEntry {
  /** Link-time address of the PyMethodDef itself. */
  address: number;
  /** ml_name. */
  name: string;
  /** ml_meth. */
  meth: CodeRef;
  /** ml_flags (METH_*). */
  flags: number;
  /** True when ml_doc is not NULL. */
  hasDoc: boolean;
}

/** A PyMethodDef array ended by a zero entry. */
export interface MethodTable {
  /** Link-time address of the first entry. */
  address: number;
  entries: MethodEntry[];
}

export interface ModuleSlot {
  /** Py_mod_* id (1 create, 2 exec, 3 multiple_interpreters, 4 gil). */
  slot: number;
  /** For create/exec: the function; otherwise undefined (the value is a flag). */
  func?: CodeRef;
  /** The raw value for flag slots. */
  value?: number;
}

/** One PyModuleDef. */
export interface ModuleDefInfo {
  /** Link-time address of the PyModuleDef. */
  address: number;
  /** m_name, e.g. 'time' or 'numpy.core._multiarray_umath'. */
  name: string;
  /** m_size. */
  size: number;
  /** m_methods, when not NULL. */
  methods?: MethodTable;
  /** m_slots (multi-phase initialisation, PEP 489). */
  slots: ModuleSlot[];
  /** True when the module uses multi-phase initialisation (m_slots is not NULL). */
  multiPhase: boolean;
}

/** One PyGetSetDef: attribute access `obj.name` runs `get`, assignment runs `set`. */
export interface GetSetEntry {
  address: number;
  name: string;
  get?: CodeRef;
  set?: CodeRef;
}

/** One entry of an interpreter's table of built-in modules (`struct _inittab`: name, PyInit function). */
export interface InittabEntry {
  address: number;
  /** The import name, e.g. '_io' (the module's m_name may differ: 'io'). */
  name: string;
  /** Its PyInit function; undefined for modules initialised by the interpreter itself (builtins, sys). */
  init?: CodeRef;
}

/** A type found statically: a PyTypeObject in the file, or a PyType_Spec from which a heap type is made. */
export interface TypeInfo {
  /** Link-time address of the PyTypeObject or PyType_Spec. */
  address: number;
  source: 'static' | 'spec';
  /** tp_name (or the spec's name), e.g. 'numpy.ndarray'. */
  name: string;
  basicsize: number;
  itemsize: number;
  flags: number;
  /** Non-NULL function slots by C field name (tp_call, nb_add, sq_item, am_send, ...). */
  slots: Map<string, CodeRef>;
  /** Link-time addresses of the slot suites (static types only). */
  suites: Partial<Record<Exclude<SlotSuite, 'type'>, number>>;
  /** tp_methods. */
  methods?: MethodTable;
  /** tp_getset. */
  getset: GetSetEntry[];
  /** tp_base (or the spec's Py_tp_base), when set statically. */
  base?: CodeRef;
}

export interface DiscoveryStats {
  /** Wall time of the discovery, in milliseconds. */
  ms: number;
  /** Bytes of data sections scanned. */
  scannedBytes: number;
  /** Pointer slots that point at an identifier-like string (the candidates examined). */
  nameSlots: number;
}

/** Everything discovered in one file. Addresses are link-time; add the module's load bias for runtime. */
export class PythonTables {
  private byTypeName?: Map<string, TypeInfo[]>;
  private byModuleName?: Map<string, ModuleDefInfo[]>;
  private byEntryName?: Map<string, MethodEntry[]>;
  private typeByAddress?: Map<number, TypeInfo>;

  constructor(
    readonly file: string,
    /** The CPython version this file was built for, when its name tells (python3.11, x.cpython-312-...so). */
    readonly version: PyVersion | undefined,
    readonly methodTables: readonly MethodTable[],
    /** Valid PyMethodDef entries that are not part of a zero-terminated array (Cython's per-function defs). */
    readonly standaloneMethods: readonly MethodEntry[],
    readonly moduleDefs: readonly ModuleDefInfo[],
    readonly types: readonly TypeInfo[],
    /** Arrays shaped like `struct _inittab` (built-in module name → PyInit function), in the interpreter. */
    readonly inittab: readonly InittabEntry[],
    readonly stats: DiscoveryStats,
  ) {}

  /** The _inittab entries named `name`. */
  inittabNamed(name: string): readonly InittabEntry[] {
    return this.inittab.filter((e) => e.name === name);
  }

  /** The module definition at a link-time address. */
  moduleDefAt(address: number): ModuleDefInfo | undefined {
    return this.moduleDefs.find((m) => m.address === address);
  }

  /** Types whose tp_name is `name`. */
  typesNamed(name: string): readonly TypeInfo[] {
    if (!this.byTypeName) {
      this.byTypeName = new Map();
      for (const t of this.types) push(this.byTypeName, t.name, t);
    }
    return this.byTypeName.get(name) ?? [];
  }

  /** The static type object (or spec) at a link-time address. */
  typeAt(address: number): TypeInfo | undefined {
    if (!this.typeByAddress) this.typeByAddress = new Map(this.types.map((t) => [t.address, t]));
    return this.typeByAddress.get(address);
  }

  /** Module definitions whose m_name is `name`. */
  moduleDefsNamed(name: string): readonly ModuleDefInfo[] {
    if (!this.byModuleName) {
      this.byModuleName = new Map();
      for (const m of this.moduleDefs) push(this.byModuleName, m.name, m);
    }
    return this.byModuleName.get(name) ?? [];
  }

  /** Every PyMethodDef entry (in tables and standalone) with this ml_name. */
  entriesNamed(name: string): readonly MethodEntry[] {
    if (!this.byEntryName) {
      this.byEntryName = new Map();
      for (const t of this.methodTables) for (const e of t.entries) push(this.byEntryName, e.name, e);
      for (const e of this.standaloneMethods) push(this.byEntryName, e.name, e);
    }
    return this.byEntryName.get(name) ?? [];
  }

  /** Total number of PyMethodDef entries found. */
  get entryCount(): number {
    return this.methodTables.reduce((n, t) => n + t.entries.length, 0) + this.standaloneMethods.length;
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}

// ---------------------------------------------------------------------------------------------- the image

/** A pointer slot that holds an external symbol's address. */
const EXTERNAL = -1;
/** A slot whose value cannot be a pointer (an unsupported relocation, or raw bytes in a shared object). */
const BAD = -2;

const NOT_DATA = /^\.(eh_frame|eh_frame_hdr|gcc_except_table|interp|note\..*|stapsdt\.base|probes|PyRuntime)$/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DOTTED = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const MAX_NAME = 256;
const MAX_TABLE = 4096;
const MAX_GETSET = 1024;
const MAX_SPEC_SLOTS = 128;
const MAX_MODULE_SLOTS = 32;

interface Chunk {
  start: number;
  end: number;
  bytes: Uint8Array;
}

/**
 * The file's allocated sections as the loader would present them, before relocation: raw bytes, the
 * dynamic relocations by slot, and which ranges are code, read-only data and writable data.
 */
class LinkImage {
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
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = list[mid];
      if (a < c.start) hi = mid - 1;
      else if (a >= c.end) lo = mid + 1;
      else return c;
    }
    return undefined;
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

  /** NULL or a string in read-only data. */
  optionalString(a: number): boolean {
    const v = this.ptr(a);
    return v === 0 || (v > 0 && this.isStringStart(v));
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

// ---------------------------------------------------------------------------------------------- validators

class Discoverer {
  private readonly entryCache = new Map<number, MethodEntry | null>();
  private readonly tableCache = new Map<number, MethodTable | null>();

  constructor(private readonly img: LinkImage) {}

  /** A valid PyMethodDef at `a`, or null. */
  entry(a: number): MethodEntry | null {
    const cached = this.entryCache.get(a);
    if (cached !== undefined) return cached;
    const out = this.readEntry(a);
    this.entryCache.set(a, out);
    return out;
  }

  private readEntry(a: number): MethodEntry | null {
    const img = this.img;
    const np = img.ptr(a + METHODDEF.ml_name);
    if (np <= 0) return null;
    const name = img.cstring(np);
    if (name === null || !IDENT.test(name)) return null;
    const meth = img.code(a + METHODDEF.ml_meth);
    if (!meth) return null;
    if (img.relocs.has(a + METHODDEF.ml_flags)) return null;
    const flags = img.raw32(a + METHODDEF.ml_flags);
    const pad = img.raw32(a + METHODDEF.ml_flags + 4);
    if (flags === undefined || pad !== 0 || !isValidMethodFlags(flags)) return null;
    const docPtr = img.ptr(a + METHODDEF.ml_doc);
    if (docPtr !== 0 && !(docPtr > 0 && img.isStringStart(docPtr))) return null;
    return { address: a, name, meth, flags, hasDoc: docPtr !== 0 };
  }

  /** A zero-terminated PyMethodDef array starting at `a` whose every entry is valid (an empty one included). */
  tableAt(a: number): MethodTable | null {
    const cached = this.tableCache.get(a);
    if (cached !== undefined) return cached;
    let out: MethodTable | null = null;
    const entries: MethodEntry[] = [];
    for (let i = 0; i < MAX_TABLE; i++) {
      const p = a + i * METHODDEF.size;
      if (this.img.isZero(p, METHODDEF.size)) {
        out = { address: a, entries };
        break;
      }
      const e = this.entry(p);
      if (!e) break;
      entries.push(e);
    }
    this.tableCache.set(a, out);
    return out;
  }

  /** A PyModuleDef at `d`, or null. */
  moduleDef(d: number): ModuleDefInfo | null {
    const img = this.img;
    if (d < 0 || img.relocs.has(d)) return null;
    const refcnt = img.raw64(d);
    if (refcnt === undefined || refcnt < 1 || refcnt > 0xffff_ffff) return null;
    // ob_type, m_init, m_index and m_copy are NULL/0 in the file (PyModuleDef_HEAD_INIT).
    if (!img.isZero(d + 8, 32)) return null;
    const np = img.ptr(d + MODULEDEF.m_name);
    if (np <= 0) return null;
    const name = img.cstring(np);
    if (name === null || !DOTTED.test(name)) return null;
    if (!img.optionalString(d + MODULEDEF.m_doc)) return null;
    const size = img.smallSigned(d + MODULEDEF.m_size);
    if (size === undefined || size < -1) return null;
    for (const f of [MODULEDEF.m_traverse, MODULEDEF.m_clear, MODULEDEF.m_free]) if (img.code(d + f) === undefined) return null;
    const mp = img.ptr(d + MODULEDEF.m_methods);
    const sp = img.ptr(d + MODULEDEF.m_slots);
    if (mp < 0 || sp < 0 || (mp === 0 && sp === 0)) return null;
    let methods: MethodTable | undefined;
    if (mp !== 0) {
      if (!img.isData(mp)) return null;
      const t = this.tableAt(mp);
      if (!t) return null;
      methods = t;
    }
    const slots: ModuleSlot[] = [];
    if (sp !== 0) {
      if (!img.isData(sp)) return null;
      let ok = false;
      for (let i = 0; i < MAX_MODULE_SLOTS; i++) {
        const s = sp + i * MODULEDEF_SLOT.size;
        if (img.relocs.has(s)) return null;
        const id = img.raw32(s);
        const pad = img.raw32(s + 4);
        if (id === undefined || pad !== 0) return null;
        if (id === 0) {
          if (img.ptr(s + MODULEDEF_SLOT.value) !== 0) return null;
          ok = true;
          break;
        }
        if (id > 16) return null;
        if (id === 1 || id === 2) {
          const f = img.code(s + MODULEDEF_SLOT.value);
          if (!f) return null;
          slots.push({ slot: id, func: f });
        } else {
          const v = img.int64(s + MODULEDEF_SLOT.value);
          if (v === undefined || v > 0xffff) return null;
          slots.push({ slot: id, value: v });
        }
      }
      if (!ok) return null;
    }
    return { address: d, name, size, methods, slots, multiPhase: sp !== 0 };
  }

  /** A static PyTypeObject at `t`, or null. */
  typeObject(t: number): TypeInfo | null {
    const img = this.img;
    if (t < 0 || img.relocs.has(t)) return null;
    const refcnt = img.raw64(t);
    if (refcnt === undefined || refcnt < 1 || refcnt > 0xffff_ffff) return null;
    if (img.int64(t + 16) !== 0) return null; // ob_size
    if (img.dataRef(t + 8) === undefined) return null; // ob_type: NULL or &PyType_Type (or a metatype)
    // The whole object through tp_finalize must lie in the same data chunk.
    if (img.raw64(t + TYPE_MIN_SIZE - 8) === undefined || !sameChunk(img, t, t + TYPE_MIN_SIZE - 1)) return null;
    const np = img.ptr(t + TYPE.tp_name);
    if (np <= 0) return null;
    const name = img.cstring(np);
    if (name === null || !DOTTED.test(name)) return null;
    const basicsize = img.smallSigned(t + TYPE.tp_basicsize);
    const itemsize = img.smallSigned(t + TYPE.tp_itemsize);
    if (basicsize === undefined || basicsize < 0 || basicsize > 1 << 24) return null;
    if (itemsize === undefined || itemsize < 0 || itemsize > 1 << 16) return null;
    const vco = img.smallSigned(t + TYPE.tp_vectorcall_offset);
    if (vco === undefined || vco < 0 || vco > 1 << 24) return null;
    const flags = img.int64(t + TYPE.tp_flags);
    if (flags === undefined || flags > 0xffff_ffff) return null;
    if (!img.optionalString(t + TYPE.tp_doc)) return null;
    for (const f of ['tp_weaklistoffset', 'tp_dictoffset'] as const) {
      const v = img.smallSigned(t + TYPE[f]);
      if (v === undefined || Math.abs(v) > 1 << 24) return null;
    }
    // Runtime-only fields are NULL in the file.
    for (const f of ['tp_dict', 'tp_bases', 'tp_mro', 'tp_cache', 'tp_subclasses', 'tp_weaklist'] as const) if (!img.isZero(t + TYPE[f], 8)) return null;
    const slots = new Map<string, CodeRef>();
    for (const f of TYPE_FUNCTION_SLOTS) {
      if (f === 'tp_vectorcall' && !sameChunk(img, t, t + TYPE.tp_vectorcall + 7)) continue;
      const c = img.code(t + TYPE[f]);
      if (c === undefined) return null;
      if (c) slots.set(f, c);
    }
    const suites: TypeInfo['suites'] = {};
    const suiteAddrs: Array<[Exclude<SlotSuite, 'type'>, number]> = [];
    for (const [suite, field] of Object.entries(SUITE_FIELD) as Array<[Exclude<SlotSuite, 'type'>, string]>) {
      const r = img.dataRef(t + TYPE[field as keyof typeof TYPE]);
      if (r === undefined) return null;
      if (r?.kind === 'local') suiteAddrs.push([suite, r.address]);
    }
    let methods: MethodTable | undefined;
    const mr = img.dataRef(t + TYPE.tp_methods);
    if (mr === undefined || mr?.kind === 'external') return null;
    if (mr) {
      const tab = this.tableAt(mr.address);
      if (!tab) return null;
      methods = tab;
    }
    const mem = img.dataRef(t + TYPE.tp_members);
    if (mem === undefined) return null;
    const gr = img.dataRef(t + TYPE.tp_getset);
    if (gr === undefined || gr?.kind === 'external') return null;
    let getset: GetSetEntry[] = [];
    if (gr) {
      const g = this.getsetAt(gr.address);
      if (!g) return null;
      getset = g;
    }
    const base = img.dataRef(t + TYPE.tp_base);
    if (base === undefined) return null;
    // The suites: every field a function pointer or NULL (a malformed suite rejects the type).
    for (const [suite, addr] of suiteAddrs) {
      for (const [n, off] of SUITE_OFFSETS[suite]) {
        // am_send is new in 3.10: an older module's PyAsyncMethods ends before it.
        if (suite === 'async' && n === 'am_send' && !sameChunk(img, addr, addr + off + 7)) continue;
        const c = img.code(addr + off);
        if (c === undefined) {
          if (suite === 'async' && n === 'am_send') continue;
          return null;
        }
        if (c) slots.set(n, c);
      }
      suites[suite] = addr;
    }
    return {
      address: t,
      source: 'static',
      name,
      basicsize,
      itemsize,
      flags,
      slots,
      suites,
      methods,
      getset,
      base: base ?? undefined,
    };
  }

  /** An _inittab entry {name, initfunc} at `a` (initfunc may be NULL), or null. */
  inittabEntry(a: number): InittabEntry | null {
    const img = this.img;
    const np = img.ptr(a);
    if (np <= 0) return null;
    const name = img.cstring(np);
    if (name === null || !IDENT.test(name)) return null;
    const init = img.code(a + 8);
    if (init === undefined) return null;
    return { address: a, name, init: init ?? undefined };
  }

  /** A NULL-name-terminated PyGetSetDef array at `a`, or null. */
  getsetAt(a: number): GetSetEntry[] | null {
    const img = this.img;
    const out: GetSetEntry[] = [];
    for (let i = 0; i < MAX_GETSET; i++) {
      const g = a + i * GETSETDEF.size;
      const np = img.ptr(g + GETSETDEF.name);
      if (np === 0) return out;
      if (np < 0) return null;
      const name = img.cstring(np);
      if (name === null || !IDENT.test(name)) return null;
      const get = img.code(g + GETSETDEF.get);
      const set = img.code(g + GETSETDEF.set);
      if (get === undefined || set === undefined) return null;
      if (!img.optionalString(g + GETSETDEF.doc)) return null;
      out.push({ address: g, name, get: get ?? undefined, set: set ?? undefined });
    }
    return null;
  }

  /** A PyType_Spec at `s`, or null. */
  typeSpec(s: number): TypeInfo | null {
    const img = this.img;
    const np = img.ptr(s + TYPE_SPEC.name);
    if (np <= 0) return null;
    const name = img.cstring(np);
    if (name === null || !DOTTED.test(name)) return null;
    if (img.relocs.has(s + TYPE_SPEC.basicsize) || img.relocs.has(s + TYPE_SPEC.flags)) return null;
    const bs = img.raw32(s + TYPE_SPEC.basicsize);
    const is = img.raw32(s + TYPE_SPEC.itemsize);
    const flags = img.raw32(s + TYPE_SPEC.flags);
    const pad = img.raw32(s + TYPE_SPEC.flags + 4);
    if (bs === undefined || is === undefined || flags === undefined || pad !== 0) return null;
    const basicsize = bs | 0;
    const itemsize = is | 0;
    if (Math.abs(basicsize) > 1 << 24 || Math.abs(itemsize) > 1 << 16) return null;
    const sp = img.ptr(s + TYPE_SPEC.slots);
    if (sp <= 0 || !img.isData(sp)) return null;
    const slots = new Map<string, CodeRef>();
    let methods: MethodTable | undefined;
    let getset: GetSetEntry[] = [];
    let base: CodeRef | undefined;
    let count = 0;
    let ok = false;
    for (let i = 0; i < MAX_SPEC_SLOTS; i++) {
      const e = sp + i * TYPE_SLOT.size;
      if (img.relocs.has(e)) return null;
      const id = img.raw32(e);
      const epad = img.raw32(e + 4);
      if (id === undefined || epad !== 0) return null;
      if (id === 0) {
        ok = img.ptr(e + TYPE_SLOT.pfunc) === 0;
        break;
      }
      const slot = TYPESLOT_NAMES.get(id);
      if (!slot) return null;
      const at = e + TYPE_SLOT.pfunc;
      if (slot === 'tp_doc') {
        if (!img.optionalString(at)) return null;
      } else if (slot === 'tp_methods') {
        const r = img.dataRef(at);
        if (!r || r.kind !== 'local') return null;
        const t = this.tableAt(r.address);
        if (!t) return null;
        methods = t;
      } else if (slot === 'tp_getset') {
        const r = img.dataRef(at);
        if (!r || r.kind !== 'local') return null;
        const g = this.getsetAt(r.address);
        if (!g) return null;
        getset = g;
      } else if (slot === 'tp_members' || slot === 'tp_bases') {
        if (img.dataRef(at) === undefined) return null;
      } else if (slot === 'tp_base') {
        const r = img.dataRef(at);
        if (r === undefined) return null;
        base = r ?? undefined;
      } else {
        const c = img.code(at);
        if (c === undefined) return null;
        if (c) slots.set(slot, c);
      }
      count++;
    }
    if (!ok || count === 0) return null;
    return { address: s, source: 'spec', name, basicsize, itemsize, flags, slots, suites: {}, methods, getset, base };
  }
}

const SUITE_ORDER: Record<Exclude<SlotSuite, 'type'>, readonly string[]> = {
  number: NUMBER_SLOTS,
  sequence: SEQUENCE_SLOTS,
  mapping: ['mp_length', 'mp_subscript', 'mp_ass_subscript'],
  async: ['am_await', 'am_aiter', 'am_anext', 'am_send'],
  buffer: ['bf_getbuffer', 'bf_releasebuffer'],
};

/** Per suite: [slot name, offset] for every function slot, in field order. */
const SUITE_OFFSETS = Object.fromEntries(
  (Object.keys(SUITE_ORDER) as Array<Exclude<SlotSuite, 'type'>>).map((suite) => [
    suite,
    suiteSlots(suite).map((n) => [n, SUITE_ORDER[suite].indexOf(n) * 8] as [string, number]),
  ]),
) as Record<Exclude<SlotSuite, 'type'>, Array<[string, number]>>;

function sameChunk(img: LinkImage, a: number, b: number): boolean {
  return img.raw32(a) !== undefined && img.raw32(b - 3) !== undefined && chunkStart(img, a) === chunkStart(img, b - 3);
}

function chunkStart(img: LinkImage, a: number): number | undefined {
  for (const c of img.data) if (a >= c.start && a < c.end) return c.start;
  return undefined;
}

// ---------------------------------------------------------------------------------------------- discovery

/**
 * Discovers the Python tables of an ELF file. Never throws for odd data (candidates that fail validation are
 * skipped); throws NativeError only when the file's own structure (relocations, sections) cannot be read.
 */
export function discoverTables(elf: ElfFile, file: string = elf.name): PythonTables {
  const t0 = performance.now();
  const img = new LinkImage(elf);
  const d = new Discoverer(img);
  const nameSlots = img.nameSlots(DOTTED);
  let scanned = 0;
  for (const c of img.scanChunks()) scanned += c.bytes.length;

  // PyMethodDef entries, grouped into zero-terminated arrays; the rest are standalone.
  const entries: MethodEntry[] = [];
  for (const p of nameSlots) {
    const e = d.entry(p);
    if (e) entries.push(e);
  }
  const tables: MethodTable[] = [];
  const standalone: MethodEntry[] = [];
  for (let i = 0; i < entries.length; ) {
    let j = i + 1;
    while (j < entries.length && entries[j].address === entries[j - 1].address + METHODDEF.size) j++;
    const run = entries.slice(i, j);
    const after = run[run.length - 1].address + METHODDEF.size;
    if (img.isZero(after, METHODDEF.size)) tables.push({ address: run[0].address, entries: run });
    else standalone.push(...run);
    i = j;
  }
  const tableByAddr = new Map(tables.map((t) => [t.address, t]));

  const moduleDefs: ModuleDefInfo[] = [];
  const types: TypeInfo[] = [];
  const seenTypes = new Set<number>();
  for (const p of nameSlots) {
    const m = d.moduleDef(p - MODULEDEF.m_name);
    if (m) moduleDefs.push(m);
    const t = d.typeObject(p - TYPE.tp_name);
    if (t && !seenTypes.has(t.address)) {
      seenTypes.add(t.address);
      types.push(t);
    }
    const s = d.typeSpec(p);
    if (s && !seenTypes.has(s.address)) {
      seenTypes.add(s.address);
      types.push(s);
    }
  }
  // Tables referenced by definitions are tables even when the scan saw them as a run (e.g. an empty one).
  for (const def of [...moduleDefs.map((m) => m.methods), ...types.map((t) => t.methods)]) {
    if (def && !tableByAddr.has(def.address)) {
      tableByAddr.set(def.address, def);
      tables.push(def);
    }
  }
  tables.sort((a, b) => a.address - b.address);
  const inTable = new Set<number>();
  for (const t of tables) for (const e of t.entries) inTable.add(e.address);
  const lone = standalone.filter((e) => !inTable.has(e.address));

  // Built-in module tables: runs of at least 4 {name, PyInit} pairs ending with a zero pair, with at least
  // one PyInit function (the interpreter's _PyImport_Inittab).
  const inittab: InittabEntry[] = [];
  const slotSet = new Set(nameSlots);
  for (const p of nameSlots) {
    if (slotSet.has(p - 16) && d.inittabEntry(p - 16)) continue; // not the start of a run
    const run: InittabEntry[] = [];
    for (let q = p; run.length < MAX_TABLE; q += 16) {
      const e = d.inittabEntry(q);
      if (!e) {
        if (run.length >= 4 && img.isZero(q, 16) && run.some((x) => x.init)) inittab.push(...run);
        break;
      }
      run.push(e);
    }
  }

  const stats: DiscoveryStats = { ms: performance.now() - t0, scannedBytes: scanned, nameSlots: nameSlots.length };
  return new PythonTables(file, versionFromFileName(file), tables, lone, moduleDefs, types, inittab, stats);
}

/** Discovery results by file identity (device, inode, size, mtime, path); bounded, oldest dropped first. */
const cache = new Map<string, PythonTables>();
const CACHE_FILES = 128;

/** discoverTables, cached by a file identity such as ModuleImage.identity. */
export function cachedTables(elf: ElfFile, identity: string, file: string = elf.name): PythonTables {
  const hit = cache.get(identity);
  if (hit) {
    cache.delete(identity);
    cache.set(identity, hit);
    return hit;
  }
  const t = discoverTables(elf, file);
  if (cache.size >= CACHE_FILES) cache.delete(cache.keys().next().value as string);
  cache.set(identity, t);
  return t;
}

/** Drops cached discovery results (for benchmarks that measure cold runs). */
export function clearTablesCache(): void {
  cache.clear();
}

/** The identity key of a file on disk, as the address spaces compute it. */
export function fileIdentity(file: string): string {
  let real: string;
  let st: fs.Stats;
  try {
    real = fs.realpathSync(file);
    st = fs.statSync(real);
  } catch (e) {
    throw new NativeError('io', `${file} cannot be read: ${(e as Error).message}`, { subject: file, cause: e });
  }
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${real}`;
}

/** Opens a file, discovers its tables (cached by identity) and closes it. */
export function discoverFile(file: string): PythonTables {
  const id = fileIdentity(file);
  const hit = cache.get(id);
  if (hit) return hit;
  const elf = ElfFile.open(openFileSource(file), file);
  try {
    return cachedTables(elf, id, file);
  } finally {
    elf.close();
  }
}
