// Roots for tracking the Python virtual machine (PVM) in a live process: the executable's entry point
// (`_start`, as in the paper), plus what resumes after a restore — every thread's current pc and the
// return addresses of its live frames (threads frozen for milliseconds with ptrace, stacks unwound with CFI).
// Threads started through function pointers (OpenBLAS workers) are found this way though no call edge leads to them.

import { liveValuesOf } from './liveCensus';
import { staticPointer } from './eptUtil';
import { CodeDecoder, decodeOne, Flow, MNEMONIC, REGISTER_RDI } from '../decoder/decoder';
import { type CfiRow, cfiTableOf, DWARF_RA, DWARF_RBP, DWARF_RSP } from '../elf/cfi';
import { NativeError } from '../errors';
import { FreezeResult, freezeThreads, GPR_NAMES, ThreadRegisters } from '../space/threadFreezer';
import type { HeldWord } from '../space/kernelHeld';
import type { ProcessView } from '../space/processView';
import type { Root } from './ept';
import type { AddressSpace, ModuleImage, Region } from '../space/space';
import * as C from '../elf/elfConstants';
import { u64 } from '../space/space';

/** How far up a thread's stack we look for return addresses. */
const STACK_SCAN_BYTES = 512 * 1024;

export interface PvmRootsResult {
  roots: Root[];
  threads: number;
  /** Threads neither frozen nor blocked (/proc reported no registers): every stack-like region was scanned. */
  runningThreads: number;
  returnAddresses: number;
  /** Threads whose registers were read by freezing them with ptrace. */
  frozenThreads: number;
  /** Of those, threads whose live frames were unwound to the outermost frame with .eh_frame CFI. */
  unwoundThreads: number;
  /** Why no thread could be frozen (ptrace refused, helper missing), when none was. */
  freezeUnavailable?: string;
  /** How long the threads were stopped, in microseconds. */
  frozenUs?: number;
  /** True when greenlet was loaded, so the frozen threads' stacks above sp were scanned as well (suspended greenlets). */
  greenletScan?: boolean;
  /** The values of the frozen threads' general registers (rbp and the others but rip and rsp), each with its thread. */
  registerWords: HeldWord[];
  /** True when every thread was frozen and gave all its general registers: no register holds a value unseen. */
  registersKnown: boolean;
  /** The frozen threads' registers and stack copies (heapTables places the values their frames keep). */
  frozen: ThreadRegisters[];
}

/** The entry point of the main executable as a root. */
export function entryRoot(space: AddressSpace): Root | undefined {
  const main = space.mainModule();
  if (!main) return undefined;
  const entry = main.elf.header.entry;
  if (!entry) return undefined;
  const sym = main.elf.symbolize(entry);
  return { address: entry + main.bias, reason: sym?.name === '_start' || !sym ? '_start (entry point)' : `entry point ${sym.name}` };
}

/**
 * The C runtime's call of `main`: `_start` passes main's address to __libc_start_main in rdi
 * (`lea rdi,[rip+main]` or `mov rdi, main`), which calls it through that pointer — an indirect call no
 * static walk can follow, so `main` is a root of its own.
 */
export function mainRoot(space: AddressSpace): Root | undefined {
  const m = space.mainModule();
  if (!m || !m.elf.header.entry) return undefined;
  const named = m.elf.findSymbol('main');
  if (named && named.value) return { address: named.value + m.bias, reason: 'main (called by __libc_start_main)' };
  const bytes = m.elf.tryReadVirtual(m.elf.header.entry, 64);
  if (!bytes) return undefined;
  let rdi: number | undefined;
  const d = new CodeDecoder();
  try {
    d.decodeLinear(bytes, m.elf.header.entry, (v) => {
      const mn = v.info.mnemonic;
      if ((mn === MNEMONIC.lea || mn === MNEMONIC.mov) && v.opFullRegister(0) === REGISTER_RDI) {
        const value = mn === MNEMONIC.lea ? v.absoluteMemoryAddress() : v.addressImmediate();
        if (value !== undefined) rdi = value;
      }
      if (v.info.flow === Flow.Call || v.info.flow === Flow.IndirectCall) return 'stop';
      return undefined;
    });
  } finally {
    d.free();
  }
  if (rdi === undefined) return undefined;
  // Position-independent code computes it rip-relative (link-time); a non-PIE one loads the absolute address.
  const address = m.elf.isRelocatable ? rdi + m.bias : rdi;
  const r = space.regionAt(address);
  return r?.exec ? { address, reason: 'main (called by __libc_start_main)' } : undefined;
}

