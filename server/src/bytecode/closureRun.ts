// The closure phase of bytecodeTracking: streams requests to the helper as imports are discovered, simulates
// each module once per file identity (or takes it from the caches), then hands over to trackingResult.ts.

import type { BytecodeCache, CachedModule } from './cache';
import type { Decoder } from './decode';
import { readBodies, type BodiesRef } from './diskCache';
import { abortError, type PythonHelper } from './helper';
import type { IntrospectAnswer, ModuleRecord } from './helperRecords';
import type { ProgramModule } from './naming';
import { shadowCandidates } from './shadowed';
import { simulateModuleLazily, type ModuleSummary, type PendingBodies } from './simulate';
import { StdlibExports } from './stdlibExports';
import type { BytecodeSession, BytecodeTrackingOptions } from './tracking';
import { buildResult, reachableModules, type ClosureFacts, type Entry } from './trackingResult';
import type { BytecodeDiagnostic, BytecodeTrackingResult } from './types';

/** Rounds of introspect requests per run (an answer may name another module whose names are then asked). */
const MAX_INTROSPECT_ROUNDS = 3;

/** Module records waiting for analysis before the helper's output is paused, and when it resumes. */
const INBOX_HIGH = 24;
const INBOX_LOW = 8;

/** One run over the import closure. */
export class ClosureRun {
  private readonly entries = new Map<string, Entry>();
  private readonly requested = new Set<string>();
  /** Names requested only because `from X import name` might be a submodule. */
  private readonly probes = new Set<string>();
  private queue: string[] = [];
  private flushScheduled = false;
  private outstanding = 0;
  private requests = 0;
  private maxRss: number | null = null;
  /** Modules whose record came from the disk cache. */
  private diskModules = 0;
  private helperSeconds = 0;
  private simulateSeconds = 0;
  private failure: Error | null = null;
  private finish: (() => void) | null = null;
  private readonly roots = new Set<string>();
  private readonly maxModules: number;
  private limitHit = false;
  private readonly diagnostics: BytecodeDiagnostic[] = [];
  private readonly rootsKey: string;
  /** Call sites of every module of the closure are reported (else only the roots'). */
  private readonly sitesOfAll: boolean;

  constructor(
    private readonly session: BytecodeSession,
    private readonly helper: PythonHelper,
    private readonly decoder: Decoder,
    private readonly interpreterKey: string,
    private readonly options: BytecodeTrackingOptions,
    private readonly files: string[],
  ) {
    this.maxModules = options.maxModules ?? 20000;
    this.sitesOfAll = (options.callSitesOf ?? 'all') === 'all';
    this.cpuBefore = session.helperCpu;
    this.rootsKey = JSON.stringify([files, options.modules ?? [], !!options.followImports, !!options.followLazyImports]);
  }

  private get cache(): BytecodeCache {
    return this.session.cache;
  }

  async execute(): Promise<BytecodeTrackingResult> {
    const options = this.options;
    const rootsKey = this.rootsKey;
    // Files first: their package roots go on sys.path (as running the script would put its directory).
    if (this.files.length) {
      const done = new Promise<void>((resolve, reject) => {
        this.outstanding++;
        this.requests++;
        const records: ModuleRecord[] = [];
        this.helper
          .dump({ files: this.files, code: false }, (m) => records.push(m), options.cancel)
          .then(async (d) => {
            this.outstanding--;
            this.noteDone(d.maxRssKB, d.seconds, d.cpuSeconds);
            const dirs = [...new Set(records.map((r) => r.root).filter((r): r is string => !!r))].filter((d2) => !this.session.hasPrepended(d2));
            if (dirs.length) {
              await this.helper.prependPath(dirs);
              this.session.notePrepended(dirs);
            }
            for (const r of records) {
              this.roots.add(r.name);
              this.enqueue(r.name);
              this.fileNames.set(r.name, r.file ?? '');
            }
            resolve();
          }, reject);
      });
      await done;
    }
    for (const m of options.modules ?? []) {
      this.roots.add(m);
      this.enqueue(m);
    }
    // Warm start: ask for the whole previous closure at once; unchanged modules come back without code.
    if (options.followImports) {
      const last = this.cache.lastClosure(this.interpreterKey, rootsKey) ?? this.session.disk?.closure(rootsKey);
      if (last) for (const n of last) this.enqueue(n);
    }
    await new Promise<void>((resolve, reject) => {
      this.finish = () => (this.failure ? reject(this.failure) : resolve());
      this.flush();
      this.checkDone();
    });
    if (options.cancel?.aborted) throw abortError();
    options.onProgress?.({ phase: 'resolve', modules: this.entries.size, pending: 0 });
    const reachable = reachableModules(this.entries, this.roots, !!options.followImports, !!options.followLazyImports);
    const previousClosure = this.cache.lastClosure(this.interpreterKey, rootsKey);
    let result = buildResult(this.facts(), reachable, previousClosure);
    // Names stdlib modules bind at import time, which their bytecode does not show (hashlib.sha256): asked
    // of the helper, then resolved again. A few rounds at most (an answer may lead to another module's name).
    for (let round = 0; round < MAX_INTROSPECT_ROUNDS; round++) {
      const before = this.diagnostics.length;
      const again = await this.introspect();
      if (options.cancel?.aborted) throw abortError();
      if (!again) {
        result.diagnostics.push(...this.diagnostics.slice(before));
        break;
      }
      result = buildResult(this.facts(), reachable, undefined);
    }
    // What stdlib modules bind over their own top-level definitions (operator's `from _operator import *`), for the
    // reachability gate (gateShadowed.ts); resolution reads no answer for a name the bytecode binds. Once per session.
    if (options.followImports) await this.askShadowed(reachable);
    result.stats.seconds.introspect = this.introspectSeconds;
    if (this.cpuLast !== null) this.session.helperCpu = this.cpuLast;
    this.cache.setLastClosure(this.interpreterKey, rootsKey, [...reachable]);
    const disk = this.session.disk;
    if (disk) {
      if (options.followImports) disk.setClosure(rootsKey, [...reachable]);
      disk.flush();
    }
    options.onProgress?.({ phase: 'done', modules: result.modules.length, pending: 0 });
    return result;
  }

