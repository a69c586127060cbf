// Reflection the precise gate (pythonGate.ts) narrows instead of falling back to strict: lookups by computed names on
// a known extension or built-in module, and on a module's own namespace (globals()), star imports into it included.

import type { ProgramModule } from './bytecode/naming';
import type { CodeFacts } from './bytecode/simulate';

/** The hooks an accessor site runs: `__getattr__`/`__getattribute__` (get), `__setattr__`/`__delattr__` (set). */
type HookKind = 'get' | 'set';
const SET_HOOKS = new Set(['__setattr__', '__delattr__']);

/** The namespaces reflection was confined to, for one reachability run. */
export class Confinement {
  /** Extension modules (file paths) whose every entry stays a root, and why. */
  readonly modules = new Map<string, string>();
  /** Extension modules (file paths) whose entries with these name prefixes stay roots. */
  readonly prefixes = new Map<string, { prefix: string; reason: string }[]>();
  /** Name prefixes (`'repr_' + name` on any receiver) whose every function, Python or C, stays reachable, and why. */
  readonly namePrefixes = new Map<string, string>();
  /** Set (to why) once reachable code sets or deletes (setters), or tests (getters), attributes by computed names. */
  setters?: string;
  getters?: string;
  /**
   * The first accessor site of each kind whose name no code shows (not the name an attribute hook is given, which
   * came from a lookup counted where it is): it can hand a hook of its kind such a name (hookFallback). hasattr (and
   * a tested getattr) runs `__getattr__`/`__getattribute__` hooks ('get'); setattr and delattr run `__setattr__`/
   * `__delattr__` ('set').
   */
  private readonly computedAccessor = new Map<HookKind, string>();
  /**
   * Hook sites: getattr of the name an attribute hook (`__getattr__`) is given, handing on what it fetched, with the
   * kind of hook they are in. Names reach a hook from lookups counted where they are (names, prefixes, reflection that
   * falls back), except those that hasattr and setattr compute (accessor sites): with both of a kind, the hook sites
   * fall back (hookFallback).
   */
  readonly hookSites: { site: string; kind: HookKind }[] = [];
  /** Hooks of one kind that pass the name they are given to lookups of the other (ctypes' `__getattr__` to setattr). */
  private readonly forwards = new Set<HookKind>();
  /** Each confined site, with the namespace it was confined to. */
  readonly confined: string[] = [];
  /** Modules whose own namespace globals() hands out: all its bindings are names (see confineOwn). */
  private readonly ownConfined = new Set<ProgramModule>();

  constructor(
    /** Extension module name → its file (real path, as mapped). */
    private readonly nativeFiles: ReadonlyMap<string, string>,
    private readonly byModuleName: ReadonlyMap<string, ProgramModule>,
    /** Makes a name one reachable code uses. */
    private readonly addName: (n: string, why: string) => void,
    /** The names of a module's top-level definitions (functions and classes). */
    private readonly definitions: (m: ProgramModule) => string[],
    /** Makes every name starting with a prefix one reachable code uses. */
    private readonly addPrefix: (prefix: string, why: string) => void,
    /** Makes every property getter reachable (once). */
    private readonly addGetters: (why: string) => void,
  ) {}

