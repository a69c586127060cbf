// Python-level reachability for the precise root policy: which Python code of a program's import closure can
// still run (closure by name from the program's files and live frames), the names it uses, and the reflection
// that defeats names (a fallback to the strict policy, or to whole modules, with the site that forced it).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDunder } from '../../native/src';
import type { ProgramModule } from './bytecode/resolve';
import { type CodeFacts, shortName } from './bytecode/simulate';
import type { BytecodeTrackingResult } from './bytecode/types';
import type { Expr } from './bytecode/values';

/** A code object given as a root: its file and qualified name (co_qualname), e.g. a live frame's. */
export interface RootCode {
  file: string;
  qualname: string;
}

export interface PythonReachability {
  /** Names reachable code uses (or C code looks up), each with the first reason found. */
  names: Map<string, string>;
  /** Extension modules (file paths) whose every entry stays a root: reflection confined to them. */
  modules: Map<string, string>;
  /** Extension modules (file paths) whose entries with these name prefixes stay roots (`'openssl_' + name`). */
  prefixes: Map<string, { prefix: string; reason: string }[]>;
  /** Set when reflection (or missing facts) forces the strict policy: why, with file:line. */
  strictReason?: string;
  notes: string[];
  /** liveModules: imported at start-up or by reachable code (their functions can run); startupModules: the former. */
  stats: { modules: number; codeObjects: number; reachable: number; names: number; seconds: number; liveModules: number; startupModules: number };
  /**
   * Modules reachable code imports (inside functions) that the tracking result does not hold: track them too
   * (bytecodeTracking with them as `modules`) and run again, until none is missing.
   */
  missing: string[];
  /** Reflection sites in reachable code that defeat names (`what at file:line`). */
  reflections: string[];
  /** Why each reachable code object (`module:qualname`) is reachable. */
  whyCode: Map<string, string>;
}

export interface ReachabilityOptions {
  /** The program's own files: every code object of them is a root (module body included). */
  files: string[];
  /**
   * The files whose start-up imports ran (their import closure through module and class level imports is
   * taken as imported); default `files`. Give the program's files here and `files: []` when the live frames
   * (`rootCodes`) stand for what can still run.
   */
  startupFiles?: string[];
  /** More root code objects (the live frames of every thread). */
  rootCodes?: RootCode[];
  /** Names C code can look up on objects (cCallableNames): Python functions of those names stay reachable. */
  cNames?: ReadonlyMap<string, string>;
}

/** Decorators that return a wrapper bound to the same name, and store the function nowhere else. */
const BENIGN_DECORATORS = new Set([
  'property', 'staticmethod', 'classmethod', 'setter', 'getter', 'deleter', 'cached_property', 'abstractmethod',
  'wraps', 'lru_cache', 'cache', 'contextmanager', 'asynccontextmanager', 'overload', 'final', 'override',
  'total_ordering', 'dataclass', 'set_module', 'array_function_dispatch', 'array_function_from_c_func_and_dispatcher',
  'deprecated', 'deprecate', 'singledispatch', 'singledispatchmethod', 'no_type_check', 'runtime_checkable',
]);

interface Code {
  module: ProgramModule;
  index: number;
  facts: CodeFacts;
}

function decoratorName(e: Expr): string | undefined {
  if (e.k === 'call') return shortName(e.callee);
  return shortName(e);
}

/**
 * Python-level reachability over a tracking result's import closure. Completes the simulation of the
 * closure's function bodies (the facts come from it).
 */
