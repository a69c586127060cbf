// A read-only view of a live Linux process through /proc/PID: mappings, executable, command line,
// environment, threads and their syscall state, memory reads, and the mapped ELF modules with load biases.

import * as fs from 'node:fs';
import { NativeError, fromSystemError } from '../errors';
import { ByteSource, FileByteSource, ProcessMemorySource } from '../elf/byteSource';
import { ElfFile, SymbolizedAddress } from '../elf/elfFile';
import { ELFCLASS32, ELFMAG, EI_CLASS } from '../elf/elfConstants';
import { MapEntry, MappingKind } from './maps';
import { laterSegmentAtOffsetZero, openModuleSource, ProcessModule } from './processModule';

export { ProcessModule } from './processModule';
import { listProcDir, PF_KTHREAD, procPath, processExists, readCmdline, readEnviron, readExe, readMaps, readProcText, readStat } from './procfs';

/** What /proc/PID/task/TID/syscall says a thread is doing. */
export type ThreadSyscall =
  /** The thread is runnable (on a CPU or waiting for one): no registers are reported. */
  | { state: 'running' }
  /** The thread is blocked but not inside a system call (e.g. stopped by a signal in user code). */
  | { state: 'blocked'; nr: -1; sp: number; pc: number }
  /** The thread is inside system call `nr`; `pc` is the user address just after the syscall instruction. */
  | { state: 'syscall'; nr: number; args: bigint[]; sp: number; pc: number };

/** Where an address of the process lives, for messages and the UI. */
export interface AddressDescription {
  address: number;
  /** The mapping containing it. */
  mapping?: MapEntry;
  kind?: MappingKind;
  /** Path of the ELF module containing it. */
  module?: string;
  /** Offset in the mapped file. */
  fileOffset?: number;
  /** The module's link-time virtual address (address − load bias). */
  vaddr?: number;
  /** Nearest named function in the module. */
  symbol?: SymbolizedAddress;
}

/**
 * A read-only view of process `pid` through /proc. Mappings and modules are read once and cached;
 * call refresh() to read them again. We never attach with ptrace and never write.
 */
export class ProcessView {
  readonly pid: number;
  private readonly dir: string;
  private mapsCache?: MapEntry[];
  private modulesCache?: ProcessModule[];
  private memoryCache?: ProcessMemorySource;
  private supported = false;

  /** Throws NativeError('gone') when the process does not exist, 'malformed' when `pid` is not a positive integer. */
  constructor(pid: number) {
    // Not a process that exited: a value that never named one (the caller's mistake).
    if (!Number.isSafeInteger(pid) || pid <= 0) throw new NativeError('malformed', `${JSON.stringify(pid) ?? String(pid)} is not a process id (a pid is a positive integer).`, { subject: `pid ${String(pid)}` });
    this.pid = pid;
    this.dir = procPath(pid);
    try {
      fs.statSync(this.dir);
    } catch (e) {
      throw fromSystemError(e, this.dir, pid);
    }
  }

  /** Same as `new ProcessView(pid)`. */
  static open(pid: number): ProcessView {
    return new ProcessView(pid);
  }

  /** Forgets cached mappings and modules (closing their files), so the next call reads /proc again. */
  refresh(): void {
    for (const m of this.modulesCache ?? []) m.close();
    this.mapsCache = undefined;
    this.modulesCache = undefined;
  }

  /** Closes the memory handle and every opened module file. */
  close(): void {
    this.refresh();
    this.memoryCache?.close();
    this.memoryCache = undefined;
  }

  /** Throws 'gone' when the process has exited (its /proc directory vanished or it is a zombie). */
  private assertAlive(): void {
    const stat = this.stat();
    if (stat.state === 'Z' || stat.state === 'X') {
      throw new NativeError('gone', `Process ${this.pid} has exited.`, { subject: `pid ${this.pid}`, hint: 'Pick a running process and try again.' });
    }
  }

  /** Fields of /proc/PID/stat we use: the command name, state letter and kernel flags. */
  stat(): { comm: string; state: string; flags: number } {
    const { comm, state, flags } = readStat(this.pid);
    return { comm, state, flags };
  }

  /** The memory mappings (cached; see refresh()). */
  maps(): MapEntry[] {
    if (!this.mapsCache) {
      const entries = readMaps(this.pid);
      if (entries.length === 0) {
        this.assertAlive();
        this.assertNotKernelThread();
      }
      this.mapsCache = entries;
    }
    return this.mapsCache;
  }

  /** The mapping containing an address, if any. */
  mappingAt(address: number): MapEntry | undefined {
    return this.maps().find((m) => m.addressable && address >= m.start && address < m.end);
  }

  private assertNotKernelThread(): void {
    const st = this.stat();
    if ((st.flags & PF_KTHREAD) !== 0) {
      throw new NativeError('unsupported', `Process ${this.pid} (${st.comm}) is a kernel thread; it has no user-space code to analyse.`, {
        subject: `pid ${this.pid}`,
      });
    }
  }

