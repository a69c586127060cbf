// Heap tables that only module variables lead to: the words of a glibc heap chunk that no code can read, so that the
// function pointers kept there at other offsets are not roots (heldFunctionRoots, heldRoots.ts).

import * as iced from 'iced-x86';
import { CALLER_SAVED_REGISTERS, CodeBuffer, CodeDecoder, Flow, type InstructionView } from '../decoder/decoder';
import type { HeldWord } from '../space/kernelHeld';
import { type AddressSpace, type ModuleImage, type Region, dataObjectExtent, lowestReferenceReaching } from '../space/space';
import { upperBound } from '../upperBound';
import { forEachReadableChunk, type LiveValues } from './liveCensus';

/** A `[heap]` larger than this is not walked (the narrowing is not tried). */
const MAX_HEAP_BYTES = 64 * 1024 * 1024;
/** The System V red zone: the bytes below the stack pointer a leaf function may still use. */
const RED_ZONE = 128;
/** Instructions followed from one load of a module variable before its value counts as escaping. */
const MAX_STEPS = 4096;
/** Modules with more code than this are not searched for the loads of their variables (theirs count as escaping). */
const MAX_CODE_BYTES = 1024 * 1024;

const R = iced.Register;
/** Registers a callee may read: the arguments, and r10 (the static chain of GCC's nested functions). */
const ARGUMENT_REGISTERS = [R.RDI, R.RSI, R.RDX, R.RCX, R.R8, R.R9, R.R10];
const M = iced.Mnemonic;


/** The held values that only words no code can read hold (heapTables), with how many words were found unread. */
export interface HeapTables {
  unreadValues: Set<number>;
  /** Chunks found whose every pointer is a module variable's (the candidates read). */
  tables: number;
}

/**
 * A word of a heap chunk is read by nothing when every pointer into the chunk that the process holds (in live data, a
 * frozen thread's register, or the kernel) is a variable of a module, that variable's address is taken nowhere (no
 * symbol exports it, no pointer and no instruction but plain loads and stores names it), and each load of it in the
 * module's code feeds only reads at constant offsets of the pointer (a call through `[reg+8]`, a load of `[reg+16]`),
 * compares, and copies into registers that do the same: then code can read exactly those offsets of the chunk, and
 * a function pointer stored at another (a kernel put in a dispatch table and never called) is no possible target.
 * Anything else (the pointer passed to a call, stored, indexed, offset with lea, returned, or held on a live stack,
 * in another heap object, in a register of a thread) lets any code read any word of the chunk, as before.
 * Undefined when the narrowing does not apply: no `[heap]`, too many pointers into it, a thread whose registers were
 * not read, a heap whose chunks cannot be walked.
 * `elsewhere`: frozen threads' registers and the kernel's words; `stackPointers`: the frozen threads' (below one, past
 * the red zone, a stack's words are dead).
 */
