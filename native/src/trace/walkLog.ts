// The log a kept walk keeps of what live memory answered it (trace/stopWalk.ts), the space that records it, and its
// check at a later stop: whether every answer means the same to the walk now, read again in large reads where it can be.

import type { AddressSpace, ModuleImage, Region } from '../space/space';
import { BulkBytes, BulkWords } from './bulkWords';
import { WalkBase } from './walkBase';

/** One answer of live memory to the first phase: a pointer, a raw read, or a read through the walk's region cache. */
export type ReadRecord =
  | { kind: 'ptr'; address: number; value: number | undefined }
  | { kind: 'mem' | 'live'; address: number; length: number; bytes: Uint8Array | undefined; codeOnly?: boolean }
  | { kind: 'chain'; address: number; derefs: number[]; value: number | undefined };

/** Where a pointer chain from `base` ends as WalkEdges.chainEdge follows it: a code address, or undefined. */
export function chainEnd(space: Pick<AddressSpace, 'readPointer' | 'regionAt'>, base: number, derefs: readonly number[], reads?: Map<number, number | undefined>): number | undefined {
  let v: number | undefined = base;
  for (const d of derefs) {
    const at: number = v + d;
    v = space.readPointer(at);
    reads?.set(at, v);
    if (v === undefined || v === 0) break;
  }
  return v && space.regionAt(v)?.exec ? v : undefined;
}

/** chainEnd of every chain, the reads of each level of all chains done together in large reads (BulkWords). */
function chainEnds(space: AddressSpace, chains: ReadonlyArray<{ address: number; derefs: readonly number[] }>): Array<number | undefined> {
  const v: Array<number | undefined> = chains.map((c) => c.address);
  for (let level = 0; ; level++) {
    const pending = chains.flatMap((c, i) => (level < c.derefs.length && (level === 0 || (v[i] !== undefined && v[i] !== 0)) ? [i] : []));
    if (!pending.length) break;
    const bulk = new BulkWords(space, pending.map((i) => v[i]! + chains[i].derefs[level]));
    for (const i of pending) v[i] = bulk.readPointer(v[i]! + chains[i].derefs[level]);
  }
  return v.map((x) => (x && space.regionAt(x)?.exec ? x : undefined));
}

/** WalkBase's cached live read over `space` (the same bytes a walk's liveBytes gives). */
export function liveReader(space: AddressSpace): (address: number, length: number) => Uint8Array | undefined {
  const self = { space, regionCache: new Map<number, Uint8Array | undefined>() };
  const read = (WalkBase.prototype as unknown as { liveBytes(a: number, n: number): Uint8Array | undefined }).liveBytes;
  return (a, n) => read.call(self, a, n);
}

/**
 * Whether a read of data (not code) means the same to the walk now as it did: every 8-byte word of it (counted from
 * its start, as the walk reads them) either holds the same value, or held and holds nothing the walk can use. A word
 * of a data object (scanDataObject) or one a MOV loads (referenceWord) is used only when it points into code
 * (`codeOnly`); other single words (unchosenTables, an 8-byte object that may be a GOT slot) also when they point
 * into a module. A count, a heap pointer or a float is of no use to it. Other reads (code, a pthread_once control,
 * lengths that are not whole words) must be the same bytes.
 */
function sameMeaning(space: AddressSpace, address: number, was: Uint8Array | undefined, now: Uint8Array | undefined, codeOnly: boolean): boolean {
  if (was === undefined || now === undefined || was.length !== now.length) return was === now || sameBytes(was, now);
  if (was.length % 8 !== 0 || space.regionAt(address)?.exec) return sameBytes(was, now);
  if (sameBytes(was, now)) return true;
  const a = new DataView(was.buffer, was.byteOffset, was.byteLength);
  const b = new DataView(now.buffer, now.byteOffset, now.byteLength);
  for (let off = 0; off < was.length; off += 8) {
    if (a.getUint32(off, true) === b.getUint32(off, true) && a.getUint32(off + 4, true) === b.getUint32(off + 4, true)) continue;
    if (usable(space, a.getUint32(off + 4, true) * 2 ** 32 + a.getUint32(off, true), codeOnly) || usable(space, b.getUint32(off + 4, true) * 2 ** 32 + b.getUint32(off, true), codeOnly)) return false;
  }
  return true;
}

