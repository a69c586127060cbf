// Heap tables that only module variables lead to: the words of a glibc heap chunk that no code can read, so that the
// function pointers kept there at other offsets are not roots (heldFunctionRoots, heldRoots.ts).

import type { HeldWord } from '../space/kernelHeld';
import type { AddressSpace, Region } from '../space/space';
import { BlockFilter } from './blockFilter';
import { mergeRanges, wordHalves } from './eptUtil';
import type { ThreadRegisters } from '../space/threadFreezer';
import { upperBound } from '../upperBound';
import { type LiveFrame, redZoneRead, slotsRead } from './deadSlots';
import type { HeapPointers } from './heapPointers';
import { forEachReadableChunk, type LiveValues } from './liveCensus';
import { type ValueHome, valueHomes } from './valueHomes';
import { FrameReader, SlotReader } from './variableReads';

/** A `[heap]` larger than this is not walked (the narrowing is not tried). */
const MAX_HEAP_BYTES = 64 * 1024 * 1024;
/** The System V red zone: the bytes below the stack pointer a leaf function may still use. */
const RED_ZONE = 128;

/** What heapTables finds: the held values that only words no code can read hold. */
export interface HeapTables {
  unreadValues: Set<number>;
}

/**
 * A word of a heap chunk is read by nothing when every pointer into the chunk that the process holds (in live data, a
 * frozen thread's register, or the kernel) is a variable of a module whose address is taken nowhere (no symbol exports
 * it, no pointer and no instruction but plain loads and stores names it), or a value a live frame keeps in a register
 * (valueHomes), or a word no code reads (a dead or stale stack slot, deadSlots.ts); and each such value, followed
 * through the code from each load of the variable or from where the frame resumes, feeds only reads at constant offsets
 * (a call through `[reg+8]`, a load of `[reg+16]`), compares, and copies into registers that do the same: then code can
 * read exactly those offsets of the chunk, and a function pointer stored at another (a kernel put in a dispatch table
 * and never called) is no possible target. Anything else (the pointer passed to a call, stored, indexed, offset with
 * lea, returned, or held on a live stack, in another heap object, by the kernel) lets any code read any word of the
 * chunk, as before. Undefined when the narrowing does not apply: no `[heap]`, too many pointers into it, a heap whose
 * chunks cannot be walked (the caller tries it only when every thread's registers were read).
 * `elsewhere`: frozen threads' registers and the kernel's words; `frozen`: the frozen threads' registers and stacks.
 */
export function heapTables(space: AddressSpace, census: LiveValues, elsewhere: readonly HeldWord[], frozen: readonly ThreadRegisters[]): HeapTables | undefined {
  const pointers = census.heapPointers;
  if (!space.liveMemory || !pointers || pointers.values.length === 0) return undefined;
  const heap = space.regions().find((r) => r.kind === 'heap' && r.name === '[heap]');
  if (!heap || heap.end - heap.start > MAX_HEAP_BYTES) return undefined;
  const chunks = heapChunks(space, heap);
  if (!chunks) return undefined;
  const places = new ThreadPlaces(space, chunks, frozen, elsewhere);
  const frames = new FrameReader(space);
  try {
    const candidates = unreadWords(space, census, chunks, holdersByChunk(pointers, chunks, places), places, frames);
    return { unreadValues: heldOnlyThere(space, candidates, elsewhere, places, frames) };
  } finally {
    frames.free();
  }
}

/**
 * Where the frozen threads keep values: their register homes (valueHomes), the dead part of their stacks (below sp
 * and the red zone, where a signal frame may land at any time, so no code reads what is left there) and, in a live
 * frame, the slots its code does not read from where it resumes (deadSlots.ts); `escaped`, the chunks a thread we
 * cannot place or the kernel holds a pointer into.
 */
class ThreadPlaces {
  readonly slotHomes = new Map<number, ValueHome>();
  readonly registerHomes: ValueHome[] = [];
  /** The register values of threads whose frames could not be placed. */
  readonly unplaced: number[] = [];
  readonly escaped = new Set<number>();
  /** Per frozen thread: its stack mapping's start, and where its dead part ends. */
  private readonly dead: Array<{ start: number; below: number }>;
  private readonly frames: LiveFrame[] = [];
  private readonly slotsOf = new Map<LiveFrame, Set<number> | undefined>();