  /**
   * Reflection on a known extension module (`getattr(_hashlib, 'openssl_' + name)`): its entries stay roots,
   * all of them or those whose names start with the constant prefix. On a known Python module, every binding of its
   * namespace, re-exports included, becomes a name (confineModule). Returns whether the site was confined.
   */
  confine(r: CodeFacts['reflections'][number], site: string, codeName = ''): boolean {
    const inHook: HookKind = SET_HOOKS.has(codeName) ? 'set' : 'get';
    if (r.hook) {
      this.hookSites.push({ site, kind: inHook });
      // A fetch by the name a `__setattr__` is given runs the receiver's `__getattr__` with it.
      if (inHook === 'set') this.forwards.add('set');
      return true;
    }
    if (r.hookName && r.accessor !== undefined && (r.accessor === 'set') !== (inHook === 'set')) this.forwards.add(inHook);
    if (r.module !== undefined && this.byModuleName.get(r.module)?.kind === 'builtin') {
      // A module compiled into the interpreter (`getattr(sys, self._stream)`, contextlib's redirect_stdout): its
      // functions and types are the interpreter's, whose tables stay roots; what code stored there since was made by
      // code the gate sees. Its namespace is a plain dict: a store or a test by any name runs no setter, getter or hook.
      this.confined.push(`${site} on the built-in module ${r.module}`);
      return true;
    }
    const file = r.module !== undefined ? this.nativeFiles.get(r.module) : undefined;
    if (file === undefined && r.prefix !== undefined) {
      // Whatever the receiver, the attribute's name starts with the prefix: every function so named, Python or C,
      // in any module, stays reachable (what else the attribute may hold was stored by code the gate sees).
      const why = `${site} (names starting with \`${r.prefix}\`, on any object)`;
      this.confined.push(why);
      if (!this.namePrefixes.has(r.prefix)) {
        this.namePrefixes.set(r.prefix, why);
        this.addPrefix(r.prefix, why);
      }
      return true;
    }
    // An accessor site with a constant prefix was narrowed to the prefix above (its getters, setters and the names it
    // hands hooks all have it).
    if (r.accessor !== undefined && !r.hookName && !this.computedAccessor.has(r.accessor)) this.computedAccessor.set(r.accessor, site);
    if (r.accessor === 'set') {
      // setattr/delattr by a computed name fetch nothing: what they store was made by code the gate sees. They may run
      // a setter of any name. A getset's (C) stays a root (PythonGate.setters). A property's is reached already: its
      // class body, which ran, names it (`@level.setter` loads `level`; `property(get, set)` loads `set`); a
      // descriptor's `__set__` and a class's `__setattr__` are protocol methods, which come with their class.
      const why = `${site} (sets or deletes by a computed name: every getset setter stays)`;
      this.confined.push(why);
      this.setters ??= why;
      return true;
    }
    if (r.accessor === 'get') {
      // hasattr by a computed name hands on a truth value only, but may run a getter of any name: a getset's (C,
      // PythonGate.getters), a property's (Python: `@property def level` binds `level` without loading it, so every
      // property getter is reached), a class's `__getattr__` (a protocol method, with its class).
      const why = `${site} (tests an attribute by a computed name: every getset and property getter stays)`;
      this.confined.push(why);
      if (this.getters === undefined) {
        this.getters = why;
        this.addGetters(why);
      }
      return true;
    }
    if (file === undefined) return this.confineModule(r.module, site);
    const why = `${site} on module ${r.module}${r.prefix ? ` (names starting with \`${r.prefix}\`)` : ''}`;
    this.confined.push(why);
    if (r.prefix) {
      let l = this.prefixes.get(file);
      if (!l) this.prefixes.set(file, (l = []));
      if (!l.some((x) => x.prefix === r.prefix)) l.push({ prefix: r.prefix, reason: why });
    } else if (!this.modules.has(file)) this.modules.set(file, why);
    return true;
  }

  /**
   * A lookup by a computed name on a known Python module (`getattr(os, name)`, shutil's copystat): it reads that
   * module's namespace, as its own globals() would (confineOwn): what the module binds, what star imports filled, or
   * what other code stored there as an attribute (a value made where the gate sees it, accounted for there). Not when
   * the module has a `__getattr__` hook, which the computed name would be handed to.
   */
  private confineModule(name: string | undefined, site: string): boolean {
    const m = this.pythonModuleWithoutHook(name);
    return m !== undefined && this.confineOwn(m, `${site} on module ${m.name}`);
  }

  /** The Python module `name` names (through an alias), when it has no module `__getattr__` hook. */
  private pythonModuleWithoutHook(name: string | undefined): ProgramModule | undefined {
    let m = name !== undefined ? this.byModuleName.get(name) : undefined;
    if (m?.kind === 'alias' && m.target) m = this.byModuleName.get(m.target);
    if (!m || m.kind !== 'python' || !m.summary || m.summary.namespace.has('__getattr__') || this.definitions(m).includes('__getattr__')) return undefined;
    return m;
  }

  /**
   * globals() (or vars() in module code) hands out the code's own module namespace: whatever it reads by a
   * computed name is bound there, under a name the module binds (its namespace, what its functions store as
   * globals, its top-level definitions) or by a computed store of a value made elsewhere (accounted for where it
   * was made). Every such name becomes a name of reachable code. What star imports bound there (os's `from posix
   * import *`) is narrowed the same way (starSources): a Python module's own bindings become names, an extension
   * module keeps every entry, the interpreter's built-in modules keep theirs anyway.
   */
  confineOwn(m: ProgramModule, site: string): boolean {
    const s = m.summary;
    const sources = this.starSources(m);
    if (!s || !sources) return false;
    this.confined.push(`${site} on ${m.name}'s own namespace`);
    if (this.ownConfined.has(m)) return true;
    this.ownConfined.add(m);
    const why = (n: string) => `\`${n}\` bound in module ${m.name}, whose namespace ${site} hands out by computed names`;
    for (const n of [...s.namespace.keys(), ...s.globalStores.keys()]) this.addName(n, why(n));
    for (const n of this.definitions(m)) this.addName(n, why(n));
    for (const src of sources) {
      const file = src.kind === 'native' ? this.nativeFiles.get(src.name) : undefined;
      if (file !== undefined && !this.modules.has(file)) this.modules.set(file, `${site} on ${m.name}'s namespace, which \`from ${src.name} import *\` filled`);
      if (src.kind === 'python') this.confineOwn(src, `${site} (through ${m.name}'s \`from ${src.name} import *\`)`);
    }
    return true;
  }

