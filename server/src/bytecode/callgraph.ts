// Turns simulated call sites into the public call sites: each site's callee named and classified (Python
// function, method, class, native, builtin, ctypes, operator slot, unknown with a reason). The graph over
// them (edges, walks) is callGraphQuery.ts.

import { OPERATOR_SLOTS } from './knownTypes';
import type { Resolver } from './naming';
import { targetKey, type Program, type Target, type TypeRef } from './targets';
import type { ModuleSummary, SiteRecord } from './simulate';
import type { Callee, CallSite, FunctionInfo } from './types';
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