  constructor(
    private readonly space: AddressSpace,
    chunks: Chunks,
    frozen: readonly ThreadRegisters[],
    elsewhere: readonly HeldWord[],
  ) {
    // The red zone is dead too when the innermost frame reads none of it before its next call (redZoneRead) and no
    // register points into it.
    this.dead = frozen.map((t) => {
      const into = [t.rbp, ...(t.registers ?? [])].some((v) => v !== undefined && v >= t.rsp - RED_ZONE && v < t.rsp);
      return { start: space.regionAt(t.rsp)?.start ?? t.rsp, below: into || redZoneRead(space, t.rip) ? t.rsp - RED_ZONE : t.rsp };
    });
    const escape = (value: number | undefined) => {
      const c = value === undefined ? -1 : chunkAt(chunks, value);
      if (c >= 0) this.escaped.add(c);
    };
    for (const t of frozen) {
      const placed = valueHomes(space, t);
      // A thread whose frames cannot be placed: what its registers hold may be used anyhow.
      if (!placed) {
        for (const v of [t.rbp, ...(t.registers ?? [])]) {
          escape(v);
          if (v !== undefined) this.unplaced.push(v);
        }
      }
      this.frames.push(...(placed?.frames ?? []));
      for (const h of placed?.homes ?? []) {
        if (h.slot !== undefined) this.slotHomes.set(h.slot, h);
        else this.registerHomes.push(h);
      }
    }
    // The kernel's words (epoll user data, timer values): handed back to code we cannot follow.
    for (const w of elsewhere) if (w.holder !== 'register') escape(w.value);
  }

  /** False for a word of a frozen thread's stack below its sp and red zone. */
  live(holder: number): boolean {
    for (const d of this.dead) if (holder < d.below && holder >= d.start) return false;
    return true;
  }

  /** The live frame whose area (between its stack pointer and its CFA) holds the word at `holder`. */
  frameAt(holder: number): LiveFrame | undefined {
    return this.frames.find((x) => holder >= x.sp && holder + 8 <= x.cfa);
  }

  /**
   * True for a slot of a live frame that its code does not read from where it resumes to its return. It must also be
   * that nothing points into the frame (staleSlotsUnread, and heldOnlyThere's pass over memory): through such a
   * pointer, code elsewhere (a callee given a struct on the stack) may read the slot. With `use`, the slot and its
   * frame are remembered for those checks.
   */
  staleInFrame(holder: number, use = true): boolean {
    const f = this.frameAt(holder);
    if (!f) return false;
    if (!this.slotsOf.has(f)) this.slotsOf.set(f, slotsRead(this.space, f));
    const read = this.slotsOf.get(f);
    const stale = read !== undefined && !read.has(holder);
    if (stale && use) {
      this.usedFrames.add(f);
      this.usedSlots.add(holder);
    }
    return stale;
  }

  /** The frames some slot of which was taken as stale, and those slots. */
  readonly usedFrames = new Set<LiveFrame>();
  readonly usedSlots = new Set<number>();

  /**
   * False when something may read a slot taken as stale through a pointer into its frame: a register of a thread not
   * placed points into the frame, or a frame's register value does and following it (through the returns of its
   * frame) reads such a slot or escapes. Memory words pointing into the frame are checked with the values' pass.
   */
  staleSlotsUnread(frames: FrameReader): boolean {
    if (this.usedFrames.size === 0) return true;
    if (this.unplaced.some((v) => this.intoUsedFrame(v))) return false;
    for (const h of [...this.registerHomes, ...this.slotHomes.values()]) {
      if (h.value === undefined || !this.intoUsedFrame(h.value)) continue;
      const reads = frames.readsThrough(h);
      if (reads === 'escapes') return false;
      for (const [off, size] of reads) for (const slot of this.usedSlots) if (slot < h.value + off + size && slot + 8 > h.value + off) return false;
    }
    return true;
  }