  /** The executable's path (readlink /proc/PID/exe; may end in ' (deleted)'). */
  exe(): string {
    try {
      return readExe(this.pid);
    } catch (e) {
      const err = fromSystemError(e, procPath(this.pid, 'exe'), this.pid);
      if (err.kind === 'gone' && processExists(this.pid)) {
        this.assertAlive();
        this.assertNotKernelThread();
        throw new NativeError('unsupported', `Process ${this.pid} has no executable (a kernel thread or a process without a program image).`, {
          subject: `pid ${this.pid}`,
        });
      }
      throw err;
    }
  }

  /** The command line arguments. */
  cmdline(): string[] {
    return readCmdline(this.pid);
  }

  /**
   * The initial environment (as the process was started), or undefined when we may not read it.
   * Throws 'gone' if the process vanished.
   */
  environ(): Record<string, string> | undefined {
    let entries: Array<{ name: string; value: string }>;
    try {
      entries = readEnviron(this.pid);
    } catch (e) {
      if (e instanceof NativeError && e.kind === 'permission') return undefined;
      throw e;
    }
    const env: Record<string, string> = {};
    for (const { name, value } of entries) if (!(name in env)) env[name] = value;
    return env;
  }

  /**
   * Whether the dynamic loader of this process bound every symbol at start-up (LD_BIND_NOW set to a
   * non-empty value), so GOT slots hold final addresses. Undefined when the environment is unreadable.
   */
  ldBindNow(): boolean | undefined {
    const env = this.environ();
    if (!env) return undefined;
    return (env.LD_BIND_NOW ?? '') !== '';
  }

  /** Thread ids (from /proc/PID/task), ascending. */
  threads(): number[] {
    return listProcDir(this.pid, 'task')
      .map((n) => Number(n))
      .filter((n) => Number.isSafeInteger(n) && n > 0)
      .sort((a, b) => a - b);
  }

  /** The thread's name (comm), or undefined when the thread has gone. */
  threadName(tid: number): string | undefined {
    try {
      return readProcText(this.pid, `task/${tid}/comm`).trimEnd();
    } catch {
      return undefined;
    }
  }

  /** Parses /proc/PID/task/TID/syscall: 'running', '-1 sp pc', or 'nr a1..a6 sp pc'. */
  threadSyscall(tid: number): ThreadSyscall {
    return parseThreadSyscall(readProcText(this.pid, `task/${tid}/syscall`).trim(), procPath(this.pid, `task/${tid}/syscall`));
  }

  /** The process memory (/proc/PID/mem), opened on first use. */
  get memory(): ProcessMemorySource {
    if (!this.memoryCache) this.memoryCache = new ProcessMemorySource(this.pid);
    return this.memoryCache;
  }

  /** Reads memory (into `into` when given and large enough), or undefined when the range is not mapped. */
  readMemory(address: number, length: number, into?: Uint8Array): Uint8Array | undefined {
    return this.memory.tryRead(address, length, into);
  }

  /**
   * The 64-bit little-endian pointer at `address`, or undefined when it is not mapped. Values above
   * 2^53 (never user-space addresses) come back approximate.
   */
  readPointer(address: number): number | undefined {
    const b = this.memory.tryRead(address, 8);
    if (!b) return undefined;
    const dv = new DataView(b.buffer, b.byteOffset, 8);
    return dv.getUint32(0, true) + dv.getUint32(4, true) * 0x1_0000_0000;
  }

  /**
   * Checks that we can analyse the process: it exists, is not a kernel thread, and runs a 64-bit
   * x86-64 executable. Throws NativeError 'gone', 'unsupported' or 'permission'.
   */
  checkSupported(): void {
    if (this.supported) return;
    this.exe(); // Throws 'unsupported' for kernel threads and 'gone' for exited processes.
    const exePath = `${this.dir}/exe`;
    let src: FileByteSource;
    try {
      src = new FileByteSource(exePath);
    } catch (e) {
      throw fromSystemError(e, exePath, this.pid);
    }
    try {
      const ident = src.read(0, Math.min(16, src.size));
      if (ident.length >= 5 && ELFMAG.every((b, i) => ident[i] === b) && ident[EI_CLASS] === ELFCLASS32) {
        throw new NativeError('unsupported', `Process ${this.pid} runs a 32-bit executable; 32-bit processes are not supported.`, {
          subject: `pid ${this.pid}`,
        });
      }
      try {
        ElfFile.open(src, this.exe());
      } catch (e) {
        if (e instanceof NativeError && e.kind === 'unsupported') {
          throw new NativeError('unsupported', `Process ${this.pid}: ${e.message}`, { subject: `pid ${this.pid}`, cause: e });
        }
        throw e;
      }
    } finally {
      src.close();
    }
    this.supported = true;
  }

