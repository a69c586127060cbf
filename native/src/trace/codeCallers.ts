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
 * none was found. 'loader' for a function only the loader or the interpreter calls (an initializer, PyInit_*), which
 * uses no code address it returns. A false match of the scan only adds a caller, the safe side.
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
    if (!code.length || [...code, ...data].reduce((n, s) => n + s.size, 0) > MAX_SCAN_BYTES) return null;
    // Targets anywhere in [lo, hi) are kept (the gaps between code sections only add entries no function has).
    const lo = Math.min(...code.map((s) => s.addr));
    const hi = Math.max(...code.map((s) => s.addr + s.size));
    const index: CodeIndex = { calls: new Map(), tails: new Map(), named: new Set(), loaderOnly: new Set(), exported: new Set() };
    const pic = elf.isRelocatable;
    for (const s of code) scanCode(bytesOf(elf, s), s.addr, lo, hi, pic, index);
    const loaderRanges = data.filter((s) => LOADER_ARRAYS.has(s.type)).map((s) => [s.addr, s.addr + s.size]);
    const inLoaderArray = (a: number): boolean => loaderRanges.some(([start, end]) => a >= start && a < end);
    const loader = new Set<number>();
    for (const s of data) {
      const b = bytesOf(elf, s);
      const toLoader = LOADER_ARRAYS.has(s.type);
      for (let i = 0; i + 8 <= b.length; i += 8) {
        const v = (b[i + 4] | (b[i + 5] << 8) | (b[i + 6] << 16) | (b[i + 7] << 24)) * 4294967296 + u32(b, i);
        if (v >= lo && v < hi) (toLoader ? loader : index.named).add(v);
      }
    }
    for (const r of elf.relocations()) {
      const v = r.symbol ? (r.symbol.defined ? r.symbol.value + r.addend : -1) : r.addend;
      if (v >= lo && v < hi) (inLoaderArray(r.offset) ? loader : index.named).add(v);
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

function bytesOf(elf: ElfFile, s: ElfFile['sections'][number]): Uint8Array {
  const raw = elf.sectionData(s);
  return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
}

const u32 = (b: Uint8Array, i: number): number => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
const i32 = (b: Uint8Array, i: number): number => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);

/** One site is kept as a number, more as an array (most functions have one or two callers). */
function put(map: Map<number, number | number[]>, target: number, at: number): void {
  const had = map.get(target);
  if (had === undefined) map.set(target, at);
  else if (typeof had === 'number') map.set(target, [had, at]);
  else had.push(at);
}

/** One code section's direct calls and jumps, RIP-relative `lea`s and (position-dependent code) 32-bit immediates. */
function scanCode(b: Uint8Array, base: number, lo: number, hi: number, pic: boolean, index: CodeIndex): void {
  for (let i = 0; i + 5 <= b.length; i++) {
    const op = b[i];
    if (op !== 0xe8 && op !== 0xe9) continue;
    const t = base + i + 5 + i32(b, i + 1);
    if (t >= lo && t < hi) put(op === 0xe8 ? index.calls : index.tails, t, op === 0xe8 ? base + i + 5 : base + i);
  }
  // A ModR/M byte with mod 00 and r/m 101 after 0x8D is `lea r, [rip+disp32]`.
  for (let i = 0; i + 6 <= b.length; i++) {
    if (b[i] !== 0x8d || (b[i + 1] & 0xc7) !== 0x05) continue;
    const t = base + i + 6 + i32(b, i + 2);
    if (t >= lo && t < hi) index.named.add(t);
  }
  if (pic) return;
  // Position-dependent code names functions by 32-bit immediates (`mov r32, imm32`, `mov r/m, imm32`, `push`): every
  // 4 bytes are read as one.
  for (let i = 0; i + 4 <= b.length; i++) {
    const v = u32(b, i);
    if (v >= lo && v < hi) index.named.add(v);
  }
}
