// Python-level reachability for the precise root policy: which Python code of a program's import closure ran or
// can still run (closure by name from the program's files, the live frames and the imported modules' bodies), the
// names it uses, and the reflection that defeats names (a fallback to the strict policy, or to whole modules).

import * as path from 'node:path';
import { isDunder, realPath } from '../../native/src';
import type { ProgramModule } from './bytecode/naming';
import { type CodeFacts, type ModuleSummary, shortName } from './bytecode/simulate';
import type { BytecodeTrackingResult } from './bytecode/types';
import type { Expr } from './bytecode/values';
import { type Code, codeOf, codesOf, decoratorName, inertStrings, parentRole, PROPERTIES, reflectionReason, where } from './gateCodes';
import { ClassGate } from './gateClasses';
import { Namespaces } from './gateNamespaces';
import { Confinement } from './gateConfine';
import { inMainBlock, judgedReflections, keepsNothing } from './gateModels';
import { bodyReflection, liveModuleNames, startupImports } from './gateStartup';
import { packageImports } from './gateImports';
import { type BindingOf, shadowedDefinitions } from './gateShadowed';
import { FrameNarrowing } from './gateFrames';
import type { PythonReachability, ReachabilityOptions, RootCode } from './gateTypes';

export type { PythonReachability, ReachabilityOptions, RootCode } from './gateTypes';

/** The depth the import-time code starts at (see sites): after any chain of names from the program's roots. */
const IMPORT_TIME_DEPTH = 1_000_000;

/**
 * Python-level reachability over a tracking result's import closure. Completes the simulation of the
 * closure's function bodies (the facts come from it). The phases: index the closure, take the roots, close
 * over code and names, then the result (ReachabilityRun).
 */
export function pythonReachability(tracking: BytecodeTrackingResult, options: ReachabilityOptions): PythonReachability {
  const run = new ReachabilityRun(options);
  const graph = (tracking as { graph?: { closureModules(): ProgramModule[]; runtimeBinding?: BindingOf; isStdlib?(file?: string): boolean } }).graph;
  if (!graph) return run.finish('the bytecode tracking result has no call graph');
  // Module and class bodies of the start-up imports ran, so the closure reaches them whatever else it does: reflection
  // there that no known namespace confines decides the fallback before any function body is simulated (seconds saved).
  const closure = graph.closureModules();
  const early = run.bodyReflection(tracking, closure);
  if (early.length) return run.finish(reflectionReason(early, 'in module and class bodies that ran at start-up; function bodies were not examined'));
  const failed = run.index(tracking, closure, graph.runtimeBinding?.bind(graph), (f) => graph.isStdlib?.(f) ?? false);
  if (failed.length) return run.finish(`the function bodies of ${failed.slice(0, 3).join(', ')} could not be simulated`);
  run.takeRoots();
  run.closeOver();
  // What the start-up imports did is closed over second, so the code the program reaches by its own names keeps
  // its shortest reasons (and its reflection is named first); the closure is the same either way.
  if (!run.fallingBack() || options.exhaustive) {
    run.takeImportTime();
    run.closeOver();
  }
  while (run.reenter()) run.closeOver();
  return run.result();
}

/** One run of pythonReachability: the state its phases share. */
class ReachabilityRun {
  private readonly started = performance.now();
  private readonly notes: string[] = [];
  private readonly names = new Map<string, string>();
  /** Names only global loads used (globalName): they reach their modules' own code, and count for C functions. */
  private readonly globalUses = new Map<string, string>();
  private readonly globalsSeen = new Set<string>();
  private readonly stats = { modules: 0, codeObjects: 0, reachable: 0, names: 0, seconds: 0, liveModules: 0, startupModules: 0 };
  /** Reflection sites that defeat names, with the depth of the code they are in (0: a root). */
  private readonly reflections: { site: string; depth: number }[] = [];
  private readonly missing = new Set<string>();
  /** Why each reachable code object is (for explanations and debugging): a name, a root, a gate. */
  private readonly whyCode = new Map<string, string>();
  /** Top-level definitions of stdlib modules their C accelerators bound over (gateShadowed.ts): no name reaches them. */
  private readonly dead = new Set<CodeFacts>();
  private readonly shadowed: string[] = [];
  private isStdlib: (file: string | undefined) => boolean = () => false;

