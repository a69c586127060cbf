// Function extents of an ELF file: STT_FUNC/STT_GNU_IFUNC symbols with a size (aliases merged), and .eh_frame
// FDE ranges where no symbol covers the code; the innermost extent at an address, and `name+offset`.

import { rangeContaining, upperBound } from '../upperBound';
import { checkRange } from './byteSource';
import * as C from './elfConstants';
import { FdeRange, parseEhFrame, parseEhFrameHdr } from './ehFrame';
import type { SymbolTables } from './symbols';
import type { AddressRange, ElfImage, ElfSymbol, FunctionExtent, SymbolizedAddress } from './elfTypes';

/** The function extents of one ElfFile (ElfFile delegates to it; use the ElfFile methods). */
export class FunctionExtents {
  private fdeCache?: FdeRange[];
  private functionCache?: FunctionExtent[];
  private functionMaxEnd?: number[];
  private functionNamed?: Int32Array;

  constructor(
    private readonly elf: ElfImage,
    private readonly symbols: SymbolTables,
  ) {}

  /** Code ranges of every FDE in .eh_frame (found by section, else through PT_GNU_EH_FRAME), unsorted. */
  fdeRanges(): readonly FdeRange[] {
    if (this.fdeCache) return this.fdeCache;
    const got = this.elf.section('.got.plt') ?? this.elf.section('.got');
    const bases = { dataRelBase: got?.addr, textRelBase: this.elf.section('.text')?.addr };
    const sec = this.elf.sections.find((s) => s.name === '.eh_frame' && s.type !== C.SHT_NOBITS);
    let ranges: FdeRange[] = [];
    if (sec) {
      ranges = parseEhFrame(this.elf.tableData(sec), { vaddr: sec.addr, what: `${this.elf.name} .eh_frame`, ...bases });
    } else {
      const hdrPh = this.elf.programHeaders.find((p) => p.type === C.PT_GNU_EH_FRAME);
      if (hdrPh && hdrPh.filesz > 0) {
        checkRange(this.elf.source, hdrPh.offset, hdrPh.filesz, 'PT_GNU_EH_FRAME');
        const hdr = parseEhFrameHdr(this.elf.source.read(hdrPh.offset, hdrPh.filesz), hdrPh.vaddr, `${this.elf.name} .eh_frame_hdr`);
        const start = hdr.ehFrameVaddr;
        const seg = start === undefined ? undefined : this.elf.loadContaining(start);
        if (start !== undefined && seg && start < seg.vaddr + seg.filesz) {
          const bytes = this.elf.readVirtual(start, seg.vaddr + seg.filesz - start);
          ranges = parseEhFrame(bytes, { vaddr: start, what: `${this.elf.name} .eh_frame`, ...bases });
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
    const exec = this.elf.executableRanges().sort((a, b) => a.start - b.start);
    const execOf = (addr: number): AddressRange | undefined => rangeContaining(exec, addr);
    const symbolExtents = this.symbolExtents(execOf);
    const all = mergeSorted(symbolExtents, this.fdeExtents(symbolExtents, execOf));
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

  /**
   * Symbol extents, one per start address, sorted; the best-ranked name is the primary one. Preferred names:
   * exported (default version) first, then without a leading underscore (puts over _IO_puts), then global
   * over weak over local, then the shortest.
   */
  private symbolExtents(execOf: (addr: number) => AddressRange | undefined): FunctionExtent[] {
    const rank = (s: ElfSymbol) =>
      (s.table === 'dynsym' && s.bind !== C.STB_LOCAL && !s.version?.hidden ? 0 : 1) * 8 +
      (s.name.startsWith('_') ? 1 : 0) * 4 +
      (s.bind === C.STB_GLOBAL ? 0 : s.bind === C.STB_WEAK ? 1 : 2);
    const better = (a: ElfSymbol, b: ElfSymbol) => rank(a) - rank(b) || a.name.length - b.name.length || (a.name < b.name ? -1 : 1);
    const candidates: ElfSymbol[] = [];
    const candidateEnds: number[] = [];
    for (const table of [this.symbols.dynamicSymbols(), this.symbols.symtabSymbols()]) {
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
    return symbolExtents;
  }

  /** Unnamed extents from the FDEs in the gaps the symbols leave (each cut at the next symbol's start), sorted. */
  private fdeExtents(symbolExtents: readonly FunctionExtent[], execOf: (addr: number) => AddressRange | undefined): FunctionExtent[] {
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
    return fdeExtents;
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

/** The index of the last extent starting at or before `vaddr` (-1 when none does). */
function lastStartAtOrBefore(all: readonly FunctionExtent[], vaddr: number): number {
  return upperBound(all.length, (i) => all[i].start > vaddr) - 1;
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
