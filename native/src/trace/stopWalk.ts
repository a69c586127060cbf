// Execution path tracking across the stops of one debug session: the walk from a live process's stable roots is kept
// with a log of every answer live memory gave it, and at the next stop, when the log still holds, only the live frames are walked again.
//
// A live analysis walks in two phases: first the roots that do not depend on where the threads are (destructors, the
// natives bytecode tracking resolved, the Python-callable functions), then the live frames (threads' pcs and return
// addresses, mangled exit handlers) on top of that state. The first phase is a deterministic function of the address
// space's layout, its roots and what it read from live memory: every pointer, every byte range, the live census's
// answers. At the next stop of the same process, the first phase's state is reused when the layout and roots are the
// same and every one of those reads, asked again of the process now, gives the same answer: the state is then what a
// fresh first phase would build, and the second phase runs on a copy of it, so the result is the fresh analysis's.

import type { AddressSpace, ModuleImage, Region } from '../space/space';
import { AddressTakenWalk } from './addressTaken';
import { chainEnd, liveReader, logChange, type ReadRecord } from './walkLog';
import type { EptOptions, EptResult, Root } from './eptTypes';
import { SignalInstallers } from './signalHandlers';
import { censusGuards, type Guard, liveCensus, type LiveValues, liveValuesOf, primeCensuses, primedCensus, type WrittenPointer } from './liveCensus';
import * as C from '../elf/elfConstants';
import { type Chain, Summarizer } from './summary';
import { type Origin, WalkBase } from './walkBase';

/** An address space that logs what its live memory answers (unless paused: the census, validated on its own). */
class RecordingSpace implements AddressSpace {
  readonly log: ReadRecord[] = [];
  paused = 0;
  /** Pointers just read for the log (a chain's), answered again without reading. */
  replay: Map<number, number | undefined> | undefined;
  readonly residentRanges?: AddressSpace['residentRanges'];
  readonly ifuncChoice?: AddressSpace['ifuncChoice'];

  constructor(readonly inner: AddressSpace) {
    if (inner.residentRanges) this.residentRanges = (s, e) => inner.residentRanges!(s, e);
    if (inner.ifuncChoice) this.ifuncChoice = (m, r) => inner.ifuncChoice!(m, r);
  }
  get description(): string {
    return this.inner.description;
  }
  get liveMemory(): boolean {
    return this.inner.liveMemory;
  }
  regions(): readonly Region[] {
    return this.inner.regions();
  }
  regionAt(address: number): Region | undefined {
    return this.inner.regionAt(address);
  }
  modules(): readonly ModuleImage[] {
    return this.inner.modules();
  }
  mainModule(): ModuleImage | undefined {
    return this.inner.mainModule();
  }
  readPointer(address: number): number | undefined {
    if (this.replay?.has(address)) return this.replay.get(address);
    const value = this.inner.readPointer(address);
    if (!this.paused) this.log.push({ kind: 'ptr', address, value });
    return value;
  }
  readMemory(address: number, length: number): Uint8Array | undefined {
    const bytes = this.inner.readMemory(address, length);
    if (!this.paused) this.log.push({ kind: 'mem', address, length, bytes: bytes && Uint8Array.from(bytes) });
    return bytes;
  }
}

type CensusEntry = Pick<WrittenPointer, 'slot' | 'value' | 'addressable'>;

/** Fields of a walk that are not its state: the space, the options, the decoder and caches of this stop's memory. */
const NOT_STATE = new Set(['space', 'options', 'summarizer', 'codeBuffers', 'regionCache', 'census', 'liveCache', 'productFilter', 'raw', 'rec', 'censusLog', 'liveLog', 'signals']);

/** The walker of a session: records the first phase's answers, and copies its state for a second phase. */
class SessionWalk extends AddressTakenWalk {
  rec: RecordingSpace | undefined;
  raw: AddressSpace;
  /** The census's answers per module index the first phase asked about. */
  censusLog = new Map<number, CensusEntry[]>();
  /** The live-values answers the first phase used (a word holds `start`; a word points into [start, end)). */
  liveLog: Array<{ start: number; end?: number; answer: boolean }> = [];

  constructor(raw: AddressSpace, options: EptOptions, record: boolean) {
    const rec = record ? new RecordingSpace(raw) : undefined;
    super(rec ?? raw, options);
    this.rec = rec;
    this.raw = raw;
  }