  private closure: ProgramModule[] = [];
  private readonly byModuleName = new Map<string, ProgramModule>();
  private readonly namespaces = new Namespaces(this.byModuleName);
  private readonly byShortName = new Map<string, Code[]>();
  private readonly all: Code[] = [];
  private readonly childrenOf = new Map<ProgramModule, number[][]>();
  private readonly aliases = new Map<string, Set<string>>();
  /** Bindings of a name to a lambda (module namespace, class members): using the name reaches that code object. */
  private readonly codeAliases = new Map<string, { module: string; index: number }[]>();
  private readonly nativeFiles = new Map<string, string>();
  /** Reflection narrowed to known namespaces instead of a fallback. */
  private readonly confinement = new Confinement(this.nativeFiles, this.byModuleName, (n, why) => this.addName(n, why), (m) =>
    // A top-level lambda or comprehension binds no name of its own (`f = lambda: …` binds f, in the namespace).
    codesOf(m).filter((c) => c.facts.parent === 0 && c.facts.role !== 'module' && !c.facts.name.startsWith('<')).map((c) => c.facts.name),
    (prefix, why) => {
      for (const n of [...this.byShortName.keys(), ...this.aliases.keys(), ...this.codeAliases.keys()]) if (n.startsWith(prefix)) this.addName(n, why);
    },
    (why) => this.closure.filter((m) => this.live.has(m.name)).forEach((m) => this.reachGetters(m, why)),
  );

  private readonly reachable = new Set<Code>();
  private readonly codeKey = new Map<ProgramModule, Set<number>>();
  private readonly work: Code[] = [];
  private readonly nameQueue: string[] = [];
  private reason = 'root';
  /** How many steps (names, nesting) from a root the code being reached is; orders the fallback's sites. */
  private depth = 0;
  /** Once reflection forced the fallback (and the closure is not exhaustive): the depth it goes no further than. */
  private limit = Infinity;
  private readonly codeDepth = new Map<Code['facts'], number>();
  private readonly nameDepth = new Map<string, number>();
  /** The program's files: every code object of them is a root. */
  private readonly files: Set<string>;
  /** The files whose start-up imports ran. */
  private readonly startup: Set<string>;
  /** Modules imported at start-up (sys.modules, or the files' import closure): their bodies ran, imports find them. */
  private readonly imported = new Set<string>();
  /**
   * A module's functions can run only once it is imported: at start-up (`imported`), or later by an import
   * statement in reachable code (its body is then reachable). Names reach the functions of such modules.
   */
  private live = new Set<string>();
  private readonly rootCodes: RootCode[];
  private readonly frames: FrameNarrowing;
  /** Methods wait until their class can have instances. */
  private readonly classes = new ClassGate(
    (m) => this.live.has(m.name),
    (c, reason, depth) => {
      const saved = [this.reason, this.depth] as const;
      [this.reason, this.depth] = [reason, depth];
      this.reach(c);
      [this.reason, this.depth] = saved;
    },
  );

  constructor(private readonly options: ReachabilityOptions) {
    this.files = new Set(options.files.map((f) => path.resolve(f)));
    this.startup = new Set((options.startupFiles ?? options.files).map((f) => path.resolve(f)));
    this.rootCodes = options.rootCodes ?? [];
    this.frames = new FrameNarrowing(this.rootCodes);
  }

  /** The answer, with `strictReason` when the strict policy must be used. */
  finish(strictReason?: string): PythonReachability {
    const { notes, stats, whyCode } = this;
    const names = this.frames.exported(new Map([...this.globalUses, ...this.names]));
    const { modules, prefixes, namePrefixes, setters, getters } = this.confinement;
    stats.names = names.size;
    stats.seconds = (performance.now() - this.started) / 1000;
    return { names, modules, prefixes, namePrefixes, setters, getters, strictReason, notes, stats, whyCode, reflections: this.sites(), missing: [...this.missing], ranOnly: this.frames.ranOnly() };
  }

