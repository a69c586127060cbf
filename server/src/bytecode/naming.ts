// Names the simulation's symbolic values across the import closure: aliases, re-exports (assignments, star
// imports), class hierarchies, constructors, ctypes, decorator stubs; anything else stays unknown, with a reason.

import { builtinTarget, CTYPES_FIND_LIBRARY, CTYPES_LIBRARY_LOADER_OBJECTS, CTYPES_LOADERS, KNOWN_RESULT_TYPES, STDLIB_RESULT_TYPES } from './knownTypes';
import { References } from './references';
import { runtimeAttr, stdlibCType } from './runtimeBindings';
import { builtinCallTargets, scalarOperatorTargets } from './scalarResults';
import { StubResults } from './stubResults';
import type { ModuleSummary } from './simulate';
import { cap, flat, instanceOf, prefix, qualifiedName, type Program, type Target, type TypeRef } from './targets';
import { alternatives, constType, describe, type ClassDef, type Expr, type FunctionDef } from './values';

// The program and target types live in targets.ts; the public surface (index.ts) and the gate take them here.
export type { Program, ProgramModule, Target, TypeRef } from './targets';

const CYCLIC: Target[] = [{ kind: 'unknown', reason: 'cyclic definition' }];
const TOO_DEEP: Target[] = [{ kind: 'unknown', reason: 'resolution too deep' }];
const MAX_DEPTH = 48;

type Exports = 'yes' | 'maybe' | 'no';

/** Resolution over one program (an import closure). Results are memoised; create a new one per closure. */
export class Resolver {
  private readonly exprMemo = new Map<Expr, Target[]>();
  private readonly references: References;
  private readonly attrMemo = new Map<string, Map<string, Target[]>>();
  private readonly globalMemo = new Map<string, Map<string, Target[]>>();
  private readonly exportsMemo = new Map<string, Map<string, Exports>>();
  private readonly mroMemo = new Map<ClassDef, (ClassDef | TypeRef)[]>();
  private readonly inProgress = new Set<string>();
  private depth = 0;
  readonly builtins: Set<string>;
  readonly builtinTypes: Set<string>;
  private readonly stubs: StubResults;

  constructor(readonly program: Program) {
    this.builtins = new Set(program.python.builtins);
    this.builtinTypes = new Set(program.python.builtinTypes);
    this.references = new References(program, this.builtins);
    this.stubs = new StubResults(program, this);
  }

  /**
   * Simulates the waiting function bodies of a module before anything they add is read: what functions
   * return, `self.x` attributes, globals stored in functions. (Everything else a summary holds comes from
   * module code and class bodies, simulated first.) So no memoised answer depends on a partial summary.
   */
  private complete(module: string): void {
    const m = this.program.modules.get(module);
    if (m?.pending?.pending) m.pending.complete();
  }

  /** Every value `e` may stand for (at most a few; unknowns carry their reason). */
  resolve(e: Expr): Target[] {
    // Memoised per resolver (values outlive a resolver: they are cached with their module).
    const memo = this.exprMemo.get(e);
    if (memo !== undefined) return memo;
    if (this.depth > MAX_DEPTH) return TOO_DEEP;
    this.exprMemo.set(e, CYCLIC); // re-entered while being resolved: a cyclic definition
    this.depth++;
    let out: Target[];
    try {
      out = cap(this.resolveUncached(e));
    } finally {
      this.depth--;
    }
    this.exprMemo.set(e, out);
    return out;
  }

