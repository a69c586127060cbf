// The str keys of a CPython 3.8–3.13 dict read from a live process's memory (sys.modules, for frames.ts): the
// entries of its PyDictKeysObject, in insertion order, skipping deleted ones.

import type { FrameLayout, FrameOffsets } from './frameLayouts';

/** The memory primitives of the frame reader: each throws when the memory cannot be read. */
export interface DictMemory {
  ptr(addr: number, what: string): number;
  bytesAt(addr: number, length: number): Uint8Array;
  /** A str object's text, or undefined when the object is not a str (3.8–3.10's dummy key of a deleted entry). */
  strOrUndefined(addr: number): string | undefined;
}

/** Entries read at most: sys.modules of the largest programs holds a few thousand. */
const MAX_ENTRIES = 1 << 20;

/** The str keys of the dict at `dict`; throws (through `mem`) when its tables cannot be read. */
export function dictStrKeys(dict: number, layout: FrameLayout, o: FrameOffsets, mem: DictMemory): string[] {
  const keys = mem.ptr(dict + o.dict.ma_keys, 'PyDictObject.ma_keys');
  let entries: number;
  let count: number;
  let entrySize: number;
  let keyAt: number;
  if (o.dictkeys) {
    const k = o.dictkeys;
    const head = mem.bytesAt(keys, k.dk_indices);
    const log2IndexBytes = head[k.dk_log2_index_bytes];
    if (log2IndexBytes > 40) throw new RangeError('dk_log2_index_bytes');
    count = mem.ptr(keys + k.dk_nentries, 'dk_nentries');
    entries = keys + k.dk_indices + 2 ** log2IndexBytes;
    const unicode = head[k.dk_kind] !== 0;
    entrySize = unicode ? k.unicode_entry_size : k.entry_size;
    keyAt = unicode ? 0 : k.entry_key;
  } else {
    const k = layout.legacyDictKeys!;
    const size = mem.ptr(keys + k.dk_size, 'dk_size');
    if (size <= 0 || size > 2 ** 40) throw new RangeError('dk_size');
    const width = size <= 0xff ? 1 : size <= 0xffff ? 2 : size <= 0xffffffff ? 4 : 8;
    count = mem.ptr(keys + k.dk_nentries, 'dk_nentries');
    entries = keys + k.dk_indices + size * width;
    entrySize = k.entry_size;
    keyAt = k.entry_key;
  }
  if (count > MAX_ENTRIES) throw new RangeError('dk_nentries');
  const block = count > 0 ? mem.bytesAt(entries, count * entrySize) : new Uint8Array(0);
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const key = Number(view.getBigUint64(i * entrySize + keyAt, true));
    if (key === 0) continue;
    const s = mem.strOrUndefined(key);
    if (s !== undefined) out.push(s);
  }
  return out;
}
