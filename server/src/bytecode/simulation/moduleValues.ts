// What a module simulation makes and records, beneath its control flow (codeFlow.ts) and its hot step
// (simulate.ts): one value object per definition, global and attribute, memoised so loops reach a fixpoint by
// identity; call sites, imports and star imports in the summary; static truth; desync notes.

import type { DecodedCode, Decoder } from '../decode';
import { alternatives, constStrings, constTruth, join, type ClassDef, type Expr, type FunctionDef } from '../values';
import { UNKNOWN_VALUE } from './common';
import { opTables, type OpTables } from './opcodes';
import type { CodeRole, ImportRecord, ModuleSummary, SimulationInput, SiteRecord, State } from './types';

/** The values and records of one module's simulation (the base of ModuleSimulation). */
export abstract class SimulationValues {
  readonly decoder: Decoder;
  readonly t: OpTables;
  readonly version: number; // minor version: 8..13
  readonly summary: ModuleSummary;
  protected readonly packageName: string;
  protected readonly builtins: Set<string>;
  /** The qualified name of the code object being simulated (for desync notes at joins). */
  protected current = '';

  constructor(readonly input: SimulationInput) {
    this.decoder = input.decoder;
    this.t = opTables(input.decoder);
    this.version = input.python.version[1];
    this.builtins = new Set(input.python.builtins);
    this.packageName = input.isPackage ? input.module : input.module.includes('.') ? input.module.slice(0, input.module.lastIndexOf('.')) : '';
    this.summary = {
      name: input.module,
      file: input.file,
      isPackage: input.isPackage,
      namespace: new Map(),
      bindingStarSeq: new Map(),
      stars: [],
      // Changed in place somewhere (`__all__.extend(…)`): what a star import takes is not the literal.
      all: input.allMutated ? 'dynamic' : null,
      globalStores: new Map(),
      imports: [],
      defs: new Array(input.codes.length),
      classes: [],
      sites: [],
      facts: new Array(input.codes.length),
      stats: { codes: 0, unreachableCodes: 0, instructions: 0, desync: 0, desyncAt: [], depthMismatches: 0, effectMismatches: 0, effectMismatchAt: [], widened: 0, unclassified: {} },
      complete: false,
      lazyGlobals: input.lazyGlobals && input.lazyGlobals.length ? new Set(input.lazyGlobals) : null,
    };
  }

  protected readonly instances = new Map<ClassDef, Expr>();

  protected readonly funcExprs = new Map<FunctionDef, Expr>();

  protected readonly classExprs = new Map<ClassDef, Expr>();

  readonly freshFunc = new Map<FunctionDef, Expr>();

  readonly freshClass = new Map<ClassDef, Expr>();

  readonly classOfBody = new Map<number, ClassDef>();

  protected readonly globals = new Map<string, Expr>();

  protected readonly attrs = new Map<Expr, Map<string, Expr>>();

  protected importSeen = new Set<number>();

  siteMap = new Map<number, SiteRecord>();

  memo: (unknown[] | undefined)[] = [];

  memoOut: (Expr | undefined)[] = [];

  memoA: unknown[] = [];

  noteDesync(code: DecodedCode | null, i: number): void {
    const stats = this.summary.stats;
    stats.desync++;
    if (stats.desyncAt.length < 10) {
      const where = code ? `${code.raw.qualname ?? code.raw.name}@${code.offset[i]} ${this.t.names[code.op[i]]}` : `${this.current}: join`;
      stats.desyncAt.push(where);
    }
  }

  adjustStack(stack: Expr[], effect: number, code: DecodedCode, i: number): void {
    if (effect < 0) {
      if (stack.length + effect < 0) this.noteDesync(code, i);
      for (let k = effect; k < 0 && stack.length; k++) stack.pop();
    }
    for (let k = 0; k < effect; k++) stack.push(UNKNOWN_VALUE);
  }

  /** Truthiness known statically: constants, typing.TYPE_CHECKING (False at run time), folded comparisons. */
  truth(e: Expr): boolean | undefined {
    if (e.k === 'const') return constTruth(e.value);
    if ((e.k === 'attr' || e.k === 'global') && e.name === 'TYPE_CHECKING') return false;
    if (e.k === 'union') {
      const ts = e.items.map((i) => this.truth(i));
      return ts.every((x) => x === ts[0]) ? ts[0] : undefined;
    }
    return undefined;
  }