  /** The reflection sites that defeat names, each once, the nearest to the roots first. */
  private sites(): string[] {
    return [...new Set([...this.reflections].sort((a, b) => a.depth - b.depth).map((r) => r.site))];
  }

  /** The modules of the closure by name, and the files of the extension modules (real paths, as mapped); once per closure. */
  private indexNames(tracking: BytecodeTrackingResult, closure: ProgramModule[]): void {
    if (this.closure === closure) return;
    this.closure = closure;
    for (const m of closure) {
      this.byModuleName.set(m.name, m);
      if (m.kind === 'native' && m.file) this.nativeFiles.set(m.name, m.file);
    }
    for (const im of tracking.modules) if (im.kind === 'native' && im.file) this.nativeFiles.set(im.name, im.file);
    // The address space names mapped files by their real paths.
    for (const [n, f] of this.nativeFiles) this.nativeFiles.set(n, realPath(f) ?? f);
  }

  /** Reflection in the start-up imports' module and class bodies that forces the fallback (gateStartup.ts bodyReflection). */
  bodyReflection(tracking: BytecodeTrackingResult, closure: ProgramModule[]): string[] {
    this.indexNames(tracking, closure);
    return bodyReflection(this.startupImports(), this.byModuleName, (r, m) => this.confinement.confinable(r, m), this.isProgram);
  }

  /** The modules the program imported at start-up (gateStartup.ts). */
  private startupImports(): Set<string> {
    return startupImports(this.closure, this.byModuleName, this.startup, liveModuleNames(this.options.liveModules));
  }

  /**
   * Phase 1: indexes the closure (modules by name, code objects by short name, children, aliases, the files of
   * extension modules), completing the simulation of function bodies; with `bindingOf`, the dead definitions
   * (gateShadowed.ts); `isStdlib` tells the standard library's files (gateModels.ts). Returns the modules that failed.
   */
  index(tracking: BytecodeTrackingResult, closure: ProgramModule[], bindingOf?: BindingOf, isStdlib?: (file: string | undefined) => boolean): string[] {
    this.indexNames(tracking, closure);
    if (isStdlib) this.isStdlib = isStdlib;
    const failed: string[] = [];
    const live = liveModuleNames(this.options.liveModules);
    for (const m of closure) {
      if (m.kind !== 'python' || !m.summary) continue;
      if (m.pending?.pending) m.pending.complete();
      if (m.pending?.error) failed.push(`${m.name} (${m.pending.error})`);
      this.indexModule(m, m.summary);
      if (!bindingOf || this.isProgram(m)) continue;
      for (const [i, why] of shadowedDefinitions(m, bindingOf, this.byModuleName, live)) {
        this.dead.add(m.summary.facts[i]!);
        this.classes.kill(m, i, why);
        this.shadowed.push(why);
      }
    }
    return failed;
  }

  private indexModule(m: ProgramModule, s: ModuleSummary): void {
    this.stats.modules++;
    const kids: number[][] = s.facts.map(() => []);
    s.facts.forEach((f, i) => {
      if (!f) return;
      this.stats.codeObjects++;
      const c: Code = { module: m, index: i, facts: f };
      this.all.push(c);
      if (f.parent >= 0 && kids[f.parent]) kids[f.parent].push(i);
      if (f.role !== 'module') (this.byShortName.get(f.name) ?? this.byShortName.set(f.name, []).get(f.name)!).push(c);
    });
    this.childrenOf.set(m, kids);
    this.classes.addModule(m);
    for (const [n, v] of s.namespace) this.noteAlias(n, v);
    for (const cls of s.classes) for (const [n, v] of cls.members) this.noteAlias(n, v);
  }

