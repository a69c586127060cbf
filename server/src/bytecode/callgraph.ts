// Turns simulated call sites into the public call graph: each site's callee named and classified (Python
// function, method, class, native, builtin, ctypes, operator slot, unknown with a reason), plus edges.

import * as path from 'node:path';
import { OPERATOR_SLOTS } from './knownTypes';
import { targetKey, type Program, type ProgramModule, type Resolver, type Target, type TypeRef } from './resolve';
import type { ModuleSummary, SiteRecord } from './simulate';
import type { BytecodeTrackingResult, Callee, CallEdge, CallGraphQuery, CallSite, FunctionInfo } from './types';
import { constType, describe, type ClassDef, type FunctionDef } from './values';

const MAX_CANDIDATES = 8;
const NO_TARGETS: Target[] = [];

export class CallGraphBuilder {
  private readonly typeNames = new Map<ClassDef, string>();

  constructor(
    private readonly program: Program,
    private readonly resolver: Resolver,
  ) {}

  /** The caller name of a code object: its function's qualified name, or `<module>`. */
  private readonly callerNames = new Map<ModuleSummary, string[]>();

  callerName(summary: ModuleSummary, code: number): string {
    let names = this.callerNames.get(summary);
    if (!names) this.callerNames.set(summary, (names = []));
    return (names[code] ??= this.callerNameUncached(summary, code));
  }

  private callerNameUncached(summary: ModuleSummary, code: number): string {
    let def = summary.defs[code];
    // Comprehensions run as part of their enclosing function (3.12+ inlines them): attribute them to it.
    while (def && def.kind === 'comprehension' && def.parent >= 0) def = summary.defs[def.parent];
    if (!def) return `${summary.name}.<unknown>`;
    if (def.kind === 'module') return `${summary.name}.<module>`;
    return `${summary.name}.${def.qualname}`;
  }

  private readonly calleeMemo = new Map<Target[], Map<string, Callee>>();
  private readonly calleeByKey = new Map<string, Callee>();

  site(summary: ModuleSummary, s: SiteRecord): CallSite {
    let callee: Callee;
    if (s.kind === 'operator') callee = this.operator(s);
    else {
      const reference = this.resolver.reference(s.callee) ?? describe(s.callee, 9);
      const targets = this.resolver.resolve(s.callee);
      // Sites with the same resolution share one Callee object: first by the (memoised) targets array, then
      // by what the targets are (different expressions often resolve to the same definitions).
      let byRef = this.calleeMemo.get(targets);
      if (!byRef) this.calleeMemo.set(targets, (byRef = new Map()));
      let c = byRef.get(reference);
      if (!c) {
        const key = `${reference}\0${targets.map(calleeKey).join('|')}`;
        c = this.calleeByKey.get(key);
        if (!c) this.calleeByKey.set(key, (c = shaped(this.fromTargets(targets, reference))));
        byRef.set(reference, c);
      }
      callee = c;
    }
    return {
      module: summary.name,
      file: summary.file,
      line: s.line >= 0 ? s.line : null,
      column: s.col >= 0 ? s.col : null,
      endLine: s.endLine >= 0 ? s.endLine : null,
      endColumn: s.endCol >= 0 ? s.endCol : null,
      kind: s.kind,
      caller: this.callerName(summary, s.code),
      callee,
    };
  }

  functions(summary: ModuleSummary): FunctionInfo[] {
    const out: FunctionInfo[] = [];
    for (const def of summary.defs) {
      if (!def || def.kind === 'module') continue;
      out.push({
        qualifiedName: `${summary.name}.${def.qualname}`,
        module: summary.name,
        file: summary.file,
        line: def.line,
        kind: def.kind,
        decorators: def.decorators.map((d) => this.resolver.reference(d) ?? describe(d)),
      });
    }
    return out;
  }

  private fileOf(module: string): string | undefined {
    return this.program.modules.get(module)?.file;
  }

  fromTargets(targets: Target[], reference: string): Callee {
    if (targets.length === 0) return { kind: 'unknown', reference, reason: 'no value' };
    const mapped = targets.slice(0, MAX_CANDIDATES).map((t) => this.fromTarget(t, reference));
    if (mapped.length === 1) return mapped[0];
    const primary = mapped.find((c) => c.kind !== 'unknown') ?? mapped[0];
    return { ...primary, candidates: mapped };
  }

