// bytecodeTracking: the entry point. Drives the Python helper through the import closure (streaming requests
// as imports are discovered), simulates each module once per file identity, then resolves every call site.

import * as path from 'node:path';
import { CallGraph, CallGraphBuilder, buildEdges, isNativeCallee } from './callgraph';
import { BytecodeCache, type CachedModule } from './cache';
import { Decoder } from './decode';
import { abortError, defaultHelperPath, PythonHelper, type HelperOptions } from './helper';
import { DiskCache, defaultCacheDir, readBodies, type BodiesRef } from './diskCache';
import type { IntrospectAnswer, ModuleRecord } from './protocol';
import { Resolver, type Program, type ProgramModule } from './resolve';
import { simulateModuleLazily, type ModuleSummary, type PendingBodies } from './simulate';
import { StdlibExports } from './stdlibExports';
import type { BytecodeDiagnostic, BytecodeTrackingResult, Callee, CallEdge, CallSite, FunctionInfo, ModuleInfo, TrackingStats } from './types';

export interface TrackingProgress {
  phase: 'closure' | 'resolve' | 'done';
  /** Modules received from the helper so far. */
  modules: number;
  /** Modules requested and not yet received. */
  pending: number;
}

export interface BytecodeTrackingOptions {
  /** The interpreter the program runs on: a path (/usr/bin/python3, a pyenv python, /proc/PID/exe). */
  python: string;
  /** Source files to analyse (a script, workspace files). Their directory roots go first on sys.path. */
  files?: string[];
  /** Module names to analyse (found through the interpreter's sys.path). */
  modules?: string[];
  /** Put first on sys.path (the workspace folder). */
  workspaceRoot?: string;
  /** Follow imports that run at import time (module and class level) through sys.path: the import closure. */
  followImports: boolean;
  /** Also follow imports inside functions (default false: they run only when the function is called). */
  followLazyImports?: boolean;
  cancel?: AbortSignal;
  onProgress?: (p: TrackingProgress) => void;
  /** Reuse analyses across runs (keyed by file identity). */
  cache?: BytecodeCache;
  /** Reuse a running session (a warm interpreter); otherwise one is started and closed. */
  session?: BytecodeSession;
  /** Replace the interpreter's sys.path; default: its own (site-packages included). */
  sysPath?: string[];
  env?: NodeJS.ProcessEnv;
  /** The helper's working directory (relative PYTHONPATH entries resolve against it). */
  cwd?: string;
  helperPath?: string;
  /**
   * Directory of the on-disk cache of module records (shared by processes: a new one starts warm); null
   * disables it. Default: $PYGRATION_CACHE_DIR, else $XDG_CACHE_HOME/pygration, else ~/.cache/pygration.
   * Used when no session is given (a session has its own).
   */
  cacheDir?: string | null;
  /** Stop following imports beyond this many modules (default 20000). */
  maxModules?: number;
  /** Which modules' call sites to report: all of the closure (default) or only the requested roots. */
  callSitesOf?: 'all' | 'roots';
}

/** Analyses files and modules with the interpreter given; see BytecodeTrackingResult. */
export async function bytecodeTracking(options: BytecodeTrackingOptions): Promise<BytecodeTrackingResult> {
  const own = options.session === undefined;
  const session = options.session ?? new BytecodeSession({ python: options.python, helperPath: options.helperPath, sysPath: options.sysPath, env: options.env, cwd: options.cwd, cache: options.cache, cacheDir: options.cacheDir });
  try {
    return await session.track(options);
  } finally {
    if (own) session.close();
  }
}

export interface SessionOptions extends Omit<HelperOptions, 'prependPath'> {
  cache?: BytecodeCache;
  /** The on-disk cache's directory (see BytecodeTrackingOptions.cacheDir); null disables it. */
  cacheDir?: string | null;
}

/** A warm interpreter with its helper, decoder and cache: what the language server keeps between runs. */
export class BytecodeSession {
  readonly cache: BytecodeCache;
  private helper: PythonHelper | null = null;
  private starting: Promise<PythonHelper> | null = null;
  private decoder: Decoder | null = null;
  private readonly prepended = new Set<string>();
  /** @internal CPU seconds the current helper had used at the end of the last run. */
  helperCpu = 0;
  /** @internal The edges of the last run per roots (reused when nothing had to be resolved again). */
  readonly lastEdges = new Map<string, { sites: number; edges: CallEdge[] }>();
  /** @internal The standard library's real exports per interpreter (executable + magic), asked once each. */
  readonly stdlibExports = new Map<string, StdlibExports>();
  /** @internal The on-disk cache of this interpreter's module records (null: none or unusable). */
  disk: DiskCache | null = null;
  private diskOpened = false;

