// elf.h constants under their C names (identification, types, machines, program/section headers, dynamic
// tags and flags, symbols, versions, x86-64 relocations) plus the DWARF pointer encodings of .eh_frame.
/* eslint-disable @typescript-eslint/naming-convention */

// e_ident indexes and values.
export const EI_MAG0 = 0;
export const EI_CLASS = 4;
export const EI_DATA = 5;
export const EI_VERSION = 6;
export const EI_OSABI = 7;
export const EI_ABIVERSION = 8;
export const EI_NIDENT = 16;
export const ELFMAG = [0x7f, 0x45, 0x4c, 0x46] as const; // "\x7fELF"
export const ELFCLASSNONE = 0;
export const ELFCLASS32 = 1;
export const ELFCLASS64 = 2;
export const ELFDATANONE = 0;
export const ELFDATA2LSB = 1;
export const ELFDATA2MSB = 2;
export const EV_CURRENT = 1;

// Sizes of the ELF64 structures we read.
export const ELF64_EHDR_SIZE = 64;
export const ELF64_PHDR_SIZE = 56;
export const ELF64_SHDR_SIZE = 64;
export const ELF64_SYM_SIZE = 24;
export const ELF64_RELA_SIZE = 24;
export const ELF64_REL_SIZE = 16;
export const ELF64_DYN_SIZE = 16;

// e_type.
export const ET_NONE = 0;
export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const ET_CORE = 4;

// e_machine (the ones worth naming in an "unsupported" message).
export const EM_NONE = 0;
export const EM_386 = 3;
export const EM_ARM = 40;
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
export const EM_RISCV = 243;
export const EM_NAMES: Readonly<Record<number, string>> = {
  [EM_386]: 'i386',
  [EM_ARM]: 'ARM',
  [EM_X86_64]: 'x86-64',
  [EM_AARCH64]: 'AArch64',
  [EM_RISCV]: 'RISC-V',
  20: 'PowerPC',
  21: 'PowerPC64',
  22: 'S/390',
  8: 'MIPS',
  2: 'SPARC',
  43: 'SPARC V9',
  258: 'LoongArch',
};

// p_type.
export const PT_NULL = 0;
export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const PT_NOTE = 4;
export const PT_SHLIB = 5;
export const PT_PHDR = 6;
export const PT_TLS = 7;
export const PT_GNU_EH_FRAME = 0x6474e550;
export const PT_GNU_STACK = 0x6474e551;
export const PT_GNU_RELRO = 0x6474e552;
export const PT_GNU_PROPERTY = 0x6474e553;

// p_flags.
export const PF_X = 0x1;
export const PF_W = 0x2;
export const PF_R = 0x4;

// Special section indexes.
export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;

// sh_type.
export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_HASH = 5;
export const SHT_DYNAMIC = 6;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHT_SHLIB = 10;
export const SHT_DYNSYM = 11;
export const SHT_INIT_ARRAY = 14;
export const SHT_FINI_ARRAY = 15;
export const SHT_PREINIT_ARRAY = 16;
export const SHT_GROUP = 17;
export const SHT_SYMTAB_SHNDX = 18;
export const SHT_RELR = 19;
export const SHT_GNU_ATTRIBUTES = 0x6ffffff5;
export const SHT_GNU_HASH = 0x6ffffff6;
export const SHT_GNU_LIBLIST = 0x6ffffff7;
export const SHT_GNU_verdef = 0x6ffffffd;
export const SHT_GNU_verneed = 0x6ffffffe;
export const SHT_GNU_versym = 0x6fffffff;
export const SHT_X86_64_UNWIND = 0x70000001;

// sh_flags.
export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;
export const SHF_MERGE = 0x10;
export const SHF_STRINGS = 0x20;
export const SHF_INFO_LINK = 0x40;
export const SHF_LINK_ORDER = 0x80;
export const SHF_GROUP = 0x200;
export const SHF_TLS = 0x400;
export const SHF_COMPRESSED = 0x800;

