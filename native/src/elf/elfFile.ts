// ELF64 (x86-64, little-endian) reader over a ByteSource: headers, sections, dynamic section, symbols with
// versions, RELA relocations, PLT stubs → GOT slots, function extents (symbols + .eh_frame), and virtual reads.
// Headers are parsed on open; everything else is parsed on first use and cached, reading only the needed tables.

import { NativeError } from '../errors';
import { rangeContaining, upperBound } from '../upperBound';
import { ByteSource, checkRange } from './byteSource';
import { readDynamic } from './dynamic';
import { readHeaders } from './headers';
import * as C from './elfConstants';
import type { FdeRange } from './ehFrame';
import type {
  AddressRange,
  DynamicInfo,
  ElfHeader,
  ElfImage,
  ElfSymbol,
  ExecutableSection,
  FunctionExtent,
  ProgramHeader,
  PltStub,
  Relocation,
  SectionHeader,
  SymbolizedAddress,
} from './elfTypes';
import { FunctionExtents } from './extents';
import { Relocations } from './relocations';
import { SymbolTables } from './symbols';

export type * from './elfTypes';
export { decodeRipJmp } from './relocations';

const MAX_VIRTUAL_READ = 1 << 30; // One read never needs more; larger requests come from corrupt sizes.
const MAX_REPAIR_NOTES = 20; // Repairs listed by name; more are only counted.

/**
 * A 64-bit little-endian x86-64 ELF file. Construct with `ElfFile.open(source)`. The file keeps the
 * source open; call close() when done.
 */
export class ElfFile implements ElfImage {
  readonly name: string;
  readonly header: ElfHeader;
  readonly programHeaders: readonly ProgramHeader[];
  readonly sections: readonly SectionHeader[];
  private readonly loads: ProgramHeader[];
  private readonly sectionByName = new Map<string, SectionHeader>();

  private dynamicCache?: DynamicInfo;
  /** The parts parsed on first use: symbol tables, relocations and PLT stubs, function extents. */
  private symbolPart?: SymbolTables;
  private relocationPart?: Relocations;
  private extentPart?: FunctionExtents;
  /**
   * Sizes the file states that its own layout contradicts, and how they were bounded (an allocated
   * section past its segment, a symbol past its section or segment): a crafted or corrupt file. The
   * analyses walk these sizes, so they are bounded here, at the source, once.
   */
  readonly repairs: string[] = [];
  private repairCount = 0;

  private constructor(readonly source: ByteSource, name: string, header: ElfHeader, phdrs: ProgramHeader[], shdrs: SectionHeader[]) {
    this.name = name;
    this.header = header;
    this.programHeaders = phdrs;
    this.sections = shdrs;
    this.loads = phdrs.filter((p) => p.type === C.PT_LOAD).sort((a, b) => a.vaddr - b.vaddr);
    for (const s of shdrs) if (s.name && !this.sectionByName.has(s.name)) this.sectionByName.set(s.name, s);
    this.boundSections();
  }

  /** Total number of repairs (repairs lists the first MAX_REPAIR_NOTES). */
  get repairsMade(): number {
    return this.repairCount;
  }

  /** Notes a size the file's own layout contradicts and how it was bounded (the parts parsed later call it too). */
  repair(message: string): void {
    if (this.repairCount++ < MAX_REPAIR_NOTES) this.repairs.push(message);
  }

  /**
   * An allocated section ends where the segment holding its start ends (PT_TLS for TLS sections, PT_LOAD
   * for the others); one whose start is in no segment gets size 0. Files without segments (relocatable
   * objects) are left as they are: their section addresses are not load addresses.
   */
  private boundSections(): void {
    if (this.loads.length === 0) return;
    const tls = this.programHeaders.filter((p) => p.type === C.PT_TLS);
    for (const s of this.sections) {
      if ((s.flags & C.SHF_ALLOC) === 0 || s.size === 0) continue;
      const seg = (s.flags & C.SHF_TLS) !== 0 ? tls.find((p) => s.addr >= p.vaddr && s.addr < p.vaddr + p.memsz) : this.loadContaining(s.addr);
      const limit = seg ? seg.vaddr + seg.memsz - s.addr : 0;
      if (s.size <= limit) continue;
      this.repair(`section ${s.name || s.index} at 0x${s.addr.toString(16)} states ${s.size} bytes; ${seg ? `its segment ends after ${limit}` : 'no segment holds it'}: bounded to ${limit}.`);
      s.size = limit;
    }
  }

