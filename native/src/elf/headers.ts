// The ELF64 x86-64 headers: identification and file header (with extended numbering through section 0), the
// program headers and the section headers with their names, validated as ElfFile.open reads them.

import { NativeError } from '../errors';
import { ByteSource, checkRange } from './byteSource';
import { LeReader, StringTable } from './binary';
import * as C from './elfConstants';
import type { ElfHeader, ProgramHeader, SectionHeader } from './elfTypes';

const PN_XNUM = 0xffff;

/**
 * Reads and validates the ELF header, program headers and section headers (with names).
 * Throws NativeError: 'malformed' for non-ELF or inconsistent input, 'truncated' when tables lie past
 * the end, 'unsupported' for 32-bit, big-endian or non-x86-64 files.
 */
export function readHeaders(source: ByteSource, name: string): { header: ElfHeader; phdrs: ProgramHeader[]; shdrs: SectionHeader[] } {
  const header = readFileHeader(source, name);
  return { header, phdrs: readProgramHeaders(source, name, header), shdrs: readSectionHeaders(source, name, header) };
}

/** The identification and the file header; shnum, shstrndx and phnum taken from section 0 when they overflow. */
function readFileHeader(source: ByteSource, name: string): ElfHeader {
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
  return header;
}

/** A reader over a header table of `count` entries at `offset`, once its entry size and its range are checked. */
function headerTable(source: ByteSource, name: string, what: 'program header' | 'section header', count: number, entsize: number, expected: number, offset: number): LeReader {
  if (entsize !== expected) throw new NativeError('malformed', `${name}: ${what} size ${entsize} is not ${expected}.`, { subject: name });
  const total = count * expected;
  checkRange({ name, size: source.size }, offset, total, `${what} table`);
  return new LeReader(source.read(offset, total), `${name} ${what}s`);
}

function readProgramHeaders(source: ByteSource, name: string, header: ElfHeader): ProgramHeader[] {
  const phdrs: ProgramHeader[] = [];
  if (header.phnum > 0) {
    const r = headerTable(source, name, 'program header', header.phnum, header.phentsize, C.ELF64_PHDR_SIZE, header.phoff);
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
  return phdrs;
}

function readSectionHeaders(source: ByteSource, name: string, header: ElfHeader): SectionHeader[] {
  const shdrs: SectionHeader[] = [];
  if (header.shnum > 0) {
    const r = headerTable(source, name, 'section header', header.shnum, header.shentsize, C.ELF64_SHDR_SIZE, header.shoff);
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
      checkRange({ name, size: source.size }, strSec.offset, strSec.size, 'section-name string table');
      const names = new StringTable(source.read(strSec.offset, strSec.size), `${name} section names`);
      for (let i = 0; i < shdrs.length; i++) shdrs[i].name = i === 0 && nameOffsets[i] === 0 ? '' : names.get(nameOffsets[i]);
    }
  }
  return shdrs;
}