/** Options of threadRoots. */
export interface ThreadRootsOptions {
  /**
   * Registers from a thread freeze (ptrace), or false to skip freezing (today's /proc view only). By default the
   * threads are frozen for milliseconds with the pygration-freeze helper (space/threadFreezer.ts).
   */
  freeze?: FreezeResult | false;
}

/**
 * Roots from the process's threads: each thread's exact pc and the return addresses of its live frames.
 * Every thread is frozen for milliseconds with ptrace (PTRACE_SEIZE + PTRACE_INTERRUPT, then detached) to read
 * rip/rsp/rbp; its live frames are unwound with .eh_frame CFI, and where unwinding stops early the stack above
 * the last known sp (the live frames only) is scanned for return addresses. Stale return addresses below sp, left
 * by calls that returned long ago, are thus never roots. When ptrace is not allowed, a thread blocked in the
 * kernel still has its pc and sp from /proc/PID/task/TID/syscall; for a running one neither is known, so every
 * stack-like region (the main stack and anonymous mappings below a guard page) is scanned instead.
 */
export function threadRoots(view: ProcessView, space: AddressSpace, options: ThreadRootsOptions = {}): PvmRootsResult {
  const threads = view.threads();
  const freeze = options.freeze === false || !space.liveMemory ? undefined : options.freeze ?? freezeThreads(view.pid);
  const c = new ThreadRootCollector(space);
  // greenlet (gevent, SQLAlchemy's asyncio bridge) switches C stacks: a suspended greenlet's frames stay in place
  // above the active one's (those below are copied to the heap, as greenlet must before the active one grows into
  // them), off the live chain the unwinder follows, and they resume when it is switched to.
  const greenlet = space.modules().find((m) => GREENLET_MODULE.test(m.path));
  const frozenStacks: { regs: ThreadRegisters; who: string }[] = [];
  const registerWords: PvmRootsResult['registerWords'] = [];
  for (const tid of threads) {
    const name = `thread ${tid}${tid === view.pid ? ' (main)' : ''}`;
    const regs = freeze?.threads.get(tid);
    if (regs) {
      c.frozenThread(regs, name);
      frozenStacks.push({ regs, who: name });
      const values: Array<[string, number | undefined]> = [['rbp', regs.rbp], ...(regs.registers ?? []).map((v, k): [string, number | undefined] => [GPR_NAMES[k], v])];
      for (const [reg, value] of values) if (value) registerWords.push({ value, what: `${reg} of ${name}`, holder: 'register' });
    } else {
      c.blockedThread(view, tid, name);
    }
  }
  let greenletScan = false;
  if (greenlet) {
    for (const { regs, who } of frozenStacks) {
      greenletScan = true;
      c.aboveSp(regs, `${who}, above its sp (greenlet is loaded: suspended greenlets keep frames there)`);
    }
  }
  if (c.running > 0) c.scanStackLikeRegions();
  return {
    roots: c.roots,
    threads: threads.length,
    runningThreads: c.running,
    returnAddresses: c.returnAddresses,
    frozenThreads: c.frozen,
    unwoundThreads: c.unwound,
    freezeUnavailable: freeze === undefined ? (options.freeze === false ? 'thread freezing was turned off' : 'there is no live memory') : freeze.unavailable,
    frozenUs: freeze?.frozenUs,
    greenletScan,
    registerWords,
    registersKnown: threads.length > 0 && frozenStacks.length === threads.length && frozenStacks.every((f) => f.regs.registers !== undefined),
    frozen: frozenStacks.map((f) => f.regs),
  };
}

/** The roots of threadRoots as they are found, thread by thread, each address once, with the counts it reports. */
class ThreadRootCollector {
  readonly roots: Root[] = [];
  returnAddresses = 0;
  running = 0;
  unwound = 0;
  frozen = 0;
  private readonly seen = new Set<number>();
  /** The stacks of the frozen and blocked threads, left out of the scan for running threads. */
  private readonly scannedRegions = new Set<Region>();

