// Execution path tracking (paper Algorithm 2, extended): a breadth-first walk over the functions reachable
// from a set of roots in an address space, collecting the CPU features of every instruction on the way.
// Edges: direct calls/jumps, PLT stubs through the live GOT, bypass-PLT `call [rip+X]`, data slots and
// two-step dispatch tables read from live memory. In the default sound mode, unresolved indirect branches
// make every address-taken function of the modules entered a root (module-local RTA, see below).

import * as path from 'node:path';
import type { Feature } from '../features/vocabulary';
import * as C from '../elf/elfConstants';
import type { ElfFile, PltStub } from '../elf/elfFile';
import { NativeError } from '../errors';
import type { CallSiteStats } from '../report';
import { CodeBuffer } from '../decoder/decoder';
import { Summarizer, type Chain, type FunctionSummary, SITES_PER_FEATURE } from './summary';
import {
  type AddressSpace,
  type ModuleImage,
  type Region,
  dataObjectExtent,
  isGotSlot,
  isInPlt,
  lazyPltRange,
  lowestReferenceReaching,
  moduleFacts,
  u64,
} from './space';

export type EptMode = 'ept' | 'ept-plain';

export interface Root {
  address: number;
  /** Why this is a root: `_start`, `thread 1234 pc`, `return address`, `numpy.dot → PyArray_...`. */
  reason: string;
}

export interface EptOptions {
  /** 'ept' (default): sound for unresolved indirect calls; 'ept-plain': the paper's plain EPT. */
  mode?: EptMode;
  /**
   * In 'ept' mode, add the address-taken functions of the modules entered as roots when a call cannot be
   * resolved (default true). False keeps live-memory resolution but follows only resolved edges: what
   * per-call-site attribution wants (the report says how many calls were not followed).
   */
  addressTaken?: boolean;
  /** Polled between functions and inside long data loops; return true to stop (the result is then marked cancelled). */
  isCancelled?: () => boolean;
  /** Called about every 100 ms with the number of functions visited so far. */
  onProgress?: (functionsVisited: number) => void;
  /** Keep the list of visited function extents (for cross-checks); off by default. */
  recordVisited?: boolean;
  /**
   * The process runs with LD_BIND_NOW=1 (every GOT slot bound at start-up, dlopen too): the dynamic
   * linker's lazy-binding trampolines (_dl_runtime_resolve_xsave/xsavec), whose address its relocation
   * code takes, can never run, so they are not counted.
   */
  bindNow?: boolean;
}

export interface Site {
  address: number;
  module: string;
  /** The module's bias, so a consumer can map back to link-time addresses. */
  bias: number;
}

export interface FeatureEvidence {
  count: number;
  sites: Site[];
  /** Instruction count per module path. */
  modules: Map<string, number>;
  /** The root (its reason) from which the walk first reached an instruction needing the feature. */
  root?: string;
  /** Set when the feature is counted for a reason other than an instruction on a resolved path. */
  reason?: string;
}

export interface UnresolvedCall {
  address: number;
  module: string;
  kind: 'call' | 'jmp';
}

export interface VisitedFunction {
  module: string;
  start: number;
  end: number;
  method: 'extent' | 'descent';
  /** Why the walk reached this function (the edge kind and where it came from). */
  reason: string;
}

export interface EptResult {
  features: Map<Feature, FeatureEvidence>;
  functionsVisited: number;
  instructionsDecoded: number;
  modulesVisited: Set<string>;
  callSites: CallSiteStats;
  /** A bounded sample of unresolved indirect call/jump sites. */
  unresolvedSample: UnresolvedCall[];
  /** GOT slots found unbound (lazy binding) and resolved by the dynamic linker's search order instead. */
  lazySlots: number;
  /** Roots added because their address is taken (sound mode only). */
  addressTakenRoots: number;
  notes: string[];
  cancelled: boolean;
  visited?: VisitedFunction[];
}

/** Summaries are pure functions of the file bytes: cache them per (file identity, function start). */
const summaryCache = new Map<string, Map<number, FunctionSummary>>();
const SUMMARY_CACHE_FILES = 256;

/**
 * A second level of the summary cache (summaryStore.ts keeps one on disk): asked for a file's summaries the
 * first time this process walks the file.
 */
export interface SummaryStore {
  load(identity: string, file: string): Map<number, FunctionSummary> | undefined;
}

let summaryStore: SummaryStore | undefined;

/** Sets (or, with undefined, removes) the second level of the summary cache. */
export function setSummaryStore(store: SummaryStore | undefined): void {
  summaryStore = store;
}

/** The summaries this process holds for a file identity (a store saves them), or undefined. */
export function cachedSummariesOf(identity: string): ReadonlyMap<number, FunctionSummary> | undefined {
  return summaryCache.get(identity);
}

function cachedSummaries(identity: string, file: string): Map<number, FunctionSummary> {
  let m = summaryCache.get(identity);
  if (!m) {
    if (summaryCache.size >= SUMMARY_CACHE_FILES) summaryCache.delete(summaryCache.keys().next().value as string);
    let stored: Map<number, FunctionSummary> | undefined;
    try {
      stored = summaryStore?.load(identity, file);
    } catch {
      stored = undefined;
    }
    summaryCache.set(identity, (m = stored ?? new Map()));
  }
  return m;
}

/** Drops cached function summaries (for benchmarks that measure cold runs). */
export function clearSummaryCache(): void {
  summaryCache.clear();
}

const UNRESOLVED_SAMPLE = 200;
/** Modules with at most this much code are read whole (one read, one decoder); bigger ones per function. */
const MAX_MODULE_CODE = 16 * 1024 * 1024;
/** Data regions up to this size are read once and served from memory. */
const MAX_REGION_CACHE = 8 * 1024 * 1024;
/** Modules whose data sections span more than this keep no map of the data slots already scanned. */
const MAX_SLOT_MAP_SPAN = 512 * 1024 * 1024;
/** Functions of a module's static initializers (and their callees in the module) read for pointers, at most. */
const MAX_INIT_FUNCTIONS = 20000;
/**
 * Bytes of one data object or initializer array read for pointers, at most (sizes are already bounded by
 * their sections and segments in the ELF reader; this bounds what a crafted segment size could still ask).
 */
const MAX_DATA_SCAN = 64 * 1024 * 1024;
/** Slots read between two polls of isCancelled in the data loops. */
const POLL_SLOTS = 1 << 16;

/** Thrown inside the walk when isCancelled answers true in a long loop; run() turns it into `cancelled`. */
class WalkCancelled extends Error {}

/**
 * Runs execution path tracking over `space` from `roots`. Never throws for a single bad function or
 * unreadable page: those are counted and reported in notes.
 */
export function executionPathTracking(space: AddressSpace, roots: readonly Root[], options: EptOptions = {}): EptResult {
  return new Walker(space, options).run(roots);
}

/**
 * executionPathTracking that yields to the event loop about every `sliceMs` of work, so that a server
 * answers requests ($/cancelRequest) and a CLI sees Ctrl-C while a long walk runs.
 */
export function executionPathTrackingAsync(space: AddressSpace, roots: readonly Root[], options: EptOptions = {}, sliceMs = 50): Promise<EptResult> {
  return new Walker(space, options).runAsync(roots, sliceMs);
}