  private resolveUncached(e: Expr): Target[] {
    switch (e.k) {
      case 'module':
        return [this.moduleTarget(e.name)];
      case 'global':
        return this.global(e.module, e.name);
      case 'builtin':
        return [builtinTarget(e.name)];
      case 'const':
        return [{ kind: 'const', value: e.value }];
      case 'func':
        return [{ kind: 'function', def: e.def }];
      case 'class':
        return [{ kind: 'class', def: e.def }];
      case 'instance':
        return this.resolve(e.cls).map((t) => instanceOf(t));
      case 'attr':
        return flat(this.resolve(e.base).map((b) => this.attrOf(b, e.name, e)));
      case 'call':
        return flat(this.resolve(e.callee).map((c) => this.callResult(c, e)));
      case 'subscr': {
        const idx = e.index.k === 'const' && typeof e.index.value === 'string' ? e.index.value : undefined;
        const bases = this.resolve(e.base);
        return bases.flatMap((b): Target[] => (b.kind === 'ctypes-library' && idx !== undefined ? [{ kind: 'ctypes-function', library: b.library, findLibrary: b.findLibrary, symbol: idx }] : this.stubs.item([b], e.index) ?? [{ kind: 'unknown', reason: 'item of a container' }]));
      }
      case 'binop':
        return this.stubs.binop(this.resolve(e.left), e.op, e.right) ?? scalarOperatorTargets(e.op, this.resolve(e.left), this.resolve(e.right)) ?? [{ kind: 'unknown', reason: `result of the ${e.op} operator` }];
      case 'super':
        return [{ kind: 'super', cls: e.cls }];
      case 'union':
        return flat(e.items.map((i) => this.resolve(i)));
      case 'self':
        return this.resolve(e.obj);
      case 'unknown':
        return [{ kind: 'unknown', reason: e.reason }];
      default:
        return [{ kind: 'unknown', reason: `${e.k} value` }];
    }
  }

  /** A module by name as a target (an alias module stands for its target). */
  moduleTarget(name: string): Target {
    const m = this.program.modules.get(name);
    if (m && m.kind === 'alias' && m.target) return { kind: 'module', module: m.target, via: [name] };
    return { kind: 'module', module: name };
  }

  /** A module-level name as functions of `module` see it (final bindings, global stores, star imports, builtins). */
  global(module: string, name: string): Target[] {
    return this.memoized(this.globalMemo, 'g', module, name, () => [{ kind: 'unknown', reason: 'cyclic definition' }], () => this.globalUncached(module, name));
  }

  /**
   * `compute` once per module and name, kept in `memo` (capped); asked again while it runs (a definition that
   * refers back to itself), `onCycle` answers.
   */
  private memoized(memo: Map<string, Map<string, Target[]>>, tag: string, module: string, name: string, onCycle: () => Target[], compute: () => Target[]): Target[] {
    let byName = memo.get(module);
    if (!byName) memo.set(module, (byName = new Map()));
    const hit = byName.get(name);
    if (hit) return hit;
    const key = `${tag}:${module}\0${name}`;
    if (this.inProgress.has(key)) return onCycle();
    this.inProgress.add(key);
    let out: Target[];
    try {
      out = cap(compute());
    } finally {
      this.inProgress.delete(key);
    }
    byName.set(name, out);
    return out;
  }

  private globalUncached(module: string, name: string): Target[] {
    const m = this.program.modules.get(module);
    const s = m?.summary;
    if (!s) return [{ kind: 'unresolved', name: `${module}.${name}`, reason: `module ${module} was not analysed` }];
    const fromBinding = this.bindingTargets(s, name);
    if (fromBinding) return fromBinding;
    if (this.builtins.has(name)) return [builtinTarget(name)];
    return [{ kind: 'unresolved', name: `${module}.${name}`, reason: `${name} is not defined in ${module}` }];
  }

  /** Bindings of `name` in a module: explicit assignments/imports, overridden or supplied by star imports. */
  private bindingTargets(s: ModuleSummary, name: string): Target[] | undefined {
    if (s.lazyGlobals?.has(name)) this.complete(s.name);
    const binding = s.namespace.get(name);
    const stored = s.globalStores.get(name);
    const seq = s.bindingStarSeq.get(name) ?? 0;
    // A star import that ran after the binding and certainly exports the name wins; star imports after it
    // whose contents are unknown (native modules) may override it: they become candidates too.
    const laterMaybes: string[] = [];
    for (let k = s.stars.length - 1; k >= 0; k--) {
      const star = s.stars[k];
      if (binding !== undefined && star.seq <= seq) break;
      const ex = this.exports(star.module, name);
      if (ex === 'yes') {
        const definite = prefix(`${s.name}.${name}`, this.moduleAttr(star.module, name));
        return laterMaybes.length ? definite.concat(this.ambiguous(s.name, name, laterMaybes)) : definite;
      }
      if (ex === 'maybe') laterMaybes.push(star.module);
    }
    if (binding !== undefined || stored !== undefined) {
      const out: Target[] = [];
      if (binding !== undefined) out.push(...this.resolve(binding));
      if (stored !== undefined) out.push(...this.resolve(stored));
      return out;
    }
    if (laterMaybes.length && !this.builtins.has(name)) return this.ambiguous(s.name, name, laterMaybes);
    return undefined;
  }