  constructor(private readonly space: AddressSpace) {}

  /** A frozen thread: its pc, the return addresses of its frames unwound with CFI, and, where unwinding stopped
   * early, those found above the last sp it reached. */
  frozenThread(regs: ThreadRegisters, name: string): void {
    const space = this.space;
    this.frozen++;
    this.addPc(regs.rip, `current pc of ${name} (read with ptrace)`);
    const stack = space.regionAt(regs.rsp);
    if (stack) this.scannedRegions.add(stack);
    const walk = unwindFrames(space, regs);
    for (const ra of walk.returns) this.addRoot(ra, `return address of a live frame of ${name} (unwound with .eh_frame)`);
    if (walk.complete) {
      this.unwound++;
    } else if (regs.stack && walk.sp >= regs.rsp && walk.sp - regs.rsp < regs.stack.length) {
      // Unwinding stopped early: the rest of the live frames lie above the last sp it reached (in the copy
      // taken while the thread was frozen, since a running thread's frames change as soon as it resumes).
      const off = walk.sp - regs.rsp;
      this.scanReturns(regs.stack.subarray(off - (off % 8)), `${name}, above its sp`);
    } else {
      const r = space.regionAt(walk.sp);
      if (r) this.addReturns(walk.sp, r.end, `${name}, above its sp`);
    }
  }

  /** A thread that was not frozen: when blocked in the kernel, its pc and the return addresses above its sp
   * (from /proc/PID/task/TID/syscall); when running, only counted. A thread that has exited is skipped. */
  blockedThread(view: ProcessView, tid: number, name: string): void {
    let state;
    try {
      state = view.threadSyscall(tid);
    } catch (e) {
      // A thread that exited between listing and reading is simply skipped.
      if (e instanceof NativeError && (e.kind === 'gone' || e.kind === 'io')) return;
      throw e;
    }
    if (state.state === 'running') {
      this.running++;
      return;
    }
    this.addPc(state.pc, `current pc of ${name}`);
    const stack = this.space.regionAt(state.sp);
    if (stack) {
      this.scannedRegions.add(stack);
      this.addReturns(state.sp, stack.end, name);
    }
  }

  /** Roots the return addresses of a frozen thread's whole stack above its sp (the copy, else live memory). */
  aboveSp(regs: ThreadRegisters, who: string): void {
    if (regs.stack) this.scanReturns(regs.stack, who);
    else {
      const r = this.space.regionAt(regs.rsp);
      if (r) this.addReturns(regs.rsp, r.end, who);
    }
  }

  /** For running threads (no pc or sp known): scans the top of every stack-like region not scanned yet (the
   * main stack and anonymous mappings below a guard page). */
  scanStackLikeRegions(): void {
    const regions = this.space.regions();
    for (let i = 0; i < regions.length; i++) {
      const r = regions[i];
      if (this.scannedRegions.has(r) || !r.read || !r.write || r.exec) continue;
      const guardBelow = i > 0 && regions[i - 1].end === r.start && !regions[i - 1].read && !regions[i - 1].write;
      if (r.kind === 'stack' || (r.kind === 'anon' && guardBelow && !r.module)) {
        // Scan the top of the region, where the oldest frames of a downward-growing stack live.
        this.addReturns(Math.max(r.start, r.end - STACK_SCAN_BYTES), r.end, `a running thread (${r.name})`);
      }
    }
  }

  /** A thread's current pc (not counted as a return address). */
  private addPc(pc: number, reason: string): void {
    if (this.seen.has(pc)) return;
    this.seen.add(pc);
    this.roots.push({ address: pc, reason, resume: true });
  }

  private addRoot(v: number, reason: string): void {
    if (this.seen.has(v)) return;
    this.seen.add(v);
    this.returnAddresses++;
    this.roots.push({ address: v, reason, resume: true });
  }

  private addReturns(from: number, to: number, who: string): void {
    if (!this.space.liveMemory || to <= from) return;
    const len = Math.min(to - from, STACK_SCAN_BYTES);
    const bytes = this.space.readMemory(from, len);
    if (bytes) this.scanReturns(bytes, who);
  }

