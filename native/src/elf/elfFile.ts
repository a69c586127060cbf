// ELF64 (x86-64, little-endian) reader over a ByteSource: headers, sections, dynamic section, symbols with
// versions, RELA relocations, PLT stubs → GOT slots, function extents (symbols + .eh_frame), and virtual reads.
// Headers are parsed on open; everything else is parsed on first use and cached, reading only the needed tables.

import { NativeError } from '../errors';
import { ByteSource, checkRange } from './byteSource';
import { LeReader, StringTable } from './binary';
import * as C from './elfConstants';
import { FdeRange, parseEhFrame, parseEhFrameHdr } from './ehFrame';

export interface ElfHeader {
  type: number;
  machine: number;
  version: number;
  osabi: number;
  entry: number;
  phoff: number;
  shoff: number;
  flags: number;
  ehsize: number;
  phentsize: number;
  /** Number of program headers (PN_XNUM resolved). */
  phnum: number;
  shentsize: number;
  /** Number of section headers (extended numbering resolved). */
  shnum: number;
  /** Index of the section-name string table (SHN_XINDEX resolved), 0 when there is none. */
  shstrndx: number;
}

export interface ProgramHeader {
  index: number;
  type: number;
  /** PF_R | PF_W | PF_X bits. */
  flags: number;
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

export interface SectionHeader {
  index: number;
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
}

export interface DynamicEntry {
  tag: number;
  value: number;
}

/** The decoded dynamic section. */
export interface DynamicInfo {
  entries: DynamicEntry[];
  /** DT_NEEDED library names in order. */
  needed: string[];
  soname?: string;
  /** DT_RUNPATH split on ':'. */
  runpath?: string[];
  /** DT_RPATH split on ':'. */
  rpath?: string[];
  /** DT_FLAGS value (0 when absent). */
  flags: number;
  /** DT_FLAGS_1 value (0 when absent). */
  flags1: number;
  /** True when the object asks for immediate binding: DT_BIND_NOW, DF_BIND_NOW or DF_1_NOW. */
  bindNow: boolean;
}

/** A symbol's version from .gnu.version + .gnu.version_d (defined) or .gnu.version_r (needed). */
export interface SymbolVersion {
  /** The version index stored in .gnu.version (without the hidden bit). Shared between symbols: do not mutate. */
  index: number;
  /** Version name, e.g. 'GLIBC_2.14'. */
  name: string;
  /** True for a non-default version (`name@VER`); false for the default (`name@@VER`). */
  hidden: boolean;
  /** For a needed version: the library that must provide it (from .gnu.version_r). */
  file?: string;
}

export type SymbolTableKind = 'dynsym' | 'symtab';

export interface ElfSymbol {
  /** Index in its table. */
  index: number;
  table: SymbolTableKind;
  name: string;
  value: number;
  size: number;
  /** STT_* */
  type: number;
  /** STB_* */
  bind: number;
  /** STV_* */
  visibility: number;
  shndx: number;
  /** True when the symbol is defined here (shndx is not SHN_UNDEF). */
  defined: boolean;
  version?: SymbolVersion;
}

export interface Relocation {
  /** r_offset: for dynamic relocations, the link-time address of the patched slot. */
  offset: number;
  /** R_X86_64_* */
  type: number;
  /** Name of the type without the R_X86_64_ prefix, e.g. 'JUMP_SLOT'. */
  typeName: string;
  symbolIndex: number;
  /** The referenced symbol (from the section's linked symbol table); undefined for index 0. */
  symbol?: ElfSymbol;
  addend: number;
  /** Name of the relocation section, e.g. '.rela.plt'. */
  section: string;
}

export type PltKind = 'plt' | 'plt.sec' | 'plt.got';

/** A PLT stub and the GOT slot its `jmp [rip+X]` goes through. */
export interface PltStub {
  address: number;
  size: number;
  /** Link-time address of the GOT slot the stub jumps through. */
  gotSlot: number;
  /** The symbol the slot is relocated against (for IRELATIVE: the IFUNC whose resolver is the addend, if known). */
  symbol?: string;
  /** Type of the relocation at the slot (JUMP_SLOT, GLOB_DAT, IRELATIVE), or R_X86_64_NONE when there is none. */
  relocType: number;
  kind: PltKind;
}

/** A function's code range [start, end) at link-time addresses. */
export interface FunctionExtent {
  start: number;
  end: number;
  /** The preferred symbol name; undefined for extents known only from .eh_frame. */
  name?: string;
  /** Other symbol names at the same start. */
  aliases?: string[];
  source: 'symbol' | 'eh_frame';
}

export interface SymbolizedAddress {
  name: string;
  offset: number;
  /** True when the address lies inside the named function's extent (false: only the nearest preceding name). */
  inside: boolean;
}

export interface AddressRange {
  start: number;
  end: number;
}

/** An executable allocated section: the ranges a full scan decodes. */
export interface ExecutableSection extends AddressRange {
  name: string;
  offset: number;
}

const PN_XNUM = 0xffff;
const MAX_VIRTUAL_READ = 1 << 30; // One read never needs more; larger requests come from corrupt sizes.
const MAX_SYMBOLS = 50_000_000; // Far above any real table; a guard against absurd entsize/size pairs.
const MAX_REPAIR_NOTES = 20; // Repairs listed by name; more are only counted.

/**
 * A 64-bit little-endian x86-64 ELF file. Construct with `ElfFile.open(source)`. The file keeps the
 * source open; call close() when done.
 */
export class ElfFile {
  readonly name: string;
  readonly header: ElfHeader;
  readonly programHeaders: readonly ProgramHeader[];
  readonly sections: readonly SectionHeader[];
  private readonly loads: ProgramHeader[];
  private readonly sectionByName = new Map<string, SectionHeader>();

