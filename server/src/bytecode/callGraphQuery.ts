// The call graph over a tracking result: caller → callee edges, the native code reachable from a function, and
// CallGraph, which resolves the call sites of the closure's other modules when a walk enters them.

import * as path from 'node:path';
import type { CallGraphBuilder } from './callgraph';
import type { RuntimeBinding } from './helperRecords';
import type { ModuleSummary, SiteRecord } from './simulate';
import type { Program, ProgramModule } from './targets';
import type { BytecodeTrackingResult, Callee, CallEdge, CallGraphQuery, CallSite } from './types';

/** Aggregates call sites into caller → callee edges (one per distinct pair, with the number of sites). */
export function buildEdges(sites: CallSite[]): CallEdge[] {
  const byCaller = new Map<string, Map<string, CallEdge>>();
  const out: CallEdge[] = [];
  for (const s of sites) {
    let edges = byCaller.get(s.caller);
    if (!edges) byCaller.set(s.caller, (edges = new Map()));
    const alts = s.callee.candidates;
    const n = alts ? alts.length : 1;
    for (let k = 0; k < n; k++) {
      const c = alts ? alts[k] : s.callee;
      const callee = c.qualifiedName ?? c.reference;
      const e = edges.get(callee);
      if (e) e.count++;
      else {
        const edge: CallEdge = { caller: s.caller, callee, kind: c.kind, count: 1 };
        edges.set(callee, edge);
        out.push(edge);
      }
    }
  }
  return out;
}

/** Whether a callee is (or may be) native code. */
export function isNativeCallee(c: Callee): boolean {
  const alts = c.candidates ?? [c];
  return alts.some((a) => a.kind === 'native' || a.kind === 'builtin' || a.kind === 'ctypes' || (a.kind === 'operator' && a.native !== undefined));
}

/** Call sites grouped by caller, per sites array (built once per array, not per walk). */
const callerIndexes = new WeakMap<CallSite[], { length: number; byCaller: Map<string, CallSite[]> }>();

function callerIndex(sites: CallSite[]): Map<string, CallSite[]> {
  const known = callerIndexes.get(sites);
  if (known && known.length === sites.length) return known.byCaller;
  const byCaller = new Map<string, CallSite[]>();
  for (const s of sites) {
    let l = byCaller.get(s.caller);
    if (!l) byCaller.set(s.caller, (l = []));
    l.push(s);
  }
  callerIndexes.set(sites, { length: sites.length, byCaller });
  return byCaller;
}

/**
 * Native callees reachable from a Python function through the call graph (breadth-first over edges whose
 * callee is a Python function or method). Returns the native/builtin/ctypes callees with the sites that call
 * them. `source` is a list of call sites, or a tracking result: then its call graph is walked (the closure's
 * sites materialised on demand), which is what a result with `callSitesOf: 'roots'` needs.
 */
export function reachableNative(source: CallSite[] | BytecodeTrackingResult, from: string, maxDepth = 8): Callee[] {
  if (!Array.isArray(source)) {
    if (source.graph) return source.graph.reachableNative(from, maxDepth);
    source = source.callSites;
  }
  const byCaller = callerIndex(source);
  return walkNative((f) => byCaller.get(f), from, maxDepth);
}

function walkNative(sitesOf: (caller: string) => CallSite[] | undefined, from: string, maxDepth: number): Callee[] {
  const out = new Map<string, Callee>();
  const seen = new Set<string>([from]);
  let frontier = [from];
  for (let depth = 0; depth < maxDepth && frontier.length; depth++) {
    const next: string[] = [];
    for (const f of frontier) {
      for (const s of sitesOf(f) ?? []) {
        for (const c of s.callee.candidates ?? [s.callee]) {
          if (c.kind === 'native' || c.kind === 'builtin' || c.kind === 'ctypes' || (c.kind === 'operator' && c.native)) {
            const key = c.qualifiedName ?? c.reference;
            if (!out.has(key)) out.set(key, c);
          } else if ((c.kind === 'function' || c.kind === 'method') && c.qualifiedName && !seen.has(c.qualifiedName)) {
            seen.add(c.qualifiedName);
            next.push(c.qualifiedName);
          } else if (c.kind === 'class' && c.init?.qualifiedName && !seen.has(c.init.qualifiedName)) {
            if (c.init.kind === 'native') out.set(c.init.qualifiedName, c.init);
            else {
              seen.add(c.init.qualifiedName);
              next.push(c.init.qualifiedName);
            }
          }
        }
      }
    }
    frontier = next;
  }
  return [...out.values()];
}