export function pythonReachability(tracking: BytecodeTrackingResult, options: ReachabilityOptions): PythonReachability {
  const started = performance.now();
  const graph = (tracking as { graph?: { closureModules(): ProgramModule[] } }).graph;
  const notes: string[] = [];
  const names = new Map<string, string>();
  const modules = new Map<string, string>();
  const prefixes = new Map<string, { prefix: string; reason: string }[]>();
  const stats = { modules: 0, codeObjects: 0, reachable: 0, names: 0, seconds: 0, liveModules: 0, startupModules: 0 };
  const reflections: string[] = [];
  const missing = new Set<string>();
  const libraryReflections: string[] = [];
  const finish = (strictReason?: string): PythonReachability => {
    stats.names = names.size;
    stats.seconds = (performance.now() - started) / 1000;
    return { names, modules, prefixes, strictReason, notes, stats, whyCode, reflections: [...new Set(reflections)], missing: [...missing] };
  };
  if (!graph) return finish('the bytecode tracking result has no call graph');
  const closure = graph.closureModules();
  const byModuleName = new Map<string, ProgramModule>();
  const byShortName = new Map<string, Code[]>();
  const all: Code[] = [];
  const childrenOf = new Map<ProgramModule, number[][]>();
  const aliases = new Map<string, Set<string>>();
  const nativeFiles = new Map<string, string>();
  for (const m of closure) {
    byModuleName.set(m.name, m);
    if (m.kind === 'native' && m.file) nativeFiles.set(m.name, m.file);
  }
  for (const im of tracking.modules) if (im.kind === 'native' && im.file) nativeFiles.set(im.name, im.file);
  // The address space names mapped files by their real paths.
  for (const [n, f] of nativeFiles) {
    try {
      nativeFiles.set(n, fs.realpathSync(f));
    } catch {
      // Keep the path as found.
    }
  }
  const failed: string[] = [];
  for (const m of closure) {
    if (m.kind !== 'python' || !m.summary) continue;
    if (m.pending?.pending) m.pending.complete();
    if (m.pending?.error) failed.push(`${m.name} (${m.pending.error})`);
    stats.modules++;
    const s = m.summary;
    const kids: number[][] = s.facts.map(() => []);
    s.facts.forEach((f, i) => {
      if (!f) return;
      stats.codeObjects++;
      const c: Code = { module: m, index: i, facts: f };
      all.push(c);
      if (f.parent >= 0 && kids[f.parent]) kids[f.parent].push(i);
      if (f.role !== 'module') {
        let l = byShortName.get(f.name);
        if (!l) byShortName.set(f.name, (l = []));
        l.push(c);
      }
    });
    childrenOf.set(m, kids);
    // A binding `n = other` (module namespace, class members): using `n` reaches what `other` names.
    const noteAlias = (n: string, v: Expr) => {
      for (const x of v.k === 'union' ? v.items : [v]) {
        const target = shortName(x);
        if (!target || target === n) continue;
        let set = aliases.get(n);
        if (!set) aliases.set(n, (set = new Set()));
        set.add(target);
      }
    };
    for (const [n, v] of s.namespace) noteAlias(n, v);
    for (const cls of s.classes) for (const [n, v] of cls.members) noteAlias(n, v);
  }
  if (failed.length) return finish(`the function bodies of ${failed.slice(0, 3).join(', ')} could not be simulated`);

  const where = (c: Code) => `${path.basename(c.module.file ?? c.module.name)}:${c.facts.line}`;
  const reachable = new Set<Code>();
  const codeKey = new Map<ProgramModule, Set<number>>();
  const work: Code[] = [];
  const confined: string[] = [];
  const nameQueue: string[] = [];
  const addName = (n: string, why: string) => {
    if (names.has(n)) return;
    names.set(n, why);
    nameQueue.push(n);
  };
  /** Why each reachable code object is (for explanations and debugging): a name, a root, a gate. */
  const whyCode = new Map<string, string>();
  let reason = 'root';
  const reach = (c: Code) => {
    let set = codeKey.get(c.module);
    if (!set) codeKey.set(c.module, (set = new Set()));
    if (set.has(c.index)) return;
    set.add(c.index);
    whyCode.set(`${c.module.name}:${c.facts.qualname}`, reason);
    reachable.add(c);
    work.push(c);
  };
  const codeOf = (m: ProgramModule, i: number): Code | undefined => {
    const f = m.summary?.facts[i];
    return f ? { module: m, index: i, facts: f } : undefined;
  };

  // Roots: the program's files, the given code objects.
  const files = new Set(options.files.map((f) => path.resolve(f)));
  // Modules the program imported at start-up (its import closure through module and class level imports):
  // their bodies have run, and an import inside a function finds them in sys.modules.
  const imported = new Set<string>();
  const startup = new Set((options.startupFiles ?? options.files).map((f) => path.resolve(f)));
  const toVisit = closure.filter((m) => m.file && startup.has(path.resolve(m.file))).map((m) => m.name);
  while (toVisit.length) {
    const n = toVisit.pop()!;
    if (imported.has(n)) continue;
    imported.add(n);
    const m = byModuleName.get(n);
    if (m?.kind === 'alias' && m.target) toVisit.push(m.target);
    for (const im of m?.summary?.imports ?? []) if (im.scope !== 'function') toVisit.push(...im.targets, ...im.probes);
  }
  /**
   * Reflection on a known extension module (`getattr(_hashlib, 'openssl_' + name)`): its entries stay roots,
   * all of them or those whose names start with the constant prefix. A Python module's attributes include
   * what it re-exports, so reflection on one is not confined. Returns whether the site was confined.
   */
  const codesOf = (m: ProgramModule): Code[] => (m.summary?.facts ?? []).flatMap((f, i) => (f ? [{ module: m, index: i, facts: f }] : []));
  const confine = (r: CodeFacts['reflections'][number], site: string): boolean => {
    const file = r.module !== undefined ? nativeFiles.get(r.module) : undefined;
    if (file === undefined) return false;
    const why = `${site} on module ${r.module}${r.prefix ? ` (names starting with \`${r.prefix}\`)` : ''}`;
    confined.push(why);
    if (r.prefix) {
      let l = prefixes.get(file);
      if (!l) prefixes.set(file, (l = []));
      if (!l.some((x) => x.prefix === r.prefix)) l.push({ prefix: r.prefix, reason: why });
    } else if (!modules.has(file)) modules.set(file, why);
    return true;
  };
  // What reflection on extension modules fetched at import time is bound in module namespaces now (hashlib
  // binds sha256 to _hashlib.openssl_sha256 through globals()): such sites anywhere in the code of modules
  // imported at start-up count, whether or not that code can still run.
  for (const m of closure) {
    if (!imported.has(m.name) || (m.file && startup.has(path.resolve(m.file)))) continue;
    for (const c of codesOf(m)) for (const r of c.facts.reflections) if (r.module !== undefined) confine(r, `${r.what} at ${path.basename(m.file ?? m.name)}:${r.line} (import time)`);
  }
  const rootCodes = options.rootCodes ?? [];
  // A module's functions can run only once it is imported: at start-up (`imported`), or later by an import
  // statement in reachable code (its body is then reachable). Names reach the functions of such modules.
  const live = new Set<string>(imported);
  const matches = (n: string) => names.has(n) || (options.cNames?.has(n) ?? false);
  const parentRole = (c: Code) => c.module.summary!.facts[c.facts.parent]?.role;
  /**
   * What a module's import left behind, for modules that have run or will: callbacks its module and class
   * bodies registered (function values passed as call arguments), functions kept by decorators that may store
   * them, protocol methods of its classes (their instances may live), and functions C code looks up by name.
   */
  const leftovers = (m: ProgramModule) => {
    const saved = reason;
    reason = `import-time leftover of ${m.name}`;
    for (const c of codesOf(m)) {
      const f = c.facts;
      if (f.role !== 'function') for (const e of f.escapes) addName(e, `\`${e}\` passed as a value at import time in ${where(c)}`);
      if (f.role !== 'function' || parentRole(c) === 'function' || parentRole(c) === undefined) continue;
      const def = c.module.summary!.defs[c.index];
      if (parentRole(c) === 'class' && isDunder(f.name)) reach(c);
      else if (def && def.decorators.some((d) => !BENIGN_DECORATORS.has(decoratorName(d) ?? ''))) reach(c);
      else if (options.cNames?.has(f.name)) reach(c);
    }
    reason = saved;
  };
  const makeLive = (m: ProgramModule) => {
    if (live.has(m.name)) return;
    live.add(m.name);
    leftovers(m);
    for (const c of codesOf(m)) if (c.facts.role !== 'module' && matches(c.facts.name)) reach(c);
  };
  const rootSet = new Set<Code>();
  for (const c of all) {
    const file = c.module.file ? path.resolve(c.module.file) : undefined;
    if ((file && files.has(file)) || (file && rootCodes.some((r) => path.resolve(r.file) === file && r.qualname === c.facts.qualname))) {
      rootSet.add(c);
      reach(c);
    }
  }
  /** The program's own code (its files, the given frames, and code nested in them). */
  const rootCode = (c: Code): boolean => {
    const file = c.module.file ? path.resolve(c.module.file) : undefined;
    return (file !== undefined && files.has(file)) || [...rootSet].some((r) => r.module === c.module && r.index === c.index);
  };
  for (const m of closure) if (imported.has(m.name)) leftovers(m);

  while (work.length || nameQueue.length) {
    while (work.length) {
      const c = work.pop()!;
      const f = c.facts;
      reason = `in or imported by ${c.module.name}:${f.qualname}`;
      const at = `${f.qualname} (${where(c)})`;
      for (const n of f.names) addName(n, `name \`${n}\` used in ${at}`);
      for (const n of f.free) addName(n, `name \`${n}\` used in ${at}`);
      for (const n of f.reflectNames) addName(n, `getattr-style use of \`${n}\` in ${at}`);
      for (const r of f.reflections) {
        const site = `${r.what} at ${path.basename(c.module.file ?? c.module.name)}:${r.line}`;
        if (confine(r, site)) {
          // Confined to an extension module (see confine).
        } else if (rootCode(c)) reflections.push(site);
        else {
          // Library reflection: the names it computes are taken to be strings of reachable code or of C
          // data, or constants of its own code object (see the note).
          libraryReflections.push(site);
          for (const n of f.strings) addName(n, `string constant \`${n}\` of ${at}, which uses ${r.what}`);
        }
      }
      // Nested code runs with its parent: lambdas, comprehensions and inner functions of a function, class
      // bodies of any code (a class statement runs its body); a class body's protocol methods come with it.
      for (const i of childrenOf.get(c.module)?.[c.index] ?? []) {
        const cc = codeOf(c.module, i);
        if (!cc) continue;
        if (f.role === 'function' || cc.facts.role === 'class') reach(cc);
        else if (f.role === 'class' && isDunder(cc.facts.name)) reach(cc);
      }
      if (f.role === 'module') makeLive(c.module);
      // Imports inside reachable functions run the bodies of modules not imported yet.
      for (const im of c.module.summary!.imports) {
        if (im.code !== c.index || im.scope !== 'function') continue;
        for (const t of im.targets) {
          if (imported.has(t)) continue;
          const pm = byModuleName.get(t);
          if (!pm) missing.add(t);
          const body = pm ? codeOf(pm, 0) : undefined;
          if (body) reach(body);
        }
      }
    }
    while (nameQueue.length) {
      const n = nameQueue.pop()!;
      reason = `name ${n}: ${names.get(n)}`;
      for (const c of byShortName.get(n) ?? []) if (live.has(c.module.name)) reach(c);
      for (const a of aliases.get(n) ?? []) addName(a, `\`${a}\` bound to the name \`${n}\``);
    }
  }
  stats.reachable = reachable.size;
  stats.liveModules = [...live].filter((n) => byModuleName.get(n)?.kind === 'python').length;
  stats.startupModules = [...imported].filter((n) => byModuleName.get(n)?.kind === 'python').length;
  if (reflections.length) {
    const first = [...new Set(reflections)];
    return finish(`reflection defeats names: ${first.slice(0, 3).join('; ')}${first.length > 3 ? ` and ${first.length - 3} more` : ''}`);
  }
  if (libraryReflections.length) {
    const sites = [...new Set(libraryReflections)];
    const kinds = new Map<string, number>();
    for (const x of sites) {
      const k = x.slice(0, x.lastIndexOf(' at '));
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
    notes.push(
      `${sites.length} reflection site(s) in library code reachable by name (${[...kinds].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} ${k}`).join(', ')}; first: ${sites.slice(0, 3).join('; ')}) were taken to use only names that appear in reachable code, in C data, or as string constants of their own code object (added to the names): an assumption, not a proof. Reflection in the program's own code falls back to the strict root policy.`,
    );
  }
  notes.push(
    `Python-level reachability: ${reachable.size} of ${stats.codeObjects} code objects of ${stats.modules} Python modules can still run (from the program's files${rootCodes.length ? ` and ${rootCodes.length} live frame(s)` : ''}, closed over the names they use); they use ${names.size} names.${confined.length ? ` ${new Set(confined).size} reflection site(s) on known modules kept those modules whole (${[...new Set(confined)].slice(0, 2).join('; ')}).` : ''}`,
  );
  return finish();
}
