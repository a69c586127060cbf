// Execution path tracking, layer 1 of 3: the walker's state, its work queues (explicit roots first, then what
// only the address-taken rule reaches), slicing and cancellation, the result, and cached reads of code and data.

import type { Feature } from '../features/vocabulary';
import { NativeError } from '../errors';
import type { CallSiteStats } from '../report';
import { CodeBuffer } from '../decoder/decoder';
import { Summarizer, type FunctionSummary } from './summary';
import { type AddressSpace, type ModuleImage } from '../space/space';
import type { EptMode, EptOptions, EptResult, FeatureEvidence, Root, UnresolvedCall, VisitedFunction } from './eptTypes';
import { cachedSummaries } from './summaryCache';
import { MAX_DATA_SCAN, MAX_MODULE_CODE, MAX_REGION_CACHE, POLL_SLOTS, WalkCancelled, isDynamicLinker } from './eptUtil';
import { walkNotes } from './eptNotes';

/**
 * One unit of the walk: a function to visit, why (the edge that reached it), the root it was first reached from
 * (for feature attribution) and its tier: explicit roots' closure first, then what only the address-taken rule
 * reaches. Edges found while visiting an item carry its root and tier to the items they queue.
 */
export interface WorkItem {
  address: number;
  reason: string;
  root: string;
  tier: 'explicit' | 'addressTaken';
  /** A live frame's resume point: walk only what its function can still reach from here (Root.resume). */
  resume?: boolean;
}

/** What an item passes on to the items its edges queue. */
export type Origin = Pick<WorkItem, 'root' | 'tier'>;

export abstract class WalkBase {
  protected readonly mode: EptMode;
  /** Module-local RTA for unresolved calls (sound mode). */
  protected readonly rta: boolean;
  protected readonly summarizer = new Summarizer();
  protected readonly queue: WorkItem[] = [];
  /**
   * Work reached only through the address-taken rule waits here until the explicit roots' closure is done,
   * so features are attributed to the explicit root that really leads to them whenever there is one.
   */
  protected readonly rtaQueue: WorkItem[] = [];
  protected rtaHead = 0;
  protected head = 0;
  protected readonly enqueued = new Set<number>();
  /** Visited functions (link-time starts) and PLT stubs per module index; anonymous code by address. */
  protected readonly visitedFunctions: Array<Set<number> | undefined> = [];
  protected readonly visitedStubs: Array<Set<number> | undefined> = [];
  protected readonly visitedAnon = new Set<number>();
  protected readonly features = new Map<Feature, FeatureEvidence>();
  protected readonly stats: CallSiteStats = { direct: 0, plt: 0, memorySlot: 0, dispatchTable: 0, unresolved: 0 };
  protected readonly unresolvedSample: UnresolvedCall[] = [];
  protected readonly modulesVisited = new Set<string>();
  protected readonly notes: string[] = [];
  protected readonly visited: VisitedFunction[] = [];
  protected functionsVisited = 0;
  protected instructions = 0;
  protected lazySlots = 0;
  protected lazyTrampolineAdded = false;
  protected ifuncFallbacks = 0;
  protected hostIfuncChoices = 0;
  protected unmappedTargets = 0;
  protected vdsoSkipped = 0;
  protected unreadable = 0;
  protected trampolinesSkipped = 0;

  // Sound mode: address-taken code and the static data graph.
  protected unresolvedSeen = false;
  protected readonly taken = new Set<number>();
  protected readonly takenRooted = new Set<number>();
  /** Data objects scanned, by link-time start, per module index. */
  protected dataVisited: Array<Set<number> | undefined> = [];
  /**
   * Per module index: the 8-byte data slots already read for code pointers (one byte per slot of the span
   * of its data sections). Objects overlap (a stripped module's unsized objects are windows from each
   * referenced address), and taking a pointer twice changes nothing, so each slot is read once.
   */
  protected slotsScanned: Array<{ base: number; seen: Uint8Array } | null | undefined> = [];
  /**
   * References already handled, per module index of the referencing code: the outcome of a reference
   * depends only on its address, whether it is a memory operand, and the module it comes from.
   */
  protected refsSeen: Array<Set<number> | undefined> = [];
  protected memRefsSeen: Array<Set<number> | undefined> = [];
  /** Per module index: whether it is the dynamic linker (whose xsave trampolines LD_BIND_NOW rules out). */
  protected readonly isLinker: Array<boolean | undefined> = [];
  protected readonly enteredModules = new Set<number>();
  /** Per module: its executable segment read once (small modules only), decoded range by range. */
  protected readonly codeBuffers = new Map<number, CodeBuffer | undefined>();
  /** Live bytes of data regions read once (by region start). */
  protected readonly regionCache = new Map<number, Uint8Array | undefined>();
  protected addressTakenRoots = 0;
  /** Data tables a selector function referenced but did not choose (see unchosenTables). */
  protected tablesNotChosen = 0;
  /** Initialisers not taken because their pthread_once control is done (see completedOnceInits). */
  protected onceInitsSkipped = 0;
  /** Run-time-written pointers left out because nothing can address their variable (see liveCensus). */
  protected unaddressedSkipped = 0;
  /** Pointers completed initialisers produced that no word of live memory holds any more (not taken). */
  protected productsNotLive = 0;
  /** Products kept although no word holds them: their producer may keep them transformed (transformedProducts.ts). */
  protected productsTransformed = 0;
  /** Addresses in executable segments but outside every code section: data, not decoded (see ElfFile.isCodeAddress). */
  protected readonly notCode = new Set<number>();
  /** Resume points of live frames walked from there on only (see visitResume). */
  protected resumedPartially = 0;
  /**
   * Call sites counted by resume-point visits, per function (module index and link-time start): a later visit of the
   * whole function counts every site again, so these are taken back then (each site is counted once).
   */
  protected readonly resumeCounts = new Map<string, CallSiteStats>();