export function heapTables(space: AddressSpace, census: LiveValues, elsewhere: readonly HeldWord[], stackPointers: readonly number[]): HeapTables | undefined {
  const pointers = census.heapPointers;
  if (!space.liveMemory || !pointers || pointers.values.length === 0) return undefined;
  const heap = space.regions().find((r) => r.kind === 'heap' && r.name === '[heap]');
  if (!heap || heap.end - heap.start > MAX_HEAP_BYTES) return undefined;
  const chunks = heapChunks(space, heap);
  if (!chunks) return undefined;
  // The dead part of each frozen thread's stack: below its stack pointer and the 128-byte red zone a leaf function
  // may use, where a signal frame may land at any time, so no code reads what is left there.
  const dead = stackPointers.map((sp) => ({ region: space.regionAt(sp), below: sp - RED_ZONE }));
  const live = (holder: number) => !dead.some((d) => d.region && holder >= d.region.start && holder < d.below);
  // Pointers into each chunk, by chunk.
  const byChunk = new Map<number, Array<{ holder: number; value: number }>>();
  for (let k = 0; k < pointers.values.length; k++) {
    const holder = pointers.holders[k];
    if (!live(holder)) continue;
    const c = chunkAt(chunks, pointers.values[k]);
    if (c < 0) continue;
    // The chunk's own words pointing into it (a list head pointing to itself) give no way in.
    if (holder >= chunks.starts[c] && holder < chunks.ends[c]) continue;
    let list = byChunk.get(c);
    if (!list) byChunk.set(c, (list = []));
    list.push({ holder, value: pointers.values[k] });
  }
  for (const w of elsewhere) {
    const c = chunkAt(chunks, w.value);
    if (c >= 0) byChunk.set(c, []);
  }
  const slots = new SlotReader(space, census);
  const exec = space.regions().filter((r) => r.module && r.exec);
  const codeSpan = { lo: Math.min(...exec.map((r) => r.start)), hi: Math.max(...exec.map((r) => r.end)) };
  // The chunks only module variables point to, which hold code pointers: their variables are read in one batch.
  const tablesFound: Array<{ list: Array<{ holder: number; value: number }>; held: Array<[number, number]> }> = [];
  for (const [c, list] of byChunk) {
    // Held in a register or by the kernel (an empty list), or by anything but module variables: any word.
    if (list.length === 0 || !list.every((p) => slots.isVariable(p.holder))) continue;
    const held = modulePointersIn(space, census, codeSpan, chunks, chunks.starts[c], chunks.ends[c]);
    if (held.length > 0) tablesFound.push({ list, held });
  }
  slots.prepare(tablesFound.flatMap((t) => t.list.map((p) => p.holder)));
  const candidates = new Map<number, number>(); // unread word → the module pointer it holds
  for (const { list, held } of tablesFound) {
    const reads: Array<[number, number]> = [];
    let escapes = false;
    for (const p of list) {
      const r = slots.readsThrough(p.holder);
      if (r === 'escapes') {
        escapes = true;
        break;
      }
      for (const [off, size] of r) reads.push([p.value + off, p.value + off + size]);
    }
    if (escapes) continue;
    for (const [at, v] of held) if (!reads.some(([s, e]) => s < at + 8 && e > at)) candidates.set(at, v);
  }
  const unreadValues = new Set<number>();
  const tables = tablesFound.length;
  if (candidates.size === 0) return { unreadValues, tables };
  // A value only unread words hold: no other word of the process's memory holds it.
  const values = new Set(candidates.values());
  const elsewhereHeld = new Set<number>(elsewhere.map((w) => w.value));
  for (const v of values) if (!elsewhereHeld.has(v)) unreadValues.add(v);
  forEachReadableChunk(space, (words, base) => {
    for (let i = 0; i + 1 < words.length; i += 2) {
      const v = words[i + 1] * 2 ** 32 + words[i];
      if (!unreadValues.has(v)) continue;
      const at = base + i * 4;
      if (!candidates.has(at) && live(at)) unreadValues.delete(v);
    }
  });
  return { unreadValues, tables };
}

/**
 * The code pointers into modules (that live data holds, so the census knows them) in the words of [start, end) (read
 * with the heap), as [address, value]. Pointers into data (a Python object's type, a string) are left to the held-object rule.
 */
