// The live census of execution path tracking's sound mode: the code pointers each module wrote at run time into
// its writable data, and whether anything in the process's memory can address the variables holding them.

import * as C from '../elf/elfConstants';
import { type AddressSpace, type ModuleImage, type Region, lowestReferenceReaching, u64 } from '../space/space';
import { upperBound } from '../upperBound';
import { BlockFilter, HIGH_HALVES } from './blockFilter';
import { type HeapPointers, HeapPointerLog } from './heapPointers';
import { PythonInts } from './pythonInts';
import { MAX_REGION_CACHE, WalkCancelled, inRanges, mergeRanges, wordHalves } from './eptUtil';

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

/** The code pointers `m` has written at run time into its writable data (values the loader or file did not put there). */
function runtimeWritten(ctx: CensusContext, m: ModuleImage): WrittenPointer[] {
  const out: WrittenPointer[] = [];
  // Bounds of m's executable mappings: a word outside them is not one of its code pointers (no region lookup).
  let codeStart = Infinity;
  let codeEnd = -Infinity;
  for (const r of ctx.space.regions()) {
    if (r.module !== m || !r.exec) continue;
    codeStart = Math.min(codeStart, r.start);
    codeEnd = Math.max(codeEnd, r.end);
  }
  if (codeStart >= codeEnd) return out;
  for (const r of ctx.space.regions()) {
    if (r.module !== m || !r.write || !r.read || r.exec) continue;
    // No budget: skipping a module's data would silently drop the pointers written there (a false
    // "compatible"); the regions are the modules' own .data/.bss, bounded by their files.
    const len = r.end - r.start;
    const bytes = ctx.liveBytes(r.start, len);
    if (!bytes) continue;
    // What the file image holds there, read once (undefined when the region is not inside one segment:
    // then each candidate slot is read on its own).
    const image = len <= MAX_REGION_CACHE ? m.elf.tryReadVirtual(r.start - m.bias, len) : undefined;
    // The words as 32-bit halves (an aligned view, or a copy when the bytes are not 4-aligned).
    const words = wordHalves(bytes);
    for (let off = 0; off + 8 <= bytes.length; off += 8) {
      ctx.pollSlot();
      const v = words[(off >>> 2) + 1] * TWO32 + words[off >>> 2];
      if (v < 0x10000 || v < codeStart || v >= codeEnd) continue;
      const t = ctx.space.regionAt(v);
      // Only pointers written at run time count here (dispatch-selected variants, callbacks); pointers the
      // loader or the file image put there are static tables, taken only when visited code uses them.
      if (t?.exec && t.module === m && !isStaticValue(m, r.start - m.bias + off, v, image && image.length === len ? image.subarray(off, off + 8) : undefined)) {
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
  const scan = censusScan(ctx);
  if (scan.needsPass) forEachDataChunk(ctx, false, (words, base) => scan.visit(words, base));
  return scan.result();
}

/** The census of liveCensus prepared for its pass: each chunk of readable data goes to `visit`, then `result` answers. */
interface CensusScan {
  /** False when no module wrote a code pointer: the answer needs no pass over memory. */
  needsPass: boolean;
  visit(words: Uint32Array, base: number): void;
  result(): Map<number, WrittenPointer[]>;
}

/** The run-time-written pointers of every module (read now) and the test of liveCensus's pass over memory. */
function censusScan(ctx: CensusContext): CensusScan {
  type Open = { slot: number; value: number; addressable: boolean; windows: Array<{ start: number; end: number }> };
  const byModule = new Map<number, Array<{ slot: number; value: number; addressable: boolean }>>();
  const open: Open[] = [];
  /** Slots whose value the loader put there: a copy in one is read only through that slot (checked by window). */
  const staticCopies = new Set<number>();
  const windowOf = (m: ModuleImage, at: number) => ({ start: lowestReferenceReaching(m.elf, at - m.bias) + m.bias, end: at + 1 });
  for (const m of ctx.space.modules()) {
    const list = runtimeWritten(ctx, m);
    if (!list.length) continue;
    byModule.set(m.index, list);
    // Position-dependent code names variables by immediates too: keep those modules' pointers whole.
    if (!m.elf.isRelocatable) {
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
  if (!open.length) return { needsPass: false, visit: () => undefined, result: () => byModule };
  const windows = mergeRanges(open.flatMap((w) => w.windows));
  const values = new Map<number, number[]>();
  for (const w of open) values.set(w.value, [...(values.get(w.value) ?? []), w.slot]);
  // Most words (zeros, counts, floats, heap pointers) fall in no 64 KiB block of a value or window looked for: they
  // are dropped before any lookup, which matters when the modules sit below 4 GiB (a non-PIE python3), where a
  // word's high half is 0 like theirs, and for the heap pointers that lie between the modules.
  const filter = new BlockFilter([...windows, ...[...values.keys()].map((v) => ({ start: v, end: v + 1 }))]);
  const pointedInto: number[] = [];
  const copied = new Set<number>();
  // The filter's test written out in the loop (BlockFilter.maybe): the server's inlining budget is small.
  const { page, bits, all } = filter;
  const visit = (words: Uint32Array, a: number) => {
    for (let i = 1; i < words.length; i += 2) {
      const hi = words[i];
      if (!all) {
        const p = hi < HIGH_HALVES ? page[hi] : -1;
        if (p < 0) continue;
        const b = words[i - 1] >>> 16;
        if ((bits[p + (b >>> 5)] & (1 << (b & 31))) === 0) continue;
      }
      const v = hi * 2 ** 32 + words[i - 1];
      const at = a + (i - 1) * 4;
      const slots = values.get(v);
      if (slots && !slots.includes(at) && !staticCopies.has(at)) copied.add(v);
      if (inRanges(windows, v)) pointedInto.push(v);
    }
  };
  const result = () => {
    pointedInto.sort((x, y) => x - y);
    const pointed = (w: { start: number; end: number }) => {
      const i = upperBound(pointedInto.length, (k) => pointedInto[k] >= w.start);
      return i < pointedInto.length && pointedInto[i] < w.end;
    };
    for (const w of open) w.addressable = copied.has(w.value) || w.windows.some(pointed);
    return byModule;
  };
  return { needsPass: true, visit, result };
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
// What the process's live data holds now (writable memory: heap, stacks, modules' .data/.bss; and anonymous memory
// made read-only after it was written, such as a function table sealed with mprotect): every word that points into
// a module, and every word that glibc's PTR_MANGLE turned into a code pointer (atexit/on_exit handlers and
// __cxa_atexit destructors in the exit list, setjmp buffers). Pointers that initialisers which already ran
// produced can be called later only if they are still stored somewhere (or re-produced by code that runs
// again, which the walk sees): the walk keeps such products only when this census finds them.

/** Executable memory no module backs, but for the kernel's vDSO and vsyscall page: code generated at run time. */
export function isGeneratedCode(r: Region): boolean {
  return r.exec && !r.module && r.kind !== 'vdso' && r.kind !== 'vsyscall';
}

/** The module pointers in the process's live data (liveData), and the code pointers glibc keeps mangled. */
export interface LiveValues {
  /** True when some word of live data holds exactly `value`. */
  has(value: number): boolean;
  /** True when some word of live data points into [start, end). */
  pointsInto(start: number, end: number): boolean;
  /** The distinct values of live data's words in [start, end), sorted. */
  valuesIn(start: number, end: number): Float64Array;
  /**
   * The words of live data pointing into `[heap]` (glibc's main arena), each with the address holding it; undefined
   * when there is no `[heap]` or more than MAX_HEAP_POINTERS such words (a heap-heavy process).
   */
  heapPointers?: HeapPointers;
  /**
   * The module pointers (and pointers into generated code) that words of live data outside every module (heap,
   * stacks, other mappings) hold, sorted, each once.
   */
  outsideModules: Float64Array;
  /** Addresses only found as the values of Python int objects (PyLong_FromVoidPtr, ctypes' `.value`). */
  fromPythonInts?: ReadonlySet<number>;
  /** Code addresses found mangled with glibc's pointer guard (exit handlers, setjmp return points). */
  mangled: number[];
  /** Distinct pointer guards found in thread control blocks (0 when none was found: no demangling). */
  guards: number;
  /** Those guards, as 32-bit halves in the order found (what the next census of the process may guess). */
  guardWords: readonly Guard[];
  /** Bytes of live data read. */
  bytes: number;
}

const CHUNK = 4 * 1024 * 1024;

/**
 * Whether a data region holds what the program stored at run time: writable memory, or anonymous memory no module
 * backs that is read-only now (written, then sealed with mprotect: a table of function pointers hardened code keeps
 * there is called through as before), shared or not, or private anonymous memory made inaccessible (PROT_NONE: a
 * table made readable only around each call; /proc/PID/mem reads it, and only its resident pages are read, so the
 * reservations of allocators cost a pagemap read). Read-only mappings of files hold what their files hold.
 */
function liveData(r: Region): boolean {
  if (r.write) return true;
  if (r.module) return false;
  return r.kind === 'anon' || (r.read && ANONYMOUS_FILES.test(r.name));
}

/** Files that stand for anonymous memory: shared anonymous mappings (/dev/zero), System V shared memory, memfd_create's. */
const ANONYMOUS_FILES = /^\/(dev\/zero$|SYSV[0-9a-f]{8}$|memfd:)/;
const TWO32 = 2 ** 32;
/** Module pointers remembered by the census pass to drop repeats early (a power of two). */
const RECENT = 65536;

/**
 * Reads the data regions (not executable: the readable ones and the live data, see liveData; only live data when
 * `liveOnly`) in chunks, handing each chunk's 32-bit words (little-endian pairs) and its address to `each`. Returns
 * the bytes read.
 */
function forEachDataChunk(ctx: CensusContext, liveOnly: boolean, each: (words: Uint32Array, base: number, region: Region) => void): number {
  let bytes = 0;
  // One buffer for every chunk (`each` keeps no view of it): tens of MB read per census allocate nothing.
  const buffer = new Uint8Array(CHUNK);
  for (const r of ctx.space.regions()) {
    if (r.exec || r.kind === 'vdso' || r.kind === 'vsyscall' || !(liveOnly ? liveData(r) : r.read || liveData(r))) continue;
    // Pages never written read as zeros, which hold no pointer: only the resident parts are read (which also
    // spares the process the zero pages a read would map). Each part is cut on the region's CHUNK grid, so the
    // chunks' words are those a read of the whole region would give (a zero run in between holds none).
    const parts = ctx.space.residentRanges?.(r.start, r.end) ?? [r];
    for (const p of parts) {
      for (let a = p.start; a < p.end; ) {
        if (ctx.isCancelled?.()) throw new WalkCancelled();
        const gridEnd = r.start + (Math.floor((a - r.start) / CHUNK) + 1) * CHUNK;
        const n = Math.min(gridEnd, p.end) - a;
        const b = ctx.space.readMemory(a, n, buffer);
        a += n;
        if (!b) continue;
        bytes += b.length;
        each(new Uint32Array(b.buffer, b.byteOffset, Math.floor(b.length / 8) * 2), a - n, r);
      }
    }
  }
  return bytes;
}

/**
 * Every readable data region of a live space (and the live data: sealed or inaccessible anonymous memory), chunk by
 * chunk as 32-bit word halves, with each chunk's address and region: the pass heapTables makes for where pointers are.
 */
export function forEachReadableChunk(space: AddressSpace, each: (words: Uint32Array, base: number, region: Region) => void, isCancelled?: () => boolean): number {
  return forEachDataChunk(contextOf(space, isCancelled), false, each);
}

const censuses = new WeakMap<AddressSpace, LiveValues>();
const moduleCensuses = new WeakMap<AddressSpace, Map<number, WrittenPointer[]>>();

/**
 * The census of a live address space's live data (liveData), read once per space (the walk's product filter and the
 * exit-handler roots share it). Throws WalkCancelled when `isCancelled` answers true while it reads.
 */
export function liveValuesOf(space: AddressSpace, isCancelled?: () => boolean): LiveValues {
  let v = censuses.get(space);
  if (!v) {
    const ctx = contextOf(space, isCancelled);
    const scan = valuesScan(ctx);
    const bytes = forEachDataChunk(ctx, true, (words, base, r) => scan.visit(words, base, !r.module));
    v = scan.result(ctx, bytes);
    censuses.set(space, v);
  }
  return v;
}

/**
 * Both censuses of `space` (liveValuesOf's and liveCensus's) in one pass over its memory, for a caller that knows it
 * will need both; with `guess`, the pointer guards the last census of the process found, the demangling is done in
 * the same pass and kept when the guards found are the same (else it is done again in a second pass, as alone).
 * Each census is what it would be alone: the same words of the same chunks, in the same order.
 */
export function primeCensuses(space: AddressSpace, isCancelled?: () => boolean, guess?: readonly Guard[]): void {
  if (censuses.has(space)) return;
  const ctx = contextOf(space, isCancelled);
  const census = censusScan(ctx);
  const values = valuesScan(ctx, guess);
  let bytes = 0;
  forEachDataChunk(ctx, !census.needsPass, (words, base, r) => {
    census.visit(words, base);
    if (!liveData(r)) return;
    bytes += words.byteLength;
    values.visit(words, base, !r.module);
  });
  censuses.set(space, values.result(ctx, bytes));
  moduleCensuses.set(space, census.result());
}

/**
 * Leaves `unread` out of the census of `space` (taken already): values that only words no code can read hold
 * (heapTables), which are then as good as stored nowhere, for every later question (has, pointsInto, outsideModules).
 */
export function withoutUnread(space: AddressSpace, unread: ReadonlySet<number>): LiveValues {
  const v = liveValuesOf(space);
  // A value a Python int holds is held by more than the table's words.
  const ints = v.fromPythonInts;
  if (ints?.size) unread = new Set([...unread].filter((x) => !ints.has(x)));
  if (unread.size === 0) return v;
  const kept = v.outsideModules.filter((x) => !unread.has(x));
  const narrowed: LiveValues = { ...v, outsideModules: kept, has: (x) => !unread.has(x) && v.has(x), pointsInto: (start, end) => pointsIntoKept(v, unread, start, end) };
  censuses.set(space, narrowed);
  return narrowed;
}

/** pointsInto of `v` without the values of `unread`: a value found is in range and not left out. */
function pointsIntoKept(v: LiveValues, unread: ReadonlySet<number>, start: number, end: number): boolean {
  return v.pointsInto(start, end) && v.valuesIn(start, end).some((y) => !unread.has(y));
}

/** The pointer guards the census of `space` found, when it was taken. */
export function censusGuards(space: AddressSpace): readonly Guard[] | undefined {
  return censuses.get(space)?.guardWords;
}

/** liveCensus's answer for `space` when primeCensuses computed it. */
export function primedCensus(space: AddressSpace): Map<number, WrittenPointer[]> | undefined {
  return moduleCensuses.get(space);
}

function contextOf(space: AddressSpace, isCancelled?: () => boolean): CensusContext {
  return { space, liveBytes: (a, n) => space.readMemory(a, n), pollSlot: () => undefined, isCancelled };
}

/** A pointer guard (glibc's tcbhead_t.pointer_guard) as 32-bit halves. */
export interface Guard {
  lo: number;
  hi: number;
}

/** The executable ranges of the modules, and the filters a demangled word is tested with. */
interface CodeRanges {
  ranges: Array<{ start: number; end: number }>;
  blocks: BlockFilter;
  lo: number;
  hi: number;
}

/** Adds to `into` every code address a word of `words` holds mangled with one of `guards` (PTR_MANGLE). */
function demangle(words: Uint32Array, guards: readonly Guard[], code: CodeRanges, into: Set<number>): void {
  const { page, bits, all } = code.blocks;
  for (let i = 0; i + 1 < words.length; i += 2) {
    const lo = words[i];
    const hi = words[i + 1];
    if (lo === 0 && hi === 0) continue;
    // PTR_DEMANGLE: rotate right by 17 bits, then xor with the guard.
    const rlo = ((lo >>> 17) | (hi << 15)) >>> 0;
    const rhi = ((hi >>> 17) | (lo << 15)) >>> 0;
    for (const g of guards) {
      const dhi = (rhi ^ g.hi) >>> 0;
      if (dhi < code.lo || dhi > code.hi) continue;
      const dlo = (rlo ^ g.lo) >>> 0;
      if (!all) {
        const p = dhi < HIGH_HALVES ? page[dhi] : -1;
        if (p < 0) continue;
        const b = dlo >>> 16;
        if ((bits[p + (b >>> 5)] & (1 << (b & 31))) === 0) continue;
      }
      const v = dhi * TWO32 + dlo;
      if (inRanges(code.ranges, v)) into.add(v);
    }
  }
}

/** Whether glibc's guards are worth a demangling pass: some found, and few (more are false thread control blocks). */
const demanglable = (guards: readonly Guard[] | undefined): guards is readonly Guard[] => guards !== undefined && guards.length > 0 && guards.length <= 4;

/**
 * One census of the process's live data: `visit` each chunk of it, then `result` (which demangles in a second
 * pass when a pointer guard is found, unless `guess` named the same guards and they were demangled with during the pass).
 */
function valuesScan(ctx: CensusContext, guess?: readonly Guard[]): { visit(words: Uint32Array, base: number, anonymous: boolean): void; result(ctx: CensusContext, bytes: number): LiveValues } {
  // Modules, and executable memory no file backs (code a JIT generated: what the heap holds of it are its entries).
  const moduleRanges = mergeRanges(ctx.space.regions().filter((r) => r.module || isGeneratedCode(r)).map((r) => ({ start: r.start, end: r.end })));
  const codeRanges = mergeRanges(ctx.space.regions().filter((r) => r.module && r.exec).map((r) => ({ start: r.start, end: r.end })));
  // Drops most words (zeros, counts, heap pointers) before the search (see liveCensus).
  const moduleBlocks = new BlockFilter(moduleRanges);
  const { page: modulePage, bits: moduleBits } = moduleBlocks;
  const code: CodeRanges = {
    ranges: codeRanges,
    blocks: new BlockFilter(codeRanges),
    lo: codeRanges.length ? Math.floor(codeRanges[0].start / TWO32) : 1,
    hi: codeRanges.length ? Math.floor((codeRanges[codeRanges.length - 1].end - 1) / TWO32) : 0,
  };
  const found: number[] = [];
  const foundAnonymous: number[] = [];
  // Separate memories of recent values for module data and for the rest, so a value seen in a module's data is
  // still recorded when anonymous memory holds it too.
  const recentModule = new Float64Array(RECENT);
  const recentAnonymous = new Float64Array(RECENT);
  // glibc's tcbhead_t: tcb (itself) at 0, self (itself) at 16, pointer_guard at 0x30.
  const guards = new Map<string, Guard>();
  const guessed = demanglable(guess) ? new Set<number>() : undefined;
  const heapLog = new HeapPointerLog(ctx.space);
  const ints = new PythonInts(ctx.space, moduleRanges, heapLog);
  // ints.take's first test written out in the loop, as the filters below (the server's inlining budget is small).
  const intLo = ints.type?.lo ?? -1;
  const intHi = ints.type?.hi ?? -1;
  const visit = (words: Uint32Array, base: number, anonymous: boolean) => {
    const recent = anonymous ? recentAnonymous : recentModule;
    const into = anonymous ? foundAnonymous : found;
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
      // Most words are zero: no pointer, no thread control block, no int object's type.
      if ((lo | hi) === 0) continue;
      // A thread control block holds its own address at 0 and 16 (checked on the rare word equal to its address).
      if (lo === atLo && hi === atHi && i + 13 < words.length && words[i + 4] === lo && words[i + 5] === hi) {
        guards.set(`${words[i + 13]}:${words[i + 12]}`, { lo: words[i + 12], hi: words[i + 13] });
      }
      // An int object (its type pointer here) whose value is an address: held as if a word held it (pythonInts.ts).
      if (lo === intLo && hi === intHi) {
        const int = ints.take(words, i, base);
        if (int !== undefined) into.push(int);
      }
      if (hi >= heapLog.hiFirst && hi <= heapLog.hiLast && heapLog.take(hi * TWO32 + lo, atHi * TWO32 + atLo)) continue;
      if (!moduleBlocks.all) {
        const p = hi < HIGH_HALVES ? modulePage[hi] : -1;
        if (p < 0) continue;
        const b = lo >>> 16;
        if ((moduleBits[p + (b >>> 5)] & (1 << (b & 31))) === 0) continue;
      }
      const v = hi * TWO32 + lo;
      // Most module pointers repeat (every object's type): one seen lately is not searched or kept again.
      const k = (lo ^ (lo >>> 13)) & (RECENT - 1);
      if (recent[k] === v) continue;
      if (inRanges(moduleRanges, v)) {
        into.push(v);
        recent[k] = v;
      }
    }
    if (guessed) demangle(words, guess!, code, guessed);
  };
  const result = (ctx: CensusContext, bytes: number): LiveValues => {
    const guardList = [...guards.values()].filter((g) => g.lo !== 0 || g.hi !== 0);
    const mangled = mangledValues(ctx, guardList, code, guess, guessed);
    const anonymous = valuesFrom(foundAnonymous);
    for (const v of foundAnonymous) found.push(v);
    const all = valuesFrom(found);
    return { heapPointers: heapLog.result(), has: all.has, pointsInto: all.pointsInto, valuesIn: all.valuesIn, outsideModules: anonymous.values, mangled: [...mangled], guards: guardList.length, guardWords: guardList, bytes, fromPythonInts: ints.found };
  };
  return { visit, result };
}

/** The code addresses live data holds mangled with `guards`: those found with the guessed guards when they are the same. */
function mangledValues(ctx: CensusContext, guards: Guard[], code: CodeRanges, guess: readonly Guard[] | undefined, guessed: Set<number> | undefined): Set<number> {
  const mangled = new Set<number>();
  if (!demanglable(guards)) return mangled;
  if (guessed !== undefined && guess!.length === guards.length && guards.every((g, i) => g.lo === guess![i].lo && g.hi === guess![i].hi)) return guessed;
  forEachDataChunk(ctx, true, (words) => demangle(words, guards, code, mangled));
  return mangled;
}

/** has and pointsInto over the module pointers found. */
function valuesFrom(found: number[]): Pick<LiveValues, 'has' | 'pointsInto' | 'valuesIn'> & { values: Float64Array } {
  const sorted = Float64Array.from(found).sort();
  let n = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[n - 1]) sorted[n++] = sorted[i];
  const values = sorted.subarray(0, n);
  const firstAtLeast = (x: number) => upperBound(values.length, (k) => values[k] >= x);
  return {
    values,
    has: (v) => {
      const i = firstAtLeast(v);
      return i < values.length && values[i] === v;
    },
    pointsInto: (start, end) => {
      const i = firstAtLeast(start);
      return i < values.length && values[i] < end;
    },
    valuesIn: (start, end) => values.subarray(firstAtLeast(start), firstAtLeast(end)),
  };
}