  protected override liveBytes(address: number, length: number): Uint8Array | undefined {
    if (!this.rec) return super.liveBytes(address, length);
    this.rec.paused++;
    let bytes: Uint8Array | undefined;
    try {
      bytes = super.liveBytes(address, length);
    } finally {
      this.rec.paused--;
    }
    if (!this.rec.paused) this.rec.log.push({ kind: 'live', address, length, bytes: bytes && Uint8Array.from(bytes), codeOnly: this.wordForCode || length > 8 });
    return bytes;
  }

  /** Set while referenceWord reads its word, which it uses only when it points into code. */
  private wordForCode = false;

  protected override referenceWord(address: number, fromModule: ModuleImage | undefined, from: string): void {
    this.wordForCode = true;
    try {
      super.referenceWord(address, fromModule, from);
    } finally {
      this.wordForCode = false;
    }
  }

  /**
   * A pointer chain read from live memory (`call [[rip+X]+8]`): what matters is where it ends (code, or nowhere), not the
   * heap pointers on the way, which change as the program runs; so the chain's end is logged, not each pointer.
   * Mirrors WalkEdges.chainEdge: a GOT slot's bypass-PLT form is left to its logged reads.
   */
  protected override chainEdge(c: Chain, bias: number, moduleName: string, from: Origin): void {
    if (!this.rec) return super.chainEdge(c, bias, moduleName, from);
    const base = c.base + bias;
    const slotModule = this.moduleAt(base);
    const reloc = slotModule?.elf.relocationAt(base - slotModule.bias);
    const gotForm = reloc !== undefined && (reloc.type === C.R_X86_64_GLOB_DAT || reloc.type === C.R_X86_64_JUMP_SLOT) && c.derefs.length === 1 && c.derefs[0] === 0;
    if (c.derefs.length === 0 || gotForm || this.mode === 'ept-plain' || !this.space.liveMemory) return super.chainEdge(c, bias, moduleName, from);
    this.rec.paused++;
    try {
      // The walk reads the same pointers again right after: they are answered from what chainEnd read.
      const reads = new Map<number, number | undefined>();
      if (this.rec.paused === 1) this.rec.log.push({ kind: 'chain', address: base, derefs: c.derefs, value: chainEnd(this.raw, base, c.derefs, reads) });
      this.rec.replay = reads;
      super.chainEdge(c, bias, moduleName, from);
    } finally {
      this.rec.replay = undefined;
      this.rec.paused--;
    }
  }

  protected override writtenPointers(m: ModuleImage): WrittenPointer[] {
    // The census of this stop when StopWalkCache.prime computed it with the other (the same answer).
    this.census ??= primedCensus(this.raw);
    if (!this.rec) return super.writtenPointers(m);
    this.rec.paused++;
    try {
      const list = super.writtenPointers(m);
      this.censusLog.set(m.index, list.map(({ slot, value, addressable }) => ({ slot, value, addressable })));
      return list;
    } finally {
      this.rec.paused--;
    }
  }

  protected override live(): LiveValues {
    // The census of the process itself (not of the recording view), shared with the exit-handler roots.
    const v = liveValuesOf(this.raw, this.options.isCancelled);
    if (!this.rec) return v;
    const log = this.liveLog;
    return {
      ...v,
      has: (x) => {
        const answer = v.has(x);
        log.push({ start: x, answer });
        return answer;
      },
      pointsInto: (start, end) => {
        const answer = v.pointsInto(start, end);
        log.push({ start, end, answer });
        return answer;
      },
    };
  }

