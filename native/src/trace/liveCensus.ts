// The live census of execution path tracking's sound mode: the code pointers each module wrote at run time into
// its writable data, and whether anything in the process's memory can address the variables holding them.

import * as C from '../elf/elfConstants';
import { type AddressSpace, type ModuleImage, type Region, lowestReferenceReaching, u64 } from '../space/space';
import { upperBound } from '../upperBound';
import { MAX_REGION_CACHE, RangeSet, WalkCancelled, mergeRanges } from './eptUtil';

/** A code pointer written at run time into a module's writable data, and whether something can address its variable. */
export interface WrittenPointer {
  slot: number;
  value: number;
  addressable: boolean;
}

/** What the census needs from the walker: the space, cached live reads and cancellation polls. */
export interface CensusContext {
  space: AddressSpace;
  liveBytes(address: number, length: number): Uint8Array | undefined;
  pollSlot(): void;
  isCancelled?: () => boolean;
}

/**
 * The code pointers `m` has written at run time into its writable data (values the loader or file did not put
 * there). `own`: m's regions, in address order.
 */
function runtimeWritten(ctx: CensusContext, m: ModuleImage, own: readonly Region[]): WrittenPointer[] {
  const out: WrittenPointer[] = [];
  // A value counts when the region holding it is executable and m's: tested against m's code alone, not by a
  // search of every region of the process for each word.
  const code = new RangeSet(mergeRanges(own.filter((r) => r.exec).map((r) => ({ start: r.start, end: r.end }))));
  for (const r of own) {
    if (!r.write || !r.read || r.exec) continue;
    // No budget: skipping a module's data would silently drop the pointers written there (a false
    // "compatible"); the regions are the modules' own .data/.bss, bounded by their files.
    const len = r.end - r.start;
    const bytes = ctx.liveBytes(r.start, len);
    if (!bytes) continue;
    // What the file image holds there, read once (undefined when the region is not inside one segment:
    // then each candidate slot is read on its own).
    const image = len <= MAX_REGION_CACHE ? m.elf.tryReadVirtual(r.start - m.bias, len) : undefined;
    // The words as 32-bit halves when the bytes are aligned (a region's read always is): most are zeros or small.
    const words = bytes.byteOffset % 4 === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset, (bytes.length >>> 3) << 1) : undefined;
    for (let off = 0; off + 8 <= bytes.length; off += 8) {
      ctx.pollSlot();
      let v: number;
      if (words) {
        const hi = words[(off >>> 2) + 1];
        const lo = words[off >>> 2];
        if (hi === 0 && lo < 0x10000) continue;
        v = hi * TWO32 + lo;
      } else {
        v = u64(bytes, off);
        if (v < 0x10000) continue;
      }
      // Only pointers written at run time count here (dispatch-selected variants, callbacks); pointers the
      // loader or the file image put there are static tables, taken only when visited code uses them.
      if (code.has(v) && !isStaticValue(m, r.start - m.bias + off, v, image && image.length === len ? image.subarray(off, off + 8) : undefined)) {
        out.push({ slot: r.start + off, value: v, addressable: false });
      }
    }
  }
  return out;
}

/**
 * Run-time-written pointers per module index, with whether something can address them: one pass over the
 * process's readable memory answers it for every module at once.
 */