  constructor(private readonly options: SessionOptions) {
    this.cache = options.cache ?? new BytecodeCache();
  }

  /** Starts (or returns) the helper process. */
  async ensureHelper(): Promise<PythonHelper> {
    if (this.helper && this.helper.running) return this.helper;
    if (!this.starting) {
      this.starting = PythonHelper.start(this.options).then(
        (h) => {
          this.helper = h;
          this.decoder = new Decoder(h.model);
          // A helper run as another user (a live process's) could write anything into our cache: not kept.
          if (!this.diskOpened && h.credentials === undefined) {
            this.diskOpened = true;
            const dir = this.options.cacheDir === undefined ? defaultCacheDir() : this.options.cacheDir;
            if (dir) this.disk = DiskCache.open(dir, h.info, this.options.helperPath ?? defaultHelperPath());
          }
          this.prepended.clear();
          this.helperCpu = 0;
          this.starting = null;
          return h;
        },
        (e) => {
          this.starting = null;
          throw e;
        },
      );
    }
    return this.starting;
  }

  close(): void {
    this.helper?.close();
    this.helper = null;
  }

  async track(options: BytecodeTrackingOptions): Promise<BytecodeTrackingResult> {
    const t0 = performance.now();
    const signal = options.cancel;
    if (signal?.aborted) throw abortError();
    const helper = await this.ensureHelper();
    const decoder = this.decoder!;
    const interpreterKey = `${helper.info.executable}\0${helper.info.magic}`;
    const files = (options.files ?? []).map((f) => path.resolve(f));
    const prepend: string[] = [];
    if (options.workspaceRoot) prepend.push(path.resolve(options.workspaceRoot));
    const newRoots = prepend.filter((p) => !this.prepended.has(p));
    if (newRoots.length) {
      await helper.prependPath(newRoots);
      for (const p of newRoots) this.prepended.add(p);
    }
    const run = new ClosureRun(this, helper, decoder, interpreterKey, options, files);
    const result = await run.execute();
    result.stats.seconds.total = (performance.now() - t0) / 1000;
    return result;
  }

  /** @internal Registers directories the helper has put on sys.path. */
  notePrepended(dirs: string[]): void {
    for (const d of dirs) this.prepended.add(d);
  }

  /** @internal */
  hasPrepended(dir: string): boolean {
    return this.prepended.has(dir);
  }
}

/** Rounds of introspect requests per run (an answer may name another module whose names are then asked). */
const MAX_INTROSPECT_ROUNDS = 3;

/** Module records waiting for analysis before the helper's output is paused, and when it resumes. */
const INBOX_HIGH = 24;
const INBOX_LOW = 8;

interface Entry {
  module: ProgramModule;
  cached: boolean;
  root: boolean;
  diagnostics: BytecodeDiagnostic[];
}