  /** Seeds `roots` and walks until done (yielding every `sliceMs`); false when cancelled. Frees nothing. */
  async walk(roots: readonly Root[], sliceMs: number): Promise<boolean> {
    this.seed(roots);
    for (;;) {
      const r = this.drain(Date.now() + sliceMs);
      if (r === 'done') return true;
      if (r === 'cancelled') return false;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Frees the decoder and code buffers once the first phase is done (a fork makes its own), and drops the drained
   * queues (every item is behind its head: never read again), so forks do not copy them.
   */
  release(): void {
    this.free();
    this.queue.length = 0;
    this.rtaQueue.length = 0;
    this.head = 0;
    this.rtaHead = 0;
  }

  /** A copy of this walk's state that goes on over `space` (the process now) with `options`, not recording. */
  fork(space: AddressSpace, options: EptOptions, census: Map<number, WrittenPointer[]> | undefined): SessionWalk {
    const f = Object.create(SessionWalk.prototype) as SessionWalk;
    const fields = f as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(this)) {
      if (!NOT_STATE.has(k)) fields[k] = copyState(v);
    }
    Object.assign(fields, {
      space,
      raw: space,
      rec: undefined,
      options,
      summarizer: new Summarizer(),
      codeBuffers: new Map(),
      regionCache: new Map(),
      census,
      liveCache: undefined,
      productFilter: undefined,
      censusLog: new Map(),
      liveLog: [],
      // Which functions install signal handlers depends on the code only; the copy asks its own space and summaries.
      signals: new SignalInstallers(space, (m: ModuleImage, t: number) => f.summaryOf(m, t)),
    });
    return f;
  }

  async finish(roots: readonly Root[], sliceMs: number): Promise<EptResult> {
    let done = false;
    try {
      done = await this.walk(roots, sliceMs);
    } finally {
      this.free();
    }
    return this.result(!done);
  }

  /** The result of a first phase that was cancelled. */
  cancelledResult(): EptResult {
    return this.result(true);
  }

  /** This first phase's census as the second phase goes on with it. */
  censusOf(): Map<number, WrittenPointer[]> | undefined {
    return this.census;
  }

  /** The census of `space` as a first phase would compute it (same reads through a fresh region cache). */
  static censusNow(space: AddressSpace, options: EptOptions): Map<number, WrittenPointer[]> {
    const primed = primedCensus(space);
    if (primed) return primed;
    const reader = liveReader(space);
    return liveCensus({ space, liveBytes: reader, pollSlot: () => undefined, isCancelled: options.isCancelled });
  }
}

/** A deep copy of a walk's state field: sets, maps, arrays, byte maps and plain records (numbers and strings inside). */
function copyState(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (v instanceof Set) return new Set(v);
  if (v instanceof Map) {
    const out = new Map();
    for (const [k, x] of v) out.set(k, copyState(x));
    return out;
  }
  if (Array.isArray(v)) return v.map(copyState);
  if (ArrayBuffer.isView(v)) return (v as Uint8Array).slice();
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = copyState(x);
  return out;
}

/** At most this many call-site walks are kept (a session's sites; more, and the oldest are dropped). */
const MAX_SITE_WALKS = 256;

/** What a session keeps between stops: the first phase's state, the key it was made under and its log. */
export class StopWalkCache {
  private template?: SessionWalk;
  private key?: string;
  private log?: ReadRecord[];
  /** How the last analysis walked its first phase: 'reused', or why it walked it again. */
  lastFirstPhase?: string;
  /** The pointer guards the last census of the process found (the next one guesses them: liveCensus.primeCensuses). */
  private guards?: readonly Guard[];

  /**
   * Before the roots of a stop are read: when the kept first phase asked the census of module pointers, its
   * validation will need that census again, so both censuses of live memory are taken in one pass (the roots'
   * census, mangled exit handlers, is the other). The answers are those each census gives alone.
   */
  prime(space: AddressSpace): void {
    if (!space.liveMemory || !this.template || this.template.censusLog.size === 0) return;
    primeCensuses(space, undefined, this.guards);
  }

  /** The call sites' walks of the last stops (SiteAnalyzer), by their key (walkKey of their roots): result and log. */
  private readonly sites = new Map<string, { log: ReadRecord[]; result: EptResult }>();
  /** How the call-site walks of this cache went: reused, or walked (again). */
  readonly siteWalks = { reused: 0, walked: 0 };

  /**
   * executionPathTracking(space, roots, options) of a call site in the live process, reused from an earlier stop
   * when the layout, the roots and the options are the same and every answer live memory gave that walk is the
   * same now (as the first phase is: `walk`). A walk that asked either census is not kept (it is walked again).
   */
  siteWalk(space: AddressSpace, roots: readonly Root[], options: EptOptions): EptResult {
    const key = walkKey(space, roots, options);
    const kept = this.sites.get(key);
    if (kept && logChange(space, kept.log) === undefined) {
      this.siteWalks.reused++;
      return copyState(kept.result) as EptResult;
    }
    this.siteWalks.walked++;
    this.sites.delete(key);
    const w = new SessionWalk(space, options, true);
    const result = w.run(roots);
    if (!result.cancelled && space.liveMemory && w.censusLog.size === 0 && w.liveLog.length === 0) {
      if (this.sites.size >= MAX_SITE_WALKS) this.sites.delete(this.sites.keys().next().value!);
      this.sites.set(key, { log: w.rec!.log, result: copyState(result) as EptResult });
    }
    return result;
  }

  /** Forgets everything (another process, or the session ended). */
  clear(): void {
    this.sites.clear();
    this.forget();
  }

  /** Forgets the kept first phase. */
  private forget(): void {
    this.guards = undefined;
    this.template = undefined;
    this.key = undefined;
    this.log = undefined;
  }