  /** Candidates for a name that star imports of modules with unknown contents may provide. */
  private ambiguous(module: string, name: string, sources: string[]): Target[] {
    const note = `star import of ${sources.join(', ')} (ambiguous: contents unknown)`;
    return flat(sources.map((m) => prefix(`${module}.${name}`, this.moduleAttr(m, name)))).map((t) => ({ ...t, via: [...(t.via ?? []), note] }));
  }

  /** Whether `from module import *` brings `name`. */
  exports(module: string, name: string): Exports {
    let byName = this.exportsMemo.get(module);
    if (!byName) this.exportsMemo.set(module, (byName = new Map()));
    const memo = byName.get(name);
    if (memo) return memo;
    const key = `${module}\0${name}`;
    if (this.inProgress.has(`x:${key}`)) return 'no';
    this.inProgress.add(`x:${key}`);
    let out: Exports;
    try {
      out = this.exportsUncached(module, name);
    } finally {
      this.inProgress.delete(`x:${key}`);
    }
    byName.set(name, out);
    return out;
  }

  private exportsUncached(module: string, name: string): Exports {
    const m = this.program.modules.get(module);
    if (!m) return 'maybe';
    if (m.kind === 'alias' && m.target) return this.exports(m.target, name);
    if (m.kind === 'missing' || m.kind === 'error') return 'no';
    const s = m.summary;
    if (!s) return name.startsWith('_') ? 'no' : 'maybe'; // native and builtin modules: contents unknown here
    if (Array.isArray(s.all)) return s.all.includes(name) ? 'yes' : 'no';
    if (name.startsWith('_') && s.all === null) return 'no';
    if (s.namespace.has(name)) return 'yes';
    let maybe = false;
    for (const star of s.stars) {
      const ex = this.exports(star.module, name);
      if (ex === 'yes') return 'yes';
      if (ex === 'maybe') maybe = true;
    }
    return maybe ? 'maybe' : 'no';
  }

  /** `module.name` as attribute access sees it (bindings first, then the submodule, then star imports). */
  moduleAttr(module: string, name: string): Target[] {
    const sub = `${module}.${name}`;
    // `from . import sub` binds the name to itself while the submodule is being imported.
    const onCycle = (): Target[] => (this.isModule(sub) ? [this.moduleTarget(sub)] : [{ kind: 'unknown', reason: 'cyclic definition' }]);
    return this.memoized(this.attrMemo, 'a', module, name, onCycle, () => this.moduleAttrUncached(module, name));
  }

  /** Whether the program holds a module of that name (not one found missing or failing). */
  isModule(name: string): boolean {
    const m = this.program.modules.get(name);
    return m !== undefined && m.kind !== 'missing' && m.kind !== 'error';
  }

