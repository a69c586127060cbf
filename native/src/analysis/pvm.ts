// Roots for tracking the Python virtual machine (PVM) in a live process: the executable's entry point
// (`_start`, as in the paper), plus what resumes after a restore — every thread's current pc and the
// return addresses on its stack. Threads started through function pointers (OpenBLAS workers) are found
// this way even though no call edge leads to them.

import { CodeDecoder, decodeOne, Flow, MNEMONIC, REGISTER_RDI } from '../decoder/decoder';
import { NativeError } from '../errors';
import type { ProcessView } from '../process/processView';
import type { Root } from './ept';
import type { AddressSpace, Region } from './space';
import { u64 } from './space';

/** How far up a thread's stack we look for return addresses. */
const STACK_SCAN_BYTES = 512 * 1024;

export interface PvmRootsResult {
  roots: Root[];
  threads: number;
  /** Threads whose registers /proc did not report (running at the time): their whole stack was scanned. */
  runningThreads: number;
  returnAddresses: number;
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
  const address = m.elf.isPie || m.elf.header.type === 3 /* ET_DYN */ ? rdi + m.bias : rdi;
  const r = space.regionAt(address);
  return r?.exec ? { address, reason: 'main (called by __libc_start_main)' } : undefined;
}

/**
 * Roots from the process's threads: each thread's pc (when blocked in the kernel, /proc reports it) and
 * the return addresses found on its stack. For threads reported as running we cannot know sp, so every
 * stack-like region (the main stack and anonymous mappings below a guard page) is scanned instead.
 */
export function threadRoots(view: ProcessView, space: AddressSpace): PvmRootsResult {
  const roots: Root[] = [];
  const seen = new Set<number>();
  let returnAddresses = 0;
  let running = 0;
  const threads = view.threads();
  const scannedRegions = new Set<Region>();

  const addReturns = (from: number, to: number, who: string) => {
    if (!space.liveMemory || to <= from) return;
    const len = Math.min(to - from, STACK_SCAN_BYTES);
    const bytes = space.readMemory(from, len);
    if (!bytes) return;
    for (let off = 0; off + 8 <= bytes.length; off += 8) {
      const v = u64(bytes, off);
      if (v < 0x10000 || seen.has(v)) continue;
      const r = space.regionAt(v);
      if (!r || !r.exec || r.kind === 'vdso') continue;
      if (!followsCall(space, r, v)) continue;
      seen.add(v);
      returnAddresses++;
      roots.push({ address: v, reason: `return address on the stack of ${who}` });
    }
  };

  for (const tid of threads) {
    let state;
    try {
      state = view.threadSyscall(tid);
    } catch (e) {
      // A thread that exited between listing and reading is simply skipped.
      if (e instanceof NativeError && (e.kind === 'gone' || e.kind === 'io')) continue;
      throw e;
    }
    const name = `thread ${tid}${tid === view.pid ? ' (main)' : ''}`;
    if (state.state === 'running') {
      running++;
      continue;
    }
    if (!seen.has(state.pc)) {
      seen.add(state.pc);
      roots.push({ address: state.pc, reason: `current pc of ${name}` });
    }
    const stack = space.regionAt(state.sp);
    if (stack) {
      scannedRegions.add(stack);
      addReturns(state.sp, stack.end, name);
    }
  }

  if (running > 0) {
    const regions = space.regions();
    for (let i = 0; i < regions.length; i++) {
      const r = regions[i];
      if (scannedRegions.has(r) || !r.read || !r.write || r.exec) continue;
      const guardBelow = i > 0 && regions[i - 1].end === r.start && !regions[i - 1].read && !regions[i - 1].write;
      if (r.kind === 'stack' || (r.kind === 'anon' && guardBelow && !r.module)) {
        // Scan the top of the region, where the oldest frames of a downward-growing stack live.
        addReturns(Math.max(r.start, r.end - STACK_SCAN_BYTES), r.end, `a running thread (${r.name})`);
      }
    }
  }
  return { roots, threads: threads.length, runningThreads: running, returnAddresses };
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