  constructor(
    protected readonly space: AddressSpace,
    protected readonly options: EptOptions,
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

  protected seed(roots: readonly Root[]): void {
    for (const r of roots) {
      const at = r.ifunc ? this.ifuncRootTargets(r.address) : [r.address];
      for (const a of at) this.enqueue(a, r.reason, { root: r.reason, tier: 'explicit' }, r.resume);
    }
  }

  /** What an IFUNC root (a resolver's runtime address) stands for: what the resolver can return. */
  protected abstract ifuncRootTargets(resolver: number): number[];

  protected lastProgress = Date.now();

  /** Visits queued functions until none is left, the walk is cancelled, or `deadline` (ms) has passed. */
  protected drain(deadline: number): 'done' | 'cancelled' | 'more' {
    for (;;) {
      let item: WorkItem;
      if (this.head < this.queue.length) item = this.queue[this.head++];
      else if (this.rtaHead < this.rtaQueue.length) item = this.rtaQueue[this.rtaHead++];
      else return 'done';
      try {
        this.visit(item);
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

  protected free(): void {
    this.summarizer.free();
    for (const c of this.codeBuffers.values()) c?.free();
  }

  protected result(cancelled: boolean): EptResult {
    this.notes.push(
      ...walkNotes({
        addressTakenRoots: this.addressTakenRoots,
        hostIfuncChoices: this.hostIfuncChoices,
        ifuncFallbacks: this.ifuncFallbacks,
        lazySlots: this.lazySlots,
        liveMemory: this.space.liveMemory,
        mode: this.mode,
        onceInitsSkipped: this.onceInitsSkipped,
        rta: this.rta,
        tablesNotChosen: this.tablesNotChosen,
        trampolinesSkipped: this.trampolinesSkipped,
        unaddressedSkipped: this.unaddressedSkipped,
        unreadable: this.unreadable,
        unresolved: this.stats.unresolved,
        unresolvedSeen: this.unresolvedSeen,
        vdsoSkipped: this.vdsoSkipped,
        productsNotLive: this.productsNotLive,
        productsTransformed: this.productsTransformed,
        notCode: this.notCode.size,
      }),
    );
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

  /** Queues `address` (once), reached for `reason` from the work item `from` (its root and tier carry over). */
  protected enqueue(address: number, reason: string, from: Origin, resume?: boolean): void {
    // The same target is reached from many call sites: queue it once. A resume point is queued apart from a
    // call to the same address (a call walks the whole function).
    const key = queueKey(address, resume);
    if (this.enqueued.has(key)) return;
    this.enqueued.add(key);
    (from.tier === 'addressTaken' ? this.rtaQueue : this.queue).push({ address, reason, root: from.root, tier: from.tier, ...(resume ? { resume } : {}) });
  }

  /** The summary of the function of `m` at link-time `link` (cached per file); undefined when unreadable. */
  protected summaryOf(m: ModuleImage, link: number, extent = m.elf.functionAt(link)): FunctionSummary | undefined {
    const start = extent ? extent.start : link;
    const cache = cachedSummaries(m.identity, m.path, this.options.summaryStore);
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

  /**
   * The module's executable code in one buffer (link-time addresses), when it is small enough to read
   * whole: one read and one copy into the decoder instead of one per function.
   */
  protected moduleCode(m: ModuleImage): CodeBuffer | undefined {
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
  protected liveBytes(address: number, length: number): Uint8Array | undefined {
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
  protected moduleIsLinker(m: ModuleImage): boolean {
    let v = this.isLinker[m.index];
    if (v === undefined) this.isLinker[m.index] = v = isDynamicLinker(this.space, m);
    return v;
  }

  protected moduleAt(address: number): ModuleImage | undefined {
    return this.space.regionAt(address)?.module;
  }

  protected slotsSincePoll = 0;

  /** Called once per data slot in long loops: every POLL_SLOTS slots, stops the walk when cancelled. */
  protected pollSlot(): void {
    if (++this.slotsSincePoll < POLL_SLOTS) return;
    this.slotsSincePoll = 0;
    if (this.options.isCancelled?.()) throw new WalkCancelled();
  }

  /** The end of a scan of [start, end) of `m` bounded by MAX_DATA_SCAN, with a note when it cut. */
  protected boundedScanEnd(m: ModuleImage, start: number, end: number, what: string): number {
    if (end - start <= MAX_DATA_SCAN) return end;
    this.notes.push(`${what} of ${m.path.split('/').pop()} at 0x${start.toString(16)} states ${end - start} bytes; only the first ${MAX_DATA_SCAN} were read for code pointers.`);
    return start + MAX_DATA_SCAN;
  }

  /** Visits the function of a work item: see walkEdges.ts. */
  protected abstract visit(item: WorkItem): void;
}

/** The key the walk queues `address` under: a resume point apart from a call to the same address. */
export function queueKey(address: number, resume?: boolean): number {
  return resume ? -address : address;
}
