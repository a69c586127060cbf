// Execution path tracking across the stops of one debug session: the walk from a live process's stable roots is kept
// with a log of every answer live memory gave it, and at the next stop, when the log still holds, only the live frames are walked again.
//
// A live analysis walks in three phases: first the roots that do not depend on where the threads are (destructors, the
// natives bytecode tracking resolved, the Python-callable functions), then the functions memory outside the modules
// holds (the heap, stacks), then the live frames (threads' pcs and return addresses, mangled exit handlers) on top of
// that state. The first phase is a deterministic function of the address space's layout, its roots and what it read
// from live memory: every pointer, every byte range, the live census's answers. At the next stop of the same process,
// the first phase's state is reused when the layout and roots are the same and every one of those reads, asked again
// of the process now, gives the same answer: the state is then what a fresh first phase would build. The held phase
// is kept the same way on top of it: a held root the first phase queued already is a no-op (the walk queues an
// address once), so the phase depends only on the held roots the first phase did not reach, which rarely change from
// stop to stop though the heap and stacks do. The last phase runs on a copy, so the result is the fresh analysis's.

import type { AddressSpace, ModuleImage, Region } from '../space/space';
import { AddressTakenWalk } from './addressTaken';
import { chainEnd, liveReader, logChange, type ReadRecord, RecordingSpace } from './walkLog';
import type { EptOptions, EptResult, Root } from './eptTypes';
import { ForkSet } from './forkSet';
import { TransformedProducts } from './transformedProducts';
import { SignalInstallers } from './signalHandlers';
import { censusGuards, type Guard, liveCensus, type LiveValues, liveValuesOf, primeCensuses, primedCensus, type WrittenPointer } from './liveCensus';
import * as C from '../elf/elfConstants';
import { type Chain, Summarizer } from './summary';
import { type Origin, queueKey, WalkBase } from './walkBase';

type CensusEntry = Pick<WrittenPointer, 'slot' | 'value' | 'addressable'>;

/** Fields of a walk that are not its state: the space, the options, the decoder and caches of this stop's memory. */
const NOT_STATE = new Set(['space', 'options', 'summarizer', 'codeBuffers', 'regionCache', 'census', 'liveCache', 'productFilter', 'raw', 'rec', 'censusLog', 'liveLog', 'signals', 'transformed']);

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
      if (!NOT_STATE.has(k)) fields[k] = copyState(v, true);
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
      // What code keeps transformed depends on the code only; the copy reads it through its own space.
      transformed: new TransformedProducts(space, (m: ModuleImage) => f.moduleCode(m)),
    });
    return f;
  }

  /** fork, but recording what live memory answers the copy (its own log: the answers of what it walks next). */
  forkRecording(space: AddressSpace, options: EptOptions, census: Map<number, WrittenPointer[]> | undefined): SessionWalk {
    const f = this.fork(space, options, census);
    f.rec = new RecordingSpace(space);
    (f as unknown as { space: AddressSpace }).space = f.rec;
    return f;
  }

  /** Whether the walk queued `root` already (then seeding it again does nothing). */
  queued(root: Root): boolean {
    return !root.ifunc && this.enqueued.has(queueKey(root.address, root.resume));
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

/**
 * A deep copy of a walk's state field: sets, maps, arrays, byte maps and plain records (numbers and strings inside).
 * `share`: the original is a kept walk's, never changed again, so its sets are shared (ForkSet), not copied.
 */
function copyState(v: unknown, share = false): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (v instanceof Set) return share ? new ForkSet(v) : new Set(v);
  if (v instanceof Map) {
    const out = new Map();
    for (const [k, x] of v) out.set(k, copyState(x, share));
    return out;
  }
  if (Array.isArray(v)) return v.map((x) => copyState(x, share));
  if (ArrayBuffer.isView(v)) return (v as Uint8Array).slice();
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = copyState(x, share);
  return out;
}

/** At most this many call-site walks are kept (a session's sites; more, and the oldest are dropped). */
const MAX_SITE_WALKS = 256;

/** What a session keeps between stops: the first phase's state, the key it was made under and its log. */
export class StopWalkCache {
  private template?: SessionWalk;
  private key?: PhaseKey;
  private log?: ReadRecord[];
  /** How the last analysis walked its first phase: 'reused', or why it walked it again. */
  lastFirstPhase?: string;
  /** The pointer guards the last census of the process found (the next one guesses them: liveCensus.primeCensuses). */
  private guards?: readonly Guard[];
  /** The held phase kept: the first phase it went on from, the held roots it walked (its key), the walk and its log. */
  private held?: { base: SessionWalk; roots: readonly Root[]; walk: SessionWalk; log: ReadRecord[] };
  /** How the last analysis walked its held phase: 'reused', 'none' (every held root was queued), or walked. */
  lastHeldPhase?: string;

  /**
   * Before the roots of a stop are read: when the kept first phase asked the census of module pointers, its
   * validation will need that census again, so both censuses of live memory are taken in one pass (the roots'
   * census, mangled exit handlers, is the other). The answers are those each census gives alone.
   */
  prime(space: AddressSpace): void {
    if (!space.liveMemory || !this.template || (this.template.censusLog.size === 0 && !this.held?.walk.censusLog.size)) return;
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
    this.held = undefined;
    this.template = undefined;
    this.key = undefined;
    this.log = undefined;
  }

