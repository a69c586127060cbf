// An AddressSpace built from files on disk, for analysing native code when no process runs: the objects
// are "loaded" at synthetic, non-overlapping addresses with their DT_NEEDED libraries found the way the
// dynamic linker would (RPATH/RUNPATH with $ORIGIN, LD_LIBRARY_PATH, /etc/ld.so.conf, the default
// directories). There is no live memory, so EPT resolves PLT slots by the search order and counts every
// IFUNC variant; results from this space are "static", not "exact".

import * as fs from 'node:fs';
import * as path from 'node:path';
import { openFileSource } from '../elf/byteSource';
import * as C from '../elf/elfConstants';
import { ElfFile } from '../elf/elfFile';
import { NativeError } from '../errors';
import { hostIfuncChoices, probeExportedIfuncs } from './hostIfunc';
import { type AddressSpace, type ModuleImage, type Region, fileIdentityOf } from './space';
import { rangeContaining } from '../upperBound';

const PAGE = 0x1000;
/** Synthetic load addresses start here and each object gets its own 1 GiB-aligned window. */
const FIRST_BASE = 0x7f00_0000_0000;
const WINDOW = 0x4000_0000;

const DEFAULT_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib'];

let ldConfDirs: string[] | undefined;

/** Directories listed in /etc/ld.so.conf and the files it includes (glob patterns of one directory). */
export function ldSoConfDirs(file = '/etc/ld.so.conf', depth = 0): string[] {
  if (file === '/etc/ld.so.conf' && depth === 0 && ldConfDirs) return ldConfDirs;
  const out: string[] = [];
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return out;
  }
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const inc = /^include\s+(.+)$/.exec(line);
    if (inc && depth < 4) {
      const pattern = inc[1].trim();
      const dir = path.dirname(path.isAbsolute(pattern) ? pattern : path.join(path.dirname(file), pattern));
      const re = new RegExp(`^${path.basename(pattern).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
      let names: string[] = [];
      try {
        names = fs.readdirSync(dir).filter((n) => re.test(n)).sort();
      } catch {
        names = [];
      }
      for (const n of names) out.push(...ldSoConfDirs(path.join(dir, n), depth + 1));
    } else if (line.startsWith('/')) out.push(line);
  }
  if (file === '/etc/ld.so.conf' && depth === 0) ldConfDirs = out;
  return out;
}

function expandOrigin(dir: string, origin: string): string {
  return dir.replace(/\$(ORIGIN|\{ORIGIN\})/g, origin);
}

/**
 * Finds a DT_NEEDED library the way ld.so does for an object `from`: DT_RPATH (when there is no
 * DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH, /etc/ld.so.conf directories, then the default directories.
 */
export function findLibrary(name: string, from: ElfFile, fromPath: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (name.includes('/')) return fs.existsSync(name) ? name : undefined;
  const origin = path.dirname(fromPath);
  const dyn = from.dynamic();
  const dirs: string[] = [];
  if (!dyn.runpath && dyn.rpath) dirs.push(...dyn.rpath.map((d) => expandOrigin(d, origin)));
  if (env.LD_LIBRARY_PATH) dirs.push(...env.LD_LIBRARY_PATH.split(':').filter(Boolean));
  if (dyn.runpath) dirs.push(...dyn.runpath.map((d) => expandOrigin(d, origin)));
  dirs.push(...ldSoConfDirs(), ...DEFAULT_DIRS);
  for (const d of dirs) {
    const p = path.join(d, name);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

export interface StaticSpaceOptions {
  env?: NodeJS.ProcessEnv;
  /**
   * Resolve IFUNCs of system libraries the way this host does (read from our own process) instead of
   * counting every variant (default true): the analysis then describes this machine.
   */
  hostIfuncs?: boolean;
  /** An interpreter to ask for the host's choice of libc/libm IFUNCs that no object of ours has bound. */
  python?: string;
  /** Stop after this many objects (a guard against pathological dependency graphs). */
  maxObjects?: number;
}

export class StaticAddressSpace implements AddressSpace {
  readonly description: string;
  readonly liveMemory = false;
  private readonly moduleList: ModuleImage[] = [];
  private readonly regionList: Region[] = [];
  /** Libraries named in DT_NEEDED that could not be found or opened. */
  readonly missing: Array<{ name: string; neededBy: string; reason: string }> = [];
  private readonly useHostIfuncs: boolean;

  /**
   * `files[0]` plays the main executable (for symbol search order); every later file and all their
   * DT_NEEDED dependencies are loaded after it, breadth first, each once.
   */
  constructor(files: string[], options: StaticSpaceOptions = {}) {
    this.description = `static: ${files.map((f) => path.basename(f)).join(', ')}`;
    this.useHostIfuncs = options.hostIfuncs !== false;
    if (this.useHostIfuncs && options.python) probeExportedIfuncs(options.python);
    const max = options.maxObjects ?? 512;
    const queue: Array<{ file: string; neededBy?: string }> = files.map((file) => ({ file }));
    const seen = new Set<string>();
    let base = FIRST_BASE;
    while (queue.length > 0 && this.moduleList.length < max) {
      const { file, neededBy } = queue.shift()!;
      let real: string;
      try {
        real = fs.realpathSync(file);
      } catch {
        this.missing.push({ name: file, neededBy: neededBy ?? '(requested)', reason: 'not found' });
        continue;
      }
      if (seen.has(real)) continue;
      seen.add(real);
      let elf: ElfFile;
      try {
        elf = ElfFile.open(openFileSource(real), file);
      } catch (e) {
        if (!(e instanceof NativeError)) throw e;
        if (neededBy === undefined) throw e;
        this.missing.push({ name: file, neededBy, reason: e.message });
        continue;
      }
      const isMain = this.moduleList.length === 0;
      // A non-PIE executable keeps its link-time addresses; everything else gets a synthetic window.
      const bias = elf.header.type === C.ET_EXEC ? 0 : base;
      if (bias !== 0) base += WINDOW;
      const st = fs.statSync(real);
      const image: ModuleImage = {
        index: this.moduleList.length,
        path: file,
        bias,
        elf,
        identity: fileIdentityOf(st),
        isMain,
      };
      this.moduleList.push(image);
      for (const seg of elf.loadSegments()) {
        const start = Math.floor((seg.vaddr + bias) / PAGE) * PAGE;
        const end = Math.ceil((seg.vaddr + seg.memsz + bias) / PAGE) * PAGE;
        this.regionList.push({
          start,
          end,
          read: (seg.flags & C.PF_R) !== 0,
          write: (seg.flags & C.PF_W) !== 0,
          exec: (seg.flags & C.PF_X) !== 0,
          kind: 'file',
          name: file,
          module: image,
        });
      }
      if (!elf.isStatic) {
        for (const need of elf.dynamic().needed) {
          const found = findLibrary(need, elf, real, options.env);
          if (found) queue.push({ file: found, neededBy: file });
          else this.missing.push({ name: need, neededBy: file, reason: 'not found in the library search path' });
        }
      }
    }
    this.regionList.sort((a, b) => a.start - b.start);
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
    return this.moduleList[0];
  }

  /** The module loaded from `file` (as given, or by real path). */
  moduleFor(file: string): ModuleImage | undefined {
    let real = file;
    try {
      real = fs.realpathSync(file);
    } catch {
      return undefined;
    }
    return this.moduleList.find((m) => m.path === file || fs.realpathSync(m.path) === real);
  }

  readPointer(): number | undefined {
    return undefined;
  }

  /** IFUNCs resolve as this host's dynamic linker resolved them in our own process (same file only). */
  ifuncChoice(m: ModuleImage, resolver: number): number | undefined {
    if (!this.useHostIfuncs) return undefined;
    return hostIfuncChoices(m.path)?.get(resolver);
  }

  readMemory(): Uint8Array | undefined {
    return undefined;
  }

  close(): void {
    for (const m of this.moduleList) m.elf.close();
  }
}