  /**
   * Reads and validates the ELF header, program headers and section headers (with names).
   * Throws NativeError: 'malformed' for non-ELF or inconsistent input, 'truncated' when tables lie past
   * the end, 'unsupported' for 32-bit, big-endian or non-x86-64 files.
   */
  static open(source: ByteSource, name: string = source.name): ElfFile {
    const { header, phdrs, shdrs } = readHeaders(source, name);
    return new ElfFile(source, name, header, phdrs, shdrs);
  }

  /** Closes the underlying byte source. */
  close(): void {
    this.source.close();
  }

  // ---------------------------------------------------------------- sections and segments

  /** The first section with this name, e.g. '.text'. */
  section(name: string): SectionHeader | undefined {
    return this.sectionByName.get(name);
  }

  /** The bytes of a section from the file (empty for SHT_NOBITS); may be a view, as ByteSource.read returns. */
  sectionData(section: SectionHeader): Uint8Array {
    if (section.type === C.SHT_NOBITS || section.size === 0) return new Uint8Array(0);
    checkRange(this.source, section.offset, section.size, `section ${section.name || section.index}`);
    return this.source.read(section.offset, section.size);
  }

  /**
   * A section's bytes as a private copy, for the tables the parsers hold while reading others: the
   * ByteSource contract allows read() to return a view that a later read may overwrite.
   */
  tableData(section: SectionHeader): Uint8Array {
    return new Uint8Array(this.sectionData(section));
  }

  /** The PT_LOAD segments sorted by virtual address. */
  loadSegments(): readonly ProgramHeader[] {
    return this.loads;
  }

  /** The lowest PT_LOAD virtual address (0 for a typical PIE or shared library). */
  get firstLoadVaddr(): number | undefined {
    return this.loads[0]?.vaddr;
  }

  /** True for ET_DYN objects: they are relocated by a load bias at run time. */
  get isRelocatable(): boolean {
    return this.header.type === C.ET_DYN;
  }

  /** PT_INTERP's path (e.g. /lib64/ld-linux-x86-64.so.2), or undefined. */
  get interpreter(): string | undefined {
    const ph = this.programHeaders.find((p) => p.type === C.PT_INTERP);
    if (!ph || ph.filesz === 0) return undefined;
    checkRange(this.source, ph.offset, ph.filesz, 'PT_INTERP');
    const bytes = this.source.read(ph.offset, Math.min(ph.filesz, 4096));
    let end = bytes.indexOf(0);
    if (end < 0) end = bytes.length;
    return Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('utf8');
  }

  /**
   * True when the object is statically linked: no PT_INTERP and either no PT_DYNAMIC, or a static-pie
   * (DF_1_PIE with no DT_NEEDED).
   */
  get isStatic(): boolean {
    if (this.programHeaders.some((p) => p.type === C.PT_INTERP)) return false;
    if (!this.programHeaders.some((p) => p.type === C.PT_DYNAMIC)) return true;
    const d = this.dynamic();
    return this.header.type === C.ET_DYN && (d.flags1 & C.DF_1_PIE) !== 0 && d.needed.length === 0;
  }

  /**
   * True for a position-independent executable: ET_DYN with DF_1_PIE, or (older linkers) ET_DYN with a
   * PT_INTERP and no DT_SONAME. Shared libraries such as libc.so.6 (which has PT_INTERP) are not PIEs.
   */
  get isPie(): boolean {
    if (this.header.type !== C.ET_DYN) return false;
    const hasDynamic = this.programHeaders.some((p) => p.type === C.PT_DYNAMIC);
    const d = hasDynamic ? this.dynamic() : undefined;
    if (d && (d.flags1 & C.DF_1_PIE) !== 0) return true;
    return this.programHeaders.some((p) => p.type === C.PT_INTERP) && d?.soname === undefined;
  }