  private moduleAttrUncached(module: string, name: string): Target[] {
    const m = this.program.modules.get(module);
    const sub = `${module}.${name}`;
    if (!m) {
      if (this.isModule(sub)) return [this.moduleTarget(sub)];
      return [{ kind: 'unresolved', name: sub, reason: `module ${module} was not analysed` }];
    }
    switch (m.kind) {
      case 'alias':
        return m.target ? prefix(sub, this.moduleAttr(m.target, name)) : [{ kind: 'unresolved', name: sub, reason: `${module} is an alias` }];
      case 'missing':
      case 'error':
        return [{ kind: 'unresolved', name: sub, reason: `module ${module} was not found${m.reason ? ` (${m.reason})` : ''}` }];
      case 'native':
      case 'builtin':
      case 'frozen':
        if (this.isModule(sub)) return [this.moduleTarget(sub)];
        return [{ kind: 'native', module, path: [name] }];
      case 'namespace':
        if (this.isModule(sub)) return [this.moduleTarget(sub)];
        return [{ kind: 'unresolved', name: sub, reason: `${sub} is not a module of namespace package ${module}` }];
      default:
        break;
    }
    const s = m.summary;
    if (!s) {
      if (this.isModule(sub)) return [this.moduleTarget(sub)];
      return [{ kind: 'unresolved', name: sub, reason: `module ${module} has no code (syntax error?)` }];
    }
    // The interpreter's own sys.modules says what a submodule name stands for (os.path → posixpath).
    if (this.program.modules.get(sub)?.kind === 'alias') return [this.moduleTarget(sub)];
    const binding = s.namespace.get(name);
    if (binding !== undefined && this.isModule(sub) && isImportOf(binding, module, name)) return [this.moduleTarget(sub)];
    const bound = this.bindingTargets(s, name);
    if (bound) {
      const known = bound.filter((t) => t.kind !== 'unknown');
      if (!known.length && this.isModule(sub)) return [this.moduleTarget(sub)];
      return prefix(sub, bound);
    }
    if (this.isModule(sub)) return [this.moduleTarget(sub)];
    const runtime = runtimeAttr(this, m, name);
    if (runtime) return prefix(sub, runtime);
    if (s.namespace.has('__getattr__')) return [{ kind: 'unresolved', name: sub, reason: `${module} computes attributes in __getattr__` }];
    return [{ kind: 'unresolved', name: sub, reason: `${name} is not defined in ${module}` }];
  }

  /** Method resolution order (depth-first, left to right, duplicates removed; C3 agrees on non-diamonds). */
  mro(cls: ClassDef): (ClassDef | TypeRef)[] {
    const memo = this.mroMemo.get(cls);
    if (memo) return memo;
    const out: (ClassDef | TypeRef)[] = [];
    this.mroMemo.set(cls, out);
    const seen = new Set<unknown>();
    const visit = (c: ClassDef, depth: number): void => {
      if (seen.has(c) || depth > 32) return;
      seen.add(c);
      out.push(c);
      for (const b of c.bases) {
        for (const t of this.resolve(b)) {
          if (t.kind === 'class') visit(t.def, depth + 1);
          else if (t.kind === 'native' || t.kind === 'builtin') {
            const key = t.kind === 'native' ? `${t.module}.${t.path.join('.')}` : `builtins.${t.name}`;
            if (seen.has(key)) continue;
            seen.add(key);
            out.push(t.kind === 'native' ? { kind: 'native', module: t.module, path: t.path } : { kind: 'builtin', name: t.name });
          }
        }
      }
    };
    visit(cls, 0);
    return out;
  }

  private memberOf(cls: ClassDef, name: string, after?: ClassDef): Target[] | undefined {
    const order = this.mro(cls);
    let start = 0;
    if (after) {
      const k = order.indexOf(after);
      start = k >= 0 ? k + 1 : order.length;
    }
    for (let k = start; k < order.length; k++) {
      const c = order[k];
      if ('members' in c) {
        const v = c.members.get(name);
        if (v !== undefined) return prefix(`${c.module}.${c.qualname}.${name}`, this.resolve(v));
      } else if (c.kind === 'native') return [{ kind: 'native', module: c.module, path: [...c.path, name] }];
      else if (c.kind === 'builtin' && c.name !== 'object') return [{ kind: 'native', module: 'builtins', path: [c.name, name] }];
    }
    return undefined;
  }

  private instanceAttr(cls: ClassDef, name: string): Target[] | undefined {
    for (const c of this.mro(cls)) {
      if (!('members' in c)) continue;
      this.complete(c.module);
      const v = c.instanceAttrs.get(name);
      if (v !== undefined) return this.resolve(v);
    }
    return undefined;
  }

