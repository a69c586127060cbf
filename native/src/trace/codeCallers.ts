// Who can call a function of a module, for following what it returns (transformedProducts.ts): its direct calls and
// tail jumps, by a byte scan of the module's code, or "unknown" when its address is taken or it is exported.

import * as C from '../elf/elfConstants';
import type { ElfFile } from '../elf/elfFile';
import { NativeError } from '../errors';

/** Where a function is called from: the return addresses of its direct calls, and the sites of tail jumps to it. */
export interface Callers {
  returns: number[];
  tails: number[];
}

/** The code sections of a module read once: their direct-branch targets, and what else names a function. */
interface CodeIndex {
  calls: Map<number, number[]>;
  tails: Map<number, number[]>;
  /** Targets of RIP-relative `lea`s, 32-bit immediates (position-dependent code) and data words. */
  named: Set<number>;
  /** Functions only the loader calls: named only by the words of the initializer and finalizer arrays. */
  loaderOnly: Set<number>;
}

const byFile = new WeakMap<ElfFile, CodeIndex | null>();
/** Code and data larger than this are not scanned: every function's callers are unknown. */
const MAX_SCAN_BYTES = 64 * 1024 * 1024;
const LOADER_ARRAYS = new Set([C.SHT_INIT_ARRAY, C.SHT_PREINIT_ARRAY, C.SHT_FINI_ARRAY]);

/**
 * The direct callers of the function at link address `entry` of `elf`, or undefined when others may call it too (its
 * address is named by code or data other than a direct branch, or it is exported, or the module could not be read) or
 * none was found. `loader` is set for a function only the loader calls (an initializer): it ignores what it returns. A
 * false match of the scan only adds a caller, the safe side.
 */
export function callersOf(elf: ElfFile, entry: number): Callers | 'loader' | undefined {
  let index = byFile.get(elf);
  if (index === undefined) byFile.set(elf, (index = indexOf(elf)));
  if (!index) return undefined;
  if (index.loaderOnly.has(entry)) return 'loader';
  const sym = elf.symbolize(entry);
  if (sym && sym.offset === 0 && /^PyInit_/.test(sym.name)) return 'loader';
  if (index.named.has(entry) || exported(elf, entry)) return undefined;
  const returns = index.calls.get(entry) ?? [];
  const tails = index.tails.get(entry) ?? [];
  return returns.length || tails.length ? { returns, tails } : undefined;
}

function exported(elf: ElfFile, entry: number): boolean {
  return elf.dynamicSymbols().some((s) => s.defined && s.value === entry && s.bind !== C.STB_LOCAL);
}

function indexOf(elf: ElfFile): CodeIndex | null {
  try {
    const code = elf.sections.filter((s) => s.flags & C.SHF_EXECINSTR && s.type === C.SHT_PROGBITS);
    const data = elf.sections.filter((s) => s.flags & C.SHF_ALLOC && !(s.flags & C.SHF_EXECINSTR) && s.type !== C.SHT_NOBITS);
    if ([...code, ...data].reduce((n, s) => n + s.size, 0) > MAX_SCAN_BYTES) return null;
    const lo = Math.min(...code.map((s) => s.addr));
    const hi = Math.max(...code.map((s) => s.addr + s.size));
    const inCode = (a: number): boolean => a >= lo && a < hi && code.some((s) => a >= s.addr && a < s.addr + s.size);
    const index: CodeIndex = { calls: new Map(), tails: new Map(), named: new Set(), loaderOnly: new Set() };
    const add = (map: Map<number, number[]>, target: number, at: number): void => {
      if (!inCode(target)) return;
      const list = map.get(target);
      if (list) list.push(at);
      else map.set(target, [at]);
    };
    const pic = elf.isPie || elf.header.type === C.ET_DYN;
    for (const s of code) {
      const b = elf.sectionData(s);
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      for (let i = 0; i + 5 <= b.length; i++) {
        const op = b[i];
        if (op === 0xe8 || op === 0xe9) add(op === 0xe8 ? index.calls : index.tails, s.addr + i + 5 + view.getInt32(i + 1, true), s.addr + i + (op === 0xe8 ? 5 : 0));
        // A ModR/M byte with mod 00 and r/m 101 after 0x8D is `lea r, [rip+disp32]`.
        if (op === 0x8d && i + 6 <= b.length && (b[i + 1] & 0xc7) === 0x05) {
          const t = s.addr + i + 6 + view.getInt32(i + 2, true);
          if (inCode(t)) index.named.add(t);
        }
        // Position-dependent code names functions by 32-bit immediates (`mov r32, imm32`, `mov r/m, imm32`, `push`).
        if (!pic && i + 4 <= b.length) {
          const v = view.getUint32(i, true);
          if (inCode(v)) index.named.add(v);
        }
      }
    }
    const loader = new Set<number>();
    for (const s of data) {
      const b = elf.sectionData(s);
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      for (let i = 0; i + 8 <= b.length; i += 8) {
        const lo = view.getUint32(i, true);
        const hi = view.getUint32(i + 4, true);
        const v = hi * 2 ** 32 + lo;
        if (!inCode(v)) continue;
        (LOADER_ARRAYS.has(s.type) ? loader : index.named).add(v);
      }
    }
    for (const r of elf.relocations()) {
      const v = r.symbol ? (r.symbol.defined ? r.symbol.value + r.addend : -1) : r.addend;
      if (v < 0 || !inCode(v)) continue;
      const sec = data.find((s) => r.offset >= s.addr && r.offset < s.addr + s.size);
      (sec && LOADER_ARRAYS.has(sec.type) ? loader : index.named).add(v);
    }
    for (const v of loader) if (!index.named.has(v)) index.loaderOnly.add(v);
    return index;
  } catch (e) {
    if (e instanceof NativeError) return null;
    throw e;
  }
}