  /** A binding `n = other` (module namespace, class members): using `n` reaches what `other` names. */
  private noteAlias(n: string, v: Expr): void {
    for (const x of v.k === 'union' ? v.items : [v]) {
      const target = shortName(x);
      if (!target || target === n) continue;
      // `twice = lambda x: …`: using `twice` reaches that lambda, not every `<lambda>` of the closure.
      if (x.k === 'func' && target.startsWith('<')) {
        (this.codeAliases.get(n) ?? this.codeAliases.set(n, []).get(n)!).push({ module: x.def.module, index: x.def.code });
        continue;
      }
      (this.aliases.get(n) ?? this.aliases.set(n, new Set()).get(n)!).add(target);
    }
  }

  /** Phase 2: the roots: the start-up imports, the reflection they did on extension modules, the program's code, the given code. */
  takeRoots(): void {
    const { closure, imported, startup } = this;
    for (const n of this.startupImports()) imported.add(n);
    const rootKeys = new Set(this.rootCodes.map((r) => `${path.resolve(r.file)}\0${r.qualname}`));
    const roots: Code[] = [];
    for (const c of this.all) {
      const file = c.module.file ? path.resolve(c.module.file) : '';
      const frame = rootKeys.has(`${file}\0${c.facts.qualname}`);
      // The program's module code, and the code nested in it that its statements run (comprehensions, lambdas); its
      // functions and methods are reached by the names reachable code uses, as a library's are (leftovers below).
      if (frame || (this.files.has(file) && (c.facts.role === 'module' || (c.facts.parent === 0 && c.facts.name.startsWith('<'))))) roots.push(c);
      // A live frame runs code of a module whose body ran (it defined that code), in sys.modules or not.
      if (frame && !this.files.has(file)) imported.add(c.module.name);
    }
    // What reflection on extension modules fetched at import time is bound in module namespaces now (hashlib
    // binds sha256 to _hashlib.openssl_sha256 through globals()): such sites anywhere in the code of modules
    // imported at start-up count, whether or not that code can still run.
    for (const m of closure) {
      if (!imported.has(m.name) || (m.file && startup.has(path.resolve(m.file)))) continue;
      for (const c of codesOf(m)) for (const r of c.facts.reflections) if (r.module !== undefined || r.prefix !== undefined) this.confinement.confine(r, `${r.what} at ${path.basename(m.file ?? m.name)}:${r.line} (import time)`);
    }
    this.live = new Set<string>(imported);
    this.classes.openBorn();
    for (const n of this.options.cNames?.keys() ?? []) this.classes.onName(n, `C code can look up \`${n}\``, 0);
    for (const c of roots) {
      // A method running has its class's instance or class object at hand: its other methods can run.
      this.classes.openOf(c, `${c.facts.qualname} is a root (${where(c)})`);
      this.reach(c);
    }
    // What the program's module code registered with decorators, its classes' protocol methods, what C looks up.
    for (const m of closure) if (m.file && this.files.has(path.resolve(m.file))) this.leftovers(m);
  }

  /**
   * Phase 2b: what the start-up imports left behind (leftovers), and the bodies of the modules imported at
   * start-up, which ran (and the class bodies in them): what they built and stored (a function fetched by a
   * computed name, a registry) is still alive, so they count as reachable code.
   */
  takeImportTime(): void {
    const { closure, imported } = this;
    // Ranked after everything the program reaches by its own names.
    this.depth = IMPORT_TIME_DEPTH;
    for (const m of closure) if (imported.has(m.name)) this.leftovers(m);
    const saved = this.reason;
    for (const m of closure) {
      if (!imported.has(m.name) || m.kind !== 'python' || this.isProgram(m)) continue;
      const body = codeOf(m, 0);
      this.reason = `the body of ${m.name}, which ran when it was imported at start-up`;
      if (body && body.facts.role === 'module') this.reach(body);
    }
    this.reason = saved;
  }

