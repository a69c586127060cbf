// The ELF dynamic section: its entries, DT_NEEDED/SONAME/RUNPATH/RPATH through the dynamic string table, and
// the binding flags (DT_FLAGS, DT_FLAGS_1, DT_BIND_NOW).

import { NativeError } from '../errors';
import { LeReader, StringTable } from './binary';
import { checkRange } from './byteSource';
import * as C from './elfConstants';
import type { DynamicInfo, ElfImage, SectionHeader } from './elfTypes';

/** The dynamic section (from PT_DYNAMIC, else the .dynamic section); empty for static objects. */
export function readDynamic(elf: ElfImage): DynamicInfo {
  const info: DynamicInfo = { entries: [], needed: [], flags: 0, flags1: 0, bindNow: false };
  const ph = elf.programHeaders.find((p) => p.type === C.PT_DYNAMIC);
  const sec = elf.sections.find((s) => s.type === C.SHT_DYNAMIC);
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
    checkRange(elf.source, offset, size, 'dynamic section');
    const r = new LeReader(elf.source.read(offset, size), `${elf.name} dynamic section`);
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
    const strtab = dynamicStrings(elf, info, sec);
    for (const e of info.entries) {
      if (e.tag === C.DT_NEEDED) info.needed.push(strtab.get(e.value));
      else if (e.tag === C.DT_SONAME) info.soname = strtab.get(e.value);
      else if (e.tag === C.DT_RUNPATH) info.runpath = strtab.get(e.value).split(':');
      else if (e.tag === C.DT_RPATH) info.rpath = strtab.get(e.value).split(':');
    }
  }
  return info;
}

/** The dynamic string table: DT_STRTAB/DT_STRSZ through the segments, else the .dynamic section's link. */
function dynamicStrings(elf: ElfImage, info: DynamicInfo, dynSec: SectionHeader | undefined): StringTable {
  const addr = info.entries.find((e) => e.tag === C.DT_STRTAB)?.value;
  const size = info.entries.find((e) => e.tag === C.DT_STRSZ)?.value;
  if (addr !== undefined && size !== undefined) {
    const off = elf.vaddrToOffset(addr);
    if (off !== undefined) {
      checkRange(elf.source, off, size, 'DT_STRTAB');
      return new StringTable(new Uint8Array(elf.source.read(off, size)), `${elf.name} dynamic strings`);
    }
  }
  const link = dynSec ? elf.sections[dynSec.link] : elf.section('.dynstr');
  if (link && link.type === C.SHT_STRTAB) return new StringTable(elf.tableData(link), `${elf.name} ${link.name}`);
  throw new NativeError('malformed', `${elf.name}: the dynamic section has no usable string table.`, { subject: elf.name });
}