// d_tag.
export const DT_NULL = 0;
export const DT_NEEDED = 1;
export const DT_PLTRELSZ = 2;
export const DT_PLTGOT = 3;
export const DT_HASH = 4;
export const DT_STRTAB = 5;
export const DT_SYMTAB = 6;
export const DT_RELA = 7;
export const DT_RELASZ = 8;
export const DT_RELAENT = 9;
export const DT_STRSZ = 10;
export const DT_SYMENT = 11;
export const DT_INIT = 12;
export const DT_FINI = 13;
export const DT_SONAME = 14;
export const DT_RPATH = 15;
export const DT_SYMBOLIC = 16;
export const DT_REL = 17;
export const DT_RELSZ = 18;
export const DT_RELENT = 19;
export const DT_PLTREL = 20;
export const DT_DEBUG = 21;
export const DT_TEXTREL = 22;
export const DT_JMPREL = 23;
export const DT_BIND_NOW = 24;
export const DT_INIT_ARRAY = 25;
export const DT_FINI_ARRAY = 26;
export const DT_INIT_ARRAYSZ = 27;
export const DT_FINI_ARRAYSZ = 28;
export const DT_RUNPATH = 29;
export const DT_FLAGS = 30;
export const DT_PREINIT_ARRAY = 32;
export const DT_PREINIT_ARRAYSZ = 33;
export const DT_SYMTAB_SHNDX = 34;
export const DT_RELRSZ = 35;
export const DT_RELR = 36;
export const DT_RELRENT = 37;
export const DT_GNU_HASH = 0x6ffffef5;
export const DT_VERSYM = 0x6ffffff0;
export const DT_RELACOUNT = 0x6ffffff9;
export const DT_RELCOUNT = 0x6ffffffa;
export const DT_FLAGS_1 = 0x6ffffffb;
export const DT_VERDEF = 0x6ffffffc;
export const DT_VERDEFNUM = 0x6ffffffd;
export const DT_VERNEED = 0x6ffffffe;
export const DT_VERNEEDNUM = 0x6fffffff;

// DT_FLAGS values.
export const DF_ORIGIN = 0x1;
export const DF_SYMBOLIC = 0x2;
export const DF_TEXTREL = 0x4;
export const DF_BIND_NOW = 0x8;
export const DF_STATIC_TLS = 0x10;

// DT_FLAGS_1 values.
export const DF_1_NOW = 0x1;
export const DF_1_GLOBAL = 0x2;
export const DF_1_GROUP = 0x4;
export const DF_1_NODELETE = 0x8;
export const DF_1_INITFIRST = 0x20;
export const DF_1_NOOPEN = 0x40;
export const DF_1_ORIGIN = 0x80;
export const DF_1_DIRECT = 0x100;
export const DF_1_INTERPOSE = 0x400;
export const DF_1_NODEFLIB = 0x800;
export const DF_1_PIE = 0x08000000;

// Symbol binding (st_info >> 4).
export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;
export const STB_GNU_UNIQUE = 10;

// Symbol type (st_info & 0xf).
export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;
export const STT_COMMON = 5;
export const STT_TLS = 6;
export const STT_GNU_IFUNC = 10;

// Symbol visibility (st_other & 3).
export const STV_DEFAULT = 0;
export const STV_INTERNAL = 1;
export const STV_HIDDEN = 2;
export const STV_PROTECTED = 3;

// Symbol versioning.
export const VER_NDX_LOCAL = 0;
export const VER_NDX_GLOBAL = 1;
export const VERSYM_HIDDEN = 0x8000;
export const VERSYM_VERSION = 0x7fff;
export const VER_FLG_BASE = 0x1;
export const VER_FLG_WEAK = 0x2;

// x86-64 relocation types.
export const R_X86_64_NONE = 0;
export const R_X86_64_64 = 1;
export const R_X86_64_PC32 = 2;
export const R_X86_64_GOT32 = 3;
export const R_X86_64_PLT32 = 4;
export const R_X86_64_COPY = 5;
export const R_X86_64_GLOB_DAT = 6;
export const R_X86_64_JUMP_SLOT = 7;
export const R_X86_64_RELATIVE = 8;
export const R_X86_64_GOTPCREL = 9;
export const R_X86_64_32 = 10;
export const R_X86_64_32S = 11;
export const R_X86_64_16 = 12;
export const R_X86_64_PC16 = 13;
export const R_X86_64_8 = 14;
export const R_X86_64_PC8 = 15;
export const R_X86_64_DTPMOD64 = 16;
export const R_X86_64_DTPOFF64 = 17;
export const R_X86_64_TPOFF64 = 18;
export const R_X86_64_TLSGD = 19;
export const R_X86_64_TLSLD = 20;
export const R_X86_64_DTPOFF32 = 21;
export const R_X86_64_GOTTPOFF = 22;
export const R_X86_64_TPOFF32 = 23;
export const R_X86_64_PC64 = 24;
export const R_X86_64_GOTOFF64 = 25;
export const R_X86_64_GOTPC32 = 26;
export const R_X86_64_GOT64 = 27;
export const R_X86_64_GOTPCREL64 = 28;
export const R_X86_64_GOTPC64 = 29;
export const R_X86_64_GOTPLT64 = 30;
export const R_X86_64_PLTOFF64 = 31;
export const R_X86_64_SIZE32 = 32;
export const R_X86_64_SIZE64 = 33;
export const R_X86_64_GOTPC32_TLSDESC = 34;
export const R_X86_64_TLSDESC_CALL = 35;
export const R_X86_64_TLSDESC = 36;
export const R_X86_64_IRELATIVE = 37;
export const R_X86_64_RELATIVE64 = 38;
export const R_X86_64_GOTPCRELX = 41;
export const R_X86_64_REX_GOTPCRELX = 42;