  /** Phase 3: closes over reachable code (the names it uses, its nested code, its imports) and over names. */
  closeOver(): void {
    const { work, nameQueue } = this;
    while (work.length || nameQueue.length) {
      while (work.length) {
        const c = work.pop()!;
        if ((this.codeDepth.get(c.facts) ?? 0) <= this.limit) this.visitCode(c);
      }
      while (nameQueue.length) {
        const n = nameQueue.pop()!;
        if ((this.nameDepth.get(n) ?? 0) > this.limit) continue;
        this.reason = `name ${n}: ${this.names.get(n)}`;
        this.depth = this.nameDepth.get(n) ?? 0;
        for (const c of this.byShortName.get(n) ?? []) if (this.live.has(c.module.name)) this.reachNamed(c);
        for (const a of this.aliases.get(n) ?? []) this.addName(a, `\`${a}\` bound to the name \`${n}\``, this.frames.pastOnly(n));
        for (const a of this.codeAliases.get(n) ?? []) {
          const m = this.byModuleName.get(a.module);
          const c = m && this.live.has(m.name) ? codeOf(m, a.index) : undefined;
          if (c) this.reach(c);
        }
      }
    }
  }

  /** What a reachable code object reaches: its names, its reflection, its nested code, its module, its imports. */
  private visitCode(c: Code): void {
    const f = c.facts;
    this.reason = `in or imported by ${c.module.name}:${f.qualname}`;
    this.depth = (this.codeDepth.get(f) ?? 0) + 1;
    const at = `${f.qualname} (${where(c)})`;
    const mainOnly = f.role === 'module' && !this.isProgram(c.module) ? f.mainOnly?.names : undefined;
    const globalOnly = new Set(f.globalOnly);
    const before = this.frames.calledBefore(c);
    for (const n of f.names) if (!mainOnly?.includes(n)) globalOnly.has(n) ? this.globalName(n, c, at, before.has(n)) : this.addName(n, `name \`${n}\` used in ${at}`, before.has(n));
    for (const n of f.free) this.addName(n, `name \`${n}\` used in ${at}`);
    for (const n of f.reflectNames) this.addName(n, `getattr-style use of \`${n}\` in ${at}`);
    const inert = inertStrings(c, this.childrenOf.get(c.module)?.[c.index] ?? []);
    for (const n of f.nameStrings ?? []) if (!inert.has(n)) this.addName(n, `string \`${n}\` in ${at} (code given a name may look it up)`);
    // Reflection anywhere in code that ran or can run, the program's or a library's, defeats names: the names
    // it computes (a join, a string given to exec, the bytes of a pickle) need appear nowhere, and what it
    // fetched may be stored and called later. Only reflection confined to a known namespace is narrowed.
    for (const r of judgedReflections(c, this.isStdlib)) {
      if (inMainBlock(c.module, r.line, this.isProgram(c.module))) continue;
      const site = `${r.what} at ${path.basename(c.module.file ?? c.module.name)}:${r.line}`;
      if ((r.package !== undefined && this.importPackage(r.package, site)) || this.confinement.confine(r, site, f.name) || (r.own && this.confinement.confineOwn(c.module, site))) continue;
      const depth = this.codeDepth.get(f) ?? 0;
      this.reflections.push({ site, depth });
      if (!this.options.exhaustive) this.limit = Math.min(this.limit, depth);
    }
    // Nested code runs with its parent: lambdas, comprehensions and inner functions of a function, class
    // bodies of any code (a class statement runs its body); a class body's protocol methods come with it.
    for (const i of this.childrenOf.get(c.module)?.[c.index] ?? []) {
      const cc = codeOf(c.module, i);
      if (!cc) continue;
      if (f.role === 'function' || cc.facts.role === 'class') this.reach(cc);
      else if (f.role === 'class' && isDunder(cc.facts.name)) this.reachNamed(cc);
    }
    if (f.role === 'module') this.makeLive(c.module);
    for (const im of c.module.summary!.imports) if (im.code === c.index && im.scope === 'function') this.runImports(im.targets);
  }

