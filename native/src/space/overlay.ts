// An address space that extends a static one with objects loaded on demand (an extension module, a ctypes
// library, with their DT_NEEDED dependencies), the way dlopen adds them to a running interpreter: each new
// object gets its own synthetic window above everything already placed. Addresses of the base stay valid.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { openFileSource } from '../elf/byteSource';
import * as C from '../elf/elfConstants';
import { ElfFile } from '../elf/elfFile';
import { NativeError } from '../errors';
import { type AddressSpace, type ModuleImage, type Region, fileIdentityOf } from './space';
import { rangeContaining } from '../upperBound';
import { findLibrary } from './staticSpace';
import { hostIfuncChoices } from './hostIfunc';

const PAGE = 0x1000;
const WINDOW = 0x4000_0000;

/** The real path of a file, or undefined when it does not exist. */
export function realPath(file: string): string | undefined {
  try {
    return fs.realpathSync(file);
  } catch {
    return undefined;
  }
}

export class OverlaySpace implements AddressSpace {
  readonly description: string;
  readonly liveMemory: boolean;
  private readonly added: ModuleImage[] = [];
  private readonly addedRegions: Region[] = [];
  private allRegions?: Region[];
  private nextBase: number;
  private readonly byReal = new Map<string, ModuleImage>();
  /** Dependencies of loaded objects that could not be found or opened. */
  readonly missing: Array<{ name: string; neededBy: string; reason: string }> = [];

  constructor(readonly base: AddressSpace) {
    this.description = base.description;
    this.liveMemory = base.liveMemory;
    let top = 0;
    for (const r of base.regions()) top = Math.max(top, r.end);
    this.nextBase = Math.ceil((top + WINDOW) / WINDOW) * WINDOW;
    for (const m of base.modules()) {
      const real = realPath(m.path);
      if (real && !this.byReal.has(real)) this.byReal.set(real, m);
    }
  }

  regions(): readonly Region[] {
    if (this.added.length === 0) return this.base.regions();
    if (!this.allRegions) this.allRegions = [...this.base.regions(), ...this.addedRegions].sort((a, b) => a.start - b.start);
    return this.allRegions;
  }

  regionAt(address: number): Region | undefined {
    return rangeContaining(this.addedRegions, address) ?? this.base.regionAt(address);
  }

  modules(): readonly ModuleImage[] {
    return this.added.length === 0 ? this.base.modules() : [...this.base.modules(), ...this.added];
  }

  mainModule(): ModuleImage | undefined {
    return this.base.mainModule();
  }

  readPointer(address: number): number | undefined {
    return this.base.readPointer(address);
  }

  readMemory(address: number, length: number, into?: Uint8Array): Uint8Array | undefined {
    return this.base.readMemory(address, length, into);
  }

  /** IFUNC choices: the base's answer; objects loaded here use this host's choices for the same files. */
  ifuncChoice(m: ModuleImage, resolver: number): number | undefined {
    if (this.base.ifuncChoice && !this.added.includes(m)) return this.base.ifuncChoice(m, resolver);
    return this.base.liveMemory ? undefined : hostIfuncChoices(m.path)?.get(resolver);
  }

  /** The module whose file is `file` (compared by real path), if it is in the space. */
  moduleFor(file: string): ModuleImage | undefined {
    const real = realPath(file);
    return real ? this.byReal.get(real) : undefined;
  }

  /**
   * Loads `file` (and, breadth first, its DT_NEEDED libraries not yet present) and returns its module; an
   * object already in the space is returned as it is. Throws NativeError when `file` itself cannot be opened.
   */
  load(file: string): ModuleImage {
    const existing = this.moduleFor(file);
    if (existing) return existing;
    const queue: Array<{ file: string; neededBy?: string }> = [{ file }];
    let first: ModuleImage | undefined;
    while (queue.length > 0) {
      const item = queue.shift()!;
      const real = realPath(item.file);
      if (!real) {
        if (!item.neededBy) throw new NativeError('io', `${item.file} does not exist.`, { subject: item.file });
        this.missing.push({ name: item.file, neededBy: item.neededBy, reason: 'not found' });
        continue;
      }
      if (this.byReal.has(real)) continue;
      let elf: ElfFile;
      try {
        elf = ElfFile.open(openFileSource(real), item.file);
      } catch (e) {
        if (!(e instanceof NativeError) || !item.neededBy) throw e;
        this.missing.push({ name: item.file, neededBy: item.neededBy, reason: e.message });
        continue;
      }
      const bias = elf.header.type === C.ET_EXEC ? 0 : this.nextBase;
      if (bias !== 0) this.nextBase += WINDOW;
      const st = fs.statSync(real);
      const image: ModuleImage = {
        index: this.base.modules().length + this.added.length,
        path: item.file,
        bias,
        elf,
        identity: fileIdentityOf(st),
        isMain: false,
      };
      this.added.push(image);
      this.byReal.set(real, image);
      for (const seg of elf.loadSegments()) {
        this.addedRegions.push({
          start: Math.floor((seg.vaddr + bias) / PAGE) * PAGE,
          end: Math.ceil((seg.vaddr + seg.memsz + bias) / PAGE) * PAGE,
          read: (seg.flags & C.PF_R) !== 0,
          write: (seg.flags & C.PF_W) !== 0,
          exec: (seg.flags & C.PF_X) !== 0,
          kind: 'file',
          name: item.file,
          module: image,
        });
      }
      this.addedRegions.sort((a, b) => a.start - b.start);
      this.allRegions = undefined;
      first ??= image;
      if (!elf.isStatic) {
        for (const need of elf.dynamic().needed) {
          // A library already loaded under its soname (found by the same search) is not loaded twice.
          if (this.hasSoname(need)) continue;
          const found = findLibrary(need, elf, real);
          if (found) queue.push({ file: found, neededBy: item.file });
          else this.missing.push({ name: need, neededBy: item.file, reason: 'not found in the library search path' });
        }
      }
    }
    return first!;
  }

  private hasSoname(name: string): boolean {
    if (name.includes('/')) return false;
    for (const m of this.modules()) {
      if (path.basename(m.path) === name) return true;
      try {
        if (m.elf.dynamic().soname === name) return true;
      } catch {
        // A module whose dynamic section cannot be read does not match.
      }
    }
    return false;
  }

  /** Closes the objects this overlay opened (the base space's own are left to it). */
  close(): void {
    for (const m of this.added) m.elf.close();
  }
}