  instanceOf(cls: ClassDef): Expr {
    let e = this.instances.get(cls);
    if (!e) {
      e = { k: 'instance', cls: this.classExpr(cls) };
      this.instances.set(cls, e);
    }
    return e;
  }

  protected classExpr(cls: ClassDef): Expr {
    let e = this.classExprs.get(cls);
    if (!e) {
      e = { k: 'class', def: cls, fresh: false };
      this.classExprs.set(cls, e);
    }
    return e;
  }

  protected funcExpr(def: FunctionDef): Expr {
    let e = this.funcExprs.get(def);
    if (!e) {
      e = { k: 'func', def, fresh: false };
      this.funcExprs.set(def, e);
    }
    return e;
  }

  /** A value as stored: fresh function/class markers become plain references. */
  settle(v: Expr): Expr {
    if (v.k === 'func' && v.fresh) return this.funcExpr(v.def);
    if (v.k === 'class' && v.fresh) return this.classExpr(v.def);
    return v;
  }

  /** Looks a function-level global up in this module's final namespace (already known: module code ran first). */
  quick(e: Expr): Expr {
    if (e.k === 'global' && e.module === this.input.module) {
      const v = this.summary.namespace.get(e.name);
      if (v !== undefined && v.k !== 'union') return v;
      if (v === undefined && this.builtins.has(e.name) && !this.summary.globalStores.has(e.name) && this.summary.stars.length === 0) return { k: 'builtin', name: e.name };
    }
    return e;
  }

  isModuleAttr(e: Expr, module: string, name: string): boolean {
    const q = this.quick(e);
    if (q.k !== 'attr' || q.name !== name) return false;
    const base = this.quick(q.base);
    return base.k === 'module' && base.name === module;
  }

  isBuiltinNamed(e: Expr, name: string): boolean {
    const q = this.quick(e);
    return (q.k === 'builtin' && q.name === name) || (q.k === 'global' && q.name === name && !this.summary.namespace.has(name));
  }

  absoluteImport(name: string, level: number): { module: string; error?: string } {
    if (level <= 0) return { module: name };
    const parts = this.packageName ? this.packageName.split('.') : [];
    if (level - 1 > parts.length || (parts.length === 0 && level > 0)) {
      return { module: name, error: `relative import beyond the top-level package (level ${level} in ${this.input.module})` };
    }
    const base = parts.slice(0, parts.length - (level - 1)).join('.');
    return { module: name ? (base ? `${base}.${name}` : name) : base };
  }

  /** The lazily looked-up module global `name` (one object per name in a module). */
  protected globalExpr(name: string): Expr {
    let e = this.globals.get(name);
    if (!e) {
      e = { k: 'global', module: this.input.module, name };
      this.globals.set(name, e);
    }
    return e;
  }

  /** The attribute value of instruction i on `obj` (one object per instruction and base). */
  protected memoAttr(i: number, obj: Expr, name: string): Expr {
    const out = this.memoOut[i];
    if (out !== undefined && this.memoA[i] === obj) return out;
    // One object per (base, name) in the module: `np.dot` in twenty functions is one value, resolved once.
    const base = obj.k === 'self' ? obj.obj : obj;
    let byName = this.attrs.get(base);
    if (!byName) this.attrs.set(base, (byName = new Map()));
    let e = byName.get(name);
    if (!e) byName.set(name, (e = { k: 'attr', base, name }));
    this.memoA[i] = obj;
    this.memoOut[i] = e;
    return e;
  }

  protected memoSelf(slot: number, obj: Expr): Expr {
    const out = this.memoOut[slot];
    if (out !== undefined && this.memoA[slot] === obj) return out;
    const e: Expr = { k: 'self', obj };
    this.memoA[slot] = obj;
    this.memoOut[slot] = e;
    return e;
  }

