// The AddressSpace of a live process: regions from /proc/PID/maps, each file-backed one tied to its ELF
// module and load bias, and pointer reads from /proc/PID/mem. When memory cannot be read (ptrace access
// denied) the space still works from the files on disk, with liveMemory = false.

import * as fs from 'node:fs';
import { NativeError } from '../errors';
import type { ProcessModule, ProcessView } from './processView';
import { residentRanges } from './resident';
import { type AddressSpace, type ModuleImage, type Region, fileIdentityOf, u64 } from './space';
import { rangeContaining } from '../upperBound';

/** readPointer's unit of reading: a page. */
const POINTER_PAGE = 4096;
/** Pages readPointer keeps per space (16 MB); past them, words are read alone. */
const MAX_POINTER_PAGES = 4096;

export class ProcessAddressSpace implements AddressSpace {
  readonly description: string;
  readonly liveMemory: boolean;
  /** Why live memory is unavailable, when it is. */
  readonly memoryError?: NativeError;
  private readonly regionList: Region[];
  private readonly moduleList: ModuleImage[];
  private readonly main?: ModuleImage;
  /** Modules whose ELF file could not be opened, with the reason (their code is read from memory). */
  readonly unopenedModules: Array<{ path: string; reason: string }> = [];

  constructor(readonly view: ProcessView) {
    view.checkSupported();
    const exe = view.exe().replace(/ \(deleted\)$/, '');
    this.description = `pid ${view.pid} (${exe})`;
    this.memoryError = probeMemory(view);
    this.liveMemory = this.memoryError === undefined;
    const { images, moduleList, main } = this.openModules();
    this.moduleList = moduleList;
    this.main = main;
    this.regionList = regionsOf(view, images);
    this.noteUnreadableCode();
  }

  /** The module images in load order (the main executable first, then the others in address order: an
   * approximation of the dynamic linker's order that is exact for the main executable and its first libraries).
   * A module whose ELF file cannot be opened gets a note in unopenedModules instead. */
  private openModules(): { images: Map<ProcessModule, ModuleImage>; moduleList: ModuleImage[]; main?: ModuleImage } {
    const view = this.view;
    const procModules = view.modules();
    const images = new Map<ProcessModule, ModuleImage>();
    const moduleList: ModuleImage[] = [];
    const mainPm = view.mainModule();
    const ordered = mainPm ? [mainPm, ...procModules.filter((m) => m !== mainPm)] : procModules;
    for (const pm of ordered) {
      let image: ModuleImage;
      try {
        image = {
          index: moduleList.length,
          path: pm.path,
          bias: pm.loadBias,
          elf: pm.elf,
          identity: fileIdentity(pm),
          isMain: pm === mainPm,
        };
      } catch (e) {
        if (e instanceof NativeError && e.kind !== 'gone') {
          this.unopenedModules.push({ path: pm.path, reason: e.message });
          continue;
        }
        throw e;
      }
      images.set(pm, image);
      moduleList.push(image);
    }
    return { images, moduleList, main: mainPm ? images.get(mainPm) : undefined };
  }

  /** Executable file mappings that belong to no module and whose code cannot be read from memory either (a
   * library truncated or emptied after it was loaded: its pages are gone) are left out of every walk and
   * scan. Each such file gets a note, as the modules that could not be opened do (their code is otherwise
   * read from memory). */
  private noteUnreadableCode(): void {
    const seen = new Set<string>();
    for (const r of this.regionList) {
      if (!r.exec || r.kind !== 'file' || r.module || seen.has(r.name)) continue;
      if (this.codeReadable(r.start)) continue; // Analysed from memory, as anonymous code is.
      seen.add(r.name);
      const unopened = this.unopenedModules.find((u) => u.path === r.name);
      const memory = this.liveMemory ? 'its mapped code cannot be read from memory either' : 'the process memory cannot be read';
      if (unopened) unopened.reason = `${unopened.reason.replace(/\.?$/, '')}; ${memory}, so its code was left out of the analysis.`;
      else this.unopenedModules.push({ path: r.name, reason: `${unreadableReason(r.name)}, and ${memory}, so its code was left out of the analysis.` });
    }
  }

  /** True when live memory holds readable code at `address`. */
  private codeReadable(address: number): boolean {
    if (!this.liveMemory) return false;
    try {
      return this.view.readMemory(address, 1) !== undefined;
    } catch (e) {
      if (e instanceof NativeError && e.kind === 'gone') throw e;
      return false;
    }
  }

  regions(): readonly Region[] {
    return this.regionList;
  }

  regionAt(address: number): Region | undefined {
    return rangeContaining(this.regionList, address);
  }

  modules(): readonly ModuleImage[] {
    return this.moduleList;
  }

  mainModule(): ModuleImage | undefined {
    return this.main;
  }