  private readonly fileNames = new Map<string, string>();

  /** The standard library's real exports for this run's interpreter (kept by the session). */
  private get stdlib(): StdlibExports {
    let s = this.session.stdlibExports.get(this.interpreterKey);
    if (!s) this.session.stdlibExports.set(this.interpreterKey, (s = new StdlibExports(this.helper.info)));
    return s;
  }

  /**
   * Asks the helper what stdlib modules bind the names resolution missed. True when some name got a binding
   * (resolve again). A failed or timed-out request never fails the run: those names stay unknown, with the
   * reason in a diagnostic.
   */
  private async introspect(): Promise<boolean> {
    const stdlib = this.stdlib;
    const asked = stdlib.takeMisses();
    if (!asked.length) return false;
    const t0 = performance.now();
    let answers: IntrospectAnswer[] = [];
    let failure: string | undefined;
    try {
      answers = this.helper.running ? await this.helper.introspect(asked) : [];
      if (!this.helper.running) failure = 'the helper is not running';
    } catch (e) {
      failure = e instanceof Error ? e.message : String(e);
      this.diagnostics.push({ severity: 'warning', code: 'helper-error', message: `The standard library's exports could not be read: ${failure}` });
    }
    this.introspectSeconds += (performance.now() - t0) / 1000;
    stdlib.record(asked, answers, failure);
    return answers.some((a) => Object.values(a.names ?? {}).some((b) => b !== null));
  }

  private introspectSeconds = 0;

  private async askShadowed(reachable: Set<string>): Promise<void> {
    const stdlib = this.stdlib;
    for (const n of reachable) {
      const m = this.entries.get(n)?.module;
      if (!m || !stdlib.mayBeStdlib(m.file)) continue;
      const names = shadowCandidates(m, (x) => this.entries.get(x)?.module.kind);
      if (names.length) stdlib.ask(m.name, m.file, names);
    }
    await this.introspect();
  }

  private enqueue(name: string, probe = false): void {
    if (!name || this.requested.has(name)) {
      if (!probe) this.probes.delete(name);
      return;
    }
    if (this.requested.size >= this.maxModules) {
      this.limitHit = true;
      return;
    }
    this.requested.add(name);
    if (probe) this.probes.add(name);
    this.queue.push(name);
    if (!this.flushScheduled && this.finish) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (!this.queue.length || this.failure) return;
    if (this.options.cancel?.aborted) {
      this.fail(abortError());
      return;
    }
    const batch = this.queue;
    this.queue = [];
    const files = batch.map((n) => this.fileNames.get(n)).filter((f): f is string => !!f);
    const modules = batch.filter((n) => !this.fileNames.get(n));
    const known = this.cache.known(this.interpreterKey, batch);
    this.session.disk?.known(batch, known);
    this.outstanding++;
    this.requests++;
    this.helper
      .dump({ modules, files, known, split: true }, (m) => this.receive(m), this.options.cancel)
      .then(
        (d) => {
          this.outstanding--;
          this.noteDone(d.maxRssKB, d.seconds, d.cpuSeconds);
          this.checkDone();
        },
        (e) => this.fail(e instanceof Error ? e : new Error(String(e))),
      );
  }