  /**
   * The walk of a live analysis in two phases: `stable` roots, then `frames` on top. Reuses the first phase of the
   * previous call when `space`'s layout, the roots and options are the same and every answer live memory gave it
   * is the same now.
   */
  async walk(space: AddressSpace, stable: readonly Root[], frames: readonly Root[], options: EptOptions, sliceMs = 50): Promise<EptResult & { firstPhase: string }> {
    const key = walkKey(space, stable, options);
    let template: SessionWalk | undefined;
    let census: Map<number, WrittenPointer[]> | undefined;
    let why = 'first stop';
    if (this.template && this.key !== undefined) {
      if (this.key !== key) why = 'the layout, roots or options changed';
      else {
        const now = this.validate(space, options);
        if (now.ok) {
          template = this.template;
          census = now.census;
        } else why = now.why;
      }
    }
    if (!template) {
      this.forget();
      const fresh = new SessionWalk(space, options, true);
      const done = await fresh.walk(stable, sliceMs);
      fresh.release();
      if (!done) return { ...fresh.cancelledResult(), firstPhase: why };
      template = fresh;
      census = fresh.censusOf();
      this.template = fresh;
      this.key = key;
      this.log = fresh.rec!.log;
      this.lastFirstPhase = why;
    } else this.lastFirstPhase = 'reused';
    const result = await template.fork(space, options, census).finish(frames, sliceMs);
    this.guards = censusGuards(space) ?? this.guards;
    return { ...result, firstPhase: this.lastFirstPhase };
  }

  /** Whether every answer the kept first phase got from live memory is the same in `space` now (with the census now). */
  private validate(space: AddressSpace, options: EptOptions): { ok: true; census: Map<number, WrittenPointer[]> | undefined } | { ok: false; why: string } {
    const t = this.template!;
    const changed = logChange(space, this.log ?? []);
    if (changed) return { ok: false, why: changed };
    let census: Map<number, WrittenPointer[]> | undefined;
    if (t.censusLog.size > 0) {
      census = SessionWalk.censusNow(space, options);
      for (const [index, was] of t.censusLog) {
        const now = census.get(index) ?? [];
        if (now.length !== was.length || now.some((w, i) => w.slot !== was[i].slot || w.value !== was[i].value || w.addressable !== was[i].addressable)) {
          return { ok: false, why: 'the pointers a module wrote at run time changed' };
        }
      }
    }
    if (t.liveLog.length > 0) {
      const v = liveValuesOf(space, options.isCancelled);
      for (const q of t.liveLog) if ((q.end === undefined ? v.has(q.start) : v.pointsInto(q.start, q.end)) !== q.answer) return { ok: false, why: 'the code pointers stored in live memory changed' };
    }
    return { ok: true, census };
  }
}

/**
 * The same two phases without keeping anything (an analysis outside a debug session, the CLI): nothing is logged or
 * copied, the second phase goes on in the first one's walker. The result is what StopWalkCache.walk gives.
 */
export async function walkTwoPhases(space: AddressSpace, stable: readonly Root[], frames: readonly Root[], options: EptOptions, sliceMs = 50): Promise<EptResult> {
  const w = new SessionWalk(space, options, false);
  let done = false;
  try {
    done = await w.walk(stable, sliceMs);
  } finally {
    if (!done) w.release();
  }
  return done ? w.finish(frames, sliceMs) : w.cancelledResult();
}

/**
 * What the first phase depends on besides live memory: the modules and executable regions (where pointers can
 * land), the stable roots in order, and the walk's options. Anonymous data regions (the heap) may come and go.
 */
function walkKey(space: AddressSpace, stable: readonly Root[], options: EptOptions): string {
  const parts: string[] = [options.mode ?? 'ept', String(options.addressTaken !== false), String(options.bindNow === true), String(space.liveMemory), layoutKey(space.regions())];
  for (const r of stable) parts.push(`${r.address} ${r.resume ? 'r' : ''}${r.ifunc ? 'i' : ''} ${r.reason}`);
  return parts.join('\n');
}

/** The layout part of walkKey, once per list of regions (a space's list is replaced, never changed, when it grows). */
const layoutKeys = new WeakMap<readonly Region[], string>();
function layoutKey(regions: readonly Region[]): string {
  let key = layoutKeys.get(regions);
  if (key === undefined) {
    const parts: string[] = [];
    for (const r of regions) {
      if (!r.module && !r.exec) continue;
      parts.push(`${r.start.toString(16)}-${r.end.toString(16)} ${r.read ? 'r' : '-'}${r.write ? 'w' : '-'}${r.exec ? 'x' : '-'} ${r.kind} ${r.name} ${r.module ? `${r.module.identity} ${r.module.bias} ${r.module.index}` : ''}`);
    }
    layoutKeys.set(regions, (key = parts.join('\n')));
  }
  return key;
}