  /** Roots every 8-byte value of `bytes` that is a code address just after a call instruction. */
  private scanReturns(bytes: Uint8Array, who: string): void {
    const space = this.space;
    for (let off = 0; off + 8 <= bytes.length; off += 8) {
      const v = u64(bytes, off);
      if (v < 0x10000 || this.seen.has(v)) continue;
      const r = space.regionAt(v);
      if (!r || !r.exec || r.kind === 'vdso') continue;
      if (!followsCall(space, r, v)) continue;
      this.addRoot(v, `return address on the stack of ${who}`);
    }
  }
}

/** The greenlet extension module (greenlet/_greenlet.cpython-*.so), whose stack switching keeps frames below sp. */
const GREENLET_MODULE = /\/greenlet\/_greenlet[^/]*\.so$/;

/** What unwindFrames tells of each frame it climbs: where it resumes, its CFI row, its CFA, and the stack reader. */
export type FrameVisitor = (pc: number, row: CfiRow, cfa: number, read: (address: number) => number | undefined) => void;

/** How far the CFI unwinder walks before giving up (a corrupt or cyclic chain). */
const MAX_FRAMES = 512;

/**
 * Unwinds a frozen thread's live frames with .eh_frame CFI from its registers and the copy of its stack taken
 * while it was frozen (live memory only when there is no copy). `returns` are the return addresses
 * of the callers, innermost first. `complete` is true when the walk reached the outermost frame (its return-address
 * rule is undefined, as in _start and the thread start of clone); otherwise `sp` is the last stack pointer known,
 * above which the remaining live frames lie.
 */
export function unwindFrames(space: AddressSpace, regs: ThreadRegisters, onFrame?: FrameVisitor): { returns: number[]; complete: boolean; sp: number } {
  const returns: number[] = [];
  const copy = regs.stack;
  const read = (a: number): number | undefined => {
    if (copy && a >= regs.rsp && a + 8 <= regs.rsp + copy.length) return u64(copy, a - regs.rsp);
    return copy ? undefined : space.readPointer(a);
  };
  let pc = regs.rip;
  let sp = regs.rsp;
  let bp = regs.rbp;
  for (let depth = 0; depth < MAX_FRAMES; depth++) {
    const region = space.regionAt(pc);
    const m = region?.module;
    if (!m || !region.exec) break;
    const table = cfiTableOf(m.elf);
    // A caller's pc is a return address: the call it made ends there, so look up the byte before.
    const row = table?.rowAt(pc - m.bias - (depth === 0 ? 0 : 1));
    if (!row || !row.cfa || row.signalFrame) break;
    let cfa: number;
    if (row.cfa.register === DWARF_RSP) cfa = sp + row.cfa.offset;
    else if (row.cfa.register === DWARF_RBP && bp !== undefined) cfa = bp + row.cfa.offset;
    else break;
    onFrame?.(pc, row, cfa, read);
    const ra = row.rules.get(DWARF_RA);
    if (ra?.kind === 'undefined') return { returns, complete: true, sp };
    if (ra?.kind !== 'offset') break;
    const retAddr = read(cfa + ra.offset);
    if (retAddr === undefined) break;
    if (retAddr === 0) return { returns, complete: true, sp };
    const rbpRule = row.rules.get(DWARF_RBP);
    let nextBp = bp;
    if (rbpRule?.kind === 'offset') nextBp = read(cfa + rbpRule.offset);
    else if (rbpRule?.kind === 'valOffset') nextBp = cfa + rbpRule.offset;
    else if (rbpRule && rbpRule.kind !== 'same') nextBp = undefined;
    // The chain must climb the stack, and every return address must follow a call, or the walk is not trusted.
    if (cfa <= sp) break;
    const target = space.regionAt(retAddr);
    if (!target || !target.exec || !followsCall(space, target, retAddr)) break;
    returns.push(retAddr);
    pc = retAddr;
    sp = cfa;
    bp = nextBp !== undefined && Number.isSafeInteger(nextBp) ? nextBp : undefined;
  }
  return { returns, complete: false, sp };
}