  private fromTarget(t: Target, reference: string): Callee {
    const via = t.via && t.via.length ? t.via : undefined;
    switch (t.kind) {
      case 'function':
        return this.fromFunction(t.def, reference, via, t.boundTo !== undefined);
      case 'class': {
        const init = this.resolver.resolve({ k: 'attr', base: { k: 'class', def: t.def, fresh: false }, name: '__init__' });
        const initTarget = init.find((x) => x.kind === 'function' || x.kind === 'native');
        return {
          kind: 'class',
          reference,
          qualifiedName: `${t.def.module}.${t.def.qualname}`,
          module: t.def.module,
          file: this.fileOf(t.def.module),
          line: t.def.line,
          init: initTarget ? this.fromTarget(initTarget, `${t.def.module}.${t.def.qualname}.__init__`) : undefined,
          via,
        };
      }
      case 'native': {
        const m = this.program.modules.get(t.module);
        return {
          kind: 'native',
          reference,
          qualifiedName: `${t.module}.${t.path.join('.')}`,
          module: t.module,
          file: m?.file,
          native: { module: t.module, file: m?.file, path: t.path, builtin: m?.kind === 'builtin' || undefined },
          via,
        };
      }
      case 'builtin':
        return { kind: 'builtin', reference, qualifiedName: `builtins.${t.name}`, module: 'builtins', native: { module: 'builtins', path: [t.name], builtin: true }, via };
      case 'ctypes-function':
        return { kind: 'ctypes', reference, qualifiedName: `${t.library ?? '<library>'}:${t.symbol}`, ctypes: { library: t.library, symbol: t.symbol, findLibrary: t.findLibrary }, via };
      case 'instance': {
        // Calling an instance runs its type's __call__.
        const call = this.resolver.resolve({ k: 'attr', base: { k: 'instance', cls: typeExpr(t.type) }, name: '__call__' }).find((x) => x.kind === 'function' || x.kind === 'native');
        if (call) return { ...this.fromTarget(call, reference), via };
        return { kind: 'unknown', reference, reason: `calling an instance of ${this.typeName(t.type)}`, via };
      }
      case 'module':
        return { kind: 'unknown', reference, reason: `${t.module} is a module, not a callable`, via };
      case 'ctypes-library':
        return { kind: 'unknown', reference, reason: 'calling a ctypes library object', via };
      case 'const':
        return { kind: 'unknown', reference, reason: 'calling a constant', via };
      case 'super':
        return { kind: 'unknown', reference, reason: 'calling super()', via };
      case 'unresolved':
        return { kind: 'unknown', reference, reason: `${t.name}: ${t.reason}`, via };
      case 'unknown':
        return { kind: 'unknown', reference, reason: t.reason, via };
    }
  }

  private fromFunction(def: FunctionDef, reference: string, via: string[] | undefined, bound: boolean): Callee {
    const qualifiedName = `${def.module}.${def.qualname}`;
    const file = this.fileOf(def.module);
    const decorators = def.decorators.length ? def.decorators.map((d) => this.resolver.reference(d) ?? describe(d)) : undefined;
    const impl = decorators ? this.resolver.nativeImplementation(def) : undefined;
    if (impl && impl.kind === 'native') {
      const m = this.program.modules.get(impl.module);
      return {
        kind: 'native',
        reference,
        qualifiedName: `${impl.module}.${impl.path.join('.')}`,
        module: impl.module,
        file: m?.file,
        native: { module: impl.module, file: m?.file, path: impl.path, builtin: m?.kind === 'builtin' || undefined },
        pythonStub: { qualifiedName, file, line: def.line },
        decorators,
        via: [...(via ?? []), qualifiedName],
      };
    }
    const isMethod = bound || def.kind === 'method' || def.kind === 'classmethod' || def.kind === 'staticmethod';
    return { kind: isMethod ? 'method' : 'function', reference, qualifiedName, module: def.module, file, line: def.line, decorators, via };
  }

  private typeName(t: TypeRef): string {
    if (t.kind === 'class') {
      let n = this.typeNames.get(t.def);
      if (!n) {
        n = `${t.def.module}.${t.def.qualname}`;
        this.typeNames.set(t.def, n);
      }
      return n;
    }
    return t.kind === 'native' ? `${t.module}.${t.path.join('.')}` : `builtins.${t.name}`;
  }

