// Roots that only memory outside the modules shows: function entries the heap, a stack or an anonymous mapping holds,
// the code pointers of module data objects the heap points into, and entries into code generated at run time.

import { NativeError } from '../errors';
import type { HeldWord } from '../space/kernelHeld';
import type { ThreadRegisters } from '../space/threadFreezer';
import { type AddressSpace, type ModuleImage, dataObjectExtent } from '../space/space';
import { BlockFilter } from './blockFilter';
import { BulkBytes } from './bulkWords';
import type { Root } from './eptTypes';
import { mergeRanges, runsOnlyAtLoad, wordHalves } from './eptUtil';
import { upperBound } from '../upperBound';
import { isGeneratedCode, liveValuesOf, withoutUnread } from './liveCensus';
import { heapTables } from './heapTables';

/** At most this many bytes of one data object the heap points into are read for code pointers. */
const MAX_HELD_OBJECT = 64 * 1024;

const HEAP_REASON = 'a function whose address memory outside the modules holds (the heap, a stack: dlsym or code that ran stored it)';
const INT_REASON = 'a function whose address a Python int holds (PyLong_FromVoidPtr, ctypes\' .value: an address handed to Python as a number)';
const JIT_REASON = 'code generated at run time (a JIT) whose address memory outside the modules holds';

/** What heldFunctionRoots may narrow with, and what it reports. */
export interface HeldOptions {
  /** True when every thread's registers were read (all frozen): no register holds a pointer the census cannot see. */
  registersKnown?: boolean;
  /** The frozen threads' registers (with registersKnown): where their frames keep values, and their dead stack. */
  frozen?: readonly ThreadRegisters[];
  /** Filled in: held words left out because only heap-table words no code can read hold them (heapTables). */
  stats?: { unread: number };
  /**
   * Words of Python method tables whose entries the precise root policy left out (PythonEntryRoots.gatedWords): the
   * heap points into those tables (every function object and method descriptor does), but only Python calls through
   * them, so the gate decides, not this rule (nor the address-taken set's data objects).
   */
  gatedWords?: ReadonlySet<number>;
}

/** A data object of a module that a held word points into: its runtime range (at most MAX_HELD_OBJECT read). */
interface HeldObject {
  m: ModuleImage;
  /** Its symbol's name, when it has one. */
  symbol?: string;
  /** Where it starts (its extent's start at run time: the key it is read once by). */
  key: number;
  start: number;
  end: number;
}

/**
 * Functions whose entry a word of memory outside every module holds (the heap, thread stacks, anonymous mappings):
 * a pointer dlsym returned (a plugin's entry, a function ctypes or cffi fetched), or one that code which already ran
 * stored there (an initialiser's choice of kernel). Only the heap holds them, so neither the walk's edges nor the
 * modules' data show them, and an indirect call may reach them. Only function entries count (and words into code no
 * known function covers, such as a PLT stub): a return address left on a stack points into the middle of its function.
 * `except`: addresses held that cannot be called again (main's, which the C runtime keeps on the stack it called it from).
 * `elsewhere`: words the kernel holds for the process (space/kernelHeld.ts: epoll user data, timer values) and frozen threads'
 * registers (threadRoots), taken the same way after memory's: a callback epoll_wait hands back, or one a callee-saved
 * register keeps across a blocking call, may be held nowhere else.
 * The data objects held words point into are read in a few large reads (BulkBytes), in the order the words come.
 */
export function heldFunctionRoots(space: AddressSpace, except: ReadonlySet<number> = new Set(), elsewhere: readonly HeldWord[] = [], options: HeldOptions = {}): Root[] {
  if (!space.liveMemory) return [];
  const out: Root[] = [];
  const seen = new Set<number>(except);
  // What each held word is: a root of its own (an entry into code), or the data object it points into (read below).
  const held: Array<{ address: number; m: ModuleImage; reason: string } | HeldObject> = [];
  const objects = new Set<number>();
  let census = liveValuesOf(space);
  // Words of heap tables that no code can read (heapTables): what only they hold is stored nowhere, for the roots
  // here and for every later question to the census (the products of code that ran).
  const tables = options.registersKnown ? heapTables(space, census, elsewhere, options.frozen ?? []) : undefined;
  if (tables) {
    census = withoutUnread(space, tables.unreadValues);
    if (options.stats) options.stats.unread = tables.unreadValues.size;
  }
  const words = [...Array.from(census.outsideModules, (address) => ({ address, holder: undefined })), ...elsewhere.map((w) => ({ address: w.value, holder: w.holder === 'register' ? `a frozen thread's register holds (${w.what})` : `the kernel holds for the process (${w.what})` }))];
  for (const { address, holder } of words) {
    const r = space.regionAt(address);
    if (r && isGeneratedCode(r)) {
      if (!seen.has(address)) out.push({ address, reason: holder ? `code generated at run time (a JIT) whose address ${holder}` : JIT_REASON });
      seen.add(address);
      continue;
    }
    if (!r?.module) continue;
    if (r.exec) {
      held.push({ address, m: r.module, reason: holder ? `a function whose address ${holder}` : census.fromPythonInts?.has(address) ? INT_REASON : HEAP_REASON });
      continue;
    }
    try {
      const o = heldObjectAt(r.module, address);
      if (o && !objects.has(o.key)) {
        objects.add(o.key);
        held.push(o);
      }
    } catch (e) {
      // A module whose symbols or sections cannot be read: its held words are left out here (the walk notes what it
      // cannot read of it).
      if (!(e instanceof NativeError)) throw e;
    }
  }
  const bulk = new BulkBytes(space, held.filter((h): h is HeldObject => 'end' in h));
  const code = new BlockFilter(mergeRanges(space.regions().filter((r) => r.module && r.exec)));
  const scanned = new Covered();
  for (const h of held) {
    try {
      if ('end' in h) objectEntries(space, { bulk, code, scanned, gated: options.gatedWords }, h, seen, out);
      else heldEntry(h.m, h.address, h.reason, seen, out);
    } catch (e) {
      // A module whose symbols or call-frame information cannot be read: as above.
      if (!(e instanceof NativeError)) throw e;
    }
  }
  return out;
}

