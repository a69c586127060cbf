// One mapped ELF object of a live process (its mappings, ElfFile and load bias), and how its file is opened: the
// path when it is the mapped inode (one ElfFile per unchanged file, shared by analyses), else /proc/PID/map_files,
// else the process's root.

import * as fs from 'node:fs';
import { NativeError, fromSystemError } from '../errors';
import { ByteSource, FileByteSource } from '../elf/byteSource';
import { ElfFile } from '../elf/elfFile';
import { PT_LOAD } from '../elf/elfConstants';
import type { MapEntry } from './maps';
import { processExists, procPath } from './procfs';

const PAGE_SIZE = 4096;

/** How many parsed files no open space uses are kept for the next analysis (their file descriptors stay open). */
const MAX_IDLE_FILES = 160;

/**
 * Parsed ELF files by identity (path, device, inode, size, modification time), in least recently used order: every
 * space over a process that maps an unchanged file (the next stop of a debug session, the call-site analysis beside
 * the process-wide one) uses the same ElfFile, so its tables (symbols, function extents, relocations, unwind
 * tables) are parsed once, not at every analysis.
 */
const sharedFiles = new Map<string, { elf: ElfFile; users: number }>();

/** The shared ElfFile of `path` when it is the very file `mapping` maps (same inode), else undefined. */
function acquireShared(path: string, mapping: MapEntry): { key: string; elf: ElfFile } | undefined {
  if (mapping.deleted) return undefined;
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch {
    return undefined;
  }
  if (!st.isFile() || st.ino !== mapping.inode) return undefined;
  const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${path}`;
  let entry = sharedFiles.get(key);
  if (entry) sharedFiles.delete(key);
  else {
    const source = new FileByteSource(path);
    try {
      entry = { elf: ElfFile.open(source, path), users: 0 };
    } catch (e) {
      source.close();
      throw e;
    }
  }
  sharedFiles.set(key, entry);
  entry.users++;
  return { key, elf: entry.elf };
}

/** One user of a shared ElfFile is done; the least recently used idle files beyond MAX_IDLE_FILES are closed. */
function releaseShared(key: string): void {
  const entry = sharedFiles.get(key);
  if (entry) entry.users--;
  let idle = 0;
  for (const e of sharedFiles.values()) if (e.users <= 0) idle++;
  for (const [k, e] of sharedFiles) {
    if (idle <= MAX_IDLE_FILES) break;
    if (e.users > 0) continue;
    e.elf.close();
    sharedFiles.delete(k);
    idle--;
  }
}

/**
 * One mapped ELF object (executable or shared library) of a process: its mappings, and lazily its
 * ElfFile and load bias (runtime address − link-time address).
 */
export class ProcessModule {
  /** The file-backed mappings of this object, by address (the first has file offset 0). */
  readonly mappings: MapEntry[];
  private elfCache?: ElfFile;
  /** The key of elfCache among the shared files, when it is one. */
  private sharedKey?: string;
  private biasCache?: number;

  constructor(
    private readonly pid: number,
    /** The path as the process's maps show it (without ' (deleted)'). */
    readonly path: string,
    first: MapEntry,
  ) {
    this.mappings = [first];
  }

  /** Lowest mapped address of the object. */
  get start(): number {
    return this.mappings[0].start;
  }

  /** End of the highest file-backed mapping of the object. */
  get end(): number {
    return this.mappings[this.mappings.length - 1].end;
  }

  /** True when the file was replaced or unlinked after it was mapped. */
  get deleted(): boolean {
    return this.mappings[0].deleted;
  }

  /** True when one of this object's file mappings contains the address. */
  contains(address: number): boolean {
    return this.mappings.some((m) => address >= m.start && address < m.end);
  }

  /**
   * The object's ElfFile, opened on first use: the path itself when it is the very file mapped (same
   * inode), else /proc/PID/map_files/START-END, else /proc/PID/root/PATH.
   */
  get elf(): ElfFile {
    if (!this.elfCache) {
      const shared = acquireShared(this.path, this.mappings[0]);
      if (shared) {
        this.sharedKey = shared.key;
        this.elfCache = shared.elf;
      } else this.elfCache = ElfFile.open(openModuleSource(this.pid, this.path, this.mappings[0]), this.path);
    }
    return this.elfCache;
  }

  /**
   * Runtime address minus link-time address. Computed from the mapping at file offset 0 and the first
   * PT_LOAD (the one covering file offset 0): the kernel maps it at bias + pageDown(p_vaddr).
   */
  get loadBias(): number {
    if (this.biasCache === undefined) {
      const loads = this.elf.loadSegments();
      const first = loads.find((p) => p.type === PT_LOAD && p.offset < PAGE_SIZE) ?? loads[0];
      if (!first) throw new NativeError('malformed', `${this.path} has no PT_LOAD segment.`, { subject: this.path });
      this.biasCache = this.mappings[0].start - pageDown(first.vaddr);
    }
    return this.biasCache;
  }

  /** Runtime address → link-time virtual address. */
  toVaddr(address: number): number {
    return address - this.loadBias;
  }

  /** Link-time virtual address → runtime address. */
  toRuntime(vaddr: number): number {
    return vaddr + this.loadBias;
  }

  /** True when the address lies in one of the object's PT_LOAD segments (including .bss past the file mappings). */
  containsLoaded(address: number): boolean {
    if (this.contains(address)) return true;
    const v = this.toVaddr(address);
    return this.elf.loadContaining(v) !== undefined;
  }

  /** Closes the ELF file if it was opened. */
  close(): void {
    if (this.sharedKey !== undefined) releaseShared(this.sharedKey);
    else this.elfCache?.close();
    this.elfCache = undefined;
    this.sharedKey = undefined;
  }
}

function pageDown(v: number): number {
  return v - (v % PAGE_SIZE);
}

/** Opens the bytes of a mapped file: the path if it is the mapped inode, else map_files, else the process's root. */
export function openModuleSource(pid: number, path: string, mapping: MapEntry): ByteSource {
  if (!mapping.deleted) {
    try {
      const st = fs.statSync(path);
      if (st.isFile() && st.ino === mapping.inode) return new FileByteSource(path);
    } catch {
      // Not reachable from our mount namespace or not readable: try the /proc routes below.
    }
  }
  const mapFile = procPath(pid, `map_files/${mapping.start.toString(16)}-${mapping.end.toString(16)}`);
  try {
    return new FileByteSource(mapFile);
  } catch (e) {
    const err = fromSystemError(e, mapFile, pid);
    if (err.kind === 'gone' && !processExists(pid)) throw err;
  }
  const rooted = `${procPath(pid, 'root')}${path}`;
  try {
    return new FileByteSource(rooted);
  } catch (e) {
    throw fromSystemError(e, rooted, pid);
  }
}

/**
 * True when mapping `m` (file offset 0) is a later PT_LOAD segment of `mod` rather than a new load of the same
 * file: a segment after the first whose file offset lies in page 0 maps exactly at bias + pageDown(p_vaddr).
 */
export function laterSegmentAtOffsetZero(mod: ProcessModule, m: MapEntry): boolean {
  try {
    const loads = mod.elf.loadSegments().filter((p) => p.type === PT_LOAD);
    const bias = mod.loadBias;
    return loads.some((p, i) => i > 0 && pageDown(p.offset) === 0 && bias + pageDown(p.vaddr) === m.start);
  } catch (e) {
    if (e instanceof NativeError && e.kind !== 'gone') return false;
    throw e;
  }
}