export function liveCensus(ctx: CensusContext): Map<number, WrittenPointer[]> {
  type Open = { slot: number; value: number; addressable: boolean; windows: Array<{ start: number; end: number }> };
  const byModule = new Map<number, Array<{ slot: number; value: number; addressable: boolean }>>();
  const open: Open[] = [];
  /** Slots whose value the loader put there: a copy in one is read only through that slot (checked by window). */
  const staticCopies = new Set<number>();
  const windowOf = (m: ModuleImage, at: number) => ({ start: lowestReferenceReaching(m.elf, at - m.bias) + m.bias, end: at + 1 });
  const regionsOf = new Map<ModuleImage, Region[]>();
  for (const r of ctx.space.regions()) {
    if (!r.module) continue;
    const own = regionsOf.get(r.module);
    if (own) own.push(r);
    else regionsOf.set(r.module, [r]);
  }
  for (const m of ctx.space.modules()) {
    const list = runtimeWritten(ctx, m, regionsOf.get(m) ?? []);
    if (!list.length) continue;
    byModule.set(m.index, list);
    // Position-dependent code names variables by immediates too: keep those modules' pointers whole.
    if (!(m.elf.isPie || m.elf.header.type === C.ET_DYN)) {
      for (const w of list) w.addressable = true;
      continue;
    }
    const copiesOf = new Map<number, number[]>();
    const wanted = new Set(list.map((w) => w.value - m.bias));
    for (const r of m.elf.relocations()) {
      if (r.type === C.R_X86_64_RELATIVE && wanted.has(r.addend)) copiesOf.set(r.addend, [...(copiesOf.get(r.addend) ?? []), r.offset + m.bias]);
    }
    for (const w of list) {
      const copies = copiesOf.get(w.value - m.bias) ?? [];
      for (const c of copies) staticCopies.add(c);
      open.push(Object.assign(w, { windows: [windowOf(m, w.slot), ...copies.map((c) => windowOf(m, c))] }));
    }
  }
  if (!open.length) return byModule;
  const windows = mergeRanges(open.flatMap((w) => w.windows));
  const values = new Map<number, number[]>();
  for (const w of open) values.set(w.value, [...(values.get(w.value) ?? []), w.slot]);
  const his = new Set<number>();
  for (const x of [...windows.flatMap((r) => [r.start, r.end - 1]), ...values.keys()]) his.add(Math.floor(x / 2 ** 32));
  // Bounds of every value looked for: most words (zeros, counts, floats) fail them before any set lookup, which
  // matters when the modules sit below 4 GiB (a non-PIE python3), where a word's high half is 0 like theirs.
  const wanted = [...windows.flatMap((r) => [r.start, r.end - 1]), ...values.keys()];
  const lowest = Math.min(...wanted);
  const highest = Math.max(...wanted);
  const hiLow = Math.floor(lowest / 2 ** 32);
  const hiHigh = Math.floor(highest / 2 ** 32);
  // Every word that passes these is a value looked for or lies in a window: one search of typed arrays settles
  // the rest (most are heap pointers between the modules), before any map lookup.
  const windowSet = new RangeSet(windows);
  const targets = new RangeSet(mergeRanges([...windows, ...[...values.keys()].map((v) => ({ start: v, end: v + 1 }))]));
  const pointedInto: number[] = [];
  const copied = new Set<number>();
  forEachDataChunk(ctx, false, (words, a) => {
    for (let i = 1; i < words.length; i += 2) {
      const hi = words[i];
      if (hi < hiLow || hi > hiHigh || !his.has(hi)) continue;
      const v = hi * 2 ** 32 + words[i - 1];
      if (v < lowest || v > highest || !targets.has(v)) continue;
      const at = a + (i - 1) * 4;
      const slots = values.get(v);
      if (slots && !slots.includes(at) && !staticCopies.has(at)) copied.add(v);
      if (windowSet.has(v)) pointedInto.push(v);
    }
  });
  pointedInto.sort((x, y) => x - y);
  const pointed = (w: { start: number; end: number }) => {
    const i = upperBound(pointedInto.length, (k) => pointedInto[k] >= w.start);
    return i < pointedInto.length && pointedInto[i] < w.end;
  };
  for (const w of open) w.addressable = copied.has(w.value) || w.windows.some(pointed);
  return byModule;
}

/**
 * True when `value` at link-time `slot` is what the loader or the file image put there. `fileBytes`: the
 * slot's 8 bytes of the file image when already read.
 */
function isStaticValue(m: ModuleImage, slot: number, value: number, fileBytes?: Uint8Array): boolean {
  const rel = m.elf.relocationAt(slot);
  if (rel) return rel.type === C.R_X86_64_RELATIVE ? rel.addend + m.bias === value : true;
  const b = fileBytes ?? m.elf.tryReadVirtual(slot, 8);
  return b !== undefined && u64(b) !== 0 && u64(b) + m.bias === value;
}

// ------------------------------------------------------------------ live values
//
// What the process's writable memory holds now (heap, stacks, modules' .data/.bss): every word that points into
// a module, and every word that glibc's PTR_MANGLE turned into a code pointer (atexit/on_exit handlers and
// __cxa_atexit destructors in the exit list, setjmp buffers). Pointers that initialisers which already ran
// produced can be called later only if they are still stored somewhere (or re-produced by code that runs
// again, which the walk sees): the walk keeps such products only when this census finds them.

