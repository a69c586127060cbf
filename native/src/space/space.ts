// The address space the analyses walk: mapped regions (code and data) at runtime addresses, the ELF
// module behind each file-backed region with its load bias, and live pointer reads. Implemented over a
// live process (processSpace.ts) and over files on disk (staticSpace.ts); the analyses see only this.

import type { ElfFile, ElfSymbol, SectionHeader } from '../elf/elfFile';
import * as C from '../elf/elfConstants';
import { upperBound } from '../upperBound';

export type RegionKind = 'file' | 'anon' | 'heap' | 'stack' | 'vdso' | 'vvar' | 'vsyscall' | 'other';

export interface Region {
  start: number;
  end: number;
  read: boolean;
  write: boolean;
  exec: boolean;
  kind: RegionKind;
  /** The path of the mapped file, or the pseudo-name ([heap], [vdso]) for others. */
  name: string;
  /** The ELF module mapped here, when the region belongs to one that could be opened. */
  module?: ModuleImage;
}

/** One loaded ELF object: its file, parsed lazily, and where it sits in memory. */
export interface ModuleImage {
  /** Index in load order (0 = the main executable). */
  index: number;
  path: string;
  /** Runtime address = link-time address + bias (0 for non-PIE executables). */
  bias: number;
  elf: ElfFile;
  /** A key that changes when the file changes (device, inode, size, mtime): summaries are cached by it. */
  identity: string;
  /** True for the process's main executable. */
  isMain: boolean;
}

export interface AddressSpace {
  /** Human-readable description: `pid 1234 (python3.11)` or `static: /path`. */
  readonly description: string;
  /** True when live pointer reads are possible (a live process whose memory we may read). */
  readonly liveMemory: boolean;
  regions(): readonly Region[];
  regionAt(address: number): Region | undefined;
  /** Loaded modules in load order (main executable first). */
  modules(): readonly ModuleImage[];
  mainModule(): ModuleImage | undefined;
  /**
   * Reads the live 8-byte pointer at `address`; undefined when it cannot be read. A live space may answer from the
   * page it read for an earlier pointer (one snapshot per analysis); forgetReads() makes it read again.
   */
  readPointer(address: number): number | undefined;
  /** Drops the pages readPointer kept, for a reader that reads again what changed while it read (a running interpreter). */
  forgetReads?(): void;
  /**
   * Reads live memory; undefined when unreadable. `into`: a buffer of at least `length` bytes the answer may be read
   * into (a view of it, good until the next read into it), sparing a large read its allocation; a space may ignore it.
   */
  readMemory(address: number, length: number, into?: Uint8Array): Uint8Array | undefined;
  /**
   * The parts of [start, end) (inside one region) that may hold data other than zeros, in address order: live
   * spaces leave out the never-written pages of private anonymous memory. Undefined: all of it.
   */
  residentRanges?(start: number, end: number): Array<{ start: number; end: number }> | undefined;
  /**
   * Without live memory: the variant this host's dynamic linker picks for the IFUNC whose resolver is at
   * link-time `resolver` in `m` (link-time address), when known. Undefined: count every variant.
   */
  ifuncChoice?(m: ModuleImage, resolver: number): number | undefined;
}

/**
 * The cache identity of a file: device, inode, size and modification time, the same whether the file is
 * reached through a live process's maps or opened at rest, so analyses of both share their caches.
 */
export function fileIdentityOf(st: { dev: number; ino: number; size: number; mtimeMs: number }): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
}

interface ObjectExtent {
  start: number;
  end: number;
  name: string;
}

interface ModuleFacts {
  /** Data objects (STT_OBJECT/TLS excluded) with a size, sorted by start, link-time. */
  objects: ObjectExtent[];
  /** Allocated, non-executable sections sorted by address (link-time). */
  dataSections: SectionHeader[];
  /** The .got and .got.plt ranges (link-time). */
  gotRanges: Array<{ start: number; end: number }>;
  /** PLT sections ranges (link-time). */
  pltRanges: Array<{ start: number; end: number; name: string }>;
  /** Link-time addresses of IFUNC resolvers (IRELATIVE addends and STT_GNU_IFUNC values). */
  ifuncResolvers: Set<number>;
}

const factsCache = new WeakMap<ElfFile, ModuleFacts>();