  readPointer(address: number): number | undefined {
    if (!this.liveMemory) return undefined;
    // Pointers are read by the tens of thousands from a few hundred pages (GOT and data slots, dispatch chains): each
    // page is read once per space (one analysis), a system call for it instead of one per word. A page is mapped or
    // not as a whole, so a word of it reads as it would alone.
    const page = Math.floor(address / POINTER_PAGE) * POINTER_PAGE;
    const off = address - page;
    const kept = this.pointerPages.has(page);
    if (off + 8 > POINTER_PAGE || (!kept && this.pointerPages.size >= MAX_POINTER_PAGES)) return this.view.readPointer(address);
    if (!kept) this.pointerPages.set(page, this.view.readMemory(page, POINTER_PAGE));
    const bytes = this.pointerPages.get(page);
    return bytes && u64(bytes, off);
  }

  /** The pages readPointer read (undefined: not mapped), by page address. */
  private readonly pointerPages = new Map<number, Uint8Array | undefined>();

  forgetReads(): void {
    this.pointerPages.clear();
  }

  readMemory(address: number, length: number, into?: Uint8Array): Uint8Array | undefined {
    if (!this.liveMemory) return undefined;
    return this.view.readMemory(address, length, into);
  }

  residentRanges(start: number, end: number): Array<{ start: number; end: number }> | undefined {
    if (!this.liveMemory) return undefined;
    return residentRanges(this.view.pid, this.view.mappingAt(start), start, end);
  }
}

/** Why the executable mapping of `file` could not be opened as an ELF module (without final punctuation). */
function unreadableReason(file: string): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'the file no longer exists' : `the file cannot be read (${code ?? 'error'})`;
  }
  if (!st.isFile()) return 'it is not a regular file';
  if (st.size === 0) return 'the file is empty (0 bytes: truncated after it was loaded)';
  return `the file is not an ELF object that could be read (${st.size} bytes)`;
}

/** A cache key for a module's file: changes whenever the file is replaced or rewritten. */
function fileIdentity(pm: ProcessModule): string {
  const first = pm.mappings[0];
  try {
    const st = fs.statSync(pm.path);
    if (st.ino === first.inode) return fileIdentityOf(st);
  } catch {
    // Fall through: the path no longer names the mapped file.
  }
  // The mapped file is deleted or replaced: no sharing with other processes' caches.
  return `${first.dev}:${first.inode}:${pm.path}:${first.start}`;
}

/** Probes live memory once: reading the first mapping tells whether ptrace access is granted. Returns the error
 * when it is not (a vanished process is rethrown). */
function probeMemory(view: ProcessView): NativeError | undefined {
  try {
    const first = view.maps().find((m) => m.addressable && m.perms.read);
    if (first) view.memory.read(first.start, 8);
  } catch (e) {
    if (!(e instanceof NativeError) || e.kind === 'gone') throw e;
    return e;
  }
  return undefined;
}

/** The runtime end, rounded up to a page, of the PT_LOAD segment of `module` holding `address`, when one does. */
function segmentEnd(module: ModuleImage, address: number): number | undefined {
  try {
    const seg = module.elf.loadContaining(address - module.bias);
    if (!seg) return undefined;
    const end = seg.vaddr + seg.memsz + module.bias;
    return Math.ceil(end / 4096) * 4096;
  } catch (e) {
    if (e instanceof NativeError) return undefined;
    throw e;
  }
}

/** The addressable mappings as Regions sorted by address, each tied to its module image when it has one. */
function regionsOf(view: ProcessView, images: Map<ProcessModule, ModuleImage>): Region[] {
  const regions: Region[] = [];
  for (const m of view.maps()) {
    if (!m.addressable) continue;
    let pm: ProcessModule | undefined;
    if (m.kind === 'file' || m.kind === 'anon') {
      try {
        pm = view.moduleAt(m.start);
      } catch (e) {
        if (e instanceof NativeError && e.kind === 'gone') throw e;
        pm = undefined;
      }
    }
    const module = pm ? images.get(pm) : undefined;
    const region: Region = {
      start: m.start,
      end: m.end,
      read: m.perms.read,
      write: m.perms.write,
      exec: m.perms.exec,
      kind: m.kind,
      name: m.path || (module ? module.path : '[anon]'),
      module,
    };
    // The kernel merges a module's .bss tail with anonymous memory mapped right after it (an arena, another
    // allocation) into one mapping: only the part up to the end of the module's segment is the module's.
    const bssEnd = module && m.kind === 'anon' ? segmentEnd(module, m.start) : undefined;
    if (bssEnd !== undefined && bssEnd > m.start && bssEnd < m.end) {
      regions.push({ ...region, end: bssEnd }, { ...region, start: bssEnd, name: '[anon]', module: undefined });
    } else regions.push(region);
  }
  regions.sort((a, b) => a.start - b.start);
  return regions;
}