/** The module pointers in the process's writable memory, and the code pointers glibc keeps mangled. */
export interface LiveValues {
  /** True when some word of writable memory holds exactly `value`. */
  has(value: number): boolean;
  /** True when some word of writable memory points into [start, end). */
  pointsInto(start: number, end: number): boolean;
  /** Code addresses found mangled with glibc's pointer guard (exit handlers, setjmp return points). */
  mangled: number[];
  /** Distinct pointer guards found in thread control blocks (0 when none was found: no demangling). */
  guards: number;
  /** Bytes of writable memory read. */
  bytes: number;
}

const CHUNK = 4 * 1024 * 1024;
const TWO32 = 2 ** 32;
/** Slots of liveValues' table of recently found values (a power of two). */
const RECENT = 4096;

/** The high 32-bit halves of the addresses in `ranges` (a fast first test for a word). */
function highHalves(ranges: Array<{ start: number; end: number }>): Set<number> {
  const his = new Set<number>();
  for (const r of ranges) for (let h = Math.floor(r.start / TWO32); h <= Math.floor((r.end - 1) / TWO32); h++) his.add(h);
  return his;
}

/**
 * Reads the data regions (readable, not executable; only the writable ones when `writableOnly`) in chunks, handing
 * each chunk's 32-bit words (little-endian pairs) and its address to `each`. Returns the bytes read.
 */
function forEachDataChunk(ctx: CensusContext, writableOnly: boolean, each: (words: Uint32Array, base: number) => void): number {
  let bytes = 0;
  for (const r of ctx.space.regions()) {
    if (!r.read || (writableOnly && !r.write) || r.exec || r.kind === 'vdso' || r.kind === 'vsyscall') continue;
    // Pages never written read as zeros, which hold no pointer: only the resident parts are read (which also
    // spares the process the zero pages a read would map). Each part is cut on the region's CHUNK grid, so the
    // chunks' words are those a read of the whole region would give (a zero run in between holds none).
    const parts = ctx.space.residentRanges?.(r.start, r.end) ?? [r];
    for (const p of parts) {
      for (let a = p.start; a < p.end; ) {
        if (ctx.isCancelled?.()) throw new WalkCancelled();
        const gridEnd = r.start + (Math.floor((a - r.start) / CHUNK) + 1) * CHUNK;
        const n = Math.min(gridEnd, p.end) - a;
        const b = ctx.space.readMemory(a, n);
        a += n;
        if (!b) continue;
        bytes += b.length;
        each(new Uint32Array(b.buffer, b.byteOffset, Math.floor(b.length / 8) * 2), a - n);
      }
    }
  }
  return bytes;
}

/** The code addresses that words of writable memory hold mangled with one of `guards` (a second pass over it). */
function demangledCode(ctx: CensusContext, guards: Array<{ lo: number; hi: number }>, codeRanges: Array<{ start: number; end: number }>): Set<number> {
  const codeHis = highHalves(codeRanges);
  const codeLo = Math.min(...codeHis);
  const codeHi = Math.max(...codeHis);
  const codeSet = new RangeSet(codeRanges);
  const mangled = new Set<number>();
  forEachDataChunk(ctx, true, (words) => {
    for (let i = 0; i + 1 < words.length; i += 2) {
      const lo = words[i];
      const hi = words[i + 1];
      if (lo === 0 && hi === 0) continue;
      // PTR_DEMANGLE: rotate right by 17 bits, then xor with the guard.
      const rlo = ((lo >>> 17) | (hi << 15)) >>> 0;
      const rhi = ((hi >>> 17) | (lo << 15)) >>> 0;
      for (const g of guards) {
        const dhi = (rhi ^ g.hi) >>> 0;
        if (dhi < codeLo || dhi > codeHi || !codeHis.has(dhi)) continue;
        const v = dhi * TWO32 + ((rlo ^ g.lo) >>> 0);
        if (codeSet.has(v)) mangled.add(v);
      }
    }
  });
  return mangled;
}

