// Limits and small helpers shared by the execution path tracking walker's layers (walkBase.ts, walkEdges.ts,
// addressTaken.ts, liveCensus.ts).

import type { FunctionSummary } from './summary';
import * as path from 'node:path';
import { upperBound } from '../upperBound';
import * as C from '../elf/elfConstants';
import { type AddressSpace, type ModuleImage, isGotSlot, moduleFacts, u64 } from '../space/space';
import { pythonInitializers } from './pythonRoots';

export const UNRESOLVED_SAMPLE = 200;
/** Modules with at most this much code are read whole (one read, one decoder); bigger ones per function. */
export const MAX_MODULE_CODE = 16 * 1024 * 1024;
/** Data regions up to this size are read once and served from memory. */
export const MAX_REGION_CACHE = 8 * 1024 * 1024;
/** Modules whose data sections span more than this keep no map of the data slots already scanned. */
export const MAX_SLOT_MAP_SPAN = 512 * 1024 * 1024;
/** Functions of a module's static initializers (and their callees in the module) read for pointers, at most. */
export const MAX_INIT_FUNCTIONS = 20000;
/**
 * Bytes of one data object or initializer array read for pointers, at most (sizes are already bounded by
 * their sections and segments in the ELF reader; this bounds what a crafted segment size could still ask).
 */
export const MAX_DATA_SCAN = 64 * 1024 * 1024;
/** Slots read between two polls of isCancelled in the data loops. */
export const POLL_SLOTS = 1 << 16;

/** Thrown inside the walk when isCancelled answers true in a long loop; run() turns it into `cancelled`. */
export class WalkCancelled extends Error {}


/** True when `x` lies in one of the sorted, non-overlapping half-open `ranges`. */
export function inRanges(ranges: Array<{ start: number; end: number }>, x: number): boolean {
  const i = upperBound(ranges.length, (k) => ranges[k].end > x);
  return i < ranges.length && ranges[i].start <= x;
}

/** Sorted, non-overlapping union of ranges. */
export function mergeRanges(ranges: Array<{ start: number; end: number }>): Array<{ start: number; end: number }> {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const out: Array<{ start: number; end: number }> = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

/** libgcc's CPU model, filled by __cpu_indicator_init and read by __builtin_cpu_supports/__builtin_cpu_is. */
export const CPU_MODEL_SYMBOLS = ['__cpu_model', '__cpu_features2'];

const cpuModels = new WeakMap<ModuleImage['elf'], Set<number>>();

/** The link-time addresses of libgcc's CPU model variables in `elf` (every byte), and of GOT slots naming them. */
export function cpuModelAddresses(elf: ModuleImage['elf']): Set<number> {
  let addrs = cpuModels.get(elf);
  if (!addrs) {
    addrs = new Set();
    for (const name of CPU_MODEL_SYMBOLS) {
      const sym = elf.lookupSymbol(name) ?? elf.findSymbol(name);
      if (sym?.defined) for (let a = sym.value; a < sym.value + Math.max(sym.size, 8); a++) addrs.add(a);
    }
    for (const r of elf.relocations()) if (r.symbol && CPU_MODEL_SYMBOLS.includes(r.symbol.name) && isGotSlot(elf, r.offset)) addrs.add(r.offset);
    cpuModels.set(elf, addrs);
  }
  return addrs;
}

/** Functions with pthread_once's contract: the initialiser (second argument) runs once per control (first). */
export const ONCE_FUNCTIONS = new Set(['pthread_once', '__pthread_once', 'call_once', 'CRYPTO_THREAD_run_once']);

/** `a` rounded down to a multiple of 8 (addresses exceed 32 bits: no bitwise operators). */
export function down8(a: number): number {
  return a - (a % 8);
}

/** True when the function saves the extended state: in the dynamic linker, a lazy-binding trampoline. */
export function savesExtendedState(s: FunctionSummary): boolean {
  return s.features.has('xsavec') || s.features.has('xsave') || s.features.has('xsaveopt');
}

/** True when `m` is the dynamic linker: the main executable's PT_INTERP, else any ld-linux. */
export function isDynamicLinker(space: AddressSpace, m: ModuleImage): boolean {
  const interp = space.mainModule()?.elf.interpreter;
  return interp ? path.basename(interp) === path.basename(m.path) : /^ld-linux/.test(path.basename(m.path));
}

/**
 * The value the dynamic linker puts in the 8-byte slot at link-time `slot` of `m`, for address spaces without live
 * memory (or a slot live memory does not answer): a relative relocation's target, a symbol relocation resolved by
 * load order (IFUNCs left out), else the word stored in the file, rebased. Undefined for 0 and what cannot be known.
 */
export function staticPointer(space: AddressSpace, m: ModuleImage, slot: number): number | undefined {
  const rel = m.elf.relocationAt(slot);
  if (rel) {
    if (rel.type === C.R_X86_64_RELATIVE) return rel.addend + m.bias;
    if (rel.type === C.R_X86_64_IRELATIVE) return undefined;
    if (rel.symbol?.name) {
      const t = definedAddress(space, rel.symbol.name);
      return t === undefined ? undefined : t + (rel.type === C.R_X86_64_64 ? rel.addend : 0);
    }
    return undefined;
  }
  const b = m.elf.tryReadVirtual(slot, 8);
  if (!b) return undefined;
  const v = u64(b);
  return v === 0 ? undefined : v + m.bias;
}

/** The runtime address of the first definition of `name` in load order (not an IFUNC), if any module has one. */
function definedAddress(space: AddressSpace, name: string): number | undefined {
  for (const mod of space.modules()) {
    const sym = mod.elf.lookupSymbol(name);
    if (sym?.defined && sym.type !== C.STT_GNU_IFUNC) return sym.value + mod.bias;
  }
  return undefined;
}

/**
 * True for code of `m` (link-time `link`) that runs only while its module is loaded or imported: an IFUNC resolver,
 * a Python module's initialisers (PyInit_*, Py_mod_create/exec). Never a call target after a restore, though data
 * still names it (a module definition the heap points to names its exec slot).
 */
export function runsOnlyAtLoad(m: ModuleImage, link: number): boolean {
  return moduleFacts(m.elf).ifuncResolvers.has(link) || pythonInitializers(m).has(link);
}

/** `bytes` as little-endian 32-bit halves of its 64-bit words: a view when aligned, else an aligned copy. */
export function wordHalves(bytes: Uint8Array): Uint32Array {
  return bytes.byteOffset % 4 === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2) : new Uint32Array(bytes.slice().buffer, 0, bytes.length >>> 2);
}