/** One module's call sites as the graph knows them: grouped by caller, resolved on demand. */
interface ModuleSites {
  summary: ModuleSummary;
  /** Module-relative caller name → the site records of that caller, in summary order. */
  records: Map<string, SiteRecord[]>;
  /** Sites resolved so far, by record (the run's own when it reported the module). */
  resolved: Map<SiteRecord, CallSite>;
  /** The run's resolved sites when it reported the module (listing order), else null. */
  reported: CallSite[] | null;
}

/**
 * The call graph of one tracking run over its whole closure, materialised on demand. The run resolved the
 * call sites of the modules it reported; any other module's sites are resolved when a walk enters one of its
 * functions, after the module's function bodies are simulated (once, in place).
 */
export class CallGraph implements CallGraphQuery {
  private readonly modules = new Map<string, ModuleSites | null>();
  private readonly byCaller = new Map<string, CallSite[]>();
  /** First segment of the qualified names each module defines (what a caller name may continue with). */
  private readonly topNames = new Map<string, Set<string>>();

  constructor(
    private readonly program: Program,
    private readonly builder: () => CallGraphBuilder,
    private readonly closure: ReadonlySet<string>,
    private readonly reported: ReadonlyMap<string, CallSite[]>,
  ) {}

  /** JSON of a result never includes the graph. */
  toJSON(): undefined {
    return undefined;
  }

  /** The modules of the import closure (Python modules keep their summaries and waiting bodies). */
  closureModules(): ProgramModule[] {
    const out: ProgramModule[] = [];
    for (const n of this.closure) {
      const m = this.program.modules.get(n);
      if (m) out.push(m);
    }
    return out;
  }

  /** What the real stdlib module binds `name` to, when the helper was asked (stdlibExports.ts); else null or undefined. */
  runtimeBinding(module: string, file: string | undefined, name: string): RuntimeBinding | null | undefined {
    return this.program.stdlib?.lookup(module, file, name);
  }

  /** Whether `file` is the standard library's (its directory, not site-packages). */
  isStdlib(file: string | undefined): boolean {
    return this.program.stdlib?.mayBeStdlib(file) ?? false;
  }

  sitesOf(qualifiedName: string): CallSite[] {
    const memo = this.byCaller.get(qualifiedName);
    if (memo) return memo;
    let out: CallSite[] = [];
    for (const module of this.modulesDefining(qualifiedName)) {
      const ms = this.moduleSites(module);
      const records = ms?.records.get(qualifiedName.slice(module.length + 1));
      if (!ms || !records) continue;
      const here = records.map((r) => this.resolve(ms, r));
      out = out.length ? out.concat(here) : here;
    }
    this.byCaller.set(qualifiedName, out);
    return out;
  }

  sitesOfFile(file: string): CallSite[] | undefined {
    const wanted = path.resolve(file);
    const names = [...this.closure]
      .filter((n) => {
        const f = this.program.modules.get(n)?.file;
        return f !== undefined && path.resolve(f) === wanted;
      })
      .sort();
    if (!names.length) return undefined;
    const out: CallSite[] = [];
    for (const n of names) {
      const ms = this.moduleSites(n);
      if (!ms) continue;
      if (ms.reported) out.push(...ms.reported);
      else for (const r of ms.summary.sites) out.push(this.resolve(ms, r));
    }
    return out;
  }