const censuses = new WeakMap<AddressSpace, LiveValues>();

/**
 * The census of a live address space's writable memory, read once per space (the walk's product filter and the
 * exit-handler roots share it). Throws WalkCancelled when `isCancelled` answers true while it reads.
 */
export function liveValuesOf(space: AddressSpace, isCancelled?: () => boolean): LiveValues {
  let v = censuses.get(space);
  if (!v) {
    v = liveValues({ space, liveBytes: (a, n) => space.readMemory(a, n), pollSlot: () => undefined, isCancelled });
    censuses.set(space, v);
  }
  return v;
}

/** One census of the process's writable memory (two passes when a pointer guard is found). */
function liveValues(ctx: CensusContext): LiveValues {
  const moduleRanges = mergeRanges(ctx.space.regions().filter((r) => r.module).map((r) => ({ start: r.start, end: r.end })));
  const codeRanges = mergeRanges(ctx.space.regions().filter((r) => r.module && r.exec).map((r) => ({ start: r.start, end: r.end })));
  const moduleHis = highHalves(moduleRanges);

  const modLo = Math.min(...moduleHis);
  const modHi = Math.max(...moduleHis);
  const modStart = moduleRanges.length ? moduleRanges[0].start : 0;
  const modEnd = moduleRanges.length ? moduleRanges[moduleRanges.length - 1].end : 0;
  const moduleSet = new RangeSet(moduleRanges);
  const found: number[] = [];
  // The values pushed last, by a hash of their low half: most words that point into a module repeat a few values
  // (objects' type pointers), and a repeat already in `found` need not go in again (the set is sorted and made
  // unique below). Zero is never a module address, so the empty slots match nothing.
  const recentLo = new Uint32Array(RECENT);
  const recentHi = new Uint32Array(RECENT);
  // glibc's tcbhead_t: tcb (itself) at 0, self (itself) at 16, pointer_guard at 0x30.
  const guards = new Map<string, { lo: number; hi: number }>();
  const bytes = forEachDataChunk(ctx, true, (words, base) => {
    // The address of the word pair at i, kept as two 32-bit halves (no float arithmetic per word).
    let atLo = base % TWO32;
    let atHi = Math.floor(base / TWO32);
    for (let i = 0; i + 1 < words.length; i += 2, atLo += 8) {
      if (atLo >= TWO32) {
        atLo -= TWO32;
        atHi++;
      }
      const lo = words[i];
      const hi = words[i + 1];
      // A thread control block holds its own address at 0 and 16 (checked on the rare word equal to its address).
      if (lo === atLo && hi === atHi && i + 13 < words.length && words[i + 4] === lo && words[i + 5] === hi) {
        guards.set(`${words[i + 13]}:${words[i + 12]}`, { lo: words[i + 12], hi: words[i + 13] });
      }
      if (hi < modLo || hi > modHi || !moduleHis.has(hi)) continue;
      const v = hi * TWO32 + lo;
      // Below or above every module (a zero, a count): no search (modules below 4 GiB share high half 0 with them).
      if (v < modStart || v >= modEnd) continue;
      const slot = ((lo >>> 3) ^ (lo >>> 15)) & (RECENT - 1);
      if (recentLo[slot] === lo && recentHi[slot] === hi) continue;
      if (!moduleSet.has(v)) continue;
      recentLo[slot] = lo;
      recentHi[slot] = hi;
      found.push(v);
    }
  });
  const guardList = [...guards.values()].filter((g) => g.lo !== 0 || g.hi !== 0);
  const mangled = guardList.length > 0 && guardList.length <= 4 ? demangledCode(ctx, guardList, codeRanges) : new Set<number>();
  const sorted = Float64Array.from(found).sort();
  let n = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[n - 1]) sorted[n++] = sorted[i];
  const values = sorted.subarray(0, n);
  const firstAtLeast = (x: number) => upperBound(values.length, (k) => values[k] >= x);
  return {
    has: (v) => {
      const i = firstAtLeast(v);
      return i < values.length && values[i] === v;
    },
    pointsInto: (start, end) => {
      const i = firstAtLeast(start);
      return i < values.length && values[i] < end;
    },
    mangled: [...mangled],
    guards: guardList.length,
    bytes,
  };
}