  private attrOf(base: Target, name: string, e: Expr): Target[] {
    switch (base.kind) {
      case 'module':
        return this.moduleAttr(base.module, name);
      case 'class': {
        const m = this.memberOf(base.def, name);
        if (m) return m.map((t) => (t.kind === 'function' ? { ...t, boundTo: { kind: 'class', def: base.def } } : t));
        return [{ kind: 'unresolved', name: `${base.def.module}.${base.def.qualname}.${name}`, reason: `${name} is not defined in class ${base.def.qualname} or its bases` }];
      }
      case 'instance': {
        const type = base.type;
        if (type.kind === 'class') {
          const m = this.memberOf(type.def, name);
          if (m) return m.map((t) => (t.kind === 'function' ? { ...t, boundTo: type } : t));
          const ia = this.instanceAttr(type.def, name);
          if (ia) return ia;
          if (qualifiedName({ kind: 'class', def: type.def }) === 'ctypes.LibraryLoader' || this.isSubclassOf(type.def, 'ctypes.LibraryLoader')) return [{ kind: 'ctypes-library', library: name }];
          return [{ kind: 'unresolved', name: `${type.def.module}.${type.def.qualname}.${name}`, reason: `${name} is not defined in class ${type.def.qualname} or its bases` }];
        }
        // An attribute of an instance of a C type: a method or a data attribute (its own type unknown).
        if (type.kind === 'native') return this.stubs.property(base, type, name) ?? [{ kind: 'native', module: type.module, path: [...type.path, name], member: true }];
        return [{ kind: 'native', module: 'builtins', path: [type.name, name], member: true }];
      }
      case 'super': {
        const m = this.memberOf(base.cls, name, base.cls);
        return m ?? [{ kind: 'unresolved', name: `super(${base.cls.qualname}).${name}`, reason: `${name} is not defined in the bases of ${base.cls.qualname}` }];
      }
      case 'native':
        if (base.member) return [{ kind: 'unknown', reason: `attribute of ${base.module}.${base.path.join('.')} (an attribute of a C object, type unknown)` }];
        return [{ kind: 'native', module: base.module, path: [...base.path, name] }];
      case 'builtin':
        return [{ kind: 'native', module: 'builtins', path: [base.name, name] }];
      case 'ctypes-library':
        if (name.startsWith('_')) return [{ kind: 'unknown', reason: `ctypes library attribute ${name}` }];
        return [{ kind: 'ctypes-function', library: base.library, findLibrary: base.findLibrary, symbol: name }];
      case 'const': {
        if (base.value === null) return [{ kind: 'unknown', reason: 'attribute of None' }];
        const type = constType(base.value);
        return type ? [{ kind: 'native', module: 'builtins', path: [type, name] }] : [{ kind: 'unknown', reason: 'attribute of a constant' }];
      }
      case 'function':
        return [{ kind: 'unresolved', name: `${base.def.module}.${base.def.qualname}.${name}`, reason: 'attribute of a function' }];
      case 'unresolved':
        return [{ kind: 'unresolved', name: `${base.name}.${name}`, reason: base.reason }];
      case 'unknown':
        return [{ kind: 'unknown', reason: base.reason }];
      default:
        return [{ kind: 'unknown', reason: `attribute of ${describe(e)}` }];
    }
  }

  private isSubclassOf(cls: ClassDef, qualified: string): boolean {
    return this.mro(cls).some((c) => ('members' in c ? `${c.module}.${c.qualname}` === qualified : false));
  }

