// ELF relocations (every SHT_RELA section), the dynamic ones by the GOT slot they patch, and the PLT stubs of
// .plt, .plt.sec and .plt.got with the slot each jumps through and the symbol relocated into it.

import { NativeError } from '../errors';
import { LeReader } from './binary';
import * as C from './elfConstants';
import type { ElfImage, ElfSymbol, PltKind, PltStub, Relocation } from './elfTypes';
import type { SymbolTables } from './symbols';

/** The relocations and PLT stubs of one ElfFile (ElfFile delegates to it; use the ElfFile methods). */
export class Relocations {
  private relocCache?: Relocation[];
  private slotMap?: Map<number, Relocation>;
  private pltCache?: PltStub[];
  private pltByAddress?: Map<number, PltStub>;
  private ifuncByResolver?: Map<number, string>;

  constructor(
    private readonly elf: ElfImage,
    private readonly symbols: SymbolTables,
  ) {}

  /** Every relocation of every SHT_RELA section, in section order. */
  relocations(): readonly Relocation[] {
    if (this.relocCache) return this.relocCache;
    const out: Relocation[] = [];
    for (const sec of this.elf.sections) {
      if (sec.type !== C.SHT_RELA || sec.size === 0) continue;
      const what = `${this.elf.name} ${sec.name || `section ${sec.index}`}`;
      const entsize = sec.entsize === 0 ? C.ELF64_RELA_SIZE : sec.entsize;
      if (entsize < C.ELF64_RELA_SIZE || entsize > 4096) throw new NativeError('malformed', `${what}: relocation size ${entsize} is invalid.`, { subject: this.elf.name });
      let symbols: ElfSymbol[] | undefined;
      if (sec.link !== 0) {
        const symSec = this.elf.sections[sec.link];
        if (!symSec) throw new NativeError('malformed', `${what}: linked symbol table ${sec.link} does not exist.`, { subject: this.elf.name });
        symbols = this.symbols.symbolTable(symSec);
      }
      const r = new LeReader(this.elf.tableData(sec), what);
      const count = Math.floor(sec.size / entsize);
      for (let i = 0; i < count; i++) {
        const o = i * entsize;
        const type = r.u32(o + 8);
        const symbolIndex = r.u32(o + 12);
        let symbol: ElfSymbol | undefined;
        if (symbolIndex !== 0) {
          symbol = symbols?.[symbolIndex];
          if (!symbol) throw new NativeError('malformed', `${what}: relocation ${i} names symbol ${symbolIndex}, outside its symbol table.`, { subject: this.elf.name });
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
    const allocated = new Set(this.elf.sections.filter((s) => s.type === C.SHT_RELA && (s.flags & C.SHF_ALLOC) !== 0).map((s) => s.name));
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
      const sec = this.elf.section(secName);
      if (!sec || sec.type === C.SHT_NOBITS || sec.size === 0) continue;
      const bytes = this.elf.tableData(sec);
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
      for (const s of [...this.symbols.dynamicSymbols(), ...this.symbols.symtabSymbols()]) {
        if (s.type === C.STT_GNU_IFUNC && s.defined && s.name && !this.ifuncByResolver.has(s.value)) this.ifuncByResolver.set(s.value, s.name);
      }
    }
    return this.ifuncByResolver.get(resolver);
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