  memoized(memo: (unknown[] | undefined)[], i: number, inputs: unknown[], make: () => Expr): Expr {
    const m = memo[i];
    if (m && m.length === inputs.length + 1) {
      let same = true;
      for (let k = 0; k < inputs.length; k++) {
        if (m[k] !== inputs[k]) {
          same = false;
          break;
        }
      }
      if (same) return m[inputs.length] as Expr;
    }
    const out = make();
    memo[i] = [...inputs, out];
    return out;
  }

  site(idx: number, code: DecodedCode, i: number, rec: Omit<SiteRecord, 'code' | 'line' | 'col' | 'endLine' | 'endCol'>, siteMap: Map<number, SiteRecord>): void {
    const existing = siteMap.get(i);
    if (existing) {
      // A loop revisited this instruction: keep the joined (final) values.
      existing.callee = rec.callee;
      existing.left = rec.left;
      existing.right = rec.right;
      existing.kind = rec.kind;
      return;
    }
    // One fixed object shape for every site (no spread): V8 keeps these fast and small.
    const s: SiteRecord = {
      kind: rec.kind,
      code: idx,
      line: code.line[i],
      col: code.col[i],
      endLine: code.endLine[i],
      endCol: code.endCol[i],
      callee: rec.callee,
      op: rec.op,
      left: rec.left,
      right: rec.right,
    };
    siteMap.set(i, s);
    this.summary.sites.push(s);
  }

  protected loadName(st: State, slot: number, name: string, role: CodeRole, memo: (unknown[] | undefined)[], i: number): Expr {
    const own = slot >= 0 && st.names ? st.names[slot] : undefined;
    if (own !== undefined) return own;
    return this.globalExpr(name);
  }

  starImport(mod: Expr, st: State, role: CodeRole): void {
    if (mod.k !== 'module') return;
    if (role.role !== 'module') return;
    st.stars++;
    if (!this.summary.stars.some((s) => s.module === mod.name)) this.summary.stars.push({ module: mod.name, seq: st.stars });
  }

  recordImport(idx: number, code: DecodedCode, i: number, role: CodeRole, rec: Omit<ImportRecord, 'scope' | 'line' | 'code' | 'targets' | 'probes'>): void {
    const key = idx * 0x100000 + i;
    if (this.importSeen.has(key)) return;
    this.importSeen.add(key);
    const parts = rec.module.split('.');
    const targets: string[] = [];
    for (let k = 1; k <= parts.length; k++) targets.push(parts.slice(0, k).join('.'));
    const probes = (rec.fromlist ?? []).filter((f) => f !== '*').map((f) => `${rec.module}.${f}`);
    this.summary.imports.push({ module: rec.module, fromlist: rec.fromlist, level: rec.level, scope: role.role, via: rec.via, line: code.line[i], code: idx, error: rec.error, targets, probes });
  }

  protected noteEffectMismatch(code: DecodedCode, i: number, op: number, got: number, effect: number): void {
    const stats = this.summary.stats;
    stats.effectMismatches++;
    if (stats.effectMismatchAt.length < 10) stats.effectMismatchAt.push(`${code.raw.qualname ?? code.raw.name}@${code.offset[i]} ${this.t.names[op]} ${got} vs ${effect}`);
  }

  /** Results of a module or class body: its namespace where execution ended, and `__all__`. */
  protected finishNamespace(code: DecodedCode, role: CodeRole, fin: (Expr | undefined)[], seq: number[]): void {
    const names = code.names;
    const target = role.role === 'module' ? this.summary.namespace : role.cls!.members;
    for (let k = 0; k < names.length; k++) {
      const v = fin[k];
      if (v === undefined) continue;
      target.set(names[k], join(target.get(names[k]), v)!);
      if (role.role === 'module') this.summary.bindingStarSeq.set(names[k], seq[k] ?? 0);
    }
    if (role.role === 'module') {
      const all = this.summary.namespace.get('__all__');
      if (all !== undefined && this.summary.all !== 'dynamic') {
        const alts = alternatives(all);
        const first = alts.length === 1 && alts[0].k === 'const' ? constStrings(alts[0].value) : undefined;
        this.summary.all = first ?? 'dynamic';
      }
    }
  }
}