class Walker {
  private readonly mode: EptMode;
  /** Module-local RTA for unresolved calls (sound mode). */
  private readonly rta: boolean;
  private readonly summarizer = new Summarizer();
  private readonly queue: Array<{ address: number; reason: string; root: string }> = [];
  /**
   * Work reached only through the address-taken rule waits here until the explicit roots' closure is done,
   * so features are attributed to the explicit root that really leads to them whenever there is one.
   */
  private readonly rtaQueue: Array<{ address: number; reason: string; root: string }> = [];
  private rtaHead = 0;
  private inRta = false;
  /** The root the function being visited was reached from (its reason), for feature attribution. */
  private currentRoot = '';
  private head = 0;
  private readonly enqueued = new Set<number>();
  /** Visited functions (link-time starts) and PLT stubs per module index; anonymous code by address. */
  private readonly visitedFunctions: Array<Set<number> | undefined> = [];
  private readonly visitedStubs: Array<Set<number> | undefined> = [];
  private readonly visitedAnon = new Set<number>();
  private readonly features = new Map<Feature, FeatureEvidence>();
  private readonly stats: CallSiteStats = { direct: 0, plt: 0, memorySlot: 0, dispatchTable: 0, unresolved: 0 };
  private readonly unresolvedSample: UnresolvedCall[] = [];
  private readonly modulesVisited = new Set<string>();
  private readonly notes: string[] = [];
  private readonly visited: VisitedFunction[] = [];
  private functionsVisited = 0;
  private instructions = 0;
  private lazySlots = 0;
  private lazyTrampolineAdded = false;
  private ifuncFallbacks = 0;
  private hostIfuncChoices = 0;
  private unmappedTargets = 0;
  private vdsoSkipped = 0;
  private unreadable = 0;
  private trampolinesSkipped = 0;

  // Sound mode: address-taken code and the static data graph.
  private unresolvedSeen = false;
  private readonly taken = new Set<number>();
  private readonly takenRooted = new Set<number>();
  /** Data objects scanned, by link-time start, per module index. */
  private readonly dataVisited: Array<Set<number> | undefined> = [];
  /**
   * Per module index: the 8-byte data slots already read for code pointers (one byte per slot of the span
   * of its data sections). Objects overlap (a stripped module's unsized objects are windows from each
   * referenced address), and taking a pointer twice changes nothing, so each slot is read once.
   */
  private readonly slotsScanned: Array<{ base: number; seen: Uint8Array } | null | undefined> = [];
  /**
   * References already handled, per module index of the referencing code: the outcome of a reference
   * depends only on its address, whether it is a memory operand, and the module it comes from.
   */
  private readonly refsSeen: Array<Set<number> | undefined> = [];
  private readonly memRefsSeen: Array<Set<number> | undefined> = [];
  /** Per module index: whether it is the dynamic linker (whose xsave trampolines LD_BIND_NOW rules out). */
  private readonly isLinker: Array<boolean | undefined> = [];
  private readonly enteredModules = new Set<number>();
  /** Per module: its executable segment read once (small modules only), decoded range by range. */
  private readonly codeBuffers = new Map<number, CodeBuffer | undefined>();
  /** Live bytes of data regions read once (by region start). */
  private readonly regionCache = new Map<number, Uint8Array | undefined>();
  private addressTakenRoots = 0;
  /** Data tables a selector function referenced but did not choose (see unchosenTables). */
  private tablesNotChosen = 0;
  /** Initialisers not taken because their pthread_once control is done (see completedOnceInits). */
  private onceInitsSkipped = 0;
  /** Run-time-written pointers left out because nothing can address their variable (see liveCensus). */
  private unaddressedSkipped = 0;

  constructor(
    private readonly space: AddressSpace,
    private readonly options: EptOptions,
  ) {
    this.mode = options.mode ?? 'ept';
    this.rta = this.mode === 'ept' && options.addressTaken !== false;
  }

  run(roots: readonly Root[]): EptResult {
    let cancelled = false;
    try {
      this.seed(roots);
      cancelled = this.drain(Infinity) === 'cancelled';
    } finally {
      this.free();
    }
    return this.result(cancelled);
  }

