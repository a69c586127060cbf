// The ELF reader's data types: headers, the dynamic section, symbols with versions, relocations, PLT stubs and
// function extents, all at link-time addresses; and ElfImage, what the parts parsed on first use see of the file.

import type { ByteSource } from './byteSource';

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

/**
 * The headers, sections and virtual reads of an open ELF file (ElfFile): what its parts parsed on first use
 * (the dynamic section, symbol tables, relocations and PLT, function extents) read it through.
 */
export interface ElfImage {
  readonly name: string;
  readonly source: ByteSource;
  readonly programHeaders: readonly ProgramHeader[];
  readonly sections: readonly SectionHeader[];
  section(name: string): SectionHeader | undefined;
  /** A section's bytes as a private copy (tables held while others are read). */
  tableData(section: SectionHeader): Uint8Array;
  vaddrToOffset(vaddr: number): number | undefined;
  loadSegments(): readonly ProgramHeader[];
  loadContaining(vaddr: number): ProgramHeader | undefined;
  readVirtual(vaddr: number, length: number): Uint8Array;
  executableRanges(): AddressRange[];
  /** Notes a size the file's own layout contradicts and how it was bounded. */
  repair(message: string): void;
}
