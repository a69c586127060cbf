// Roots that only memory outside the modules shows: function entries the heap, a stack or an anonymous mapping holds,
// the code pointers of module data objects the heap points into, and entries into code generated at run time.

import { NativeError } from '../errors';
import { type AddressSpace, type ModuleImage, dataObjectExtent, u64 } from '../space/space';
import { BulkBytes } from './bulkWords';
import type { Root } from './eptTypes';
import { runsOnlyAtLoad } from './eptUtil';
import { isGeneratedCode, liveValuesOf } from './liveCensus';

/** At most this many bytes of one data object the heap points into are read for code pointers. */
const MAX_HELD_OBJECT = 64 * 1024;

const HEAP_REASON = 'a function whose address memory outside the modules holds (the heap, a stack: dlsym or code that ran stored it)';
const JIT_REASON = 'code generated at run time (a JIT) whose address memory outside the modules holds';

/** A data object of a module that a held word points into: its runtime range (at most MAX_HELD_OBJECT read) and name. */
interface HeldObject {
  key: string;
  start: number;
  end: number;
  name: string;
}

/**
 * Functions whose entry a word of memory outside every module holds (the heap, thread stacks, anonymous mappings):
 * a pointer dlsym returned (a plugin's entry, a function ctypes or cffi fetched), or one that code which already ran
 * stored there (an initialiser's choice of kernel). Only the heap holds them, so neither the walk's edges nor the
 * modules' data show them, and an indirect call may reach them. Only function entries count (and words into code no
 * known function covers, such as a PLT stub): a return address left on a stack points into the middle of its function.
 * `except`: addresses held that cannot be called again (main's, which the C runtime keeps on the stack it called it from).
 * The data objects held words point into are read in a few large reads (BulkBytes), in the order the words come.
 */
export function heldFunctionRoots(space: AddressSpace, except: ReadonlySet<number> = new Set()): Root[] {
  if (!space.liveMemory) return [];
  const out: Root[] = [];
  const seen = new Set<number>(except);
  // What each held word is: a root of its own (an entry into code), or the data object it points into (read below).
  const held: Array<{ address: number; m: ModuleImage } | HeldObject> = [];
  const objects = new Set<string>();
  for (const address of liveValuesOf(space).outsideModules) {
    const r = space.regionAt(address);
    if (r && isGeneratedCode(r)) {
      if (!seen.has(address)) out.push({ address, reason: JIT_REASON });
      seen.add(address);
      continue;
    }
    if (!r?.module) continue;
    if (r.exec) {
      held.push({ address, m: r.module });
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
  const bulk = new BulkBytes(space, held.filter((h): h is HeldObject => 'key' in h));
  for (const h of held) {
    try {
      if ('key' in h) objectEntries(space, bulk, h, seen, out);
      else heldEntry(h.m, h.address, HEAP_REASON, seen, out);
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
  const name = ext.name ?? `${m.path.split('/').pop()}+0x${start.toString(16)}`;
  return { key: `${m.index}:${ext.start}`, start: start + m.bias, end: start + m.bias + Math.min(ext.end - start, MAX_HELD_OBJECT), name };
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
function objectEntries(space: AddressSpace, bulk: BulkBytes, o: HeldObject, seen: Set<number>, out: Root[]): void {
  const bytes = bulk.read(o.start, o.end - o.start);
  if (!bytes) return;
  const reason = `a function a data object the heap points into holds (${o.name}: an ops table or vtable of a live object)`;
  for (let i = 0; i + 8 <= bytes.length; i += 8) {
    const v = u64(bytes, i);
    const r = v ? space.regionAt(v) : undefined;
    if (r?.module && r.exec) heldEntry(r.module, v, reason, seen, out);
  }
}