/** True when the bytes just before `address` decode to a call instruction ending exactly at it. */
function followsCall(space: AddressSpace, region: Region, address: number): boolean {
  const before = readBefore(space, region, address, 7);
  if (!before) return false;
  for (const len of [5, 6, 2, 3, 7, 4]) {
    if (len > before.length) continue;
    const bytes = before.subarray(before.length - len);
    const d = decodeOne(bytes, address - len);
    if (d && d.length === len && (d.info.flow === Flow.Call || d.info.flow === Flow.IndirectCall)) return true;
  }
  return false;
}

function readBefore(space: AddressSpace, region: Region, address: number, n: number): Uint8Array | undefined {
  const start = Math.max(region.start, address - n);
  const m = region.module;
  if (m) {
    const b = m.elf.tryReadVirtual(start - m.bias, address - start);
    if (b) return b;
  }
  return space.readMemory(start, address - start);
}

/**
 * Code pointers glibc keeps mangled (PTR_MANGLE) in live memory: exit handlers registered with atexit, on_exit or
 * __cxa_atexit (C++ static destructors, OpenSSL's OPENSSL_cleanup) and setjmp return points. They run at exit or
 * on longjmp, yet no plain pointer shows them, so they are roots of their own.
 */
export function mangledPointerRoots(space: AddressSpace): Root[] {
  if (!space.liveMemory) return [];
  // An exit handler is a function's entry and a setjmp return point a place where a frame resumes: either way,
  // what runs is what control reaches from there (Root.resume).
  return liveValuesOf(space).mangled.map((address) => ({ address, reason: 'a code pointer glibc keeps mangled in live memory (an exit handler or a setjmp return point)', resume: true }));
}

/** At most this many destructors are read from one module's .fini_array. */
const MAX_FINI_ENTRIES = 4096;

/**
 * Each loaded module's destructors: the functions of its DT_FINI_ARRAY (`__attribute__((destructor))`, static
 * destructors some compilers register there) and its DT_FINI. The dynamic linker's `_dl_fini` calls them at exit
 * through pointers it reads from its own link maps, an edge no walk follows and no pointer scan sees (the array
 * is named by the dynamic section only), so they are roots of their own. With live memory the relocated entries
 * are read from the process; at rest, through their relocations.
 */
export function destructorRoots(space: AddressSpace): Root[] {
  const roots: Root[] = [];
  const seen = new Set<number>();
  const add = (address: number | undefined, name: string, what: string) => {
    if (address === undefined || address === 0 || seen.has(address) || !space.regionAt(address)?.exec) return;
    seen.add(address);
    roots.push({ address, reason: `a destructor of ${name} (${what}): the dynamic linker runs it at exit` });
  };
  for (const m of space.modules()) {
    const name = m.path.split('/').pop() ?? m.path;
    let dyn: { tag: number; value: number }[];
    try {
      dyn = m.elf.dynamic().entries;
    } catch (e) {
      if (e instanceof NativeError) continue; // A module whose dynamic section cannot be read: analysed without.
      throw e;
    }
    const tag = (t: number) => dyn.find((e) => e.tag === t)?.value;
    let array = tag(C.DT_FINI_ARRAY);
    let size = tag(C.DT_FINI_ARRAYSZ) ?? 0;
    if (array === undefined) {
      // A static executable has no dynamic section: its .fini_array section is run by __libc_csu_fini/exit.
      const sec = m.elf.sections.find((s) => s.type === C.SHT_FINI_ARRAY);
      if (sec) {
        array = sec.addr;
        size = sec.size;
      }
    }
    if (array !== undefined) {
      const n = Math.min(Math.floor(size / 8), MAX_FINI_ENTRIES);
      for (let k = 0; k < n; k++) add(finiEntry(space, m, array + k * 8), name, '.fini_array');
    }
    const fini = tag(C.DT_FINI);
    if (fini) add(fini + m.bias, name, 'DT_FINI');
  }
  return roots;
}

/** A .fini_array entry at link-time `slot` of `m`: its live value, else its relocation's, else the stored word. */
function finiEntry(space: AddressSpace, m: ModuleImage, slot: number): number | undefined {
  const v = (space.liveMemory ? space.readPointer(slot + m.bias) : undefined) ?? staticPointer(space, m, slot);
  // 0 and -1 are the terminators of the older .dtors lists; never code.
  return v === undefined || v === 0 || v >= Number.MAX_SAFE_INTEGER ? undefined : v;
}