  private readonly operatorMemo = new Map<Target[], Map<string, Callee>>();

  private operator(s: SiteRecord): Callee {
    const symbol = s.op ?? '?';
    const left = s.left ? this.resolver.resolve(s.left) : NO_TARGETS;
    const reference = `${(s.left && this.resolver.reference(s.left)) ?? 'operand'} ${symbol}`;
    let byRef = this.operatorMemo.get(left);
    if (!byRef) this.operatorMemo.set(left, (byRef = new Map()));
    let c = byRef.get(reference);
    if (!c) byRef.set(reference, (c = shaped(this.operatorUncached(symbol, left, reference))));
    return c;
  }

  private operatorUncached(symbol: string, left: Target[], reference: string): Callee {
    const slot = OPERATOR_SLOTS[symbol] ?? { slot: 'unknown', dunder: '__unknown__' };
    const types: TypeRef[] = [];
    for (const t of left) {
      if (t.kind === 'instance') types.push(t.type);
      else if (t.kind === 'const') {
        const ty = constType(t.value);
        if (ty) types.push({ kind: 'builtin', name: ty });
      }
    }
    if (!types.length) {
      const reason = left.find((t) => t.kind === 'unknown' || t.kind === 'unresolved');
      return { kind: 'operator', reference, operator: { symbol, slot: slot.slot, dunder: slot.dunder }, reason: `type of the left operand unknown${reason ? ` (${'reason' in reason ? reason.reason : ''})` : ''}` };
    }
    const ty = types[0];
    const leftType = this.typeName(ty);
    const op = { symbol, slot: slot.slot, dunder: slot.dunder, leftType };
    if (ty.kind === 'class') {
      const m = this.resolver.resolve({ k: 'attr', base: { k: 'instance', cls: { k: 'class', def: ty.def, fresh: false } }, name: slot.dunder });
      const fn = m.find((x) => x.kind === 'function' || x.kind === 'native');
      if (fn) return { ...this.fromTarget(fn, `${leftType}.${slot.dunder}`), kind: fn.kind === 'function' ? 'method' : 'native', operator: op };
      return { kind: 'operator', reference, operator: op, reason: `${leftType} does not define ${slot.dunder} (the right operand's reflected method or a base type may handle it)` };
    }
    const native = ty.kind === 'native' ? { module: ty.module, path: [...ty.path, slot.dunder] } : { module: 'builtins', path: [ty.name, slot.dunder] };
    const m = this.program.modules.get(native.module);
    return {
      kind: 'operator',
      reference,
      qualifiedName: `${native.module}.${native.path.join('.')}`,
      module: native.module,
      file: m?.file,
      native: { ...native, file: m?.file, builtin: native.module === 'builtins' || m?.kind === 'builtin' || undefined },
      operator: op,
    };
  }
}

/**
 * Identity of a target for sharing callees: its kind and name, the path the resolution took, and for Python
 * definitions their line (a module may define a name twice — `try: from _locale import * except: def
 * setlocale…` then `def setlocale…` — and each definition keeps its own line, whichever is resolved first).
 */
function calleeKey(t: Target): string {
  const key = t.kind === 'function' || t.kind === 'class' ? `${targetKey(t)}@${t.def.line}` : targetKey(t);
  return t.via ? `${key}<${t.via.join('<')}` : key;
}

/**
 * The same callee with every field present in one fixed order (absent ones undefined, which JSON omits):
 * one hidden class for all callees keeps the consumers' property reads fast.
 */
function shaped(c: Callee): Callee {
  return {
    kind: c.kind,
    reference: c.reference,
    qualifiedName: c.qualifiedName,
    module: c.module,
    file: c.file,
    line: c.line,
    native: c.native,
    ctypes: c.ctypes,
    operator: c.operator,
    decorators: c.decorators,
    pythonStub: c.pythonStub,
    init: c.init ? shaped(c.init) : undefined,
    via: c.via,
    candidates: c.candidates ? c.candidates.map(shaped) : undefined,
    reason: c.reason,
  };
}

function typeExpr(t: TypeRef): import('./values').Expr {
  if (t.kind === 'class') return { k: 'class', def: t.def, fresh: false };
  if (t.kind === 'builtin') return { k: 'builtin', name: t.name };
  let e: import('./values').Expr = { k: 'module', name: t.module };
  for (const p of t.path) e = { k: 'attr', base: e, name: p };
  return e;
}

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