  reachableNative(qualifiedName: string, maxDepth = 8): Callee[] {
    return walkNative((f) => this.sitesOf(f), qualifiedName, maxDepth);
  }

  private resolve(ms: ModuleSites, r: SiteRecord): CallSite {
    let site = ms.resolved.get(r);
    if (!site) ms.resolved.set(r, (site = this.builder().site(ms.summary, r)));
    return site;
  }

  /**
   * Modules of the closure that may define `qualifiedName`: a prefix that is an analysed module whose
   * top-level definitions include the rest's first segment (known from module code alone), sorted.
   */
  private modulesDefining(qualifiedName: string): string[] {
    const out: string[] = [];
    for (let dot = qualifiedName.indexOf('.'); dot > 0; dot = qualifiedName.indexOf('.', dot + 1)) {
      const module = qualifiedName.slice(0, dot);
      if (!this.closure.has(module)) continue;
      const s = this.program.modules.get(module)?.summary;
      if (!s) continue;
      const rest = qualifiedName.slice(dot + 1);
      const end = rest.indexOf('.');
      const first = end < 0 ? rest : rest.slice(0, end);
      if (first === '<module>' || first === '<unknown>' || this.topNamesOf(module, s).has(first)) out.push(module);
    }
    return out.sort();
  }

  private topNamesOf(module: string, s: ModuleSummary): Set<string> {
    let names = this.topNames.get(module);
    if (!names) {
      names = new Set();
      for (const d of s.defs) {
        if (!d || d.kind === 'module') continue;
        const end = d.qualname.indexOf('.');
        names.add(end < 0 ? d.qualname : d.qualname.slice(0, end));
      }
      this.topNames.set(module, names);
    }
    return names;
  }

  /** A module's sites grouped by caller; its function bodies are simulated first when they still wait. */
  private moduleSites(module: string): ModuleSites | null {
    let ms = this.modules.get(module);
    if (ms !== undefined) return ms;
    const m = this.program.modules.get(module);
    const summary = m?.summary;
    if (!m || !summary) {
      this.modules.set(module, null);
      return null;
    }
    if (m.pending?.pending) m.pending.complete();
    let reported = this.reported.get(module) ?? null;
    if (reported && reported.length !== summary.sites.length) reported = null;
    ms = { summary, records: new Map(), resolved: new Map(), reported };
    const prefix = module.length + 1;
    const b = reported ? null : this.builder();
    summary.sites.forEach((r, k) => {
      // A reported module's sites were resolved in summary order, one per record.
      const caller = reported ? reported[k].caller.slice(prefix) : b!.callerName(summary, r.code).slice(prefix);
      if (reported) ms!.resolved.set(r, reported[k]);
      let l = ms!.records.get(caller);
      if (!l) ms!.records.set(caller, (l = []));
      l.push(r);
    });
    this.modules.set(module, ms);
    return ms;
  }
}

/**
 * The call sites of some files of a tracking result's closure, in the order a result that lists every site
 * (`callSitesOf: 'all'`) has them: the result's own for its roots, the call graph's for the other files.
 */
export function callSitesOfFiles(result: BytecodeTrackingResult, files: string[]): CallSite[] {
  const wanted = new Set(files.map((f) => path.resolve(f)));
  const listed = result.callSites.filter((s) => wanted.has(path.resolve(s.file)));
  const graph = result.graph;
  if (!graph) return listed;
  const roots = new Set(result.modules.filter((m) => m.root && m.file).map((m) => path.resolve(m.file!)));
  const others = [...wanted].filter((f) => !roots.has(f));
  if (!others.length) return listed;
  const seen = new Set(listed);
  const out = listed.slice();
  for (const f of others) for (const s of graph.sitesOfFile(f) ?? []) if (!seen.has(s)) out.push(s);
  // Stable: each module's sites stay in their order; modules in name order, as the full listing has them.
  return out.sort((a, b) => (a.module < b.module ? -1 : a.module > b.module ? 1 : 0));
}