/** Relocation type number → its elf.h name without the R_X86_64_ prefix (as readelf prints it). */
export const R_X86_64_NAMES: Readonly<Record<number, string>> = {
  [R_X86_64_NONE]: 'NONE',
  [R_X86_64_64]: '64',
  [R_X86_64_PC32]: 'PC32',
  [R_X86_64_GOT32]: 'GOT32',
  [R_X86_64_PLT32]: 'PLT32',
  [R_X86_64_COPY]: 'COPY',
  [R_X86_64_GLOB_DAT]: 'GLOB_DAT',
  [R_X86_64_JUMP_SLOT]: 'JUMP_SLOT',
  [R_X86_64_RELATIVE]: 'RELATIVE',
  [R_X86_64_GOTPCREL]: 'GOTPCREL',
  [R_X86_64_32]: '32',
  [R_X86_64_32S]: '32S',
  [R_X86_64_16]: '16',
  [R_X86_64_PC16]: 'PC16',
  [R_X86_64_8]: '8',
  [R_X86_64_PC8]: 'PC8',
  [R_X86_64_DTPMOD64]: 'DTPMOD64',
  [R_X86_64_DTPOFF64]: 'DTPOFF64',
  [R_X86_64_TPOFF64]: 'TPOFF64',
  [R_X86_64_TLSGD]: 'TLSGD',
  [R_X86_64_TLSLD]: 'TLSLD',
  [R_X86_64_DTPOFF32]: 'DTPOFF32',
  [R_X86_64_GOTTPOFF]: 'GOTTPOFF',
  [R_X86_64_TPOFF32]: 'TPOFF32',
  [R_X86_64_PC64]: 'PC64',
  [R_X86_64_GOTOFF64]: 'GOTOFF64',
  [R_X86_64_GOTPC32]: 'GOTPC32',
  [R_X86_64_GOT64]: 'GOT64',
  [R_X86_64_GOTPCREL64]: 'GOTPCREL64',
  [R_X86_64_GOTPC64]: 'GOTPC64',
  [R_X86_64_GOTPLT64]: 'GOTPLT64',
  [R_X86_64_PLTOFF64]: 'PLTOFF64',
  [R_X86_64_SIZE32]: 'SIZE32',
  [R_X86_64_SIZE64]: 'SIZE64',
  [R_X86_64_GOTPC32_TLSDESC]: 'GOTPC32_TLSDESC',
  [R_X86_64_TLSDESC_CALL]: 'TLSDESC_CALL',
  [R_X86_64_TLSDESC]: 'TLSDESC',
  [R_X86_64_IRELATIVE]: 'IRELATIVE',
  [R_X86_64_RELATIVE64]: 'RELATIVE64',
  [R_X86_64_GOTPCRELX]: 'GOTPCRELX',
  [R_X86_64_REX_GOTPCRELX]: 'REX_GOTPCRELX',
};

/** The name of an x86-64 relocation type, e.g. 'JUMP_SLOT', or 'R_<n>' for an unknown number. */
export function relocTypeName(type: number): string {
  return R_X86_64_NAMES[type] ?? `R_${type}`;
}

// DWARF exception-header pointer encodings (DW_EH_PE_*), as used in .eh_frame and .eh_frame_hdr.
export const DW_EH_PE_absptr = 0x00;
export const DW_EH_PE_uleb128 = 0x01;
export const DW_EH_PE_udata2 = 0x02;
export const DW_EH_PE_udata4 = 0x03;
export const DW_EH_PE_udata8 = 0x04;
export const DW_EH_PE_sleb128 = 0x09;
export const DW_EH_PE_sdata2 = 0x0a;
export const DW_EH_PE_sdata4 = 0x0b;
export const DW_EH_PE_sdata8 = 0x0c;
export const DW_EH_PE_signed = 0x08;
export const DW_EH_PE_pcrel = 0x10;
export const DW_EH_PE_textrel = 0x20;
export const DW_EH_PE_datarel = 0x30;
export const DW_EH_PE_funcrel = 0x40;
export const DW_EH_PE_aligned = 0x50;
export const DW_EH_PE_indirect = 0x80;
export const DW_EH_PE_omit = 0xff;