  /** Imports in reachable code run the bodies of the modules not imported yet (tracked first when missing). */
  private runImports(targets: readonly string[]): void {
    for (const t of targets) {
      if (this.imported.has(t)) continue;
      const pm = this.byModuleName.get(t);
      if (!pm) this.missing.add(t);
      const body = pm ? codeOf(pm, 0) : undefined;
      if (body && this.frames.wholeAgain(body)) this.work.push(body);
      else if (body) this.reach(body);
    }
  }

  /** An import by a computed name under package `pkg` runs one of its modules (gateImports.ts); false when they are unknown. */
  private importPackage(pkg: string, site: string): boolean {
    const names = packageImports(pkg, this.byModuleName);
    if (!names) return false;
    this.confinement.confined.push(`${site} (a module of package ${pkg})`);
    this.runImports(names);
    return true;
  }

  /** Phase 3b: the functions narrowed at a live frame that something can call anew run whole (FrameNarrowing.reentered). */
  reenter(): boolean {
    return this.work.push(...this.frames.reentered(this.options.cNames)) > 0;
  }

  /** Whether reflection in reachable code already forces the fallback. */
  fallingBack(): boolean {
    return this.reflections.length > 0;
  }

  /** Phase 4: the statistics, the notes, and the fallback to strict when reachable code reflects. */
  result(): PythonReachability {
    const { stats, reflections, notes, reachable, names } = this;
    const { confined } = this.confinement;
    const pythonModules = (ns: Set<string>) => [...ns].filter((n) => this.byModuleName.get(n)?.kind === 'python').length;
    stats.reachable = reachable.size;
    stats.liveModules = pythonModules(this.live);
    stats.startupModules = pythonModules(this.imported);
    for (const site of this.confinement.hookFallback()) reflections.push({ site, depth: IMPORT_TIME_DEPTH });
    if (reflections.length) {
      const first = this.sites();
      const bound = this.options.exhaustive ? '' : '; none further from it was examined';
      return this.finish(reflectionReason(first, `in code that ran or can run, the nearest to the program first${bound}`));
    }
    const rootCodes = this.rootCodes;
    notes.push(
      `Python-level reachability: ${reachable.size} of ${stats.codeObjects} code objects of ${stats.modules} Python modules can still run (from the program's files${rootCodes.length ? ` and ${rootCodes.length} live frame(s)` : ''}, closed over the names they use); they use ${names.size} names.${confined.length ? ` ${new Set(confined).size} reflection site(s) on known modules kept those modules whole (${[...new Set(confined)].slice(0, 2).join('; ')}).` : ''}${this.shadowed.length ? ` ${this.shadowed.length} top-level definition(s) of standard-library modules are dead, bound over by C code (${this.shadowed.slice(0, 2).join('; ')}).` : ''}`,
    );
    return this.finish();
  }

  /** `past`: only code that ran uses the name, to call what it names (gateFrames.ts): it reaches code, admits no C function. */
  private addName(n: string, why: string, past = false): void {
    if (this.frames.mark(n, past) && this.names.has(n)) this.nameQueue.push(n);
    if (this.names.has(n)) return;
    this.names.set(n, why);
    this.nameDepth.set(n, this.depth);
    this.nameQueue.push(n);
    this.classes.onName(n, why, this.depth);
  }