  /**
   * The walk of a live analysis in three phases: `stable` roots, then `held`, then `frames` on top. Reuses the first
   * phase of the previous call when `space`'s layout, the roots and options are the same and every answer live memory
   * gave it is the same now, and the held phase on top of it when the held roots it did not queue are the same and
   * every answer live memory gave that phase is the same now.
   */
  async walk(space: AddressSpace, phases: WalkPhases, options: EptOptions, sliceMs = 50): Promise<EptResult & { firstPhase: string }> {
    const key = phaseKey(space, phases.stable, options);
    let template: SessionWalk | undefined;
    let census: Map<number, WrittenPointer[]> | undefined;
    let why = 'first stop';
    if (this.template && this.key !== undefined) {
      if (!sameKey(this.key, key)) why = 'the layout, roots or options changed';
      else {
        const now = this.validate(this.template, this.log ?? [], space, options);
        if (now.ok) {
          template = this.template;
          census = now.census;
        } else why = now.why;
      }
    }
    if (!template) {
      this.forget();
      const fresh = new SessionWalk(space, options, true);
      const done = await fresh.walk(phases.stable, sliceMs);
      fresh.release();
      if (!done) return { ...fresh.cancelledResult(), firstPhase: why };
      template = fresh;
      census = fresh.censusOf();
      this.template = fresh;
      this.key = key;
      this.log = fresh.rec!.log;
      this.lastFirstPhase = why;
    } else this.lastFirstPhase = 'reused';
    const base = await this.heldPhase(template, space, phases.held, options, census, sliceMs);
    if (!base.done) return { ...base.walk.cancelledResult(), firstPhase: this.lastFirstPhase };
    const result = await base.walk.fork(space, options, census).finish(phases.frames, sliceMs);
    this.guards = censusGuards(space) ?? this.guards;
    return { ...result, firstPhase: this.lastFirstPhase };
  }

  /** The state after the held phase on top of `template` (the first phase): kept from the last stop when it still holds. */
  private async heldPhase(template: SessionWalk, space: AddressSpace, held: readonly Root[], options: EptOptions, census: Map<number, WrittenPointer[]> | undefined, sliceMs: number): Promise<{ walk: SessionWalk; done: boolean }> {
    const roots = held.filter((r) => !template.queued(r));
    if (!roots.length) {
      this.lastHeldPhase = 'none';
      return { walk: template, done: true };
    }
    const kept = this.held;
    if (kept && kept.base === template && sameRoots(kept.roots, roots) && this.validate(kept.walk, kept.log, space, options).ok) {
      this.lastHeldPhase = 'reused';
      return { walk: kept.walk, done: true };
    }
    this.held = undefined;
    const walk = template.forkRecording(space, options, census);
    const done = await walk.walk(roots, sliceMs);
    walk.release();
    if (done) this.held = { base: template, roots, walk, log: walk.rec!.log };
    this.lastHeldPhase = `walked (${roots.length} root(s) the first phase did not reach)`;
    return { walk, done };
  }

  /** Whether every answer the kept phase `t` got from live memory (`log`, its census and live logs) is the same in `space` now. */
  private validate(t: SessionWalk, log: readonly ReadRecord[], space: AddressSpace, options: EptOptions): { ok: true; census: Map<number, WrittenPointer[]> | undefined } | { ok: false; why: string } {
    const changed = logChange(space, log);
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

/** The roots of a live analysis's three phases (StopWalkCache.walk). */
export interface WalkPhases {
  stable: readonly Root[];
  held: readonly Root[];
  frames: readonly Root[];
}

/**
 * The same three phases without keeping anything (an analysis outside a debug session, the CLI): nothing is logged or
 * copied, each phase goes on in the walker of the one before. The result is what StopWalkCache.walk gives.
 */
export async function walkPhases(space: AddressSpace, phases: WalkPhases, options: EptOptions, sliceMs = 50): Promise<EptResult> {
  const w = new SessionWalk(space, options, false);
  let done = false;
  try {
    done = (await w.walk(phases.stable, sliceMs)) && (await w.walk(phases.held, sliceMs));
  } finally {
    if (!done) w.release();
  }
  return done ? w.finish(phases.frames, sliceMs) : w.cancelledResult();
}

/**
 * What the first phase depends on besides live memory: the modules and executable regions (where pointers can
 * land), the stable roots in order, and the walk's options. Anonymous data regions (the heap) may come and go.
 */
function walkKey(space: AddressSpace, stable: readonly Root[], options: EptOptions): string {
  const key = phaseKey(space, stable, options);
  return `${key.head}\n${rootsKey(stable)}`;
}

/** walkKey as the kept first phase compares it: the roots root by root (no string of them built at every stop). */
interface PhaseKey {
  head: string;
  roots: readonly Root[];
}
function phaseKey(space: AddressSpace, roots: readonly Root[], options: EptOptions): PhaseKey {
  // The gated words follow from the same gate as the Python-callable roots: their count tells a changed gate too.
  return { head: [options.mode ?? 'ept', String(options.addressTaken !== false), String(options.bindNow === true), String(space.liveMemory), String(options.gatedWords?.size ?? -1), layoutKey(space.regions())].join('\n'), roots };
}
function sameKey(a: PhaseKey, b: PhaseKey): boolean {
  return a.head === b.head && sameRoots(a.roots, b.roots);
}

/** Whether seeding `a` does what seeding `b` does: the same roots in the same order. */
function sameRoots(a: readonly Root[], b: readonly Root[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.address !== y.address || !x.resume !== !y.resume || !x.ifunc !== !y.ifunc || x.reason !== y.reason) return false;
  }
  return true;
}

/** Roots in order, as a key (what seeding them does). */
function rootsKey(roots: readonly Root[]): string {
  return roots.map((r) => `${r.address} ${r.resume ? 'r' : ''}${r.ifunc ? 'i' : ''} ${r.reason}`).join('\n');
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