/** A word value the walk can make something of: an address inside executable memory, or (unless `codeOnly`) a module's mapping. */
function usable(space: AddressSpace, value: number, codeOnly: boolean): boolean {
  if (value < 0x10000) return false;
  const r = space.regionAt(value);
  return r !== undefined && (r.exec || (!codeOnly && r.module !== undefined));
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  if (a.length <= 32) {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Why a walk's log of live memory's answers no longer holds in `space` (the first that changed), or undefined when it holds. */
export function logChange(space: AddressSpace, log: readonly ReadRecord[]): string | undefined {
  // Every read is done again in large reads of the spans it sits in (a system call each, not one per record, nor a
  // whole region for a word of it), the chains a level at a time. The spans are laid out once per log: a kept walk's
  // log is checked at every stop, against views of the process whose regions are the same (the walk's key).
  let p = prepared.get(log);
  if (p && p.length === log.length) {
    p.bulk.rebind(space);
    p.bytes.rebind(space);
  } else {
    p = {
      length: log.length,
      bulk: new BulkWords(space, log.flatMap((r) => (r.kind === 'ptr' ? [r.address] : []))),
      bytes: new BulkBytes(space, log.flatMap((r) => (r.kind === 'mem' || r.kind === 'live' ? [{ start: r.address, end: r.address + r.length }] : []))),
      chains: log.filter((r): r is ChainRecord => r.kind === 'chain'),
    };
    prepared.set(log, p);
  }
  const { bulk, bytes, chains } = p;
  const ends = chainEnds(space, chains);
  const moved = chains.find((r, i) => ends[i] !== r.value);
  if (moved) return `live memory at 0x${moved.address.toString(16)} changed (chain)`;
  for (const r of log) {
    const same =
      r.kind === 'ptr' ? bulk.readPointer(r.address) === r.value : r.kind === 'chain' || sameMeaning(space, r.address, r.bytes, bytes.read(r.address, r.length), r.codeOnly === true);
    if (!same) return `live memory at 0x${r.address.toString(16)} changed (${r.kind})`;
  }
  return undefined;
}

type ChainRecord = Extract<ReadRecord, { kind: 'chain' }>;

/** A log's reads laid out in spans (logChange), kept while the log lives and has the same length. */
const prepared = new WeakMap<readonly ReadRecord[], { length: number; bulk: BulkWords; bytes: BulkBytes; chains: ChainRecord[] }>();

/** An address space that logs what its live memory answers (unless paused: the census, validated on its own). */
export class RecordingSpace implements AddressSpace {
  readonly log: ReadRecord[] = [];
  paused = 0;
  /** Pointers just read for the log (a chain's), answered again without reading. */
  replay: Map<number, number | undefined> | undefined;
  readonly residentRanges?: AddressSpace['residentRanges'];
  readonly ifuncChoice?: AddressSpace['ifuncChoice'];

  constructor(readonly inner: AddressSpace) {
    if (inner.residentRanges) this.residentRanges = (s, e) => inner.residentRanges!(s, e);
    if (inner.ifuncChoice) this.ifuncChoice = (m, r) => inner.ifuncChoice!(m, r);
  }
  get description(): string {
    return this.inner.description;
  }
  get liveMemory(): boolean {
    return this.inner.liveMemory;
  }
  regions(): readonly Region[] {
    return this.inner.regions();
  }
  regionAt(address: number): Region | undefined {
    return this.inner.regionAt(address);
  }
  modules(): readonly ModuleImage[] {
    return this.inner.modules();
  }
  mainModule(): ModuleImage | undefined {
    return this.inner.mainModule();
  }
  readPointer(address: number): number | undefined {
    if (this.replay?.has(address)) return this.replay.get(address);
    const value = this.inner.readPointer(address);
    if (!this.paused) this.log.push({ kind: 'ptr', address, value });
    return value;
  }
  readMemory(address: number, length: number): Uint8Array | undefined {
    const bytes = this.inner.readMemory(address, length);
    if (!this.paused) this.log.push({ kind: 'mem', address, length, bytes: bytes && Uint8Array.from(bytes) });
    return bytes;
  }
}
