// The resolution phase of bytecodeTracking: from the modules the closure phase gathered (closureRun.ts) to the
// result: call sites resolved module by module (reusing what is still valid), statistics, diagnostics, edges.

import { CallGraphBuilder } from './callgraph';
import { CallGraph, buildEdges, isNativeCallee } from './callGraphQuery';
import type { BytecodeCache, CachedModule } from './cache';
import type { InterpreterInfo } from './helperRecords';
import { Resolver, type Program, type ProgramModule } from './naming';
import type { ModuleSummary } from './simulate';
import type { StdlibExports } from './stdlibExports';
import type { BytecodeDiagnostic, BytecodeTrackingResult, Callee, CallEdge, CallSite, FunctionInfo, ModuleInfo, TrackingStats } from './types';

/** One module of the closure as the run received it. */
export interface Entry {
  module: ProgramModule;
  /** Its analysis came from the in-memory cache. */
  cached: boolean;
  root: boolean;
  diagnostics: BytecodeDiagnostic[];
}

/** What the closure phase hands to the resolution phase. */
export interface ClosureFacts {
  entries: ReadonlyMap<string, Entry>;
  /** Names requested only because `from X import name` might be a submodule (a missing one is no module). */
  probes: ReadonlySet<string>;
  python: InterpreterInfo;
  /** The standard library's real exports for this interpreter (kept by the session). */
  stdlib: StdlibExports;
  cache: BytecodeCache;
  interpreterKey: string;
  rootsKey: string;
  /** The session's edges of the last run per roots (reused when nothing had to be resolved again). */
  lastEdges: Map<string, { sites: number; edges: CallEdge[] }>;
  /** Call sites of every module of the closure are reported (else only the roots'). */
  sitesOfAll: boolean;
  followLazyImports: boolean;
  /** The run's own diagnostics so far (helper errors). */
  diagnostics: readonly BytecodeDiagnostic[];
  /** The module limit, when the closure was cut at it. */
  cutAt: number | null;
  /** The closure phase's figures. */
  counters: { diskModules: number; helperSeconds: number; simulateSeconds: number; requests: number; maxRssKB: number | null; cpuSeconds: number | null };
}

type Resolved = NonNullable<CachedModule['resolved']>;

/**
 * The result of a run over its closure: `reachable` lists the modules reported; `previousClosure` is the last
 * run's closure over the same roots (undefined: every call site is resolved again).
 */
export function buildResult(facts: ClosureFacts, reachable: Set<string>, previousClosure: string[] | undefined): BytecodeTrackingResult {
  const started = performance.now();
  const builder = new ResultBuilder(facts, reachable, previousClosure);
  const names = [...reachable].sort();
  builder.resolveRoots(names);
  for (const n of names) builder.addModule(n);
  return builder.finish(started);
}

/** Modules reachable from the roots through followed imports (drops what a warm start asked for in vain). */
export function reachableModules(entries: ReadonlyMap<string, Entry>, roots: Iterable<string>, followImports: boolean, followLazyImports: boolean): Set<string> {
  const out = new Set<string>();
  const stack = [...roots].filter((r) => entries.has(r));
  while (stack.length) {
    const n = stack.pop()!;
    if (out.has(n)) continue;
    const e = entries.get(n);
    if (!e) continue;
    out.add(n);
    if (!followImports) continue;
    const m = e.module;
    if (m.kind === 'alias' && m.target) stack.push(m.target);
    const s = m.summary;
    if (!s) continue;
    for (const im of s.imports) {
      if (im.error || (im.scope === 'function' && !followLazyImports)) continue;
      for (const t of im.targets) stack.push(t);
      for (const sub of im.probes) {
        const se = entries.get(sub);
        if (se && se.module.kind !== 'missing') stack.push(sub);
      }
    }
  }
  return out;
}

/**
 * Modules whose call sites must be resolved again: those analysed afresh in this run and every module that
 * imports one of them (transitively). All of them (null) when the closure itself changed (a module appeared
 * or disappeared, which can change what a name resolves to).
 */