  private noteDone(maxRssKB: number | null, seconds: number, cpu?: number | null): void {
    if (maxRssKB !== null && (this.maxRss === null || maxRssKB > this.maxRss)) this.maxRss = maxRssKB;
    this.helperSeconds += seconds;
    if (typeof cpu === 'number') {
      if (this.cpuFirst === null) this.cpuFirst = cpu;
      this.cpuLast = cpu;
    }
  }

  private cpuFirst: number | null = null;
  private cpuLast: number | null = null;
  /** The helper's CPU time when this run started (0 for a helper started by it: its startup counts). */
  private cpuBefore = 0;

  private fail(e: Error): void {
    if (!this.failure) this.failure = e;
    this.finish?.();
  }

  private checkDone(): void {
    if (this.outstanding === 0 && this.queue.length === 0 && !this.flushScheduled && this.inbox.length === this.inboxNext && !this.draining) this.finish?.();
  }

  /**
   * Module records are queued and analysed one per event-loop turn, so the helper's output keeps being read
   * while we simulate: the interpreter produces the next modules on the other core instead of blocking on a
   * full pipe.
   */
  private readonly inbox: ModuleRecord[] = [];
  private inboxNext = 0;
  private draining = false;

  private paused = false;

  private receive(rec: ModuleRecord): void {
    this.inbox.push(rec);
    // Keep the interpreter a few modules ahead, not the whole closure (parsed code is large).
    if (!this.paused && this.inbox.length - this.inboxNext > INBOX_HIGH) {
      this.paused = true;
      this.helper.pauseOutput();
    }
    if (!this.draining) {
      this.draining = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    const deadline = performance.now() + 4;
    while (this.inboxNext < this.inbox.length && performance.now() < deadline) {
      const rec = this.inbox[this.inboxNext];
      this.inbox[this.inboxNext++] = undefined as unknown as ModuleRecord; // let the record's code be collected
      this.onModule(rec);
    }
    if (this.paused && this.inbox.length - this.inboxNext < INBOX_LOW) {
      this.paused = false;
      this.helper.resumeOutput();
    }
    if (this.inboxNext === this.inbox.length) {
      this.inbox.length = 0;
      this.inboxNext = 0;
      this.draining = false;
      this.checkDone();
    } else setImmediate(() => this.drain());
  }

  private onModule(rec: ModuleRecord): void {
    if (this.failure) return;
    const started = performance.now();
    try {
      this.accept(rec);
    } catch (e) {
      this.diagnostics.push({ severity: 'error', code: 'helper-error', module: rec.name, file: rec.file, message: `Could not analyse ${rec.name}: ${e instanceof Error ? e.message : String(e)}` });
    }
    this.simulateSeconds += (performance.now() - started) / 1000;
    const progress = this.options.onProgress;
    if (progress && this.entries.size % 50 === 0) progress({ phase: 'closure', modules: this.entries.size, pending: this.requested.size - this.entries.size });
  }

  private accept(received: ModuleRecord): void {
    const name = received.name;
    const found = this.fromCaches(received);
    const rec = found.rec;
    let cached = found.cached;
    if (!cached) {
      cached = this.analyse(name, rec, found.bodiesOnDisk);
      if (!cached) return;
    }
    // Function bodies are simulated now when this run reports the module's call sites or follows the
    // imports inside functions; otherwise when resolution or a call-graph walk needs them.
    if (cached.pending?.pending && (this.sitesOfAll || this.options.followLazyImports || this.roots.has(name))) cached.pending.complete();
    const r = cached.record;
    const module: ProgramModule = { name, kind: r.kind, file: r.file, isPackage: !!r.isPackage, summary: cached.summary, pending: cached.pending, target: r.target, reason: r.reason };
    this.entries.set(name, { module, cached: found.cached !== undefined, root: this.roots.has(name), diagnostics: cached.diagnostics });
    if (this.options.followImports) this.follow(cached);
  }

  /**
   * The analysis a record stands for when it is unchanged: the in-memory cache's, or the disk cache's record
   * (then analysed again, its bodies left on disk); a native or missing module reported with the same facts.
   */
  private fromCaches(received: ModuleRecord): { rec: ModuleRecord; cached?: CachedModule; bodiesOnDisk: BodiesRef | null } {
    const name = received.name;
    let rec = received;
    let bodiesOnDisk: BodiesRef | null = null;
    if (rec.unchanged) {
      const cached = this.cache.get(this.interpreterKey, name);
      if (cached) {
        this.cache.hits++;
        return { rec, cached, bodiesOnDisk };
      }
      // Unchanged against the disk cache: its stored record stands in for the helper's (bodies stay there).
      const loaded = this.session.disk?.load(name, rec);
      if (loaded) {
        rec = { ...loaded.record, id: rec.id };
        bodiesOnDisk = loaded.bodies;
        this.diskModules++;
      }
    }
    if (!rec.codes && !rec.syntaxError && rec.kind !== 'python') {
      // Native, builtin, missing, alias...: unchanged when the helper reports the same facts as last time.
      const previous = this.cache.get(this.interpreterKey, name);
      const p = previous?.record;
      if (p && p.kind === rec.kind && p.file === rec.file && p.size === rec.size && p.mtimeNs === rec.mtimeNs && p.target === rec.target && p.reason === rec.reason) {
        return { rec, cached: previous, bodiesOnDisk };
      }
    }
    return { rec, bodiesOnDisk };
  }

  /**
   * Analyses a record afresh (module code and class bodies now, function bodies when needed) and caches it;
   * undefined when the record must be asked for again (the cache lost the entry between request and reply).
   */
  private analyse(name: string, rec: ModuleRecord, bodiesOnDisk: BodiesRef | null): CachedModule | undefined {
    const diagnostics: BytecodeDiagnostic[] = [];
    let summary: ModuleSummary | undefined;
    let pending: PendingBodies | undefined;
    if (rec.syntaxError) {
      const se = rec.syntaxError;
      diagnostics.push({ severity: 'error', code: 'syntax-error', module: name, file: se.file || rec.file, line: se.line, column: se.column, endLine: se.endLine ?? null, endColumn: se.endColumn ?? null, message: se.message });
    } else if (rec.codes && rec.codes.length) {
      // Module code and class bodies now (imports, bindings, members); function bodies when needed.
      const codes = this.decoder.decodeEntries(rec.codes);
      const sim = simulateModuleLazily(
        { module: name, file: rec.file ?? '', isPackage: !!rec.isPackage, codes, entries: rec.codes, lazyGlobals: rec.lazyGlobals, allMutated: rec.allMutated, keepFlow: rec.requested !== undefined, decoder: this.decoder, python: this.helper.info },
        rec.lazyCodes,
      );
      summary = sim.summary;
      pending = sim.pending ?? undefined;
      if (pending && bodiesOnDisk) {
        const ref = bodiesOnDisk;
        pending.moveTo(() => readBodies(ref));
      }
    } else if (rec.kind === 'python' && rec.unchanged) {
      // The cache lost the entry between request and reply: ask again for the code.
      this.requested.delete(name);
      this.cache.delete(this.interpreterKey, name);
      this.enqueue(name);
      return undefined;
    }
    // Records the helper just sent go to the disk cache; their bodies then leave memory.
    if (rec.source !== undefined && this.session.disk && rec.kind === 'python') {
      const p = pending;
      this.session.disk.store(rec, rec.source, rec.lazyCodes, (ref) => p?.moveTo(() => readBodies(ref)));
    }
    const { codes: _codes, id: _id, lazyCodes: _lazyCodes, source: _source, ...record } = rec;
    const cached: CachedModule = { record, summary, diagnostics, pending };
    if (rec.kind !== 'error') this.cache.set(this.interpreterKey, name, cached);
    this.cache.misses++;
    return cached;
  }

  /** Requests the modules a module imports (at import time; in functions too with followLazyImports). */
  private follow(cached: CachedModule): void {
    const r = cached.record;
    if (r.kind === 'alias' && r.target) this.enqueue(r.target);
    const s = cached.summary;
    if (!s) return;
    for (const im of s.imports) {
      if (im.error) continue;
      if (im.scope === 'function' && !this.options.followLazyImports) continue;
      for (const t of im.targets) this.enqueue(t);
      for (const p of im.probes) this.enqueue(p, true);
    }
  }

  /** What the resolution phase reads of this run. */
  private facts(): ClosureFacts {
    return {
      entries: this.entries,
      probes: this.probes,
      python: this.helper.info,
      stdlib: this.stdlib,
      cache: this.cache,
      interpreterKey: this.interpreterKey,
      rootsKey: this.rootsKey,
      lastEdges: this.session.lastEdges,
      sitesOfAll: this.sitesOfAll,
      followLazyImports: !!this.options.followLazyImports,
      diagnostics: this.diagnostics,
      cutAt: this.limitHit ? this.maxModules : null,
      counters: {
        diskModules: this.diskModules,
        helperSeconds: this.helperSeconds,
        simulateSeconds: this.simulateSeconds,
        requests: this.requests,
        maxRssKB: this.maxRss,
        cpuSeconds: this.cpuLast !== null ? Math.round((this.cpuLast - this.cpuBefore) * 1000) / 1000 : null,
      },
    };
  }
}