/** The data object of `m` that `address` points into (an object with its ops table or C++ vtable), or undefined. */
function heldObjectAt(m: ModuleImage, address: number): HeldObject | undefined {
  const ext = dataObjectExtent(m.elf, address - m.bias);
  if (!ext) return undefined;
  const start = ext.start - (ext.start % 8);
  return { m, symbol: ext.name, key: ext.start + m.bias, start: start + m.bias, end: start + m.bias + Math.min(ext.end - start, MAX_HELD_OBJECT) };
}

/**
 * Roots `address` (code of `m`) when it is a function's entry or lies in no known function: a word inside a known
 * function that does not start it is a return address (a stale one, below a stack pointer), not a callable pointer.
 * Never a Python module's initialisers or an IFUNC resolver: they ran, and only a new import or load runs them.
 */
function heldEntry(m: ModuleImage, address: number, reason: string, seen: Set<number>, out: Root[]): void {
  if (seen.has(address)) return;
  seen.add(address);
  const link = address - m.bias;
  if (runsOnlyAtLoad(m, link)) return;
  const f = m.elf.functionAt(link);
  if (!f || f.start === link) out.push({ address, reason });
}

/**
 * The code pointers of a data object the heap points into (an ops table or vtable of a live object, set up by code
 * that ran and will not run again, called through the heap later): read live, each a root as a held entry is. One
 * level, as a referenced object's are (rule 2 of the address-taken set).
 */
function objectEntries(space: AddressSpace, ctx: { bulk: BulkBytes; code: BlockFilter; scanned: Covered; gated?: ReadonlySet<number> }, o: HeldObject, seen: Set<number>, out: Root[]): void {
  const end = o.start + Math.floor((o.end - o.start) / 8) * 8;
  const bytes = ctx.bulk.read(o.start, end - o.start);
  if (!bytes) return;
  const words = wordHalves(bytes);
  const { code } = ctx;
  let reason: string | undefined;
  // The words an object read before covered (objects overlap: a pointer into data no symbol sizes reaches to the next
  // object) gave their roots then, with that object's reason: only the rest are read again.
  for (const [from, to] of ctx.scanned.take(o.start, end)) {
    for (let i = (from - o.start) >>> 2; i < (to - o.start) >>> 2; i += 2) {
      // Most words (counts, flags, data pointers) lie in no 64 KiB block of module code: dropped before any lookup.
      if (!code.maybe(words[i], words[i + 1])) continue;
      if (ctx.gated?.has(o.start + i * 4)) continue;
      const v = words[i + 1] * 2 ** 32 + words[i];
      const r = space.regionAt(v);
      if (!r?.module || !r.exec) continue;
      reason ??= `a function a data object the heap points into holds (${o.symbol ?? `${o.m.path.split('/').pop()}+0x${(o.start - o.m.bias).toString(16)}`}: an ops table or vtable of a live object)`;
      heldEntry(r.module, v, reason, seen, out);
    }
  }
}

/** A union of address ranges, grown range by range. */
class Covered {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  /** The parts of [start, end) not covered yet, in order; [start, end) is covered after. */
  take(start: number, end: number): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    const first = upperBound(this.ends.length, (k) => this.ends[k] > start);
    let at = start;
    let j = first;
    for (; j < this.starts.length && this.starts[j] < end; j++) {
      if (this.starts[j] > at) out.push([at, this.starts[j]]);
      at = Math.max(at, this.ends[j]);
    }
    if (at < end) out.push([at, end]);
    const lo = j > first ? Math.min(start, this.starts[first]) : start;
    const hi = j > first ? Math.max(end, this.ends[j - 1]) : end;
    this.starts.splice(first, j - first, lo);
    this.ends.splice(first, j - first, hi);
    return out;
  }
}