  /** File offset of a link-time virtual address inside a PT_LOAD's file bytes, or undefined. */
  vaddrToOffset(vaddr: number): number | undefined {
    const seg = this.loadContaining(vaddr);
    if (!seg || vaddr >= seg.vaddr + seg.filesz) return undefined;
    return seg.offset + (vaddr - seg.vaddr);
  }

  /** The PT_LOAD containing a virtual address (within memsz). */
  loadContaining(vaddr: number): ProgramHeader | undefined {
    const loads = this.loads;
    const seg = loads[upperBound(loads.length, (i) => loads[i].vaddr > vaddr) - 1];
    return seg && vaddr < seg.vaddr + seg.memsz ? seg : undefined;
  }

  /**
   * Bytes at a link-time virtual address, through the PT_LOAD segments (zeros past filesz up to memsz).
   * The range must lie inside one segment; otherwise NativeError('truncated').
   */
  readVirtual(vaddr: number, length: number): Uint8Array {
    const out = this.tryReadVirtual(vaddr, length);
    if (!out) {
      throw new NativeError('truncated', `${this.name}: ${length} bytes at 0x${vaddr.toString(16)} are not inside one loadable segment.`, {
        subject: this.name,
      });
    }
    return out;
  }

  /** Like readVirtual, but undefined when the range is not inside one segment. */
  tryReadVirtual(vaddr: number, length: number): Uint8Array | undefined {
    if (!Number.isSafeInteger(vaddr) || !Number.isSafeInteger(length) || vaddr < 0 || length < 0) return undefined;
    if (length > MAX_VIRTUAL_READ) {
      throw new NativeError('unsupported', `${this.name}: a ${length}-byte read is larger than the ${MAX_VIRTUAL_READ}-byte limit.`, { subject: this.name });
    }
    const seg = this.loadContaining(vaddr);
    if (!seg || vaddr + length > seg.vaddr + seg.memsz) return undefined;
    const rel = vaddr - seg.vaddr;
    if (rel + length <= seg.filesz) return this.source.read(seg.offset + rel, length);
    const out = new Uint8Array(length);
    const fromFile = Math.max(0, Math.min(length, seg.filesz - rel));
    if (fromFile > 0) out.set(this.source.read(seg.offset + rel, fromFile), 0);
    return out;
  }

  /** Executable address ranges: PT_LOAD segments with PF_X, or (without program headers) SHF_EXECINSTR sections. */
  executableRanges(): AddressRange[] {
    const segs = this.loads.filter((p) => (p.flags & C.PF_X) !== 0);
    if (this.loads.length > 0) return segs.map((p) => ({ start: p.vaddr, end: p.vaddr + p.memsz }));
    return this.executableSections().map((s) => ({ start: s.start, end: s.end }));
  }

  private codeRanges?: readonly AddressRange[];

  /**
   * True when link-time `address` lies in code: an executable section (.init, .plt, .text, .fini, …) when the
   * file has section headers, else an executable segment. Old toolchains (manylinux wheels' libgfortran and
   * libopenblas) map .rodata and .eh_frame in the same R+X segment as .text: a pointer there is data, not code.
   */
  isCodeAddress(address: number): boolean {
    if (!this.codeRanges) {
      const sections = this.executableSections();
      this.codeRanges = sections.length > 0 ? sections : this.executableRanges().sort((a, b) => a.start - b.start);
    }
    return rangeContaining(this.codeRanges, address) !== undefined;
  }

  /** Allocated executable sections with file bytes (.init, .plt, .plt.sec, .text, ...), in address order. */
  executableSections(): ExecutableSection[] {
    return this.sections
      .filter((s) => (s.flags & C.SHF_EXECINSTR) !== 0 && (s.flags & C.SHF_ALLOC) !== 0 && s.type !== C.SHT_NOBITS && s.size > 0)
      .map((s) => ({ name: s.name, start: s.addr, end: s.addr + s.size, offset: s.offset }))
      .sort((a, b) => a.start - b.start);
  }

  // ---------------------------------------------------------------- the parts parsed on first use

  private get symbols(): SymbolTables {
    return (this.symbolPart ??= new SymbolTables(this));
  }

  private get relocationTables(): Relocations {
    return (this.relocationPart ??= new Relocations(this, this.symbols));
  }

  private get extents(): FunctionExtents {
    return (this.extentPart ??= new FunctionExtents(this, this.symbols));
  }