  /** True when `value` points into a frame some slot of which was taken as stale. */
  intoUsedFrame(value: number): boolean {
    for (const f of this.usedFrames) if (value >= f.sp && value < f.cfa) return true;
    return false;
  }
}

/** The pointers into each chunk, by chunk: a module variable or another word, or a frame's register value (home). */
function holdersByChunk(pointers: HeapPointers, chunks: Chunks, places: ThreadPlaces): Map<number, Holder[]> {
  const byChunk = new Map<number, Holder[]>();
  const add = (c: number, h: Holder) => {
    let list = byChunk.get(c);
    if (!list) byChunk.set(c, (list = []));
    list.push(h);
  };
  for (let k = 0; k < pointers.values.length; k++) {
    const holder = pointers.holders[k];
    if (!places.live(holder)) continue;
    const c = chunkAt(chunks, pointers.values[k]);
    if (c < 0) continue;
    // The chunk's own words pointing into it (a list head pointing to itself) give no way in.
    if (holder >= chunks.starts[c] && holder < chunks.ends[c]) continue;
    add(c, { holder, value: pointers.values[k], home: places.slotHomes.get(holder) });
  }
  for (const h of places.registerHomes) {
    const c = h.value === undefined ? -1 : chunkAt(chunks, h.value);
    if (c >= 0) add(c, { value: h.value!, home: h });
  }
  return byChunk;
}

/**
 * The words of chunks only module variables and frames' registers point to that no code reads, each with the code
 * pointer it holds.
 */
function unreadWords(space: AddressSpace, census: LiveValues, chunks: Chunks, byChunk: Map<number, Holder[]>, places: ThreadPlaces, frames: FrameReader): Map<number, number> {
  const slots = new SlotReader(space, census);
  const code = new BlockFilter(mergeRanges(space.regions().filter((r) => r.module && r.exec)));
  // The chunks only module variables and frames point to, which hold code pointers: their variables in one batch.
  const found: Array<{ list: Holder[]; held: Array<[number, number]> }> = [];
  // Module data (where variables are): most holders, heap and other anonymous words, are dropped by a block filter.
  const data = new BlockFilter(mergeRanges(space.regions().filter((r) => r.module && r.write && !r.exec)));
  const variable = (h: number) => data.maybe(h % 2 ** 32, Math.floor(h / 2 ** 32)) && slots.isVariable(h);
  const other = (p: Holder) => p.home === undefined && p.holder !== undefined && !variable(p.holder);
  for (const [c, all] of byChunk) {
    // Held by anything but module variables and frames' registers (and stale slots no frame reads): any word.
    if (places.escaped.has(c) || all.some((p) => other(p) && !places.frameAt(p.holder!))) continue;
    const held = modulePointersIn(space, census, code, chunks, chunks.starts[c], chunks.ends[c]);
    if (held.length === 0) continue;
    const list = all.filter((p) => !other(p) || !places.staleInFrame(p.holder!));
    if (!list.some(other)) found.push({ list, held });
  }
  slots.prepare(found.flatMap((t) => t.list.flatMap((p) => (p.home === undefined && p.holder !== undefined ? [p.holder] : []))));
  const candidates = new Map<number, number>();
  for (const { list, held } of found) {
    const reads: Array<[number, number]> = [];
    let escapes = false;
    for (const p of list) {
      const r = p.home ? frames.readsThrough(p.home) : slots.readsThrough(p.holder!);
      if (r === 'escapes') {
        escapes = true;
        break;
      }
      for (const [off, size] of r) reads.push([p.value + off, p.value + off + size]);
    }
    if (!escapes) for (const [at, v] of held) if (!reads.some(([s, e]) => s < at + 8 && e > at)) candidates.set(at, v);
  }
  return candidates;
}

/**
 * The values of `candidates` (unread word → value) that no other word of the process's memory holds; none when code
 * may read a slot taken as stale through a pointer into its frame (staleSlotsUnread, and live words pointing there).
 */
