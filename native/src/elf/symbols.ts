// ELF symbol tables (.dynsym, .symtab) with their GNU versions, parsed once per table, and the lookups by name
// (dlsym's view of exports, and any defined symbol); each symbol's size bounded by its section or segment.

import { NativeError } from '../errors';
import { LeReader, StringTable } from './binary';
import * as C from './elfConstants';
import type { ElfImage, ElfSymbol, SectionHeader, SymbolTableKind, SymbolVersion } from './elfTypes';

const MAX_SYMBOLS = 50_000_000; // Far above any real table; a guard against absurd entsize/size pairs.

/** The symbol tables of one ElfFile (ElfFile delegates to it; use the ElfFile methods). */
export class SymbolTables {
  private symbolCache = new Map<number, ElfSymbol[]>();
  private exportMap?: Map<string, ElfSymbol>;
  private anyMap?: Map<string, ElfSymbol>;
  private versionCache?: { defs: Map<number, string>; needs: Map<number, { name: string; file: string }> };

  constructor(private readonly elf: ElfImage) {}

  /** Symbols of .dynsym (index 0, the null symbol, included so indexes match relocations). */
  dynamicSymbols(): readonly ElfSymbol[] {
    const sec = this.elf.sections.find((s) => s.type === C.SHT_DYNSYM);
    return sec ? this.symbolTable(sec) : [];
  }

  /** Symbols of .symtab (empty when the file is stripped). */
  symtabSymbols(): readonly ElfSymbol[] {
    const sec = this.elf.sections.find((s) => s.type === C.SHT_SYMTAB);
    return sec ? this.symbolTable(sec) : [];
  }

  /** Parses (once) the symbol table in section `sec`, a SHT_SYMTAB or SHT_DYNSYM. */
  symbolTable(sec: SectionHeader): ElfSymbol[] {
    const cached = this.symbolCache.get(sec.index);
    if (cached) return cached;
    const what = `${this.elf.name} ${sec.name || `section ${sec.index}`}`;
    if (sec.type !== C.SHT_SYMTAB && sec.type !== C.SHT_DYNSYM) {
      throw new NativeError('malformed', `${what} is referenced as a symbol table but is not one.`, { subject: this.elf.name });
    }
    const entsize = sec.entsize === 0 ? C.ELF64_SYM_SIZE : sec.entsize;
    if (entsize < C.ELF64_SYM_SIZE || entsize > 4096) throw new NativeError('malformed', `${what}: symbol size ${entsize} is invalid.`, { subject: this.elf.name });
    const count = Math.floor(sec.size / entsize);
    if (count > MAX_SYMBOLS) throw new NativeError('malformed', `${what}: ${count} symbols is implausible.`, { subject: this.elf.name });
    const strSec = this.elf.sections[sec.link];
    if (!strSec || strSec.type !== C.SHT_STRTAB) {
      throw new NativeError('malformed', `${what}: linked string table ${sec.link} is missing or not a string table.`, { subject: this.elf.name });
    }
    const strings = new StringTable(this.elf.tableData(strSec), `${this.elf.name} ${strSec.name}`);
    const r = new LeReader(this.elf.tableData(sec), what);
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
    const sec = this.elf.sections.find((s) => s.type === C.SHT_GNU_versym && s.link === symSec.index);
    if (!sec) return undefined;
    if (sec.size < count * 2) {
      throw new NativeError('malformed', `${this.elf.name}: .gnu.version has ${sec.size / 2} entries for ${count} symbols.`, { subject: this.elf.name });
    }
    const r = new LeReader(this.elf.tableData(sec), `${this.elf.name} .gnu.version`);
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
      const s = this.elf.sections[sec.link];
      if (!s || s.type !== C.SHT_STRTAB) throw new NativeError('malformed', `${this.elf.name}: ${sec.name} has no string table.`, { subject: this.elf.name });
      return new StringTable(this.elf.tableData(s), `${this.elf.name} ${s.name}`);
    };
    const verdef = this.elf.sections.find((s) => s.type === C.SHT_GNU_verdef);
    if (verdef) {
      const strings = strFor(verdef);
      const r = new LeReader(this.elf.tableData(verdef), `${this.elf.name} .gnu.version_d`);
      let pos = 0;
      // Each Elf64_Verdef is 20 bytes; the chain cannot have more entries than that allows.
      for (let n = 0; n <= r.length / 20 && pos + 20 <= r.length; n++) {
        const ndx = r.u16(pos + 4);
        const cnt = r.u16(pos + 6);
        const aux = r.u32(pos + 12);
        const next = r.u32(pos + 16);
        if (cnt > 0) {
          if (pos + aux + 8 > r.length) throw new NativeError('truncated', `${this.elf.name}: .gnu.version_d aux entry out of range.`, { subject: this.elf.name });
          defs.set(ndx, strings.get(r.u32(pos + aux)));
        }
        if (next === 0) break;
        pos += next;
      }
    }
    const verneed = this.elf.sections.find((s) => s.type === C.SHT_GNU_verneed);
    if (verneed) {
      const strings = strFor(verneed);
      const r = new LeReader(this.elf.tableData(verneed), `${this.elf.name} .gnu.version_r`);
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
          if (a + 16 > r.length) throw new NativeError('truncated', `${this.elf.name}: .gnu.version_r aux entry out of range.`, { subject: this.elf.name });
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

  /**
   * A defined symbol's size bounded by its section (by the PT_LOAD holding it for SHN_ABS); 0 when its
   * value lies outside. TLS symbols (offsets, not addresses) and relocatable objects are left as they are.
   */
  private boundSymbolSize(sym: ElfSymbol): number {
    if (sym.size === 0 || !sym.defined || sym.type === C.STT_TLS || this.elf.loadSegments().length === 0) return sym.size;
    let start: number;
    let end: number;
    if (sym.shndx === C.SHN_ABS) {
      const seg = this.elf.loadContaining(sym.value);
      if (!seg) return sym.size <= 0 ? sym.size : this.symbolRepair(sym, 0, 'no segment holds it');
      start = seg.vaddr;
      end = seg.vaddr + seg.memsz;
    } else if (sym.shndx < C.SHN_LORESERVE) {
      const sec = this.elf.sections[sym.shndx];
      if (!sec || (sec.flags & C.SHF_ALLOC) === 0) return sym.size;
      start = sec.addr;
      end = sec.addr + sec.size;
    } else return sym.size;
    if (sym.value < start || sym.value > end) return this.symbolRepair(sym, 0, 'its value is outside its section');
    return sym.value + sym.size <= end ? sym.size : this.symbolRepair(sym, end - sym.value, 'it would pass the end of its section');
  }

  private symbolRepair(sym: ElfSymbol, size: number, why: string): number {
    this.elf.repair(`symbol ${sym.name || sym.index} (${sym.table}) at 0x${sym.value.toString(16)} states size ${sym.size}; ${why}: bounded to ${size}.`);
    return size;
  }
}