  /**
   * The modules whose star imports (transitively, through Python modules) filled `m`'s namespace, when each is
   * known: a Python module, an extension module with a file, or a built-in module of the interpreter (whose
   * tables always stay roots), or one the interpreter cannot find (it bound nothing); undefined when one is not
   * (an error, or an extension module without a file).
   */
  starSources(m: ProgramModule, seen = new Set<ProgramModule>()): ProgramModule[] | undefined {
    if (!m.summary) return undefined;
    const out: ProgramModule[] = [];
    seen.add(m);
    for (const star of m.summary.stars) {
      let src = this.byModuleName.get(star.module);
      if (src?.kind === 'alias' && src.target) src = this.byModuleName.get(src.target);
      if (!src || seen.has(src)) {
        if (src) continue;
        return undefined;
      }
      // A built-in module's tables stay roots anyway. A module the interpreter cannot find (os's `from nt import *`
      // on Linux) bound nothing: the star import raised, and the module body went on only if that was caught.
      if (src.kind === 'builtin' || src.kind === 'missing') continue;
      if (src.kind === 'native' && this.nativeFiles.has(src.name)) out.push(src);
      else if (src.kind === 'python' && this.starSources(src, seen)) out.push(src);
      else return undefined;
    }
    return out;
  }

  /**
   * The hook sites that must fall back: all of them once an accessor site (hasattr, setattr by a computed name) can
   * hand a hook a name no code shows, each named with the accessor site that does.
   */
  hookFallback(): string[] {
    const out: string[] = [];
    for (const { site, kind } of this.hookSites) {
      const other: HookKind = kind === 'set' ? 'get' : 'set';
      const accessor = this.computedAccessor.get(kind) ?? (this.forwards.has(other) ? this.computedAccessor.get(other) : undefined);
      if (accessor !== undefined) out.push(`${site} (given names that ${accessor} computes)`);
    }
    return out;
  }

  /** Whether `confine` (or confineOwn, for `m`'s own namespace) would narrow the site, without doing it. */
  confinable(r: CodeFacts['reflections'][number], m: ProgramModule): boolean {
    if (r.hook || r.accessor !== undefined || r.prefix !== undefined) return true;
    if (r.module !== undefined && (this.nativeFiles.has(r.module) || this.byModuleName.get(r.module)?.kind === 'builtin')) return true;
    const target = this.pythonModuleWithoutHook(r.module);
    if (target && this.starSources(target) !== undefined) return true;
    return r.own === true && this.starSources(m) !== undefined;
  }
}