/** One run over the import closure. */
class ClosureRun {
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
    const reachable = this.reachable();
    const previousClosure = this.cache.lastClosure(this.interpreterKey, rootsKey);
    let result = this.build(reachable, previousClosure);
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
      result = this.build(reachable, undefined);
    }
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

  private accept(rec: ModuleRecord): void {
    const name = rec.name;
    let cached: CachedModule | undefined;
    let fromCache = false;
    let bodiesOnDisk: BodiesRef | null = null;
    if (rec.unchanged) {
      cached = this.cache.get(this.interpreterKey, name);
      if (cached) {
        fromCache = true;
        this.cache.hits++;
      } else {
        // Unchanged against the disk cache: its stored record stands in for the helper's (bodies stay there).
        const loaded = this.session.disk?.load(name, rec);
        if (loaded) {
          rec = { ...loaded.record, id: rec.id };
          bodiesOnDisk = loaded.bodies;
          this.diskModules++;
        }
      }
    }
    if (!cached && !rec.codes && !rec.syntaxError && rec.kind !== 'python') {
      // Native, builtin, missing, alias...: unchanged when the helper reports the same facts as last time.
      const previous = this.cache.get(this.interpreterKey, name);
      const p = previous?.record;
      if (p && p.kind === rec.kind && p.file === rec.file && p.size === rec.size && p.mtimeNs === rec.mtimeNs && p.target === rec.target && p.reason === rec.reason) {
        cached = previous;
        fromCache = true;
      }
    }
    if (!cached) {
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
          { module: name, file: rec.file ?? '', isPackage: !!rec.isPackage, codes, entries: rec.codes, lazyGlobals: rec.lazyGlobals, decoder: this.decoder, python: this.helper.info },
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
        return;
      }
      // Records the helper just sent go to the disk cache; their bodies then leave memory.
      if (rec.source !== undefined && this.session.disk && rec.kind === 'python') {
        const p = pending;
        this.session.disk.store(rec, rec.source, rec.lazyCodes, (ref) => p?.moveTo(() => readBodies(ref)));
      }
      const { codes: _codes, id: _id, lazyCodes: _lazyCodes, source: _source, ...record } = rec;
      cached = { record, summary, diagnostics, pending };
      if (rec.kind !== 'error') this.cache.set(this.interpreterKey, name, cached);
      this.cache.misses++;
    }
    // Function bodies are simulated now when this run reports the module's call sites or follows the
    // imports inside functions; otherwise when resolution or a call-graph walk needs them.
    if (cached.pending?.pending && (this.sitesOfAll || this.options.followLazyImports || this.roots.has(name))) cached.pending.complete();
    const r = cached.record;
    const module: ProgramModule = { name, kind: r.kind, file: r.file, isPackage: !!r.isPackage, summary: cached.summary, pending: cached.pending, target: r.target, reason: r.reason };
    this.entries.set(name, { module, cached: fromCache, root: this.roots.has(name), diagnostics: cached.diagnostics });
    if (!this.options.followImports) return;
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

  /** Modules reachable from the roots through followed imports (drops what a warm start asked for in vain). */
  private reachable(): Set<string> {
    const out = new Set<string>();
    const stack = [...this.roots].filter((r) => this.entries.has(r));
    const follow = this.options.followImports;
    while (stack.length) {
      const n = stack.pop()!;
      if (out.has(n)) continue;
      const e = this.entries.get(n);
      if (!e) continue;
      out.add(n);
      if (!follow) continue;
      const m = e.module;
      if (m.kind === 'alias' && m.target) stack.push(m.target);
      const s = m.summary;
      if (!s) continue;
      for (const im of s.imports) {
        if (im.error || (im.scope === 'function' && !this.options.followLazyImports)) continue;
        for (const t of im.targets) stack.push(t);
        for (const sub of im.probes) {
          const se = this.entries.get(sub);
          if (se && se.module.kind !== 'missing') stack.push(sub);
        }
      }
    }
    return out;
  }

  /**
   * Modules whose call sites must be resolved again: those analysed afresh in this run and every module that
   * imports one of them (transitively). All of them when the closure itself changed (a module appeared or
   * disappeared, which can change what a name resolves to).
   */
  private dirtyModules(reachable: Set<string>, previousClosure: string[] | undefined): Set<string> | null {
    if (!previousClosure || previousClosure.length !== reachable.size || previousClosure.some((n) => !reachable.has(n))) return null;
    const changed: string[] = [];
    for (const n of reachable) if (!this.entries.get(n)!.cached) changed.push(n);
    const importers = new Map<string, string[]>();
    for (const n of reachable) {
      const s = this.entries.get(n)!.module.summary;
      const m = this.entries.get(n)!.module;
      const targets: string[] = [];
      if (m.kind === 'alias' && m.target) targets.push(m.target);
      for (const im of s?.imports ?? []) {
        for (const t of im.targets) targets.push(t);
        for (const p of im.probes) targets.push(p);
      }
      for (const t of targets) {
        let l = importers.get(t);
        if (!l) importers.set(t, (l = []));
        l.push(n);
      }
    }
    const dirty = new Set<string>(changed);
    const stack = [...changed];
    while (stack.length) {
      const t = stack.pop()!;
      for (const imp of importers.get(t) ?? []) {
        if (!dirty.has(imp)) {
          dirty.add(imp);
          stack.push(imp);
        }
      }
    }
    return dirty;
  }

  private build(reachable: Set<string>, previousClosure: string[] | undefined): BytecodeTrackingResult {
    const resolveStart = performance.now();
    const modules = new Map<string, ProgramModule>();
    // The program sees every module the helper reported (probes that are not modules are `missing`).
    for (const [n, e] of this.entries) modules.set(n, e.module);
    // Extension modules the stdlib's real exports name, when the closure did not reach them (_sha2).
    const stdlib = this.stdlib;
    for (const [n, nm] of stdlib.nativeModules) {
      if (!modules.has(n)) modules.set(n, { name: n, kind: nm.builtin ? 'builtin' : 'native', file: nm.file, isPackage: false });
    }
    const program: Program = { python: this.helper.info, modules, stdlib };
    const dirty = this.dirtyModules(reachable, previousClosure);
    let builder: CallGraphBuilder | null = null;
    const getBuilder = (): CallGraphBuilder => (builder ??= new CallGraphBuilder(program, new Resolver(program)));
    const callSites: CallSite[] = [];
    const functions: FunctionInfo[] = [];
    const infos: ModuleInfo[] = [];
    const diagnostics: BytecodeDiagnostic[] = [...this.diagnostics];
    const stats: TrackingStats = {
      modules: 0, pythonModules: 0, nativeModules: 0, builtinModules: 0, missingModules: 0, cachedModules: 0,
      codeObjects: 0, instructions: 0, callSites: 0, operatorSites: 0, resolvedSites: 0, nativeSites: 0, ctypesSites: 0,
      unknownSites: 0, pendingModules: 0, diskModules: this.diskModules, desync: 0, effectMismatches: 0, depthMismatches: 0,
      seconds: { total: 0, helper: this.helperSeconds, simulate: this.simulateSeconds, resolve: 0 },
      helper: { requests: this.requests, maxRssKB: this.maxRss, cpuSeconds: this.cpuLast !== null ? Math.round((this.cpuLast - this.cpuBefore) * 1000) / 1000 : null },
    };
    const sitesOfAll = this.sitesOfAll;
    const flagsOf = new Map<Callee, number>();
    /** Resolved call sites per reported module (the call graph starts from them). */
    const reported = new Map<string, CallSite[]>();
    const names = [...reachable].sort();
    const resolvedNow = new Map<string, NonNullable<CachedModule['resolved']>>();
    const resolveModule = (n: string, s: ModuleSummary, m: ProgramModule): NonNullable<CachedModule['resolved']> => {
      const done = resolvedNow.get(n);
      if (done) return done;
      if (m.pending?.pending) m.pending.complete();
      const cachedEntry = this.cache.get(this.interpreterKey, n);
      let resolved = cachedEntry?.summary === s ? cachedEntry.resolved : undefined;
      if (!resolved || dirty === null || dirty.has(n)) {
        const b = getBuilder();
        resolved = { sites: s.sites.map((site) => b.site(s, site)), functions: b.functions(s) };
        if (cachedEntry && cachedEntry.summary === s) cachedEntry.resolved = resolved;
      }
      resolvedNow.set(n, resolved);
      return resolved;
    };
    // The roots' call sites first, noting the stdlib names they miss: only those are asked of the helper.
    // Other modules' sites (a full listing, or the call graph's walks later) see the answers, never add
    // questions, so a full listing and a lazy walk of the same roots agree.
    stdlib.collecting = true;
    try {
      for (const n of names) {
        const e = this.entries.get(n)!;
        if (e.root && e.module.summary && !(this.probes.has(n) && e.module.kind === 'missing')) resolveModule(n, e.module.summary, e.module);
      }
    } finally {
      stdlib.collecting = false;
    }
    for (const n of names) {
      const e = this.entries.get(n)!;
      const m = e.module;
      if (this.probes.has(n) && m.kind === 'missing') continue;
      stats.modules++;
      if (m.kind === 'python') stats.pythonModules++;
      else if (m.kind === 'native') stats.nativeModules++;
      else if (m.kind === 'builtin' || m.kind === 'frozen') stats.builtinModules++;
      else if (m.kind === 'missing') stats.missingModules++;
      if (e.cached && m.summary) stats.cachedModules++;
      diagnostics.push(...e.diagnostics);
      const s = m.summary;
      if (e.root && s) {
        if (m.pending?.pending) m.pending.complete();
        if (m.pending?.error) diagnostics.push({ severity: 'error', code: 'helper-error', module: n, file: m.file, message: `Could not analyse the functions of ${n}: ${m.pending.error}` });
        for (const im of s.imports) {
          if (im.error) diagnostics.push({ severity: 'error', code: 'bad-relative-import', module: n, file: m.file, line: im.line >= 0 ? im.line : null, message: `Import of ${im.module}: ${im.error}.` });
        }
      }
      if (e.root && (m.kind === 'missing' || m.kind === 'error')) {
        diagnostics.push({ severity: 'error', code: 'load-error', module: n, file: m.file, message: `Could not analyse ${m.file ?? n}: ${m.reason ?? 'not found'}.` });
      }
      const info: ModuleInfo = { name: n, kind: m.kind, file: m.file, isPackage: m.isPackage, root: e.root, cached: e.cached, imports: [], starImports: s ? s.stars.map((x) => x.module) : [], target: m.target, reason: m.reason };
      infos.push(info);
      if (!s) continue;
      if (!s.complete) stats.pendingModules++;
      stats.codeObjects += s.stats.codes;
      stats.instructions += s.stats.instructions;
      stats.desync += s.stats.desync;
      stats.effectMismatches += s.stats.effectMismatches;
      stats.depthMismatches += s.stats.depthMismatches;
      for (const im of s.imports) {
        const found = modules.get(im.module)?.kind;
        info.imports.push({ module: im.module, line: im.line >= 0 ? im.line : null, scope: im.scope, via: im.via, fromlist: im.fromlist, found });
        if (e.root && found === 'missing' && (im.scope !== 'function' || this.options.followLazyImports)) {
          diagnostics.push({ severity: 'warning', code: 'missing-module', module: n, file: m.file, line: im.line >= 0 ? im.line : null, message: `Module ${im.module} was not found on ${this.helper.info.executable}'s sys.path.` });
        }
      }
      if (!sitesOfAll && !e.root) continue;
      const resolved = resolveModule(n, s, m);
      for (const f of resolved.functions) functions.push(f);
      reported.set(n, resolved.sites);
      for (const cs of resolved.sites) {
        callSites.push(cs);
        if (cs.kind === 'operator') stats.operatorSites++;
        else stats.callSites++;
        let f = flagsOf.get(cs.callee);
        if (f === undefined) {
          const c = cs.callee;
          f = (c.qualifiedName ? 1 : 0) | (isNativeCallee(c) ? 2 : 0) | ((c.candidates ?? [c]).some((x) => x.kind === 'ctypes') ? 4 : 0) | (c.kind === 'unknown' ? 8 : 0);
          flagsOf.set(c, f);
        }
        if (f & 1) stats.resolvedSites++;
        if (f & 2) stats.nativeSites++;
        if (f & 4) stats.ctypesSites++;
        if (f & 8) stats.unknownSites++;
      }
    }
    if (this.limitHit) diagnostics.push({ severity: 'warning', code: 'helper-error', message: `The import closure was cut at ${this.maxModules} modules.` });
    // Nothing re-resolved (same closure, no module changed): the previous edges still hold.
    const edgeKey = `${this.interpreterKey}\0${this.rootsKey}\0${sitesOfAll}`;
    const previousEdges = this.session.lastEdges.get(edgeKey);
    const edges = dirty !== null && dirty.size === 0 && previousEdges && previousEdges.sites === callSites.length ? previousEdges.edges : buildEdges(callSites);
    this.session.lastEdges.set(edgeKey, { sites: callSites.length, edges });
    stats.seconds.resolve = (performance.now() - resolveStart) / 1000;
    const info = this.helper.info;
    const result: BytecodeTrackingResult = {
      python: { executable: info.executable, version: info.versionString, magic: info.magic, sysPath: info.sysPath },
      modules: infos,
      functions,
      callSites,
      edges,
      diagnostics,
      stats,
    };
    // The call graph over the whole closure, built on demand (not enumerable: the result stays plain data).
    const graph = new CallGraph(program, getBuilder, reachable, reported);
    Object.defineProperty(result, 'graph', { value: graph, enumerable: false, writable: false, configurable: true });
    return result;
  }
}