function dirtyModules(entries: ReadonlyMap<string, Entry>, reachable: Set<string>, previousClosure: string[] | undefined): Set<string> | null {
  if (!previousClosure || previousClosure.length !== reachable.size || previousClosure.some((n) => !reachable.has(n))) return null;
  const changed: string[] = [];
  for (const n of reachable) if (!entries.get(n)!.cached) changed.push(n);
  const importers = new Map<string, string[]>();
  for (const n of reachable) {
    const s = entries.get(n)!.module.summary;
    const m = entries.get(n)!.module;
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

/** The program resolution sees: every module the helper reported, and the stdlib's extensions it names. */
function programOf(facts: ClosureFacts): Program {
  const modules = new Map<string, ProgramModule>();
  // The program sees every module the helper reported (probes that are not modules are `missing`).
  for (const [n, e] of facts.entries) modules.set(n, e.module);
  // Extension modules the stdlib's real exports name, when the closure did not reach them (_sha2).
  for (const [n, nm] of facts.stdlib.nativeModules) {
    if (!modules.has(n)) modules.set(n, { name: n, kind: nm.builtin ? 'builtin' : 'native', file: nm.file, isPackage: false });
  }
  return { python: facts.python, modules, stdlib: facts.stdlib };
}

function emptyStats(c: ClosureFacts['counters']): TrackingStats {
  return {
    modules: 0, pythonModules: 0, nativeModules: 0, builtinModules: 0, missingModules: 0, cachedModules: 0,
    codeObjects: 0, instructions: 0, callSites: 0, operatorSites: 0, resolvedSites: 0, nativeSites: 0, ctypesSites: 0,
    unknownSites: 0, pendingModules: 0, diskModules: c.diskModules, desync: 0, effectMismatches: 0, depthMismatches: 0,
    seconds: { total: 0, helper: c.helperSeconds, simulate: c.simulateSeconds, resolve: 0 },
    helper: { requests: c.requests, maxRssKB: c.maxRssKB, cpuSeconds: c.cpuSeconds },
  };
}

/** Flags of a callee for the statistics: 1 resolved, 2 native, 4 ctypes, 8 unknown. */
function calleeFlags(c: Callee): number {
  return (c.qualifiedName ? 1 : 0) | (isNativeCallee(c) ? 2 : 0) | ((c.candidates ?? [c]).some((x) => x.kind === 'ctypes') ? 4 : 0) | (c.kind === 'unknown' ? 8 : 0);
}

/** Builds one result; each step adds to the lists and statistics below. */
class ResultBuilder {
  private readonly program: Program;
  private readonly dirty: Set<string> | null;
  private builder: CallGraphBuilder | null = null;
  private readonly resolvedNow = new Map<string, Resolved>();
  private readonly flagsOf = new Map<Callee, number>();
  private readonly callSites: CallSite[] = [];
  private readonly functions: FunctionInfo[] = [];
  private readonly infos: ModuleInfo[] = [];
  private readonly diagnostics: BytecodeDiagnostic[];
  private readonly stats: TrackingStats;
  /** Resolved call sites per reported module (the call graph starts from them). */
  private readonly reported = new Map<string, CallSite[]>();

  constructor(
    private readonly facts: ClosureFacts,
    private readonly reachable: Set<string>,
    previousClosure: string[] | undefined,
  ) {
    this.program = programOf(facts);
    this.dirty = dirtyModules(facts.entries, reachable, previousClosure);
    this.diagnostics = [...facts.diagnostics];
    this.stats = emptyStats(facts.counters);
  }

  private readonly getBuilder = (): CallGraphBuilder => (this.builder ??= new CallGraphBuilder(this.program, new Resolver(this.program)));

  /** A module's call sites and functions: from the cache while nothing it imports changed, else resolved now. */
  private resolveModule(n: string, s: ModuleSummary, m: ProgramModule): Resolved {
    const done = this.resolvedNow.get(n);
    if (done) return done;
    if (m.pending?.pending) m.pending.complete();
    const cachedEntry = this.facts.cache.get(this.facts.interpreterKey, n);
    let resolved = cachedEntry?.summary === s ? cachedEntry.resolved : undefined;
    if (!resolved || this.dirty === null || this.dirty.has(n)) {
      const b = this.getBuilder();
      resolved = { sites: s.sites.map((site) => b.site(s, site)), functions: b.functions(s) };
      if (cachedEntry && cachedEntry.summary === s) cachedEntry.resolved = resolved;
    }
    this.resolvedNow.set(n, resolved);
    return resolved;
  }

  /**
   * The roots' call sites first, noting the stdlib names they miss: only those are asked of the helper.
   * Other modules' sites (a full listing, or the call graph's walks later) see the answers, never add
   * questions, so a full listing and a lazy walk of the same roots agree.
   */
  resolveRoots(names: string[]): void {
    const stdlib = this.facts.stdlib;
    stdlib.collecting = true;
    try {
      for (const n of names) {
        const e = this.facts.entries.get(n)!;
        if (e.root && e.module.summary && !(this.facts.probes.has(n) && e.module.kind === 'missing')) this.resolveModule(n, e.module.summary, e.module);
      }
    } finally {
      stdlib.collecting = false;
    }
  }

  /** Reports one module of the closure: its counts, its diagnostics, its info and (when asked) its call sites. */
  addModule(n: string): void {
    const e = this.facts.entries.get(n)!;
    const m = e.module;
    if (this.facts.probes.has(n) && m.kind === 'missing') return;
    this.countModule(e);
    this.diagnostics.push(...e.diagnostics);
    if (e.root) this.rootProblems(n, m);
    const s = m.summary;
    const info: ModuleInfo = { name: n, kind: m.kind, file: m.file, isPackage: m.isPackage, root: e.root, cached: e.cached, imports: [], starImports: s ? s.stars.map((x) => x.module) : [], target: m.target, reason: m.reason };
    this.infos.push(info);
    if (!s) return;
    this.countSummary(s);
    this.addImports(info, e, s);
    if (!this.facts.sitesOfAll && !e.root) return;
    const resolved = this.resolveModule(n, s, m);
    for (const f of resolved.functions) this.functions.push(f);
    this.reported.set(n, resolved.sites);
    for (const cs of resolved.sites) this.addSite(cs);
  }

  private countModule(e: Entry): void {
    const m = e.module;
    const stats = this.stats;
    stats.modules++;
    if (m.kind === 'python') stats.pythonModules++;
    else if (m.kind === 'native') stats.nativeModules++;
    else if (m.kind === 'builtin' || m.kind === 'frozen') stats.builtinModules++;
    else if (m.kind === 'missing') stats.missingModules++;
    if (e.cached && m.summary) stats.cachedModules++;
  }

  private countSummary(s: ModuleSummary): void {
    const stats = this.stats;
    if (!s.complete) stats.pendingModules++;
    stats.codeObjects += s.stats.codes;
    stats.instructions += s.stats.instructions;
    stats.desync += s.stats.desync;
    stats.effectMismatches += s.stats.effectMismatches;
    stats.depthMismatches += s.stats.depthMismatches;
  }

  /** What keeps a root from being analysed in full: functions not analysed, bad relative imports, no module. */
  private rootProblems(n: string, m: ProgramModule): void {
    const s = m.summary;
    if (s) {
      if (m.pending?.pending) m.pending.complete();
      if (m.pending?.error) this.diagnostics.push({ severity: 'error', code: 'helper-error', module: n, file: m.file, message: `Could not analyse the functions of ${n}: ${m.pending.error}` });
      for (const im of s.imports) {
        if (im.error) this.diagnostics.push({ severity: 'error', code: 'bad-relative-import', module: n, file: m.file, line: im.line >= 0 ? im.line : null, message: `Import of ${im.module}: ${im.error}.` });
      }
    }
    if (m.kind === 'missing' || m.kind === 'error') {
      this.diagnostics.push({ severity: 'error', code: 'load-error', module: n, file: m.file, message: `Could not analyse ${m.file ?? n}: ${m.reason ?? 'not found'}.` });
    }
  }

  /** A module's imports in its info; a root's imports of modules not found are warned about. */
  private addImports(info: ModuleInfo, e: Entry, s: ModuleSummary): void {
    const m = e.module;
    for (const im of s.imports) {
      const found = this.program.modules.get(im.module)?.kind;
      info.imports.push({ module: im.module, line: im.line >= 0 ? im.line : null, scope: im.scope, via: im.via, fromlist: im.fromlist, found });
      if (e.root && found === 'missing' && (im.scope !== 'function' || this.facts.followLazyImports)) {
        this.diagnostics.push({ severity: 'warning', code: 'missing-module', module: info.name, file: m.file, line: im.line >= 0 ? im.line : null, message: `Module ${im.module} was not found on ${this.facts.python.executable}'s sys.path.` });
      }
    }
  }

  private addSite(cs: CallSite): void {
    const stats = this.stats;
    this.callSites.push(cs);
    if (cs.kind === 'operator') stats.operatorSites++;
    else stats.callSites++;
    let f = this.flagsOf.get(cs.callee);
    if (f === undefined) {
      f = calleeFlags(cs.callee);
      this.flagsOf.set(cs.callee, f);
    }
    if (f & 1) stats.resolvedSites++;
    if (f & 2) stats.nativeSites++;
    if (f & 4) stats.ctypesSites++;
    if (f & 8) stats.unknownSites++;
  }

  /** The edges, the timing and the result, with its call graph over the whole closure. */
  finish(started: number): BytecodeTrackingResult {
    const facts = this.facts;
    if (facts.cutAt !== null) this.diagnostics.push({ severity: 'warning', code: 'helper-error', message: `The import closure was cut at ${facts.cutAt} modules.` });
    // Nothing re-resolved (same closure, no module changed): the previous edges still hold.
    const edgeKey = `${facts.interpreterKey}\0${facts.rootsKey}\0${facts.sitesOfAll}`;
    const previousEdges = facts.lastEdges.get(edgeKey);
    const callSites = this.callSites;
    const edges = this.dirty !== null && this.dirty.size === 0 && previousEdges && previousEdges.sites === callSites.length ? previousEdges.edges : buildEdges(callSites);
    facts.lastEdges.set(edgeKey, { sites: callSites.length, edges });
    this.stats.seconds.resolve = (performance.now() - started) / 1000;
    const info = facts.python;
    const result: BytecodeTrackingResult = {
      python: { executable: info.executable, version: info.versionString, magic: info.magic, sysPath: info.sysPath },
      modules: this.infos,
      functions: this.functions,
      callSites,
      edges,
      diagnostics: this.diagnostics,
      stats: this.stats,
    };
    // The call graph over the whole closure, built on demand (not enumerable: the result stays plain data).
    const graph = new CallGraph(this.program, this.getBuilder, this.reachable, this.reported);
    Object.defineProperty(result, 'graph', { value: graph, enumerable: false, writable: false, configurable: true });
    return result;
  }
}