function modulePointersIn(space: AddressSpace, census: LiveValues, code: { lo: number; hi: number }, chunks: Chunks, start: number, end: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const from = start - chunks.base;
  const view = new DataView(chunks.bytes.buffer, chunks.bytes.byteOffset + from, Math.min(end - start, chunks.bytes.length - from));
  for (let i = 0; i + 8 <= view.byteLength; i += 8) {
    const v = view.getUint32(i + 4, true) * 2 ** 32 + view.getUint32(i, true);
    if (v < code.lo || v >= code.hi) continue;
    const r = space.regionAt(v);
    if (r?.module && r.exec && census.has(v)) out.push([start + i, v]);
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
  bytes: Uint8Array;
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
  return bytes.length - at < 4096 && starts.length > 0 ? { starts, ends, base: heap.start, bytes } : undefined;
}

/** What loads of a module variable can read through the pointer it holds: [offset, size] pairs, or 'escapes'. */
type SlotReads = Array<[number, number]> | 'escapes';

/** Module variables: which is one, and which offsets of what each points to code can read (cached per variable). */
class SlotReader {
  private readonly cache = new Map<number, SlotReads>();

  constructor(
    private readonly space: AddressSpace,
    private readonly census: LiveValues,
  ) {}

  /** True when `address` is a word of a module's writable data (inside its segment, not anonymous memory after it). */
  isVariable(address: number): boolean {
    const region = this.space.regionAt(address);
    const m = region?.module;
    if (!m || !region.write || region.exec || address % 8 !== 0) return false;
    const seg = m.elf.loadContaining(address - m.bias);
    return seg !== undefined && address - m.bias + 8 <= seg.vaddr + seg.memsz;
  }

  private readonly sizes = new Map<ModuleImage, number>();
  /** Bytes of `m`'s executable mappings. */
  codeBytes(m: ModuleImage): number {
    let n = this.sizes.get(m);
    if (n === undefined) {
      n = this.space.regions().reduce((k, r) => (r.module === m && r.exec ? k + r.end - r.start : k), 0);
      this.sizes.set(m, n);
    }
    return n;
  }

  /** readsThrough for many variables at once: each module's read-only data and code are read and decoded once. */
  prepare(slots: Iterable<number>): void {
    const byModule = new Map<ModuleImage, Variable[]>();
    for (const slot of slots) {
      if (this.cache.has(slot)) continue;
      const v = this.variable(slot);
      if (v === 'escapes') this.cache.set(slot, 'escapes');
      else {
        let list = byModule.get(v.m);
        if (!list) byModule.set(v.m, (list = []));
        list.push(v);
      }
    }
    for (const [m, list] of byModule) for (const [slot, r] of moduleReads(this.space, m, list)) this.cache.set(slot, r);
  }

  readsThrough(slot: number): SlotReads {
    if (!this.cache.has(slot)) this.prepare([slot]);
    return this.cache.get(slot)!;
  }

  /** The checks that need no code: a variable, not exported, its address held by no word of live data. */
  private variable(slot: number): Variable | 'escapes' {
    const m = this.space.regionAt(slot)?.module;
    if (!m || !this.isVariable(slot) || this.codeBytes(m) > MAX_CODE_BYTES) return 'escapes';
    const link = slot - m.bias;
    // Another module (or dlsym) can name an exported variable.
    if (m.elf.dynamicSymbols().some((s) => s.defined && link >= s.value && link < s.value + Math.max(s.size, 1))) return 'escapes';
    // The variable's object, from the lowest address a reference reaching it can name (an array's start; without
    // symbol sizes, a window back): an address of it other than the variable's own word is taken as the variable's.
    const ext = dataObjectExtent(m.elf, link) ?? { start: link, end: link + 8 };
    const start = Math.min(lowestReferenceReaching(m.elf, link), ext.start, link) + m.bias;
    const end = Math.max(ext.end, link + 8) + m.bias;
    // A pointer to the variable (or into its object) anywhere in live data: code can reach it through that.
    if (this.census.pointsInto(start, end)) return 'escapes';
    return { m, slot, start, end };
  }
}

/** A module variable (`slot`, runtime) and the data object holding it, [start, end). */
interface Variable {
  m: ModuleImage;
  slot: number;
  start: number;
  end: number;
}

/**
 * What code can read through each of `vars` (variables of `m`): 'escapes' when a pointer in `m`'s read-only data
 * (relocated pointers of .data.rel.ro, absolute ones of a non-PIE executable) points into its object, or an
 * instruction of `m` uses it other than by plain loads, stores and compares (referenceTo), or a loaded value escapes
 * (followValue); else the offsets its loads' values are read at. `m`'s code is decoded once for all of them.
 */
function moduleReads(space: AddressSpace, m: ModuleImage, vars: Variable[]): Map<number, SlotReads> {
  const out = new Map<number, SlotReads>();
  const sorted = [...vars].sort((a, b) => a.start - b.start);
  const starts = sorted.map((v) => v.start);
  const maxSize = Math.max(...sorted.map((v) => v.end - v.start));
  // The variables whose object holds `address` (objects may overlap: windows of data without symbol sizes).
  const holding = (address: number): Variable[] => {
    const hits: Variable[] = [];
    for (let k = upperBound(starts.length, (j) => starts[j] > address) - 1; k >= 0 && starts[k] > address - maxSize; k--) if (address < sorted[k].end) hits.push(sorted[k]);
    return hits;
  };
  const escape = (v: Variable) => out.set(v.slot, 'escapes');
  const regions = space.regions().filter((r) => r.module === m);
  for (const r of regions) {
    if (r.exec || r.write || !r.read) continue;
    const bytes = space.readMemory(r.start, r.end - r.start);
    if (!bytes) {
      for (const v of vars) escape(v);
      return out;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let i = 0; i + 8 <= bytes.length; i += 8) {
      const lo = view.getUint32(i, true);
      const hi = view.getUint32(i + 4, true);
      if (hi === 0 && lo === 0) continue;
      for (const v of holding(hi * 2 ** 32 + lo)) escape(v);
    }
  }
  const code: Array<{ region: Region; buffer: CodeBuffer }> = [];
  const decoder = new CodeDecoder();
  try {
    for (const r of regions) {
      if (!r.exec) continue;
      const bytes = space.readMemory(r.start, r.end - r.start);
      if (!bytes) {
        for (const v of vars) escape(v);
        return out;
      }
      code.push({ region: r, buffer: new CodeBuffer(bytes, r.start) });
    }
    const loads = new Map<number, Array<{ ip: number; reg: number }>>();
    for (const { region: r, buffer } of code) {
      decoder.decodeRange(buffer, r.start, r.end, (ins) => {
        const { target, immediate } = addressesOf(ins);
        if (immediate !== undefined) for (const v of holding(immediate)) escape(v);
        if (target === undefined) return;
        for (const v of holding(target)) {
          if (out.has(v.slot)) continue;
          const verdict = referenceTo(ins, target, v.slot);
          if (verdict === 'escapes') escape(v);
          else if (verdict !== undefined) {
            let list = loads.get(v.slot);
            if (!list) loads.set(v.slot, (list = []));
            list.push({ ip: ins.nextIp, reg: verdict });
          }
        }
      });
    }
    for (const v of vars) {
      if (out.has(v.slot)) continue;
      const reads: Array<[number, number]> = [];
      let escapes = false;
      for (const load of loads.get(v.slot) ?? []) {
        const got = followValue(code, load.ip, load.reg);
        if (got === 'escapes') {
          escapes = true;
          break;
        }
        reads.push(...got);
      }
      out.set(v.slot, escapes ? 'escapes' : reads);
    }
  } finally {
    decoder.free();
    for (const c of code) c.buffer.free();
  }
  return out;
}

/** The absolute address of `v`'s memory operand (`[rip+X]`, a bare disp32) and its address-sized immediate, if any. */
function addressesOf(v: InstructionView): { target?: number; immediate?: number } {
  const s = v.simpleOperands();
  if (s) return { target: s.absolute, immediate: s.imm };
  return { target: v.absoluteMemoryAddress(), immediate: v.addressImmediate() };
}

/**
 * How instruction `v`, whose memory operand is at `target` (inside the object of the module variable `slot`), uses the
 * variable: undefined when it only stores to, compares or loads another word of the object; the register a plain
 * 64-bit load of the variable puts its value in; 'escapes' for any other use (its address taken, a partial or vector
 * load, an exchange, an address computed from it).
 */
function referenceTo(v: InstructionView, target: number, slot: number): number | 'escapes' | undefined {
  const mnemonic = v.info.mnemonic;
  const size = v.memorySize();
  const overlaps = target < slot + 8 && target + Math.max(size, 1) > slot;
  if (mnemonic === M.Lea) return 'escapes';
  if (mnemonic === M.Mov) {
    // A store (the memory operand first) writes; a load of another word of the object reads that word only.
    if (v.isMemoryOperand(0)) return undefined;
    if (!overlaps) return undefined;
    const reg = v.opFullRegister(0);
    if (target === slot && size === 8 && reg !== undefined) return reg;
    return 'escapes';
  }
  // Flags only: the value goes nowhere.
  if (mnemonic === M.Cmp || mnemonic === M.Test) return undefined;
  return overlaps ? 'escapes' : undefined;
}

/**
 * Follows the value a load put in `reg` from `ip` through the code, as a set of registers holding it: the offsets read
 * through it ([offset, size] of reads at a constant displacement from it), or 'escapes' for any other use of it
 * (passed to a call or a system call, stored, indexed, offset with lea, kept across a return or an indirect jump).
 */
function followValue(code: ReadonlyArray<{ region: Region; buffer: CodeBuffer }>, ip: number, reg: number): SlotReads {
  const reads: Array<[number, number]> = [];
  const seen = new Map<number, number>();
  const work: Array<{ ip: number; held: number }> = [{ ip, held: bit(reg) }];
  const decoder = new CodeDecoder();
  let steps = 0;
  try {
    while (work.length > 0) {
      const item = work.pop()!;
      let at = item.ip;
      let held = item.held;
      for (;;) {
        if (held === 0) break;
        const before = seen.get(at) ?? 0;
        if ((before | held) === before) break;
        seen.set(at, before | held);
        held |= before;
        if (++steps > MAX_STEPS) return 'escapes';
        const c = code.find((x) => at >= x.region.start && at < x.region.end);
        if (!c) return 'escapes';
        const result: { next: number[] | 'escapes' } = { next: 'escapes' };
        const heldNow = held;
        decoder.decodeRange(c.buffer, at, at + 1, (v) => {
          const r = step(v, heldNow, reads);
          if (r === 'escapes') return 'stop';
          held = r.held;
          result.next = r.next;
          return 'stop';
        });
        const next = result.next;
        if (next === 'escapes') return 'escapes';
        if (next.length === 0) break;
        for (const n of next.slice(1)) work.push({ ip: n, held });
        at = next[0];
      }
    }
  } finally {
    decoder.free();
  }
  return reads;
}

const bit = (reg: number): number => {
  const i = GPR_INDEX.get(reg);
  return i === undefined ? 0 : 1 << i;
};
const GPR_INDEX = new Map<number, number>([R.RAX, R.RCX, R.RDX, R.RBX, R.RSP, R.RBP, R.RSI, R.RDI, R.R8, R.R9, R.R10, R.R11, R.R12, R.R13, R.R14, R.R15].map((r, i) => [r, i]));
const ARGUMENTS = ARGUMENT_REGISTERS.reduce((m, r) => m | bit(r), 0);
const CALLER_SAVED = CALLER_SAVED_REGISTERS.reduce((m, r) => m | bit(r), 0);

/** One instruction of followValue: the registers holding the value after it and where execution goes, or 'escapes'. */
function step(v: InstructionView, held: number, reads: Array<[number, number]>): { held: number; next: number[] } | 'escapes' {
  const flow = v.info.flow;
  const mnemonic = v.info.mnemonic;
  const uses = v.uses();
  // Registers read as memory bases and indexes (counted once each use).
  let asAddress = 0;
  for (const m of uses.memory) {
    const b = m.base >= 0 ? bit(m.base) : 0;
    const x = m.index >= 0 ? bit(m.index) : 0;
    if (x & held) return 'escapes';
    if (!(b & held)) continue;
    // An index (`[rax+rcx*8]`) can reach any word; lea makes a pointer into the chunk.
    if (m.index !== -1 || m.address || m.size <= 0) return 'escapes';
    if (m.read) reads.push([m.displacement, m.size]);
    asAddress |= b;
  }
  let after = held;
  for (const r of uses.registers) {
    const b = bit(r.full);
    if (r.read && b & held && !(asAddress & b)) {
      // A copy into another register keeps following the value there; compares and tests only set flags.
      const copy = mnemonic === M.Mov && r.size === 8 && v.opCount() === 2 && v.opFullRegister(1) === r.full && v.opFullRegister(0) !== undefined && v.opRegisterSize(0) === 8;
      if (copy) after |= bit(v.opFullRegister(0)!);
      else if (mnemonic !== M.Cmp && mnemonic !== M.Test) return 'escapes';
    }
  }
  for (const r of uses.registers) {
    const b = bit(r.full);
    if (!r.write || !(b & after)) continue;
    const copied = mnemonic === M.Mov && v.opFullRegister(0) === r.full && v.opCount() === 2 && v.opFullRegister(1) !== undefined && (bit(v.opFullRegister(1)!) & held) !== 0;
    if (copied) continue;
    // A partial write leaves part of the pointer: count it as escaping rather than guess what is left.
    if (r.conditional || r.size < 4) return 'escapes';
    after &= ~b;
  }
  const nextIp = v.nextIp;
  // A system call reads its arguments from registers iced does not list.
  if ((mnemonic === M.Syscall || mnemonic === M.Sysenter || mnemonic === M.Int) && after) return 'escapes';
  switch (flow) {
    case Flow.Next:
      return { held: after, next: [nextIp] };
    case Flow.Call:
    case Flow.IndirectCall:
      if (after & ARGUMENTS) return 'escapes';
      return { held: after & ~CALLER_SAVED, next: [nextIp] };
    case Flow.ConditionalBranch: {
      const t = v.directTarget();
      return t === undefined ? 'escapes' : { held: after, next: [nextIp, t] };
    }
    case Flow.UnconditionalBranch: {
      const t = v.directTarget();
      return t === undefined ? 'escapes' : { held: after, next: [t] };
    }
    case Flow.Interrupt:
    case Flow.Exception:
      return { held: after, next: [] };
    default:
      // Return, indirect jump, transactions: the value would leave what can be followed.
      return after ? 'escapes' : { held: after, next: [] };
  }
}