  /**
   * The mapped ELF objects, in address order. A module starts at each file mapping with offset 0 whose
   * first bytes are the ELF magic; later mappings of the same file (same device and inode) join it, including
   * a later segment whose first page is the file's page 0 (a small file linked with -z noseparate-code, whose
   * data segment starts in the same file page as its code).
   */
  modules(): ProcessModule[] {
    if (this.modulesCache) return this.modulesCache;
    this.checkSupported();
    const out: ProcessModule[] = [];
    const open = new Map<string, ProcessModule>();
    for (const m of this.maps()) {
      if (m.kind !== 'file' || !m.addressable) continue;
      const key = `${m.dev}:${m.inode}:${m.path}`;
      if (m.offset === 0) {
        const current = open.get(key);
        if (current && laterSegmentAtOffsetZero(current, m)) {
          current.mappings.push(m);
          continue;
        }
        if (!this.isElfMapping(m)) {
          open.delete(key);
          continue;
        }
        const mod = new ProcessModule(this.pid, m.path, m);
        open.set(key, mod);
        out.push(mod);
      } else {
        open.get(key)?.mappings.push(m);
      }
    }
    this.modulesCache = out;
    return out;
  }

  /** True when the mapping starts with the ELF magic (read from memory, else from the file). */
  private isElfMapping(m: MapEntry): boolean {
    let head: Uint8Array | undefined;
    if (m.perms.read) {
      try {
        head = this.memory.tryRead(m.start, 4);
      } catch (e) {
        if (e instanceof NativeError && e.kind === 'gone') throw e;
        head = undefined;
      }
    }
    if (!head) {
      try {
        const src = openModuleSource(this.pid, m.path, m);
        try {
          head = src.size >= 4 ? src.read(0, 4) : undefined;
        } finally {
          src.close();
        }
      } catch (e) {
        if (e instanceof NativeError && e.kind === 'gone') throw e;
        return false;
      }
    }
    return head !== undefined && ELFMAG.every((b, i) => head![i] === b);
  }

  /** The module whose file mappings contain the address (or, failing that, whose PT_LOAD extent does). */
  moduleAt(address: number): ProcessModule | undefined {
    const mods = this.modules();
    const direct = mods.find((m) => m.contains(address));
    if (direct) return direct;
    // The .bss tail of a module is an anonymous mapping after its last file mapping.
    let best: ProcessModule | undefined;
    for (const m of mods) if (m.start <= address && (!best || m.start > best.start)) best = m;
    if (best) {
      try {
        if (best.containsLoaded(address)) return best;
      } catch (e) {
        if (e instanceof NativeError && e.kind === 'gone') throw e;
      }
    }
    return undefined;
  }

  /** The module of the main executable. */
  mainModule(): ProcessModule | undefined {
    let exe = this.exe();
    if (exe.endsWith(' (deleted)')) exe = exe.slice(0, -' (deleted)'.length);
    return this.modules().find((m) => m.path === exe);
  }

  /** The module path, file offset, link-time address and nearest symbol of a process address. */
  describeAddress(address: number): AddressDescription {
    const out: AddressDescription = { address };
    const mapping = this.mappingAt(address);
    if (mapping) {
      out.mapping = mapping;
      out.kind = mapping.kind;
      if (mapping.kind === 'file') out.fileOffset = mapping.offset + (address - mapping.start);
    }
    const mod = this.moduleAt(address);
    if (mod) {
      out.module = mod.path;
      out.vaddr = mod.toVaddr(address);
      out.symbol = mod.elf.symbolize(out.vaddr);
    }
    return out;
  }
}

/** Parses the text of /proc/PID/task/TID/syscall. */
export function parseThreadSyscall(text: string, what = 'syscall'): ThreadSyscall {
  const t = text.trim();
  if (t === 'running') return { state: 'running' };
  const parts = t.split(/\s+/);
  const bad = () => new NativeError('malformed', `${what}: unexpected content ${JSON.stringify(t.slice(0, 200))}.`, { subject: what });
  const nr = Number(parts[0]);
  if (!Number.isInteger(nr)) throw bad();
  const hex = (s: string | undefined): number => {
    if (!s || !/^0x[0-9a-f]+$/i.test(s)) throw bad();
    return parseInt(s.slice(2), 16);
  };
  if (nr === -1) {
    if (parts.length !== 3) throw bad();
    return { state: 'blocked', nr: -1, sp: hex(parts[1]), pc: hex(parts[2]) };
  }
  if (parts.length !== 9) throw bad();
  const args = parts.slice(1, 7).map((a) => {
    hex(a);
    return BigInt(a);
  });
  return { state: 'syscall', nr, args, sp: hex(parts[7]), pc: hex(parts[8]) };
}