/** Facts about a module's layout the walker needs repeatedly, computed once per ElfFile. */
export function moduleFacts(elf: ElfFile): ModuleFacts {
  let f = factsCache.get(elf);
  if (f) return f;
  const objects: ObjectExtent[] = [];
  const seen = new Set<number>();
  const addSymbols = (syms: readonly ElfSymbol[]) => {
    for (const s of syms) {
      if (!s.defined || s.type !== C.STT_OBJECT || s.size <= 0 || seen.has(s.value)) continue;
      seen.add(s.value);
      objects.push({ start: s.value, end: s.value + s.size, name: s.name });
    }
  };
  addSymbols(elf.symtabSymbols());
  addSymbols(elf.dynamicSymbols());
  objects.sort((a, b) => a.start - b.start);
  const dataSections = elf.sections
    .filter((s) => (s.flags & C.SHF_ALLOC) !== 0 && (s.flags & C.SHF_EXECINSTR) === 0 && s.addr !== 0 && s.size > 0)
    .sort((a, b) => a.addr - b.addr);
  const gotRanges = elf.sections
    .filter((s) => s.name === '.got' || s.name === '.got.plt')
    .map((s) => ({ start: s.addr, end: s.addr + s.size }));
  const pltRanges = elf.sections
    .filter((s) => s.name === '.plt' || s.name === '.plt.sec' || s.name === '.plt.got')
    .map((s) => ({ start: s.addr, end: s.addr + s.size, name: s.name }));
  const ifuncResolvers = new Set<number>();
  for (const r of elf.relocations()) if (r.type === C.R_X86_64_IRELATIVE) ifuncResolvers.add(r.addend);
  for (const s of [...elf.dynamicSymbols(), ...elf.symtabSymbols()]) if (s.defined && s.type === C.STT_GNU_IFUNC) ifuncResolvers.add(s.value);
  f = { objects, dataSections, gotRanges, pltRanges, ifuncResolvers };
  factsCache.set(elf, f);
  return f;
}

/** Largest window scanned for a data reference whose object extent is unknown (stripped data). */
export const UNKNOWN_OBJECT_WINDOW = 512;

/**
 * The extent of the data object containing the link-time address `link`: a sized symbol when there is
 * one; a single slot inside the GOT; otherwise a window from `link` to the next symbol or section end.
 */
export function dataObjectExtent(elf: ElfFile, link: number): { start: number; end: number; name?: string } | undefined {
  const facts = moduleFacts(elf);
  const sec = findSectionByAddr(facts.dataSections, link);
  if (!sec) return undefined;
  const secEnd = sec.addr + sec.size;
  if (isGotSlot(elf, link)) {
    const slot = link - (link % 8);
    return { start: slot, end: slot + 8 };
  }
  const i = upperBound(facts.objects.length, (k) => facts.objects[k].start > link) - 1;
  if (i >= 0 && link < facts.objects[i].end) {
    // An object never extends past the section holding the reference (a crafted size could span gigabytes).
    const o = facts.objects[i];
    return o.start >= sec.addr && o.end <= secEnd ? o : { start: Math.max(o.start, sec.addr), end: Math.min(o.end, secEnd), name: o.name };
  }
  const next = i + 1 < facts.objects.length ? facts.objects[i + 1].start : Infinity;
  return { start: link, end: Math.min(secEnd, next, link + UNKNOWN_OBJECT_WINDOW) };
}

/**
 * The lowest link-time address a data reference could have been made to and still have `link` inside the
 * extent dataObjectExtent gives it: the start of the sized object containing `link`, or else an unknown-object
 * window back, not before its section or the end of the sized object before it.
 */
export function lowestReferenceReaching(elf: ElfFile, link: number): number {
  const facts = moduleFacts(elf);
  const i = upperBound(facts.objects.length, (k) => facts.objects[k].start > link) - 1;
  if (i >= 0 && link < facts.objects[i].end) return facts.objects[i].start;
  const sec = findSectionByAddr(facts.dataSections, link);
  let from = link - UNKNOWN_OBJECT_WINDOW + 1;
  if (sec) from = Math.max(from, sec.addr);
  if (i >= 0) from = Math.max(from, facts.objects[i].end);
  return Math.min(from, link);
}

function findSectionByAddr(sorted: SectionHeader[], link: number): SectionHeader | undefined {
  const k = upperBound(sorted.length, (i) => sorted[i].addr > link) - 1;
  return k >= 0 && link < sorted[k].addr + sorted[k].size ? sorted[k] : undefined;
}

/** True when link-time `link` is inside the module's .got or .got.plt. */
export function isGotSlot(elf: ElfFile, link: number): boolean {
  for (const g of moduleFacts(elf).gotRanges) if (link >= g.start && link < g.end) return true;
  return false;
}

export function isInPlt(elf: ElfFile, link: number): boolean {
  for (const r of moduleFacts(elf).pltRanges) if (link >= r.start && link < r.end) return true;
  return false;
}

/** The lazy-binding `.plt` section range (where an unbound GOT slot points back to), link-time. */
export function lazyPltRange(elf: ElfFile): { start: number; end: number } | undefined {
  return moduleFacts(elf).pltRanges.find((r) => r.name === '.plt');
}

/** Reads a little-endian u64 from bytes as a Number (exact below 2^53; larger values are not addresses). */
export function u64(bytes: Uint8Array, offset = 0): number {
  const lo = bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24);
  const hi = bytes[offset + 4] | (bytes[offset + 5] << 8) | (bytes[offset + 6] << 16) | (bytes[offset + 7] << 24);
  return (hi >>> 0) * 0x1_0000_0000 + (lo >>> 0);
}