function heldOnlyThere(space: AddressSpace, candidates: Map<number, number>, elsewhere: readonly HeldWord[], places: ThreadPlaces, frames: FrameReader): Set<number> {
  const unread = new Set<number>();
  if (candidates.size === 0 || !places.staleSlotsUnread(frames)) return unread;
  const intoFrames = places.usedFrames.size > 0;
  const elsewhereHeld = new Set<number>(elsewhere.map((w) => w.value));
  for (const v of candidates.values()) if (!elsewhereHeld.has(v)) unread.add(v);
  let pointedInto = false;
  forEachReadableChunk(space, (words, base) => {
    for (let i = 0; i + 1 < words.length; i += 2) {
      const v = words[i + 1] * 2 ** 32 + words[i];
      const into = intoFrames && places.intoUsedFrame(v);
      if (!into && !unread.has(v)) continue;
      const at = base + i * 4;
      if (!places.live(at) || candidates.has(at)) continue;
      // A stale slot's stack address is garbage no code reads either; a frame's saved register was followed above.
      if (into) pointedInto ||= !places.slotHomes.has(at) && !places.staleInFrame(at, false);
      else unread.delete(v);
    }
  });
  return pointedInto ? new Set() : unread;
}

/**
 * The code pointers into modules (that live data holds, so the census knows them) in the words of [start, end) (read
 * with the heap), as [address, value]. Pointers into data (a Python object's type, a string) are left to the held-object rule.
 */
function modulePointersIn(space: AddressSpace, census: LiveValues, code: BlockFilter, chunks: Chunks, start: number, end: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const words = chunks.words;
  const last = Math.min(end, chunks.base + words.length * 4) - 8;
  for (let a = start; a <= last; a += 8) {
    const i = (a - chunks.base) >>> 2;
    const lo = words[i];
    const hi = words[i + 1];
    // Most words (counts, heap pointers) lie in no 64 KiB block of module code: dropped before any lookup.
    if (!code.maybe(lo, hi)) continue;
    const v = hi * 2 ** 32 + lo;
    const r = space.regionAt(v);
    if (r?.module && r.exec && census.has(v)) out.push([a, v]);
  }
  return out;
}

/** The chunk holding `address` (its index), or -1. */
function chunkAt(chunks: Chunks, address: number): number {
  const c = upperBound(chunks.starts.length, (k) => chunks.starts[k] > address) - 1;
  return c >= 0 && address < chunks.ends[c] ? c : -1;
}

/** The chunks of glibc's main arena in `[heap]`: each chunk's address and the end of its user data, and the heap as read. */
interface Chunks {
  starts: number[];
  ends: number[];
  base: number;
  /** The heap's words as 32-bit halves, from `base`. */
  words: Uint32Array;
}

/**
 * Walks the main arena's chunks from the start of `[heap]` (glibc's sbrk base: page-aligned, so the first chunk is
 * there) by their size fields to the top chunk. Undefined when a size is not a plausible chunk size or the walk does
 * not end in the mapping's last page (not glibc's malloc, or a heap changing under the read).
 */
function heapChunks(space: AddressSpace, heap: Region): Chunks | undefined {
  const bytes = space.readMemory(heap.start, heap.end - heap.start);
  if (!bytes || bytes.length !== heap.end - heap.start) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const starts: number[] = [];
  const ends: number[] = [];
  let at = 0;
  while (at + 16 <= bytes.length) {
    const size = Number(view.getBigUint64(at + 8, true) & ~7n);
    if (size < 32 || size % 16 !== 0 || at + size > bytes.length) return undefined;
    starts.push(heap.start + at);
    // A chunk's user data runs over the next chunk's prev_size field (in use, the next chunk's first word is ours).
    ends.push(heap.start + Math.min(at + size + 8, bytes.length));
    at += size;
  }
  if (bytes.length - at >= 4096 || starts.length === 0) return undefined;
  const words = wordHalves(bytes);
  return { starts, ends, base: heap.start, words };
}

/** A word pointing into a chunk: a module variable (`holder`), or a value a frame keeps in a register (`home`). */
interface Holder {
  holder?: number;
  value: number;
  home?: ValueHome;
}

