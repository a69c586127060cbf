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
  calls: Map<number, number | number[]>;
  tails: Map<number, number | number[]>;
  /** Targets of RIP-relative `lea`s, 32-bit immediates (position-dependent code) and data words. */
  named: Set<number>;
  /** Functions only the loader or the interpreter calls: named only by initializer and finalizer arrays, or PyInit_*. */
  loaderOnly: Set<number>;
  /** Functions the module exports (other modules may call them). */
  exported: Set<number>;
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
  if (index.named.has(entry) || index.exported.has(entry)) return undefined;
  const list = (x: number | number[] | undefined): number[] => (x === undefined ? [] : typeof x === 'number' ? [x] : x);
  const returns = list(index.calls.get(entry));
  const tails = list(index.tails.get(entry));
  return returns.length || tails.length ? { returns, tails } : undefined;
}

function indexOf(elf: ElfFile): CodeIndex | null {
  try {
    const code = elf.sections.filter((s) => s.flags & C.SHF_EXECINSTR && s.type === C.SHT_PROGBITS);
    const data = elf.sections.filter((s) => s.flags & C.SHF_ALLOC && !(s.flags & C.SHF_EXECINSTR) && s.type !== C.SHT_NOBITS);
    if ([...code, ...data].reduce((n, s) => n + s.size, 0) > MAX_SCAN_BYTES) return null;
    const lo = Math.min(...code.map((s) => s.addr));
    const hi = Math.max(...code.map((s) => s.addr + s.size));
    const inCode = (a: number): boolean => a >= lo && a < hi && code.some((s) => a >= s.addr && a < s.addr + s.size);
    const index: CodeIndex = { calls: new Map(), tails: new Map(), named: new Set(), loaderOnly: new Set(), exported: new Set() };
    // One site is kept as a number, more as an array (most functions have one or two callers).
    const add = (map: Map<number, number | number[]>, target: number, at: number): void => {
      if (target < lo || target >= hi) return;
      const had = map.get(target);
      if (had === undefined) map.set(target, at);
      else if (typeof had === 'number') map.set(target, [had, at]);
      else had.push(at);
    };
    const pic = elf.isPie || elf.header.type === C.ET_DYN;
    for (const s of code) {
      const raw = elf.sectionData(s);
      const b = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
      const base = s.addr;
      // w0, w1, w2: the little-endian 32-bit words at i, i + 1 and i + 2, rolled one byte at a time.
      const word = (i: number): number => (i + 4 <= b.length ? (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0 : 0);
      let w0 = word(0);
      let w1 = word(1);
      let w2 = word(2);
      for (let i = 0; i + 4 <= b.length; i++) {
        const op = b[i];
        if (i + 5 <= b.length) {
          if (op === 0xe8) add(index.calls, base + i + 5 + (w1 | 0), base + i + 5);
          else if (op === 0xe9) add(index.tails, base + i + 5 + (w1 | 0), base + i);
          // A ModR/M byte with mod 00 and r/m 101 after 0x8D is `lea r, [rip+disp32]`.
          else if (op === 0x8d && i + 6 <= b.length && (b[i + 1] & 0xc7) === 0x05) {
            const t = base + i + 6 + (w2 | 0);
            if (t >= lo && t < hi) index.named.add(t);
          }
        }
        // Position-dependent code names functions by 32-bit immediates (`mov r32, imm32`, `mov r/m, imm32`, `push`):
        // every 4 bytes are read as one.
        if (!pic && w0 >= lo && w0 < hi) index.named.add(w0);
        w0 = w1;
        w1 = w2;
        w2 = i + 7 <= b.length ? ((w2 >>> 8) | (b[i + 6] << 24)) >>> 0 : 0;
      }
    }
    const loader = new Set<number>();
    for (const s of data) {
      const raw = elf.sectionData(s);
      const b = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
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
    for (const sym of elf.dynamicSymbols()) {
      if (!sym.defined || sym.bind === C.STB_LOCAL) continue;
      // The interpreter calls a module's PyInit_ function once, at import, and takes a module object from it.
      if (sym.name.startsWith('PyInit_')) index.loaderOnly.add(sym.value);
      else index.exported.add(sym.value);
    }
    return index;
  } catch (e) {
    if (e instanceof NativeError) return null;
    throw e;
  }
}