  /** run() in slices of about `sliceMs`, yielding to the event loop between them (requests, signals). */
  async runAsync(roots: readonly Root[], sliceMs: number): Promise<EptResult> {
    let cancelled = false;
    try {
      this.seed(roots);
      for (;;) {
        const r = this.drain(Date.now() + sliceMs);
        if (r !== 'more') {
          cancelled = r === 'cancelled';
          break;
        }
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.free();
    }
    return this.result(cancelled);
  }

  private seed(roots: readonly Root[]): void {
    for (const r of roots) {
      this.currentRoot = r.reason;
      this.enqueue(r.address, r.reason);
    }
  }

  private lastProgress = Date.now();

  /** Visits queued functions until none is left, the walk is cancelled, or `deadline` (ms) has passed. */
  private drain(deadline: number): 'done' | 'cancelled' | 'more' {
    for (;;) {
      let item: { address: number; reason: string; root: string };
      if (this.head < this.queue.length) {
        item = this.queue[this.head++];
        this.inRta = false;
      } else if (this.rtaHead < this.rtaQueue.length) {
        item = this.rtaQueue[this.rtaHead++];
        this.inRta = true;
      } else return 'done';
      this.currentRoot = item.root;
      try {
        this.visit(item.address, item.reason);
      } catch (e) {
        if (!(e instanceof WalkCancelled)) throw e;
        return 'cancelled';
      }
      if ((this.functionsVisited & 63) === 0) {
        if (this.options.isCancelled?.()) return 'cancelled';
        const now = Date.now();
        if (this.options.onProgress && now - this.lastProgress > 100) {
          this.lastProgress = now;
          this.options.onProgress(this.functionsVisited);
        }
        if (now >= deadline) return 'more';
      }
    }
  }

  private free(): void {
    this.summarizer.free();
    for (const c of this.codeBuffers.values()) c?.free();
  }

  private result(cancelled: boolean): EptResult {
    this.finishNotes();
    return {
      features: this.features,
      functionsVisited: this.functionsVisited,
      instructionsDecoded: this.instructions,
      modulesVisited: this.modulesVisited,
      callSites: this.stats,
      unresolvedSample: this.unresolvedSample,
      lazySlots: this.lazySlots,
      addressTakenRoots: this.addressTakenRoots,
      notes: this.notes,
      cancelled,
      visited: this.options.recordVisited ? this.visited : undefined,
    };
  }

  private enqueue(address: number, reason: string): void {
    // The same target is reached from many call sites: queue it once.
    if (this.enqueued.has(address)) return;
    this.enqueued.add(address);
    (this.inRta ? this.rtaQueue : this.queue).push({ address, reason, root: this.currentRoot });
  }

  // ------------------------------------------------------------------ visiting code

  private currentReason = '';

  private visit(address: number, reason: string): void {
    this.currentReason = reason;
    const region = this.space.regionAt(address);
    if (!region || !region.exec) {
      this.unmappedTargets++;
      return;
    }
    if (region.kind === 'vdso' || region.kind === 'vsyscall') {
      // CRIU restores the process with the target kernel's vDSO: its instructions are never requirements.
      this.vdsoSkipped++;
      return;
    }
    const m = region.module;
    if (!m) {
      this.visitAnonymous(address, region);
      return;
    }
    const link = address - m.bias;
    if (isInPlt(m.elf, link)) {
      this.visitPltStub(m, link, reason);
      return;
    }
    const extent = m.elf.functionAt(link);
    const start = extent ? extent.start : link;
    const units = (this.visitedFunctions[m.index] ??= new Set());
    if (units.has(start)) return;
    units.add(start);

    const summary = this.summaryOf(m, link, extent);
    if (!summary) return;
    if (this.options.bindNow && savesExtendedState(summary) && reason.startsWith('address taken') && this.moduleIsLinker(m)) {
      this.trampolinesSkipped++;
      return;
    }
    this.apply(summary, m, region);
  }

  /** The summary of the function of `m` at link-time `link` (cached per file); undefined when unreadable. */
  private summaryOf(m: ModuleImage, link: number, extent = m.elf.functionAt(link)): FunctionSummary | undefined {
    const start = extent ? extent.start : link;
    const cache = cachedSummaries(m.identity, m.path);
    let summary = cache.get(start);
    if (summary) return summary;
    try {
      if (extent) {
        const code = this.moduleCode(m);
        summary =
          code && code.contains(extent.start, extent.end)
            ? this.summarizer.summarizeExtent(code, extent.start, extent.end)
            : this.summarizer.summarizeExtent(m.elf.readVirtual(extent.start, extent.end - extent.start), extent.start, extent.end);
      } else {
        summary = this.summarizer.summarizeDescent((a, n) => m.elf.tryReadVirtual(a, n), link);
      }
    } catch (e) {
      if (e instanceof NativeError) {
        this.unreadable++;
        return undefined;
      }
      throw e;
    }
    cache.set(start, summary);
    return summary;
  }

  private visitAnonymous(address: number, region: Region): void {
    if (this.visitedAnon.has(address)) return;
    this.visitedAnon.add(address);
    const summary = this.summarizer.summarizeDescent((a, n) => {
      if (a < region.start || a + n > region.end) {
        if (a >= region.end || a < region.start) return undefined;
        n = region.end - a;
      }
      return this.space.readMemory(a, n);
    }, address);
    this.apply(summary, undefined, region);
  }

  /** A call landed on a PLT stub: follow its GOT slot. */
  private visitPltStub(m: ModuleImage, link: number, reason: string): void {
    const stubs = (this.visitedStubs[m.index] ??= new Set());
    if (stubs.has(link)) return;
    stubs.add(link);
    const stub = m.elf.pltStubAt(link);
    if (!stub) {
      // PLT0 or an IBT lazy entry: only reached during lazy binding, handled by the trampoline rule.
      return;
    }
    const targets = this.resolveGotSlot(m, stub.gotSlot, stub);
    for (const t of targets) this.enqueue(t, `${reason} → ${stub.symbol ?? 'plt'}`);
  }

  private apply(s: FunctionSummary, m: ModuleImage | undefined, region: Region): void {
    this.functionsVisited++;
    this.instructions += s.instructions;
    const bias = m?.bias ?? 0;
    const moduleName = m?.path ?? region.name;
    if (m) this.enterModule(m);
    this.modulesVisited.add(moduleName);
    if (this.options.recordVisited) {
      this.visited.push({ module: moduleName, start: s.start + bias, end: s.end + bias, method: s.method, reason: this.currentReason });
    }
    // Edges found in this function name it as their origin (only when recording, to keep the hot path lean).
    const from = this.options.recordVisited ? `${moduleName.split('/').pop()}:0x${s.start.toString(16)}` : '';

    for (const [f, hits] of s.features) {
      let ev = this.features.get(f);
      if (!ev) this.features.set(f, (ev = { count: 0, sites: [], modules: new Map(), root: this.currentRoot }));
      ev.count += hits.count;
      ev.modules.set(moduleName, (ev.modules.get(moduleName) ?? 0) + hits.count);
      for (const site of hits.sites) if (ev.sites.length < SITES_PER_FEATURE * 2) ev.sites.push({ address: site + bias, module: moduleName, bias });
    }

    for (const t of s.calls) this.directEdge(t + bias, from && `call from ${from}`);
    for (const t of s.jumpsOut) this.directEdge(t + bias, from && `jump from ${from}`);
    for (const c of s.chains) this.chainEdge(c, m, bias, moduleName);
    for (const u of s.unresolved) this.unresolvedEdge(u.site + bias, moduleName, u.kind);

    if (this.rta) this.referenceAll(s, m, bias, from);
  }

  /** The address references of a function's summary, minus the tables it did not choose (unchosenTables). */
  private referenceAll(s: FunctionSummary, m: ModuleImage | undefined, bias: number, from: string): void {
    const isPieOrAnon = !m || m.elf.isPie || m.elf.header.type === C.ET_DYN;
    const addresses: number[] = [];
    for (const ref of s.refs) {
      // Immediates are addresses only in position-dependent code.
      addresses.push(ref.kind === 'imm' && isPieOrAnon ? -1 : ref.kind === 'imm' ? ref.address : ref.address + bias);
    }
    const skip = m ? this.unchosenTables(s, m, addresses) : undefined;
    const done = m && s.addressArgCalls ? this.completedOnceInits(s, m) : undefined;
    for (let i = 0; i < s.refs.length; i++) {
      if (addresses[i] < 0 || skip?.has(addresses[i]) || done?.has(i)) continue;
      const ref = s.refs[i];
      if (ref.word) this.referenceWord(addresses[i], m, from);
      else this.reference(addresses[i], ref.kind, m, from);
    }
    // A completed initialiser is no possible target, but what it produced (stored on the heap) still is.
    if (m && done) {
      const inits = [...done].map((i) => addresses[i] - m.bias).filter((link) => this.space.regionAt(link + m.bias)?.module === m);
      if (inits.length) this.takeProducedBy(m, inits, from && `a completed pthread_once initialiser (via ${from})`, true);
    }
  }

  /**
   * A CPU-dispatch selector: a function that runs cpuid or xgetbv, references a family of same-sized data
   * objects of its module (at least two) and a variable whose live value points to some of them has chosen
   * those (OpenBLAS's gotoblas_dynamic_init picks one of ~40 per-CPU kernel tables by CPUID and stores it in
   * `gotoblas`; it runs again only while `gotoblas` is unset). The others are never used by this process,
   * even after a restore on another CPU, so their contents are not taken through this function (another
   * function that references them without choosing still takes them). Returns the absolute reference
   * addresses to skip.
   */
  private unchosenTables(s: FunctionSummary, m: ModuleImage, addresses: number[]): Set<number> | undefined {
    // Only a choice made by the CPU is final (a mode switch chosen by input could choose again after a
    // restore): the function itself runs cpuid or xgetbv, or reads libgcc's CPU model that
    // __builtin_cpu_supports/__builtin_cpu_is test (a caller of such a function may choose by input).
    if (!this.space.liveMemory || s.refs.length < 3) return undefined;
    if (!s.probesCpu && !this.readsCpuModel(s, m)) return undefined;
    // Data objects of m the function names (by address, or through a GOT slot), grouped by size; and the
    // live contents of the variables it reads or writes (a GOT slot stands for its variable).
    const families = new Map<number, { start: number; end: number; refs: number[] }[]>();
    const values: number[] = [];
    const word = (a: number): number | undefined => {
      const b = this.liveBytes(a, 8);
      return b && b.length === 8 ? u64(b) : undefined;
    };
    const member = (link: number, ref: number) => {
      const obj = dataObjectExtent(m.elf, link);
      if (!obj || obj.end - obj.start < 16) return;
      const size = obj.end - obj.start;
      const list = families.get(size) ?? [];
      const o = list.find((x) => x.start === obj.start);
      if (o) o.refs.push(ref);
      else list.push({ start: obj.start, end: obj.end, refs: [ref] });
      families.set(size, list);
    };
    for (let i = 0; i < s.refs.length; i++) {
      const a = addresses[i];
      if (a < 0) continue;
      const r = this.space.regionAt(a);
      if (!r || r.module !== m || r.exec) continue;
      if (s.refs[i].kind !== 'mem') {
        member(a - m.bias, a);
        continue;
      }
      if (isGotSlot(m.elf, down8(a) - m.bias)) {
        const x = word(down8(a));
        const t = x === undefined ? undefined : this.space.regionAt(x);
        if (x === undefined || t?.module !== m || t.exec) continue;
        member(x - m.bias, a);
        const content = word(down8(x));
        if (content !== undefined) values.push(content);
      } else {
        const content = word(down8(a));
        if (content !== undefined) values.push(content);
      }
    }
    if (!values.length) return undefined;
    let skip: Set<number> | undefined;
    for (const list of families.values()) {
      if (list.length < 2) continue;
      const chosen = list.filter((o) => values.some((v) => v >= o.start + m.bias && v < o.end + m.bias));
      if (chosen.length === 0 || chosen.length === list.length) continue;
      skip ??= new Set();
      for (const o of list) if (!chosen.includes(o)) for (const a of o.refs) skip.add(a);
      this.tablesNotChosen += list.length - chosen.length;
    }
    return skip;
  }

  /** Per module index: the link-time addresses of libgcc's CPU model variables, or of GOT slots naming them. */
  private readonly cpuModelAddresses: Array<Set<number> | undefined> = [];

  /** True when the function reads `__cpu_model`/`__cpu_features2` (directly or through its GOT slot). */
  private readsCpuModel(s: FunctionSummary, m: ModuleImage): boolean {
    let addrs = this.cpuModelAddresses[m.index];
    if (!addrs) {
      addrs = new Set();
      for (const name of CPU_MODEL_SYMBOLS) {
        const sym = m.elf.lookupSymbol(name) ?? m.elf.findSymbol(name);
        if (sym?.defined) for (let a = sym.value; a < sym.value + Math.max(sym.size, 8); a++) addrs.add(a);
      }
      for (const r of m.elf.relocations()) if (r.symbol && CPU_MODEL_SYMBOLS.includes(r.symbol.name) && isGotSlot(m.elf, r.offset)) addrs.add(r.offset);
      this.cpuModelAddresses[m.index] = addrs;
    }
    if (addrs.size === 0) return false;
    // Immediates are addresses only in position-dependent code.
    const pic = m.elf.isPie || m.elf.header.type === C.ET_DYN;
    return s.refs.some((r) => (r.kind !== 'imm' || !pic) && addrs.has(r.address));
  }

  /**
   * `pthread_once(&once, init)` (or a wrapper named in ONCE_FUNCTIONS) whose `once` control is already done
   * never calls `init` again, in this process or after a restore (the control is part of its memory). The
   * `lea` that produced `init` for such a call is then no address-taken reference (OpenSSL's RUN_ONCE
   * initialisers, which would otherwise root most of libcrypto). Returns the indices in `s.refs` to skip.
   */
  private completedOnceInits(s: FunctionSummary, m: ModuleImage): Set<number> | undefined {
    if (!this.space.liveMemory) return undefined;
    let out: Set<number> | undefined;
    const pic = m.elf.isPie || m.elf.header.type === C.ET_DYN;
    for (const c of s.addressArgCalls ?? []) {
      if (!ONCE_FUNCTIONS.has(this.calleeName(m, c.target) ?? '')) continue;
      const control = this.liveBytes(c.arg0 + (pic ? m.bias : 0), 4);
      // glibc's pthread_once_t: bit 1 (__PTHREAD_ONCE_DONE) is set once the initialiser has returned.
      if (!control || control.length < 4 || (control[0] & 2) === 0) continue;
      (out ??= new Set()).add(c.ref);
      this.onceInitsSkipped++;
    }
    return out;
  }

  /** The name of a direct call's target (link-time, in `m`): the PLT stub's symbol or the function's own. */
  private calleeName(m: ModuleImage, link: number): string | undefined {
    if (isInPlt(m.elf, link)) return m.elf.pltStubAt(link)?.symbol;
    const sym = m.elf.symbolize(link);
    return sym && sym.offset === 0 ? sym.name.replace(/@.*$/, '') : undefined;
  }

  private directEdge(target: number, why: string): void {
    // Count a direct call to a PLT stub as a PLT call site, others as direct.
    const r = this.space.regionAt(target);
    if (r?.module && isInPlt(r.module.elf, target - r.module.bias)) this.stats.plt++;
    else this.stats.direct++;
    this.enqueue(target, why);
  }

  private unresolvedEdge(address: number, module: string, kind: 'call' | 'jmp'): void {
    this.stats.unresolved++;
    if (this.unresolvedSample.length < UNRESOLVED_SAMPLE) this.unresolvedSample.push({ address, module, kind });
    if (this.rta && !this.unresolvedSeen) {
      this.unresolvedSeen = true;
      for (const t of this.taken) this.rootTaken(t);
    }
  }

  // ------------------------------------------------------------------ memory-resolved edges

  private chainEdge(c: Chain, m: ModuleImage | undefined, bias: number, moduleName: string): void {
    const base = c.base + bias;
    if (c.derefs.length === 0) {
      // `lea rax,[rip+F] ; call rax`: a direct target in disguise.
      this.stats.direct++;
      this.enqueue(base, 'register call');
      return;
    }
    // The first step reads a slot of this module; if it is a GOT slot with a relocation, it is the
    // bypass-PLT form (paper: traceable); plain mode stops there.
    const slotModule = this.moduleAt(base);
    const reloc = slotModule ? slotModule.elf.relocationAt(base - slotModule.bias) : undefined;
    const isGot = reloc !== undefined && (reloc.type === C.R_X86_64_GLOB_DAT || reloc.type === C.R_X86_64_JUMP_SLOT);
    if (c.derefs.length === 1 && c.derefs[0] === 0 && isGot && slotModule) {
      const targets = this.resolveGotSlot(slotModule, base - slotModule.bias, undefined);
      if (targets.length === 0) {
        this.unresolvedEdge(c.site + bias, moduleName, c.kind);
        return;
      }
      this.stats.memorySlot++;
      for (const t of targets) this.enqueue(t, `slot ${reloc?.symbol?.name ?? ''}`);
      return;
    }
    if (this.mode === 'ept-plain' || !this.space.liveMemory) {
      this.unresolvedEdge(c.site + bias, moduleName, c.kind);
      return;
    }
    let v: number | undefined = base;
    for (const d of c.derefs) {
      v = this.space.readPointer(v + d);
      if (v === undefined || v === 0) break;
    }
    const r = v ? this.space.regionAt(v) : undefined;
    if (!v || !r || !r.exec) {
      this.unresolvedEdge(c.site + bias, moduleName, c.kind);
      return;
    }
    if (c.derefs.length === 1) this.stats.memorySlot++;
    else this.stats.dispatchTable++;
    this.enqueue(v, 'live memory');
    void m;
  }

  /**
   * The target(s) of a GOT slot (link-time address in `m`): the live value when the slot is bound; when it
   * is not (lazy binding, or no live memory), the symbol resolved by the dynamic linker's search order,
   * with every variant of an IFUNC.
   */
  private resolveGotSlot(m: ModuleImage, slotLink: number, stub: PltStub | undefined): number[] {
    const slot = slotLink + m.bias;
    const reloc = m.elf.relocationAt(slotLink);
    const live = this.space.liveMemory ? this.space.readPointer(slot) : undefined;
    if (live !== undefined && live !== 0) {
      const lazy = lazyPltRange(m.elf);
      const pointsBack = lazy !== undefined && live - m.bias >= lazy.start && live - m.bias < lazy.end;
      if (!pointsBack) return [live];
      this.lazySlots++;
      this.addLazyTrampoline(m);
    }
    if (!reloc) return [];
    if (reloc.type === C.R_X86_64_IRELATIVE) {
      // A local IFUNC (resolved at load time even under lazy binding): without a live value, every variant.
      return this.ifuncVariants(m, reloc.addend);
    }
    const name = reloc.symbol?.name ?? stub?.symbol;
    if (!name) return [];
    return this.resolveSymbol(name, reloc.symbol?.version?.name);
  }

  /** Resolves a symbol by the dynamic linker's search order (main executable, then load order). */
  private resolveSymbol(name: string, version: string | undefined): number[] {
    for (const mod of this.space.modules()) {
      const sym = (version ? mod.elf.lookupSymbol(`${name}@${version}`) : undefined) ?? mod.elf.lookupSymbol(name);
      if (!sym || !sym.defined) continue;
      if (sym.type === C.STT_GNU_IFUNC) return this.ifuncVariants(mod, sym.value);
      return [sym.value + mod.bias];
    }
    return [];
  }

  /** Every function an IFUNC resolver can return: the code addresses it takes (lea/mov imm). */
  private ifuncVariants(m: ModuleImage, resolverLink: number): number[] {
    const chosen = this.space.ifuncChoice?.(m, resolverLink);
    if (chosen !== undefined) {
      this.hostIfuncChoices++;
      return [chosen + m.bias];
    }
    this.ifuncFallbacks++;
    const extent = m.elf.functionAt(resolverLink);
    let s: FunctionSummary;
    try {
      s = extent
        ? this.summarizer.summarizeExtent(m.elf.readVirtual(extent.start, extent.end - extent.start), extent.start, extent.end)
        : this.summarizer.summarizeDescent((a, n) => m.elf.tryReadVirtual(a, n), resolverLink);
    } catch (e) {
      if (e instanceof NativeError) return [];
      throw e;
    }
    const out = new Set<number>();
    const isPie = m.elf.isPie || m.elf.header.type === C.ET_DYN;
    for (const ref of s.refs) {
      if (ref.kind === 'mem' || (ref.kind === 'imm' && isPie)) continue;
      const a = ref.kind === 'imm' ? ref.address : ref.address + m.bias;
      const r = this.space.regionAt(a);
      if (r?.exec) out.add(a);
    }
    // A resolver may also tail-call helpers that pick the variant; their direct targets are followed too.
    return [...out];
  }

  /**
   * Under lazy binding a not-yet-bound call runs the dynamic linker's trampoline (_dl_runtime_resolve_*,
   * which uses XSAVEC/XSAVE on this host) after migration: its code is part of the requirement.
   */
  private addLazyTrampoline(m: ModuleImage): void {
    if (this.lazyTrampolineAdded) return;
    const gotPlt = m.elf.section('.got.plt');
    if (!gotPlt) return;
    const t = this.space.readPointer(gotPlt.addr + m.bias + 16);
    if (t !== undefined && t !== 0) {
      this.lazyTrampolineAdded = true;
      this.enqueue(t, 'lazy-binding trampoline');
    }
  }

  /**
   * The module's executable code in one buffer (link-time addresses), when it is small enough to read
   * whole: one read and one copy into the decoder instead of one per function.
   */
  private moduleCode(m: ModuleImage): CodeBuffer | undefined {
    if (this.codeBuffers.has(m.index)) return this.codeBuffers.get(m.index);
    let buf: CodeBuffer | undefined;
    const ranges = m.elf.executableRanges();
    if (ranges.length > 0) {
      const start = Math.min(...ranges.map((r) => r.start));
      const end = Math.max(...ranges.map((r) => r.end));
      if (end - start <= MAX_MODULE_CODE && ranges.length === 1) {
        const bytes = m.elf.tryReadVirtual(start, end - start);
        if (bytes) buf = new CodeBuffer(bytes, start);
      }
    }
    this.codeBuffers.set(m.index, buf);
    return buf;
  }

  /** Live bytes of [address, address+length) from a cached read of its whole region, when small. */
  private liveBytes(address: number, length: number): Uint8Array | undefined {
    const r = this.space.regionAt(address);
    if (!r || address + length > r.end) return this.space.readMemory(address, length);
    if (r.end - r.start > MAX_REGION_CACHE) return this.space.readMemory(address, length);
    let bytes = this.regionCache.get(r.start);
    if (!this.regionCache.has(r.start)) {
      bytes = this.space.readMemory(r.start, r.end - r.start);
      this.regionCache.set(r.start, bytes);
    }
    return bytes?.subarray(address - r.start, address - r.start + length);
  }

  /** True when `m` is the dynamic linker (the main executable's PT_INTERP), computed once per module. */
  private moduleIsLinker(m: ModuleImage): boolean {
    let v = this.isLinker[m.index];
    if (v === undefined) this.isLinker[m.index] = v = isDynamicLinker(this.space, m);
    return v;
  }

  private moduleAt(address: number): ModuleImage | undefined {
    return this.space.regionAt(address)?.module;
  }

  // ------------------------------------------------------------------ sound mode: address-taken code
  //
  // Policy (module-local RTA): once any indirect call cannot be resolved, every function a module M can
  // produce a pointer to becomes a root — pointers to M's own code in M's visited code (lea/mov imm), every
  // code pointer (into M or another module: tables of imported functions, GOT slots loaded as values) in the
  // data objects M's visited code references (one level, no data-to-data chasing), and the live values of M's
  // writable data that point into M (function pointers written at run time, e.g. dispatch-selected variants;
  // the whole of every entered module's writable data is read, without a budget). Only modules that
  // execution already entered are considered. Calls from Python into extension modules are rooted by the
  // Python-callable roots and bytecode tracking, not here.

  private reference(address: number, kind: 'lea' | 'imm' | 'mem', fromModule: ModuleImage | undefined, from: string): void {
    if (!fromModule) return;
    // Seen before from this module: taking and scanning are idempotent (and the why-text of the first wins).
    const seen = ((kind === 'mem' ? this.memRefsSeen : this.refsSeen)[fromModule.index] ??= new Set());
    if (seen.has(address)) return;
    seen.add(address);
    const r = this.space.regionAt(address);
    if (!r || r.module !== fromModule) return;
    if (r.exec) {
      if (kind !== 'mem') this.take(fromModule, address, from && `${kind} in ${from}`);
      return;
    }
    this.scanDataObject(fromModule, address - fromModule.bias, from && `data 0x${(address - fromModule.bias).toString(16)} via ${from}`);
  }

  /**
   * A general-purpose MOV loads or stores exactly the word at `address` (summary `word` refs): only the pointer
   * held there can come out of it, not its neighbours'. A code pointer is taken; a GOT slot stands for its
   * symbol's object as in scanDataObject. Other memory operands (SIMD loads, string instructions through a
   * `lea`) keep the whole-object rule of reference().
   */
  private referenceWord(address: number, fromModule: ModuleImage | undefined, from: string): void {
    if (!fromModule) return;
    const seen = (this.wordRefsSeen[fromModule.index] ??= new Set());
    if (seen.has(address)) return;
    seen.add(address);
    const r = this.space.regionAt(address);
    if (!r || r.module !== fromModule || r.exec) return;
    const link = address - fromModule.bias;
    if (isGotSlot(fromModule.elf, down8(link))) {
      this.scanDataObject(fromModule, link, from && `data 0x${link.toString(16)} via ${from}`);
      return;
    }
    let value: number | undefined;
    if (this.space.liveMemory) {
      const b = this.liveBytes(address, 8);
      value = b && b.length === 8 ? u64(b) : undefined;
    } else value = this.staticPointer(fromModule, link);
    if (value === undefined || value < 0x10000) return;
    const t = this.space.regionAt(value);
    if (t?.exec && t.module) this.take(t.module, value, from && `word 0x${link.toString(16)} via ${from}`);
  }

  private readonly wordRefsSeen: Array<Set<number> | undefined> = [];

  private readonly takenWhy = new Map<number, string>();
  private slotsSincePoll = 0;

  /** Called once per data slot in long loops: every POLL_SLOTS slots, stops the walk when cancelled. */
  private pollSlot(): void {
    if (++this.slotsSincePoll < POLL_SLOTS) return;
    this.slotsSincePoll = 0;
    if (this.options.isCancelled?.()) throw new WalkCancelled();
  }

  /** The end of a scan of [start, end) of `m` bounded by MAX_DATA_SCAN, with a note when it cut. */
  private boundedScanEnd(m: ModuleImage, start: number, end: number, what: string): number {
    if (end - start <= MAX_DATA_SCAN) return end;
    this.notes.push(`${what} of ${m.path.split('/').pop()} at 0x${start.toString(16)} states ${end - start} bytes; only the first ${MAX_DATA_SCAN} were read for code pointers.`);
    return start + MAX_DATA_SCAN;
  }

  private take(m: ModuleImage, address: number, why: string): void {
    if (this.taken.has(address)) return;
    // IFUNC resolvers run only at load time: their address is never a call target after restore.
    if (moduleFacts(m.elf).ifuncResolvers.has(address - m.bias)) return;
    this.taken.add(address);
    if (why) this.takenWhy.set(address, why);
    if (this.unresolvedSeen) this.rootTaken(address);
  }

  private rootTaken(address: number): void {
    if (this.takenRooted.has(address)) return;
    this.takenRooted.add(address);
    this.addressTakenRoots++;
    const saved = this.currentRoot;
    const savedTier = this.inRta;
    this.currentRoot = 'a function whose address is taken (an unresolved indirect call may reach it)';
    this.inRta = true;
    this.enqueue(address, `address taken${this.takenWhy.has(address) ? ` (${this.takenWhy.get(address)})` : ''}`);
    this.currentRoot = saved;
    this.inRta = savedTier;
  }

  /** Code pointers of module `m` inside the data object containing `link` become address-taken. */
  private scanDataObject(m: ModuleImage, link: number, why: string): void {
    const obj = dataObjectExtent(m.elf, link);
    if (!obj) return;
    const visited = (this.dataVisited[m.index] ??= new Set());
    if (visited.has(obj.start)) return;
    visited.add(obj.start);
    // Rounded up without bitwise operators (link-time addresses may exceed 2^31).
    const start = Math.ceil(obj.start / 8) * 8;
    if (obj.end <= start) return;
    const end = this.boundedScanEnd(m, start, obj.end, 'A data object');
    const live = this.space.liveMemory ? this.liveBytes(start + m.bias, end - start) : undefined;
    // A slot's value is the same in every scan when it comes from the live regions (or, without live
    // memory, from the file): only then is it marked as read.
    const scanned = live || !this.space.liveMemory ? this.scannedSlots(m) : null;
    // Counted, not compared: past 2^53 `slot + 8` would equal `slot` (a crafted address) and never end.
    const slots = Math.floor((end - start) / 8);
    for (let k = 0; k < slots; k++) {
      const slot = start + k * 8;
      this.pollSlot();
      if (scanned) {
        const i = (slot - scanned.base) / 8;
        if (i >= 0 && i < scanned.seen.length) {
          if (scanned.seen[i]) continue;
          scanned.seen[i] = 1;
        }
      }
      const value = live ? u64(live, slot - start) : this.staticPointer(m, slot);
      if (value === undefined || value < 0x10000) continue;
      // Pointers into other modules count too: a table of imported functions (libblas's gemm[] slots are
      // relocations to libopenblas's dgemm_nn…), or a callback another module's function was stored as.
      const r = this.space.regionAt(value);
      if (r?.exec && r.module) this.take(r.module, value, why);
      // A GOT slot stands for its symbol's address: `mov r,[rip+GOT(sym)]` is `lea r,[sym]` for an
      // interposable symbol (C++ vtables of shared objects are loaded so), so the object it names is scanned.
      else if (r?.module && !r.exec && obj.end - obj.start === 8 && isGotSlot(m.elf, obj.start)) this.scanDataObject(r.module, value - r.module.bias, why);
    }
  }

  /** The slot map of `m`'s data sections (null when their span is too large to map). */
  private scannedSlots(m: ModuleImage): { base: number; seen: Uint8Array } | null {
    let s = this.slotsScanned[m.index];
    if (s === undefined) {
      const secs = moduleFacts(m.elf).dataSections;
      s = null;
      if (secs.length > 0) {
        const base = secs[0].addr & ~7;
        const end = Math.max(...secs.map((x) => x.addr + x.size));
        if (end - base <= MAX_SLOT_MAP_SPAN) s = { base, seen: new Uint8Array(Math.ceil((end - base) / 8)) };
      }
      this.slotsScanned[m.index] = s;
    }
    return s;
  }

  /** When execution first enters a module: its writable data's live code pointers are address-taken. */
  private enterModule(m: ModuleImage): void {
    if (this.enteredModules.has(m.index)) return;
    this.enteredModules.add(m.index);
    if (!this.rta) return;
    this.takeInitProduced(m);
    if (!this.space.liveMemory) return;
    const why = `live pointer in ${m.path.split('/').pop()} writable data`;
    for (const w of this.writtenPointers(m)) {
      if (w.addressable) this.take(m, w.value, this.options.recordVisited ? why : '');
      else this.unaddressedSkipped++;
    }
  }

  /** The code pointers `m` has written at run time into its writable data (values the loader or file did not put there). */
  private runtimeWritten(m: ModuleImage): Array<{ slot: number; value: number; addressable: boolean }> {
    const out: Array<{ slot: number; value: number; addressable: boolean }> = [];
    for (const r of this.space.regions()) {
      if (r.module !== m || !r.write || !r.read || r.exec) continue;
      // No budget: skipping a module's data would silently drop the pointers written there (a false
      // "compatible"); the regions are the modules' own .data/.bss, bounded by their files.
      const len = r.end - r.start;
      const bytes = this.liveBytes(r.start, len);
      if (!bytes) continue;
      // What the file image holds there, read once (undefined when the region is not inside one segment:
      // then each candidate slot is read on its own).
      const image = len <= MAX_REGION_CACHE ? m.elf.tryReadVirtual(r.start - m.bias, len) : undefined;
      for (let off = 0; off + 8 <= bytes.length; off += 8) {
        this.pollSlot();
        const v = u64(bytes, off);
        if (v < 0x10000) continue;
        const t = this.space.regionAt(v);
        // Only pointers written at run time count here (dispatch-selected variants, callbacks); pointers the
        // loader or the file image put there are static tables, taken only when visited code uses them.
        if (t?.exec && t.module === m && !this.isStaticValue(m, r.start - m.bias + off, v, image && image.length === len ? image.subarray(off, off + 8) : undefined)) {
          out.push({ slot: r.start + off, value: v, addressable: false });
        }
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ sound mode: unaddressable variables
  //
  // A pointer written at run time into a variable is taken (rule 3 above) because code the walk does not see may
  // read it through a pointer to the variable (NumPy's ufunc objects on the heap point to the loop tables it
  // filled at import). When no word of the process's memory points into the variable (or up to an object window
  // before it) and its value lies nowhere else, only instructions naming the variable can read it: the walk takes
  // its value where it visits them (referenceWord), and code that computes its address takes the whole window
  // (reference). Such a pointer is left out here. One pass over the readable memory answers this for every
  // module at once (the live census).

  /** Run-time-written pointers per module index, with whether something can address them; computed once. */
  private census: Map<number, Array<{ slot: number; value: number; addressable: boolean }>> | undefined;

  private writtenPointers(m: ModuleImage): Array<{ slot: number; value: number; addressable: boolean }> {
    this.census ??= this.liveCensus();
    return this.census.get(m.index) ?? [];
  }

  private liveCensus(): Map<number, Array<{ slot: number; value: number; addressable: boolean }>> {
    type Open = { slot: number; value: number; addressable: boolean; windows: Array<{ start: number; end: number }> };
    const byModule = new Map<number, Array<{ slot: number; value: number; addressable: boolean }>>();
    const open: Open[] = [];
    /** Slots whose value the loader put there: a copy in one is read only through that slot (checked by window). */
    const staticCopies = new Set<number>();
    const windowOf = (m: ModuleImage, at: number) => ({ start: lowestReferenceReaching(m.elf, at - m.bias) + m.bias, end: at + 1 });
    for (const m of this.space.modules()) {
      const list = this.runtimeWritten(m);
      if (!list.length) continue;
      byModule.set(m.index, list);
      // Position-dependent code names variables by immediates too: keep those modules' pointers whole.
      if (!(m.elf.isPie || m.elf.header.type === C.ET_DYN)) {
        for (const w of list) w.addressable = true;
        continue;
      }
      const copiesOf = new Map<number, number[]>();
      const wanted = new Set(list.map((w) => w.value - m.bias));
      for (const r of m.elf.relocations()) {
        if (r.type === C.R_X86_64_RELATIVE && wanted.has(r.addend)) copiesOf.set(r.addend, [...(copiesOf.get(r.addend) ?? []), r.offset + m.bias]);
      }
      for (const w of list) {
        const copies = copiesOf.get(w.value - m.bias) ?? [];
        for (const c of copies) staticCopies.add(c);
        open.push(Object.assign(w, { windows: [windowOf(m, w.slot), ...copies.map((c) => windowOf(m, c))] }));
      }
    }
    if (!open.length) return byModule;
    const windows = mergeRanges(open.flatMap((w) => w.windows));
    const values = new Map<number, number[]>();
    for (const w of open) values.set(w.value, [...(values.get(w.value) ?? []), w.slot]);
    const his = new Set<number>();
    for (const x of [...windows.flatMap((r) => [r.start, r.end - 1]), ...values.keys()]) his.add(Math.floor(x / 2 ** 32));
    const pointedInto: number[] = [];
    const copied = new Set<number>();
    const CHUNK = 4 * 1024 * 1024;
    for (const r of this.space.regions()) {
      if (!r.read || r.exec || r.kind === 'vdso' || r.kind === 'vsyscall') continue;
      for (let a = r.start; a < r.end; a += CHUNK) {
        if (this.options.isCancelled?.()) throw new WalkCancelled();
        const b = this.space.readMemory(a, Math.min(CHUNK, r.end - a));
        if (!b) continue;
        const words = new Uint32Array(b.buffer, b.byteOffset, Math.floor(b.length / 8) * 2);
        for (let i = 1; i < words.length; i += 2) {
          if (!his.has(words[i])) continue;
          const v = words[i] * 2 ** 32 + words[i - 1];
          const at = a + (i - 1) * 4;
          const slots = values.get(v);
          if (slots && !slots.includes(at) && !staticCopies.has(at)) copied.add(v);
          if (inRanges(windows, v)) pointedInto.push(v);
        }
      }
    }
    pointedInto.sort((x, y) => x - y);
    const pointed = (w: { start: number; end: number }) => {
      const i = firstAtOrAbove(pointedInto.length, (k) => pointedInto[k] >= w.start);
      return i < pointedInto.length && pointedInto[i] < w.end;
    };
    for (const w of open) w.addressable = copied.has(w.value) || w.windows.some(pointed);
    return byModule;
  }

  /**
   * What the module's static initializers (.init_array, .preinit_array) and the functions they call in the
   * module produce as pointers is address-taken, without rooting the initializers (they ran at load time and
   * never run after a restore). They store factories and callbacks where no scan sees them: C++ registries
   * keep them on the heap (xgboost's dmlc registries, eval finding N3). Their references are treated as a
   * visited function's are (selectors included, see unchosenTables).
   */
  private takeInitProduced(m: ModuleImage): void {
    const pending: number[] = [];
    for (const sec of m.elf.sections) {
      if (sec.type !== C.SHT_INIT_ARRAY && sec.type !== C.SHT_PREINIT_ARRAY) continue;
      if (!Number.isSafeInteger(sec.addr + sec.size)) continue;
      const slots = Math.floor((this.boundedScanEnd(m, sec.addr, sec.addr + sec.size, 'An initializer array') - sec.addr) / 8);
      for (let k = 0; k < slots; k++) {
        const slot = sec.addr + k * 8;
        this.pollSlot();
        const v = this.staticPointer(m, slot);
        if (v !== undefined && this.space.regionAt(v)?.module === m) pending.push(v - m.bias);
      }
    }
    if (!pending.length) return;
    this.takeProducedBy(m, pending, this.options.recordVisited ? `a static initializer of ${m.path.split('/').pop()}` : '', false);
  }

  /** Functions of each module already read by takeProducedBy (link-time starts), shared by every caller. */
  private readonly producedSeen: Array<Set<number> | undefined> = [];

  /**
   * Takes the pointers that functions of `m` which ran already and never run again (static initializers,
   * completed pthread_once initialisers) and the functions they call in `m` produced, without rooting them:
   * what they stored (factories, registered methods, dispatch tables on the heap) may still be called.
   * `viaPlt` also follows calls through `m`'s PLT that land in `m` (exported functions of a shared library).
   */
  private takeProducedBy(m: ModuleImage, pending: number[], why: string, viaPlt: boolean): void {
    const seen = (this.producedSeen[m.index] ??= new Set());
    while (pending.length && seen.size < MAX_INIT_FUNCTIONS) {
      const link = pending.pop()!;
      const extent = m.elf.functionAt(link);
      const start = extent ? extent.start : link;
      if (seen.has(start)) continue;
      seen.add(start);
      const s = this.summaryOf(m, link, extent);
      if (!s) continue;
      this.referenceAll(s, m, m.bias, why && `${why} (0x${start.toString(16)})`);
      for (const t of [...s.calls, ...s.jumpsOut]) {
        if (!isInPlt(m.elf, t)) {
          if (this.space.regionAt(t + m.bias)?.module === m) pending.push(t);
          continue;
        }
        if (!viaPlt) continue;
        const stub = m.elf.pltStubAt(t);
        if (!stub) continue;
        for (const target of this.resolveGotSlot(m, stub.gotSlot, stub)) if (this.space.regionAt(target)?.module === m) pending.push(target - m.bias);
      }
    }
    if (pending.length) {
      this.notes.push(`The initializers of ${m.path.split('/').pop()} call more than ${MAX_INIT_FUNCTIONS} functions; only the pointers the first ${MAX_INIT_FUNCTIONS} produce were taken.`);
    }
  }

  /**
   * True when `value` at link-time `slot` is what the loader or the file image put there. `fileBytes`: the
   * slot's 8 bytes of the file image when already read.
   */
  private isStaticValue(m: ModuleImage, slot: number, value: number, fileBytes?: Uint8Array): boolean {
    const rel = m.elf.relocationAt(slot);
    if (rel) return rel.type === C.R_X86_64_RELATIVE ? rel.addend + m.bias === value : true;
    const b = fileBytes ?? m.elf.tryReadVirtual(slot, 8);
    return b !== undefined && u64(b) !== 0 && u64(b) + m.bias === value;
  }

  /** The value the loader would put in a slot, for address spaces without live memory. */
  private staticPointer(m: ModuleImage, slot: number): number | undefined {
    const rel = m.elf.relocationAt(slot);
    if (rel) {
      if (rel.type === C.R_X86_64_RELATIVE) return rel.addend + m.bias;
      if (rel.type === C.R_X86_64_IRELATIVE) return undefined;
      if (rel.symbol?.name) {
        const t = this.resolveSymbolQuietly(rel.symbol.name);
        return t === undefined ? undefined : t + (rel.type === C.R_X86_64_64 ? rel.addend : 0);
      }
      return undefined;
    }
    const b = m.elf.tryReadVirtual(slot, 8);
    if (!b) return undefined;
    const v = u64(b);
    return v === 0 ? undefined : v + m.bias;
  }

  private resolveSymbolQuietly(name: string): number | undefined {
    for (const mod of this.space.modules()) {
      const sym = mod.elf.lookupSymbol(name);
      if (sym?.defined && sym.type !== C.STT_GNU_IFUNC) return sym.value + mod.bias;
    }
    return undefined;
  }

  // ------------------------------------------------------------------ notes

  private finishNotes(): void {
    if (this.lazySlots > 0) {
      this.notes.push(
        `${this.lazySlots} GOT slot(s) were not bound yet (the process did not run with LD_BIND_NOW=1): their targets were resolved by the dynamic linker's search order, every variant of an IFUNC was counted, and the lazy-binding trampoline's instructions were included because an unbound call would run it after migration. Restart the program with LD_BIND_NOW=1 for an exact answer.`,
      );
    }
    if (!this.space.liveMemory) {
      this.notes.push(
        `Live memory could not be read, so GOT slots and dispatch tables were resolved statically: by the dynamic linker's search order${this.hostIfuncChoices > 0 ? `, ${this.hostIfuncChoices} IFUNC(s) of system libraries as this host's dynamic linker resolves them,` : ''} and every variant of other IFUNCs counted.`,
      );
    }
    if (this.ifuncFallbacks > 0 && this.space.liveMemory && this.lazySlots === 0) {
      this.notes.push(`${this.ifuncFallbacks} IFUNC resolver(s) were read to count every variant they can return, because their slots could not be read.`);
    }
    if (this.rta && this.unresolvedSeen) {
      this.notes.push(
        `${this.stats.unresolved} indirect call/jump site(s) could not be resolved; to stay safe, every function whose address the modules entered can produce — from their visited code, the data it references and their writable data (${this.addressTakenRoots}) — was analysed as a possible target.`,
      );
      if (this.unaddressedSkipped > 0) {
        this.notes.push(
          `${this.unaddressedSkipped} pointer(s) written at run time into variables that no word of the process's memory points to were not taken as possible targets: only instructions naming those variables can read them (their values are taken where visited code does), and the same values lie nowhere else but in static tables no live pointer reaches.`,
        );
      }
      if (this.onceInitsSkipped > 0) {
        this.notes.push(
          `${this.onceInitsSkipped} initialiser(s) passed to pthread_once (or OpenSSL's CRYPTO_THREAD_run_once) were not taken as possible targets: their once-control in live memory says they already ran, and pthread_once never runs an initialiser twice.`,
        );
      }
      if (this.tablesNotChosen > 0) {
        this.notes.push(
          `${this.tablesNotChosen} data table(s) were left out of that set because the code referring to them is a CPU-dispatch selector (it runs cpuid) that stored its choice in a variable which points to another table of the same kind (e.g. OpenBLAS's per-CPU kernel tables, of which gotoblas_dynamic_init chose one at start-up); the chosen ones were analysed.`,
        );
      }
    } else if (this.mode === 'ept-plain' && this.stats.unresolved > 0) {
      this.notes.push(
        `Plain execution path tracking (the paper's algorithm): ${this.stats.unresolved} indirect call/jump site(s) were not followed, so features behind them may be missing.`,
      );
    } else if (!this.rta && this.stats.unresolved > 0) {
      this.notes.push(`${this.stats.unresolved} indirect call/jump site(s) could not be resolved and were not followed.`);
    }
    if (this.trampolinesSkipped > 0) {
      this.notes.push(
        `The dynamic linker's lazy-binding trampoline${this.trampolinesSkipped > 1 ? 's were' : ' was'} not counted: with LD_BIND_NOW=1 ${this.trampolinesSkipped > 1 ? 'they' : 'it'} can never run (analyses of files at rest assume LD_BIND_NOW=1, as Pygration recommends).`,
      );
    }
    if (this.unreadable > 0) this.notes.push(`${this.unreadable} function(s) could not be read from their files and were skipped.`);
    if (this.vdsoSkipped > 0) this.notes.push('Calls into the [vdso] were not counted: CRIU gives the restored process the target kernel\'s vDSO.');
  }
}

/** The first index in [0, n) where the monotone predicate `atOrAbove` holds (n when none does). */
function firstAtOrAbove(n: number, atOrAbove: (i: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (atOrAbove(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** True when `x` lies in one of the sorted, non-overlapping half-open `ranges`. */
function inRanges(ranges: Array<{ start: number; end: number }>, x: number): boolean {
  const i = firstAtOrAbove(ranges.length, (k) => ranges[k].end > x);
  return i < ranges.length && ranges[i].start <= x;
}

/** Sorted, non-overlapping union of ranges. */
function mergeRanges(ranges: Array<{ start: number; end: number }>): Array<{ start: number; end: number }> {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const out: Array<{ start: number; end: number }> = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

/** libgcc's CPU model, filled by __cpu_indicator_init and read by __builtin_cpu_supports/__builtin_cpu_is. */
const CPU_MODEL_SYMBOLS = ['__cpu_model', '__cpu_features2'];

/** Functions with pthread_once's contract: the initialiser (second argument) runs once per control (first). */
const ONCE_FUNCTIONS = new Set(['pthread_once', '__pthread_once', 'call_once', 'CRYPTO_THREAD_run_once']);

/** `a` rounded down to a multiple of 8 (addresses exceed 32 bits: no bitwise operators). */
function down8(a: number): number {
  return a - (a % 8);
}

/** True when the function saves the extended state: in the dynamic linker, a lazy-binding trampoline. */
function savesExtendedState(s: FunctionSummary): boolean {
  return s.features.has('xsavec') || s.features.has('xsave') || s.features.has('xsaveopt');
}

/** True when `m` is the dynamic linker: the main executable's PT_INTERP, else any ld-linux. */
function isDynamicLinker(space: AddressSpace, m: ModuleImage): boolean {
  const interp = space.mainModule()?.elf.interpreter;
  return interp ? path.basename(interp) === path.basename(m.path) : /^ld-linux/.test(path.basename(m.path));
}

/** Link-time helper for tests: the runtime address of a symbol in a module. */
export function symbolAddress(m: ModuleImage, name: string): number | undefined {
  const s = m.elf.findSymbol(name);
  return s ? s.value + m.bias : undefined;
}

export type { ElfFile };