  private dynamicCache?: DynamicInfo;
  private symbolCache = new Map<number, ElfSymbol[]>();
  private exportMap?: Map<string, ElfSymbol>;
  private anyMap?: Map<string, ElfSymbol>;
  private relocCache?: Relocation[];
  private slotMap?: Map<number, Relocation>;
  private pltCache?: PltStub[];
  private pltByAddress?: Map<number, PltStub>;
  private ifuncByResolver?: Map<number, string>;
  private fdeCache?: FdeRange[];
  private functionCache?: FunctionExtent[];
  private functionMaxEnd?: number[];
  private functionNamed?: Int32Array;
  private versionCache?: { defs: Map<number, string>; needs: Map<number, { name: string; file: string }> };
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

  private repair(message: string): void {
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
   * A defined symbol's size bounded by its section (by the PT_LOAD holding it for SHN_ABS); 0 when its
   * value lies outside. TLS symbols (offsets, not addresses) and relocatable objects are left as they are.
   */
  private boundSymbolSize(sym: ElfSymbol): number {
    if (sym.size === 0 || !sym.defined || sym.type === C.STT_TLS || this.loads.length === 0) return sym.size;
    let start: number;
    let end: number;
    if (sym.shndx === C.SHN_ABS) {
      const seg = this.loadContaining(sym.value);
      if (!seg) return sym.size <= 0 ? sym.size : this.symbolRepair(sym, 0, 'no segment holds it');
      start = seg.vaddr;
      end = seg.vaddr + seg.memsz;
    } else if (sym.shndx < C.SHN_LORESERVE) {
      const sec = this.sections[sym.shndx];
      if (!sec || (sec.flags & C.SHF_ALLOC) === 0) return sym.size;
      start = sec.addr;
      end = sec.addr + sec.size;
    } else return sym.size;
    if (sym.value < start || sym.value > end) return this.symbolRepair(sym, 0, 'its value is outside its section');
    return sym.value + sym.size <= end ? sym.size : this.symbolRepair(sym, end - sym.value, 'it would pass the end of its section');
  }

  private symbolRepair(sym: ElfSymbol, size: number, why: string): number {
    this.repair(`symbol ${sym.name || sym.index} (${sym.table}) at 0x${sym.value.toString(16)} states size ${sym.size}; ${why}: bounded to ${size}.`);
    return size;
  }

  /**
   * Reads and validates the ELF header, program headers and section headers (with names).
   * Throws NativeError: 'malformed' for non-ELF or inconsistent input, 'truncated' when tables lie past
   * the end, 'unsupported' for 32-bit, big-endian or non-x86-64 files.
   */
  static open(source: ByteSource, name: string = source.name): ElfFile {
    const sub = { name, size: source.size };
    if (source.size < 4) throw new NativeError('malformed', `${name} is not an ELF file (too short for the ELF magic).`, { subject: name });
    const ident = source.read(0, Math.min(C.EI_NIDENT, source.size));
    if (ident[0] !== C.ELFMAG[0] || ident[1] !== C.ELFMAG[1] || ident[2] !== C.ELFMAG[2] || ident[3] !== C.ELFMAG[3]) {
      throw new NativeError('malformed', `${name} is not an ELF file (bad magic).`, { subject: name });
    }
    if (ident.length < C.EI_NIDENT) throw new NativeError('truncated', `${name}: the ELF identification is truncated.`, { subject: name });
    const cls = ident[C.EI_CLASS];
    if (cls === C.ELFCLASS32) {
      throw new NativeError('unsupported', `${name} is a 32-bit ELF file (ELFCLASS32); only 64-bit x86-64 objects are supported.`, {
        subject: name,
      });
    }
    if (cls !== C.ELFCLASS64) throw new NativeError('malformed', `${name}: invalid ELF class ${cls}.`, { subject: name });
    const data = ident[C.EI_DATA];
    if (data === C.ELFDATA2MSB) {
      throw new NativeError('unsupported', `${name} is a big-endian ELF file; only little-endian x86-64 objects are supported.`, { subject: name });
    }
    if (data !== C.ELFDATA2LSB) throw new NativeError('malformed', `${name}: invalid ELF data encoding ${data}.`, { subject: name });
    checkRange(sub, 0, C.ELF64_EHDR_SIZE, 'ELF header');
    const eh = new LeReader(source.read(0, C.ELF64_EHDR_SIZE), name);
    const machine = eh.u16(18);
    if (machine !== C.EM_X86_64) {
      const m = C.EM_NAMES[machine] ?? `machine ${machine}`;
      throw new NativeError('unsupported', `${name} is an ELF file for ${m}; only x86-64 is supported.`, { subject: name });
    }
    const header: ElfHeader = {
      type: eh.u16(16),
      machine,
      version: eh.u32(20),
      osabi: ident[C.EI_OSABI],
      entry: eh.u64(24),
      phoff: eh.u64(32),
      shoff: eh.u64(40),
      flags: eh.u32(48),
      ehsize: eh.u16(52),
      phentsize: eh.u16(54),
      phnum: eh.u16(56),
      shentsize: eh.u16(58),
      shnum: eh.u16(60),
      shstrndx: eh.u16(62),
    };

    // Section 0 carries the real counts when they overflow 16 bits (extended numbering).
    let section0: LeReader | undefined;
    const readSection0 = (): LeReader => {
      if (!section0) {
        if (header.shentsize !== C.ELF64_SHDR_SIZE) {
          throw new NativeError('malformed', `${name}: section header size ${header.shentsize} is not ${C.ELF64_SHDR_SIZE}.`, { subject: name });
        }
        checkRange(sub, header.shoff, C.ELF64_SHDR_SIZE, 'section header 0');
        section0 = new LeReader(source.read(header.shoff, C.ELF64_SHDR_SIZE), name);
      }
      return section0;
    };
    if (header.shoff !== 0) {
      if (header.shnum === 0) header.shnum = readSection0().u64(32);
      if (header.shstrndx === C.SHN_XINDEX) header.shstrndx = readSection0().u32(40);
      if (header.phnum === PN_XNUM) header.phnum = readSection0().u32(44);
    } else {
      header.shnum = 0;
      header.shstrndx = 0;
    }

    // Program headers.
    const phdrs: ProgramHeader[] = [];
    if (header.phnum > 0) {
      if (header.phentsize !== C.ELF64_PHDR_SIZE) {
        throw new NativeError('malformed', `${name}: program header size ${header.phentsize} is not ${C.ELF64_PHDR_SIZE}.`, { subject: name });
      }
      const total = header.phnum * C.ELF64_PHDR_SIZE;
      checkRange(sub, header.phoff, total, 'program header table');
      const r = new LeReader(source.read(header.phoff, total), `${name} program headers`);
      for (let i = 0; i < header.phnum; i++) {
        const o = i * C.ELF64_PHDR_SIZE;
        const ph: ProgramHeader = {
          index: i,
          type: r.u32(o),
          flags: r.u32(o + 4),
          offset: r.u64(o + 8),
          vaddr: r.u64(o + 16),
          paddr: r.u64(o + 24),
          filesz: r.u64(o + 32),
          memsz: r.u64(o + 40),
          align: r.u64(o + 48),
        };
        if (ph.type === C.PT_LOAD) {
          if (!Number.isSafeInteger(ph.vaddr + ph.memsz) || !Number.isSafeInteger(ph.offset + ph.filesz)) {
            throw new NativeError('malformed', `${name}: PT_LOAD #${i} has an address or size beyond 2^53.`, { subject: name });
          }
          if (ph.filesz > ph.memsz) {
            throw new NativeError('malformed', `${name}: PT_LOAD #${i} has filesz ${ph.filesz} > memsz ${ph.memsz}.`, { subject: name });
          }
        }
        phdrs.push(ph);
      }
    }

    // Section headers and their names.
    const shdrs: SectionHeader[] = [];
    if (header.shnum > 0) {
      if (header.shentsize !== C.ELF64_SHDR_SIZE) {
        throw new NativeError('malformed', `${name}: section header size ${header.shentsize} is not ${C.ELF64_SHDR_SIZE}.`, { subject: name });
      }
      const total = header.shnum * C.ELF64_SHDR_SIZE;
      checkRange(sub, header.shoff, total, 'section header table');
      const r = new LeReader(source.read(header.shoff, total), `${name} section headers`);
      const nameOffsets: number[] = [];
      for (let i = 0; i < header.shnum; i++) {
        const o = i * C.ELF64_SHDR_SIZE;
        nameOffsets.push(r.u32(o));
        shdrs.push({
          index: i,
          name: '',
          type: r.u32(o + 4),
          flags: r.u64(o + 8),
          addr: r.u64(o + 16),
          offset: r.u64(o + 24),
          size: r.u64(o + 32),
          link: r.u32(o + 40),
          info: r.u32(o + 44),
          addralign: r.u64(o + 48),
          entsize: r.u64(o + 56),
        });
      }
      if (header.shstrndx !== C.SHN_UNDEF) {
        if (header.shstrndx >= header.shnum) {
          throw new NativeError('malformed', `${name}: section-name table index ${header.shstrndx} is out of range (${header.shnum} sections).`, {
            subject: name,
          });
        }
        const strSec = shdrs[header.shstrndx];
        if (strSec.type === C.SHT_NOBITS) throw new NativeError('malformed', `${name}: the section-name table has no bytes.`, { subject: name });
        checkRange(sub, strSec.offset, strSec.size, 'section-name string table');
        const names = new StringTable(source.read(strSec.offset, strSec.size), `${name} section names`);
        for (let i = 0; i < shdrs.length; i++) shdrs[i].name = i === 0 && nameOffsets[i] === 0 ? '' : names.get(nameOffsets[i]);
      }
    }
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
  private tableData(section: SectionHeader): Uint8Array {
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
    let lo = 0;
    let hi = loads.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (loads[mid].vaddr <= vaddr) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return undefined;
    const seg = loads[found];
    return vaddr < seg.vaddr + seg.memsz ? seg : undefined;
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

  /** Allocated executable sections with file bytes (.init, .plt, .plt.sec, .text, ...), in address order. */
  executableSections(): ExecutableSection[] {
    return this.sections
      .filter((s) => (s.flags & C.SHF_EXECINSTR) !== 0 && (s.flags & C.SHF_ALLOC) !== 0 && s.type !== C.SHT_NOBITS && s.size > 0)
      .map((s) => ({ name: s.name, start: s.addr, end: s.addr + s.size, offset: s.offset }))
      .sort((a, b) => a.start - b.start);
  }

  // ---------------------------------------------------------------- dynamic section

  /** The dynamic section (from PT_DYNAMIC, else the .dynamic section); empty for static objects. */
  dynamic(): DynamicInfo {
    if (this.dynamicCache) return this.dynamicCache;
    const info: DynamicInfo = { entries: [], needed: [], flags: 0, flags1: 0, bindNow: false };
    const ph = this.programHeaders.find((p) => p.type === C.PT_DYNAMIC);
    const sec = this.sections.find((s) => s.type === C.SHT_DYNAMIC);
    let offset: number | undefined;
    let size = 0;
    if (ph) {
      offset = ph.offset;
      size = ph.filesz;
    } else if (sec && sec.type !== C.SHT_NOBITS) {
      offset = sec.offset;
      size = sec.size;
    }
    if (offset !== undefined && size > 0) {
      checkRange(this.source, offset, size, 'dynamic section');
      const r = new LeReader(this.source.read(offset, size), `${this.name} dynamic section`);
      const count = Math.floor(size / C.ELF64_DYN_SIZE);
      for (let i = 0; i < count; i++) {
        const tag = r.i64(i * 16);
        if (tag === C.DT_NULL) break;
        info.entries.push({ tag, value: r.u64(i * 16 + 8) });
      }
    }
    const get = (tag: number) => info.entries.find((e) => e.tag === tag)?.value;
    info.flags = get(C.DT_FLAGS) ?? 0;
    info.flags1 = get(C.DT_FLAGS_1) ?? 0;
    info.bindNow = get(C.DT_BIND_NOW) !== undefined || (info.flags & C.DF_BIND_NOW) !== 0 || (info.flags1 & C.DF_1_NOW) !== 0;
    const needsStrings = info.entries.some((e) => [C.DT_NEEDED, C.DT_SONAME, C.DT_RUNPATH, C.DT_RPATH].includes(e.tag));
    if (needsStrings) {
      const strtab = this.dynamicStrings(info, sec);
      for (const e of info.entries) {
        if (e.tag === C.DT_NEEDED) info.needed.push(strtab.get(e.value));
        else if (e.tag === C.DT_SONAME) info.soname = strtab.get(e.value);
        else if (e.tag === C.DT_RUNPATH) info.runpath = strtab.get(e.value).split(':');
        else if (e.tag === C.DT_RPATH) info.rpath = strtab.get(e.value).split(':');
      }
    }
    this.dynamicCache = info;
    return info;
  }

  /** The dynamic string table: DT_STRTAB/DT_STRSZ through the segments, else the .dynamic section's link. */
  private dynamicStrings(info: DynamicInfo, dynSec: SectionHeader | undefined): StringTable {
    const addr = info.entries.find((e) => e.tag === C.DT_STRTAB)?.value;
    const size = info.entries.find((e) => e.tag === C.DT_STRSZ)?.value;
    if (addr !== undefined && size !== undefined) {
      const off = this.vaddrToOffset(addr);
      if (off !== undefined) {
        checkRange(this.source, off, size, 'DT_STRTAB');
        return new StringTable(new Uint8Array(this.source.read(off, size)), `${this.name} dynamic strings`);
      }
    }
    const link = dynSec ? this.sections[dynSec.link] : this.section('.dynstr');
    if (link && link.type === C.SHT_STRTAB) return new StringTable(this.tableData(link), `${this.name} ${link.name}`);
    throw new NativeError('malformed', `${this.name}: the dynamic section has no usable string table.`, { subject: this.name });
  }

  // ---------------------------------------------------------------- symbols

  /** Symbols of .dynsym (index 0, the null symbol, included so indexes match relocations). */
  dynamicSymbols(): readonly ElfSymbol[] {
    const sec = this.sections.find((s) => s.type === C.SHT_DYNSYM);
    return sec ? this.symbolTable(sec) : [];
  }

  /** Symbols of .symtab (empty when the file is stripped). */
  symtabSymbols(): readonly ElfSymbol[] {
    const sec = this.sections.find((s) => s.type === C.SHT_SYMTAB);
    return sec ? this.symbolTable(sec) : [];
  }

  /** True when the file has a .symtab (is not stripped). */
  get hasSymtab(): boolean {
    return this.sections.some((s) => s.type === C.SHT_SYMTAB);
  }

  /** Parses (once) the symbol table in section `sec`, a SHT_SYMTAB or SHT_DYNSYM. */
  private symbolTable(sec: SectionHeader): ElfSymbol[] {
    const cached = this.symbolCache.get(sec.index);
    if (cached) return cached;
    const what = `${this.name} ${sec.name || `section ${sec.index}`}`;
    if (sec.type !== C.SHT_SYMTAB && sec.type !== C.SHT_DYNSYM) {
      throw new NativeError('malformed', `${what} is referenced as a symbol table but is not one.`, { subject: this.name });
    }
    const entsize = sec.entsize === 0 ? C.ELF64_SYM_SIZE : sec.entsize;
    if (entsize < C.ELF64_SYM_SIZE || entsize > 4096) throw new NativeError('malformed', `${what}: symbol size ${entsize} is invalid.`, { subject: this.name });
    const count = Math.floor(sec.size / entsize);
    if (count > MAX_SYMBOLS) throw new NativeError('malformed', `${what}: ${count} symbols is implausible.`, { subject: this.name });
    const strSec = this.sections[sec.link];
    if (!strSec || strSec.type !== C.SHT_STRTAB) {
      throw new NativeError('malformed', `${what}: linked string table ${sec.link} is missing or not a string table.`, { subject: this.name });
    }
    const strings = new StringTable(this.tableData(strSec), `${this.name} ${strSec.name}`);
    const r = new LeReader(this.tableData(sec), what);
    const table: SymbolTableKind = sec.type === C.SHT_DYNSYM ? 'dynsym' : 'symtab';
    const versym = table === 'dynsym' ? this.versionIndexes(sec, count) : undefined;
    const versions = versym ? this.versionNames() : undefined;
    const out: ElfSymbol[] = new Array(count);
    const versionObjects = new Map<number, SymbolVersion>();
    for (let i = 0; i < count; i++) {
      const o = i * entsize;
      const info = r.u8(o + 4);
      const shndx = r.u16(o + 6);
      const sym: ElfSymbol = {
        index: i,
        table,
        name: strings.get(r.u32(o)),
        value: r.u64(o + 8),
        size: r.u64(o + 16),
        type: info & 0xf,
        bind: info >> 4,
        visibility: r.u8(o + 5) & 3,
        shndx,
        defined: shndx !== C.SHN_UNDEF,
      };
      sym.size = this.boundSymbolSize(sym);
      if (versym && versions) {
        const v = versym[i];
        const idx = v & C.VERSYM_VERSION;
        if (idx > C.VER_NDX_GLOBAL) {
          const hidden = (v & C.VERSYM_HIDDEN) !== 0;
          const def = versions.defs.get(idx);
          const need = versions.needs.get(idx);
          // Version objects are shared between symbols (thousands of symbols carry a handful of versions).
          const useDef = def !== undefined && (sym.defined || need === undefined);
          const key = (useDef ? 0 : 0x10000) | (hidden ? 0x8000 : 0) | idx;
          let version = versionObjects.get(key);
          if (!version && (useDef || need !== undefined)) {
            version = useDef ? { index: idx, name: def!, hidden } : { index: idx, name: need!.name, hidden, file: need!.file };
            versionObjects.set(key, version);
          }
          if (version) sym.version = version;
        }
      }
      out[i] = sym;
    }
    this.symbolCache.set(sec.index, out);
    return out;
  }

  /** The .gnu.version entries for a dynamic symbol table, when present and consistent. */
  private versionIndexes(symSec: SectionHeader, count: number): Uint16Array | undefined {
    const sec = this.sections.find((s) => s.type === C.SHT_GNU_versym && s.link === symSec.index);
    if (!sec) return undefined;
    if (sec.size < count * 2) {
      throw new NativeError('malformed', `${this.name}: .gnu.version has ${sec.size / 2} entries for ${count} symbols.`, { subject: this.name });
    }
    const r = new LeReader(this.tableData(sec), `${this.name} .gnu.version`);
    const out = new Uint16Array(count);
    for (let i = 0; i < count; i++) out[i] = r.u16(i * 2);
    return out;
  }

  /** Version index → name from .gnu.version_d, and → {name, file} from .gnu.version_r. */
  private versionNames(): { defs: Map<number, string>; needs: Map<number, { name: string; file: string }> } {
    if (this.versionCache) return this.versionCache;
    const defs = new Map<number, string>();
    const needs = new Map<number, { name: string; file: string }>();
    const strFor = (sec: SectionHeader) => {
      const s = this.sections[sec.link];
      if (!s || s.type !== C.SHT_STRTAB) throw new NativeError('malformed', `${this.name}: ${sec.name} has no string table.`, { subject: this.name });
      return new StringTable(this.tableData(s), `${this.name} ${s.name}`);
    };
    const verdef = this.sections.find((s) => s.type === C.SHT_GNU_verdef);
    if (verdef) {
      const strings = strFor(verdef);
      const r = new LeReader(this.tableData(verdef), `${this.name} .gnu.version_d`);
      let pos = 0;
      // Each Elf64_Verdef is 20 bytes; the chain cannot have more entries than that allows.
      for (let n = 0; n <= r.length / 20 && pos + 20 <= r.length; n++) {
        const ndx = r.u16(pos + 4);
        const cnt = r.u16(pos + 6);
        const aux = r.u32(pos + 12);
        const next = r.u32(pos + 16);
        if (cnt > 0) {
          if (pos + aux + 8 > r.length) throw new NativeError('truncated', `${this.name}: .gnu.version_d aux entry out of range.`, { subject: this.name });
          defs.set(ndx, strings.get(r.u32(pos + aux)));
        }
        if (next === 0) break;
        pos += next;
      }
    }
    const verneed = this.sections.find((s) => s.type === C.SHT_GNU_verneed);
    if (verneed) {
      const strings = strFor(verneed);
      const r = new LeReader(this.tableData(verneed), `${this.name} .gnu.version_r`);
      let pos = 0;
      // Elf64_Verneed and Elf64_Vernaux are 16 bytes each: bound both chains by the section size.
      const bound = r.length / 16 + 1;
      for (let n = 0; n < bound && pos + 16 <= r.length; n++) {
        const cnt = r.u16(pos + 2);
        const file = strings.get(r.u32(pos + 4));
        const aux = r.u32(pos + 8);
        const next = r.u32(pos + 12);
        let a = pos + aux;
        for (let k = 0; k < cnt && k < bound; k++) {
          if (a + 16 > r.length) throw new NativeError('truncated', `${this.name}: .gnu.version_r aux entry out of range.`, { subject: this.name });
          const other = r.u16(a + 6);
          needs.set(other, { name: strings.get(r.u32(a + 8)), file });
          const an = r.u32(a + 12);
          if (an === 0) break;
          a += an;
        }
        if (next === 0) break;
        pos += next;
      }
    }
    this.versionCache = { defs, needs };
    return this.versionCache;
  }

  /**
   * A defined, exported symbol of .dynsym by name, as dlsym finds it: a plain name resolves to the
   * default version (`name@@VER`) or an unversioned definition, never to a hidden compatibility version;
   * `name@VER` and `name@@VER` select a version. Undefined when the object does not export it.
   */
  lookupSymbol(name: string): ElfSymbol | undefined {
    if (!this.exportMap) {
      const map = new Map<string, ElfSymbol>();
      for (const s of this.dynamicSymbols()) {
        if (!s.defined || !s.name) continue;
        if (s.bind !== C.STB_GLOBAL && s.bind !== C.STB_WEAK && s.bind !== C.STB_GNU_UNIQUE) continue;
        if (s.visibility !== C.STV_DEFAULT && s.visibility !== C.STV_PROTECTED) continue;
        const hidden = s.version?.hidden ?? false;
        // Like dlsym: a plain name finds only the default (or unversioned) definition.
        if (!hidden && !map.has(s.name)) map.set(s.name, s);
        if (s.version) {
          map.set(`${s.name}@${s.version.name}`, s);
          if (!hidden) map.set(`${s.name}@@${s.version.name}`, s);
        }
      }
      this.exportMap = map;
    }
    return this.exportMap.get(name);
  }

  /**
   * Any defined symbol by name, from .symtab and .dynsym: exported symbols first (as lookupSymbol), then
   * global, weak and local .symtab symbols. Useful for non-exported functions such as `main` in a PIE.
   */
  findSymbol(name: string): ElfSymbol | undefined {
    const exported = this.lookupSymbol(name);
    if (exported) return exported;
    if (!this.anyMap) {
      const map = new Map<string, ElfSymbol>();
      const rank = (s: ElfSymbol) => (s.bind === C.STB_GLOBAL ? 0 : s.bind === C.STB_WEAK ? 1 : 2);
      for (const s of [...this.symtabSymbols(), ...this.dynamicSymbols()]) {
        if (!s.defined || !s.name || s.type === C.STT_SECTION || s.type === C.STT_FILE) continue;
        const prev = map.get(s.name);
        if (!prev || rank(s) < rank(prev)) map.set(s.name, s);
      }
      this.anyMap = map;
    }
    return this.anyMap.get(name);
  }

  // ---------------------------------------------------------------- relocations

  /** Every relocation of every SHT_RELA section, in section order. */
  relocations(): readonly Relocation[] {
    if (this.relocCache) return this.relocCache;
    const out: Relocation[] = [];
    for (const sec of this.sections) {
      if (sec.type !== C.SHT_RELA || sec.size === 0) continue;
      const what = `${this.name} ${sec.name || `section ${sec.index}`}`;
      const entsize = sec.entsize === 0 ? C.ELF64_RELA_SIZE : sec.entsize;
      if (entsize < C.ELF64_RELA_SIZE || entsize > 4096) throw new NativeError('malformed', `${what}: relocation size ${entsize} is invalid.`, { subject: this.name });
      let symbols: ElfSymbol[] | undefined;
      if (sec.link !== 0) {
        const symSec = this.sections[sec.link];
        if (!symSec) throw new NativeError('malformed', `${what}: linked symbol table ${sec.link} does not exist.`, { subject: this.name });
        symbols = this.symbolTable(symSec);
      }
      const r = new LeReader(this.tableData(sec), what);
      const count = Math.floor(sec.size / entsize);
      for (let i = 0; i < count; i++) {
        const o = i * entsize;
        const type = r.u32(o + 8);
        const symbolIndex = r.u32(o + 12);
        let symbol: ElfSymbol | undefined;
        if (symbolIndex !== 0) {
          symbol = symbols?.[symbolIndex];
          if (!symbol) throw new NativeError('malformed', `${what}: relocation ${i} names symbol ${symbolIndex}, outside its symbol table.`, { subject: this.name });
        }
        out.push({ offset: r.u64(o), type, typeName: C.relocTypeName(type), symbolIndex, symbol, addend: r.i64(o + 16), section: sec.name });
      }
    }
    this.relocCache = out;
    return out;
  }

  /**
   * Dynamic relocations (from allocated RELA sections) by the slot address they patch: GOT slot →
   * relocation. Where several patch one slot, JUMP_SLOT/GLOB_DAT/IRELATIVE win.
   */
  gotSlotRelocations(): ReadonlyMap<number, Relocation> {
    if (this.slotMap) return this.slotMap;
    const map = new Map<number, Relocation>();
    const allocated = new Set(this.sections.filter((s) => s.type === C.SHT_RELA && (s.flags & C.SHF_ALLOC) !== 0).map((s) => s.name));
    const preferred = (t: number) => t === C.R_X86_64_JUMP_SLOT || t === C.R_X86_64_GLOB_DAT || t === C.R_X86_64_IRELATIVE;
    for (const rel of this.relocations()) {
      if (!allocated.has(rel.section)) continue;
      const prev = map.get(rel.offset);
      if (!prev || (!preferred(prev.type) && preferred(rel.type))) map.set(rel.offset, rel);
    }
    this.slotMap = map;
    return map;
  }

  /** The dynamic relocation patching the slot at this link-time address, if any. */
  relocationAt(slot: number): Relocation | undefined {
    return this.gotSlotRelocations().get(slot);
  }

  // ---------------------------------------------------------------- PLT

  /**
   * PLT stubs of .plt, .plt.sec and .plt.got, each with the GOT slot its `jmp [rip+X]` reads and the
   * symbol relocated into that slot. Lazy .plt entries of an IBT binary (which only push and jump to
   * PLT0) are not stubs of their own: their .plt.sec twins are.
   */
  pltStubs(): readonly PltStub[] {
    if (this.pltCache) return this.pltCache;
    const out: PltStub[] = [];
    const kinds: [string, PltKind, number][] = [
      ['.plt', 'plt', 16],
      ['.plt.sec', 'plt.sec', 16],
      ['.plt.got', 'plt.got', 8],
    ];
    for (const [secName, kind, defaultSize] of kinds) {
      const sec = this.section(secName);
      if (!sec || sec.type === C.SHT_NOBITS || sec.size === 0) continue;
      const bytes = this.tableData(sec);
      let entry = sec.entsize === 8 || sec.entsize === 16 ? sec.entsize : defaultSize;
      // An IBT .plt.got uses 16-byte entries starting with endbr64, whatever entsize says.
      if (kind === 'plt.got' && bytes.length >= 4 && bytes[0] === 0xf3 && bytes[1] === 0x0f && bytes[2] === 0x1e && bytes[3] === 0xfa) entry = 16;
      for (let off = 0; off + 6 <= bytes.length; off += entry) {
        const jmp = decodeRipJmp(bytes, off, Math.min(bytes.length, off + entry));
        if (!jmp) continue;
        const address = sec.addr + off;
        const gotSlot = address + jmp.nextOffset + jmp.disp;
        const rel = this.relocationAt(gotSlot);
        let symbol = rel?.symbol?.name || undefined;
        if (rel && rel.type === C.R_X86_64_IRELATIVE && !symbol) symbol = this.ifuncNameForResolver(rel.addend);
        out.push({ address, size: entry, gotSlot, symbol, relocType: rel?.type ?? C.R_X86_64_NONE, kind });
      }
    }
    out.sort((a, b) => a.address - b.address);
    this.pltCache = out;
    return out;
  }

  /** The PLT stub starting at this link-time address, if any. */
  pltStubAt(address: number): PltStub | undefined {
    if (!this.pltByAddress) this.pltByAddress = new Map(this.pltStubs().map((s) => [s.address, s]));
    return this.pltByAddress.get(address);
  }

  /** For an IRELATIVE addend (a resolver address): the STT_GNU_IFUNC symbol defined there. */
  private ifuncNameForResolver(resolver: number): string | undefined {
    if (!this.ifuncByResolver) {
      this.ifuncByResolver = new Map();
      for (const s of [...this.dynamicSymbols(), ...this.symtabSymbols()]) {
        if (s.type === C.STT_GNU_IFUNC && s.defined && s.name && !this.ifuncByResolver.has(s.value)) this.ifuncByResolver.set(s.value, s.name);
      }
    }
    return this.ifuncByResolver.get(resolver);
  }

  // ---------------------------------------------------------------- function extents

  /** Code ranges of every FDE in .eh_frame (found by section, else through PT_GNU_EH_FRAME), unsorted. */
  fdeRanges(): readonly FdeRange[] {
    if (this.fdeCache) return this.fdeCache;
    const got = this.section('.got.plt') ?? this.section('.got');
    const bases = { dataRelBase: got?.addr, textRelBase: this.section('.text')?.addr };
    const sec = this.sections.find((s) => s.name === '.eh_frame' && s.type !== C.SHT_NOBITS);
    let ranges: FdeRange[] = [];
    if (sec) {
      ranges = parseEhFrame(this.tableData(sec), { vaddr: sec.addr, what: `${this.name} .eh_frame`, ...bases });
    } else {
      const hdrPh = this.programHeaders.find((p) => p.type === C.PT_GNU_EH_FRAME);
      if (hdrPh && hdrPh.filesz > 0) {
        checkRange(this.source, hdrPh.offset, hdrPh.filesz, 'PT_GNU_EH_FRAME');
        const hdr = parseEhFrameHdr(this.source.read(hdrPh.offset, hdrPh.filesz), hdrPh.vaddr, `${this.name} .eh_frame_hdr`);
        const start = hdr.ehFrameVaddr;
        const seg = start === undefined ? undefined : this.loadContaining(start);
        if (start !== undefined && seg && start < seg.vaddr + seg.filesz) {
          const bytes = this.readVirtual(start, seg.vaddr + seg.filesz - start);
          ranges = parseEhFrame(bytes, { vaddr: start, what: `${this.name} .eh_frame`, ...bases });
        }
      }
    }
    this.fdeCache = ranges;
    return ranges;
  }

  /**
   * Function extents sorted by start: STT_FUNC/STT_GNU_IFUNC symbols with a size (from .symtab and
   * .dynsym; aliases at one address merged), then FDE ranges where no symbol covers the address
   * (cut at the next symbol's start), unnamed. Only ranges inside executable segments are kept.
   */
  functions(): readonly FunctionExtent[] {
    if (this.functionCache) return this.functionCache;
    const exec = this.executableRanges().sort((a, b) => a.start - b.start);
    const execOf = (addr: number): AddressRange | undefined => {
      let lo = 0;
      let hi = exec.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (addr < exec[mid].start) hi = mid - 1;
        else if (addr >= exec[mid].end) lo = mid + 1;
        else return exec[mid];
      }
      return undefined;
    };

    // Symbol extents, one per start address; the best-ranked name is the primary one.
    // Preferred names: exported (default version) first, then without a leading underscore (puts over
    // _IO_puts), then global over weak over local, then the shortest.
    const rank = (s: ElfSymbol) =>
      (s.table === 'dynsym' && s.bind !== C.STB_LOCAL && !s.version?.hidden ? 0 : 1) * 8 +
      (s.name.startsWith('_') ? 1 : 0) * 4 +
      (s.bind === C.STB_GLOBAL ? 0 : s.bind === C.STB_WEAK ? 1 : 2);
    const better = (a: ElfSymbol, b: ElfSymbol) => rank(a) - rank(b) || a.name.length - b.name.length || (a.name < b.name ? -1 : 1);
    const candidates: ElfSymbol[] = [];
    const candidateEnds: number[] = [];
    for (const table of [this.dynamicSymbols(), this.symtabSymbols()]) {
      for (const s of table) {
        if (!s.defined || s.size <= 0 || !s.name || s.shndx >= C.SHN_LORESERVE) continue;
        if (s.type !== C.STT_FUNC && s.type !== C.STT_GNU_IFUNC) continue;
        const range = execOf(s.value);
        if (!range) continue;
        candidates.push(s);
        candidateEnds.push(Math.min(s.value + s.size, range.end));
      }
    }
    // Group by start address (sorting an index array keeps the ends paired with their symbols).
    const order = Array.from(candidates.keys()).sort((a, b) => candidates[a].value - candidates[b].value);
    const symbolExtents: FunctionExtent[] = [];
    for (let i = 0; i < order.length; ) {
      const start = candidates[order[i]].value;
      let end = candidateEnds[order[i]];
      const group: ElfSymbol[] = [];
      for (; i < order.length && candidates[order[i]].value === start; i++) {
        const s = candidates[order[i]];
        end = Math.max(end, candidateEnds[order[i]]);
        if (!group.some((x) => x.name === s.name)) group.push(s);
      }
      const ext: FunctionExtent = { start, end, name: group[0].name, source: 'symbol' };
      if (group.length > 1) {
        group.sort(better);
        ext.name = group[0].name;
        ext.aliases = group.slice(1).map((s) => s.name);
      }
      symbolExtents.push(ext);
    }

    // Union of symbol coverage, to find the gaps FDEs may fill.
    const cover: AddressRange[] = [];
    for (const e of symbolExtents) {
      const last = cover[cover.length - 1];
      if (last && e.start <= last.end) last.end = Math.max(last.end, e.end);
      else cover.push({ start: e.start, end: e.end });
    }
    const fdes = [...this.fdeRanges()].sort((a, b) => a.start - b.start || b.end - a.end);
    const fdeExtents: FunctionExtent[] = [];
    let ci = 0;
    let lastEnd = -1;
    for (const f of fdes) {
      if (f.start < lastEnd) continue;
      const range = execOf(f.start);
      if (!range) continue;
      while (ci < cover.length && cover[ci].end <= f.start) ci++;
      if (ci < cover.length && cover[ci].start <= f.start) continue; // Inside a symbol's extent.
      let end = Math.min(f.end, range.end);
      if (ci < cover.length) end = Math.min(end, cover[ci].start);
      if (end <= f.start) continue;
      fdeExtents.push({ start: f.start, end, source: 'eh_frame' });
      lastEnd = end;
    }

    const all = mergeSorted(symbolExtents, fdeExtents);
    const maxEnd: number[] = new Array(all.length);
    const named = new Int32Array(all.length);
    let m = -Infinity;
    let lastNamed = -1;
    for (let i = 0; i < all.length; i++) {
      m = Math.max(m, all[i].end);
      maxEnd[i] = m;
      if (all[i].name !== undefined) lastNamed = i;
      named[i] = lastNamed;
    }
    this.functionCache = all;
    this.functionMaxEnd = maxEnd;
    this.functionNamed = named;
    return all;
  }

  /** The innermost function extent containing a link-time address, or undefined. */
  functionAt(vaddr: number): FunctionExtent | undefined {
    const all = this.functions();
    const maxEnd = this.functionMaxEnd!;
    for (let i = lastStartAtOrBefore(all, vaddr); i >= 0 && maxEnd[i] > vaddr; i--) {
      if (all[i].end > vaddr) return all[i];
    }
    return undefined;
  }

  /** `name+offset` for a link-time address, from the nearest preceding named function. */
  symbolize(vaddr: number): SymbolizedAddress | undefined {
    const all = this.functions();
    const i = lastStartAtOrBefore(all, vaddr);
    if (i < 0) return undefined;
    const containing = this.functionAt(vaddr);
    if (containing?.name !== undefined) return { name: containing.name, offset: vaddr - containing.start, inside: true };
    const n = this.functionNamed![i];
    if (n < 0) return undefined;
    const f = all[n];
    return { name: f.name!, offset: vaddr - f.start, inside: vaddr < f.end };
  }
}

/** A hand decoder for the PLT's `[endbr64] [bnd] jmp qword [rip+disp32]`; returns the displacement. */
export function decodeRipJmp(bytes: Uint8Array, pos: number, end: number): { disp: number; nextOffset: number } | undefined {
  let p = pos;
  if (p + 4 <= end && bytes[p] === 0xf3 && bytes[p + 1] === 0x0f && bytes[p + 2] === 0x1e && bytes[p + 3] === 0xfa) p += 4;
  if (p < end && bytes[p] === 0xf2) p += 1;
  if (p + 6 > end || bytes[p] !== 0xff || bytes[p + 1] !== 0x25) return undefined;
  const disp = (bytes[p + 2] | (bytes[p + 3] << 8) | (bytes[p + 4] << 16) | (bytes[p + 5] << 24)) | 0;
  return { disp, nextOffset: p + 6 - pos };
}

function lastStartAtOrBefore(all: readonly FunctionExtent[], vaddr: number): number {
  let lo = 0;
  let hi = all.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (all[mid].start <= vaddr) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

function mergeSorted(a: FunctionExtent[], b: FunctionExtent[]): FunctionExtent[] {
  const out: FunctionExtent[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i].start <= b[j].start)) out.push(a[i++]);
    else out.push(b[j++]);
  }
  return out;
}