  private callResult(callee: Target, call: Expr): Target[] {
    if (call.k !== 'call') return [{ kind: 'unknown', reason: 'call' }];
    const names = this.namesOf(callee, call.callee);
    // ctypes: CDLL('libx.so'), cdll.LoadLibrary('libx.so'), CDLL(find_library('x')).
    const loader = names.some((n) => CTYPES_LOADERS.has(n)) || (callee.kind === 'class' && (this.isSubclassOf(callee.def, 'ctypes.CDLL') || this.isSubclassOf(callee.def, 'ctypes.PyDLL')));
    if (loader) return [this.ctypesLibrary(call.args[0])];
    if (names.includes(CTYPES_FIND_LIBRARY)) {
      const a = call.args[0];
      return [{ kind: 'const', value: a && a.k === 'const' && typeof a.value === 'string' ? { repr: `find_library:${a.value}` } : { repr: 'find_library' } }];
    }
    for (const n of names) {
      const type = KNOWN_RESULT_TYPES[n];
      if (type) return this.resolveDotted(type).map((t) => instanceOf(t));
    }
    // A C function's result: its stdlib type (own map: not a prototype key), a fixed built-in type, a C type of its module.
    if (callee.kind === 'native') {
      const q = `${callee.module}.${callee.path.join('.')}`;
      const type = Object.prototype.hasOwnProperty.call(STDLIB_RESULT_TYPES, q) ? STDLIB_RESULT_TYPES[q] : undefined;
      if (type) return this.resolveDotted(type).map((t) => instanceOf(t));
      const fixed = builtinCallTargets(q, call);
      if (fixed) return fixed;
      const cType = stdlibCType(this.program, callee);
      if (cType) return [{ kind: 'instance', type: cType }];
      const stub = this.stubs.call(callee, call, names);
      if (stub) return stub;
    }
    switch (callee.kind) {
      case 'class':
        return [{ kind: 'instance', type: { kind: 'class', def: callee.def } }];
      case 'builtin':
        if (this.builtinTypes.has(callee.name)) return [{ kind: 'instance', type: { kind: 'builtin', name: callee.name } }];
        return builtinCallTargets(callee.name, call, (e) => this.resolve(e)) ?? [{ kind: 'unknown', reason: `result of builtins.${callee.name}()` }];
      case 'function': {
        this.complete(callee.def.module);
        const ret = callee.def.returns;
        const known = ret ? this.resolve(ret) : [];
        if (known.some((t) => t.kind !== 'unknown' && t.kind !== 'unresolved')) return known;
        // What the body does not say, the package's type stub may (numpy.linalg.norm → numpy.floating).
        return this.stubs.call(callee, call, names) ?? (ret ? known : [{ kind: 'unknown', reason: `${callee.def.qualname}() returns nothing known` }]);
      }
      default:
        return [{ kind: 'unknown', reason: `result of calling ${describe(call.callee)}` }];
    }
  }

  private ctypesLibrary(arg: Expr | undefined): Target {
    if (!arg) return { kind: 'ctypes-library', library: null };
    for (const t of this.resolve(arg)) {
      if (t.kind === 'const' && typeof t.value === 'string') return { kind: 'ctypes-library', library: t.value };
      if (t.kind === 'const' && t.value !== null && typeof t.value === 'object' && 'repr' in t.value && t.value.repr.startsWith('find_library:')) {
        return { kind: 'ctypes-library', library: t.value.repr.slice('find_library:'.length), findLibrary: true };
      }
    }
    return { kind: 'ctypes-library', library: null };
  }

  /** Resolves a dotted name from its top-level module (`numpy.ndarray`). */
  resolveDotted(name: string): Target[] {
    const parts = name.split('.');
    let targets: Target[] = [this.moduleTarget(parts[0])];
    for (let k = 1; k < parts.length; k++) targets = flat(targets.map((t) => this.attrOf(t, parts[k], { k: 'module', name })));
    return targets;
  }

  /** The names a callee goes by: how the code spells it (aliases expanded) and where it is defined. */
  private namesOf(t: Target, e: Expr): string[] {
    const out: string[] = [];
    const ref = this.reference(e);
    if (ref) out.push(ref);
    const q = qualifiedName(t);
    if (q && q !== ref) out.push(q);
    for (const v of t.via ?? []) if (!out.includes(v)) out.push(v);
    return out;
  }

  /** How the code names a value, aliases expanded (see References.of). */
  reference(e: Expr): string | undefined {
    return this.references.of(e);
  }

  /**
   * The native function a decorated Python stub stands for: numpy's
   * `@array_function_from_c_func_and_dispatcher(_multiarray_umath.dot) def dot(...)` is the C `dot`.
   * Only a decorator argument that resolves to a native callable of the same name counts.
   */
  nativeImplementation(def: FunctionDef): Target | undefined {
    const name = def.qualname.split('.').pop()!;
    for (const d of def.decorators) {
      if (d.k !== 'call') continue;
      for (const a of d.args) {
        for (const t of this.resolve(a)) {
          if (t.kind === 'native' && t.path[t.path.length - 1] === name) return t;
        }
      }
    }
    return undefined;
  }
}

/** `from pkg import sub` inside pkg: the binding is IMPORT_FROM of the package itself. */
function isImportOf(e: Expr, module: string, name: string): boolean {
  return alternatives(e).some((a) => a.k === 'attr' && a.name === name && a.base.k === 'module' && a.base.name === module);
}