  /** The dynamic section (from PT_DYNAMIC, else the .dynamic section); empty for static objects. */
  dynamic(): DynamicInfo {
    return (this.dynamicCache ??= readDynamic(this));
  }

  /** Symbols of .dynsym (index 0, the null symbol, included so indexes match relocations). */
  dynamicSymbols(): readonly ElfSymbol[] {
    return this.symbols.dynamicSymbols();
  }

  /** Symbols of .symtab (empty when the file is stripped). */
  symtabSymbols(): readonly ElfSymbol[] {
    return this.symbols.symtabSymbols();
  }

  /** True when the file has a .symtab (is not stripped). */
  get hasSymtab(): boolean {
    return this.sections.some((s) => s.type === C.SHT_SYMTAB);
  }

  /**
   * A defined, exported symbol of .dynsym by name, as dlsym finds it: a plain name resolves to the
   * default version (`name@@VER`) or an unversioned definition, never to a hidden compatibility version;
   * `name@VER` and `name@@VER` select a version. Undefined when the object does not export it.
   */
  lookupSymbol(name: string): ElfSymbol | undefined {
    return this.symbols.lookupSymbol(name);
  }

  /**
   * Any defined symbol by name, from .symtab and .dynsym: exported symbols first (as lookupSymbol), then
   * global, weak and local .symtab symbols. Useful for non-exported functions such as `main` in a PIE.
   */
  findSymbol(name: string): ElfSymbol | undefined {
    return this.symbols.findSymbol(name);
  }

  /** Every relocation of every SHT_RELA section, in section order. */
  relocations(): readonly Relocation[] {
    return this.relocationTables.relocations();
  }

  /**
   * Dynamic relocations (from allocated RELA sections) by the slot address they patch: GOT slot →
   * relocation. Where several patch one slot, JUMP_SLOT/GLOB_DAT/IRELATIVE win.
   */
  gotSlotRelocations(): ReadonlyMap<number, Relocation> {
    return this.relocationTables.gotSlotRelocations();
  }

  /** The dynamic relocation patching the slot at this link-time address, if any. */
  relocationAt(slot: number): Relocation | undefined {
    return this.relocationTables.relocationAt(slot);
  }

  /**
   * PLT stubs of .plt, .plt.sec and .plt.got, each with the GOT slot its `jmp [rip+X]` reads and the
   * symbol relocated into that slot. Lazy .plt entries of an IBT binary (which only push and jump to
   * PLT0) are not stubs of their own: their .plt.sec twins are.
   */
  pltStubs(): readonly PltStub[] {
    return this.relocationTables.pltStubs();
  }

  /** The PLT stub starting at this link-time address, if any. */
  pltStubAt(address: number): PltStub | undefined {
    return this.relocationTables.pltStubAt(address);
  }

  /** Code ranges of every FDE in .eh_frame (found by section, else through PT_GNU_EH_FRAME), unsorted. */
  fdeRanges(): readonly FdeRange[] {
    return this.extents.fdeRanges();
  }

  private lsdaCache?: FdeRange[];

  /** True when code in [start, end) has landing pads (an FDE with an LSDA covers part of it). */
  hasLandingPads(start: number, end: number): boolean {
    const ranges = (this.lsdaCache ??= this.extents.fdeRanges().filter((f) => f.lsda));
    for (const f of ranges) if (f.start < end && f.end > start) return true;
    return false;
  }

  /**
   * Function extents sorted by start: STT_FUNC/STT_GNU_IFUNC symbols with a size (from .symtab and
   * .dynsym; aliases at one address merged), then FDE ranges where no symbol covers the address
   * (cut at the next symbol's start), unnamed. Only ranges inside executable segments are kept.
   */
  functions(): readonly FunctionExtent[] {
    return this.extents.functions();
  }

  /** The innermost function extent containing a link-time address, or undefined. */
  functionAt(vaddr: number): FunctionExtent | undefined {
    return this.extents.functionAt(vaddr);
  }

  /** `name+offset` for a link-time address, from the nearest preceding named function. */
  symbolize(vaddr: number): SymbolizedAddress | undefined {
    return this.extents.symbolize(vaddr);
  }
}