  /**
   * A global load of `n` in c's code reads its module's namespace (a class body's first): the top-level code named `n`
   * of the module and of the modules its star imports copy from, what their `from … import` binds to `n`; any `n` when
   * a star import's source is unknown. C functions named `n` stay roots.
   */
  private globalName(n: string, c: Code, at: string, past = false): void {
    const why = `global \`${n}\` used in ${at}`;
    const owners = this.namespaces.of(c.module).owners;
    if (!owners) return this.addName(n, `${why}, a module that star-imports from a module not tracked`, past);
    // A class body's own members count there: keyed by it (and by a use in code that ran only, which a live one redoes).
    const key = `${c.module.name}\0${n}\0${c.facts.role === 'class' ? c.index : ''}\0${past}`;
    if (this.globalsSeen.has(key)) return;
    this.globalsSeen.add(key);
    this.frames.mark(n, past);
    if (!this.globalUses.has(n)) this.globalUses.set(n, why);
    for (const a of this.aliases.get(n) ?? []) this.addName(a, `\`${a}\` bound to the name \`${n}\``, past);
    const saved = this.reason;
    this.reason = `name ${n}: ${why}`;
    for (const m of owners) {
      for (const src of this.namespaces.of(m).imports.get(n) ?? []) this.addName(src, `${why}, imported as \`${n}\``, past);
      this.classes.onNameIn(n, m, why, this.depth);
      for (const o of this.byShortName.get(n) ?? []) if (o.module === m && (parentRole(o) === 'module' || (m === c.module && o.facts.parent === c.index))) this.reachNamed(o);
      for (const o of (this.codeAliases.get(n) ?? []).flatMap((a) => (a.module === m.name ? [codeOf(m, a.index)] : []))) if (o) this.reach(o);
    }
    this.reason = saved;
  }

  private reach(c: Code): void {
    let set = this.codeKey.get(c.module);
    if (!set) this.codeKey.set(c.module, (set = new Set()));
    if (set.has(c.index)) return;
    set.add(c.index);
    this.codeDepth.set(c.facts, this.depth);
    this.whyCode.set(`${c.module.name}:${c.facts.qualname}`, this.reason);
    this.reachable.add(c);
    this.work.push(c);
    this.classes.onReach(c, this.depth);
  }

  /** Whether the module is one of the program's files (run as `__main__`). */
  private readonly isProgram = (m: ProgramModule): boolean => m.file !== undefined && this.files.has(path.resolve(m.file));

  private matches(n: string): boolean {
    return this.names.has(n) || (this.options.cNames?.has(n) ?? false);
  }

  /**
   * What a module's import left behind, for modules that have run or will: callbacks its module and class
   * bodies registered (function values passed as call arguments), functions kept by decorators that may store
   * them, protocol methods of its classes (their instances may live), and functions C code looks up by name.
   */
  private leftovers(m: ProgramModule): void {
    const saved = this.reason;
    this.reason = `import-time leftover of ${m.name}`;
    for (const c of codesOf(m)) {
      const f = c.facts;
      if (f.role !== 'function') for (const e of f.escapes) this.addName(e, `\`${e}\` passed as a value at import time in ${where(c)}`);
      if (f.role !== 'function' || parentRole(c) === 'function' || parentRole(c) === undefined) continue;
      const def = c.module.summary!.defs[c.index];
      if (parentRole(c) === 'class' && isDunder(f.name)) this.reachNamed(c);
      else if (def && def.decorators.some((d) => !keepsNothing(d, c.module, this.isStdlib))) this.reach(c);
      else if (this.options.cNames?.has(f.name)) this.reachNamed(c);
    }
    this.reason = saved;
  }

  /** The property getters of a live module (`@property`, `@cached_property`), once hasattr by computed names may run them. */
  private reachGetters(m: ProgramModule, why: string): void {
    const saved = this.reason;
    this.reason = why;
    for (const c of codesOf(m)) if (c.module.summary!.defs[c.index]?.decorators.some((d) => PROPERTIES.has(decoratorName(d) ?? ''))) this.reach(c);
    this.reason = saved;
  }

  private makeLive(m: ProgramModule): void {
    if (this.live.has(m.name)) return;
    this.live.add(m.name);
    this.classes.onLive(m, this.depth);
    this.leftovers(m);
    if (this.confinement.getters !== undefined) this.reachGetters(m, this.confinement.getters);
    for (const c of codesOf(m)) if (c.facts.role !== 'module' && this.matches(c.facts.name)) this.reachNamed(c);
  }

  /** Reaches code a name (or a class body) names: nested in a function, with it; a method once its class can have instances. */
  private reachNamed(c: Code): void {
    if (parentRole(c) === 'function' || this.dead.has(c.facts)) return;
    if (this.classes.admits(c, this.reason, this.depth)) this.reach(c);
  }
}
