// The resolver's use of installed packages' type stubs (stubTypes.ts): the result of a call, or of an operator on an
// instance of a C type, as targets, when the bytecode does not say what it is.

import { OPERATOR_SLOTS } from './knownTypes';
import { StubIndex, type StubCall, type StubType } from './stubTypes';
import { instanceOf, type Program, type Target, type TypeRef } from './targets';
import type { ClassDef, Expr } from './values';

/** What StubResults needs of the resolver. */
export interface StubResolver {
  resolveDotted(name: string): Target[];
  resolve(e: Expr): Target[];
  reference(e: Expr): string | undefined;
  readonly builtinTypes: Set<string>;
}

type CallExpr = Extract<Expr, { k: 'call' }>;
type Defs = NonNullable<ReturnType<StubIndex['functionDefs']>>;

export class StubResults {
  private readonly index: StubIndex;

  constructor(
    program: Program,
    private readonly resolver: StubResolver,
  ) {
    this.index = new StubIndex((m) => {
      const pm = program.modules.get(m);
      return pm?.file ? { file: pm.file, isPackage: pm.isPackage } : undefined;
    });
  }

  /**
   * What calling `callee` returns by its stub: a C function or method (by where it is defined, then by the names the
   * code calls it by), or a Python function whose body says nothing. Undefined when no stub declares it.
   */
  call(callee: Target, call: CallExpr, names: string[]): Target[] | undefined {
    let defs: Defs | undefined;
    let receiver: Target | undefined;
    let bound = false;
    if (callee.kind === 'native') {
      const { module, path } = callee;
      defs = path.length === 1 ? this.index.functionDefs(module, path[0]) : this.index.methodDefs(module, path.slice(0, -1).join('.'), path[path.length - 1]);
      if (path.length > 1) receiver = { kind: 'instance', type: { kind: 'native', module, path: path.slice(0, -1) } };
      bound = callee.member === true;
    } else if (callee.kind === 'function') {
      defs = this.index.functionDefs(callee.def.module, callee.def.qualname);
      if (callee.boundTo) receiver = { kind: 'instance', type: callee.boundTo };
      bound = callee.def.qualname.includes('.') && callee.def.kind !== 'staticmethod';
    } else return undefined;
    for (const n of names) {
      if (defs) break;
      defs = this.byName(n);
    }
    if (!defs) return undefined;
    return this.targets(this.index.resultTypes(defs, callShape(call), bound), receiver);
  }

  /** The result of `left <op> right` by the stub of the left operand's C type (`ndarray.__matmul__`). */
  binop(left: Target[], op: string, right: Expr): Target[] | undefined {
    const dunder = OPERATOR_SLOTS[op]?.dunder ?? COMPARISONS[op];
    return dunder ? this.dunder(left, dunder, right) : undefined;
  }

  /** The result of `base[index]` by the stub of the base's C type (`ndarray.__getitem__`). */
  item(base: Target[], index: Expr): Target[] | undefined {
    return this.dunder(base, '__getitem__', index);
  }

  private dunder(left: Target[], dunder: string, arg: Expr): Target[] | undefined {
    const out: Target[] = [];
    for (const t of left) {
      const type: TypeRef | undefined = t.kind === 'instance' ? t.type : undefined;
      if (!type || type.kind !== 'native') continue;
      const defs = this.index.methodDefs(type.module, type.path.join('.'), dunder);
      if (!defs) continue;
      const shape: StubCall = { args: [argShape(arg)], keywords: [], star: false };
      out.push(...this.targets(this.index.resultTypes(defs, shape, true), t));
    }
    return out.length ? out : undefined;
  }

  /** An attribute of an instance of a C type that its stub declares a property (`ndarray.T`): what its getter returns. */
  property(instance: Target, type: Extract<TypeRef, { kind: 'native' }>, name: string): Target[] | undefined {
    const defs = this.index.methodDefs(type.module, type.path.join('.'), name);
    if (!defs?.defs[0]?.decorators.some((d) => /^(\w+\.)*(property|cached_property)$/.test(d))) return undefined;
    return this.targets(this.index.resultTypes({ ...defs, defs: [defs.defs[0]] }, undefined, true), instance);
  }

  /** A dotted name (`numpy.random.default_rng`) split into a module with a stub and a name in it. */
  private byName(name: string): Defs | undefined {
    const parts = name.split('.');
    for (let cut = parts.length - 1; cut >= 1; cut--) {
      const defs = this.index.functionDefs(parts.slice(0, cut).join('.'), parts.slice(cut).join('.'));
      if (defs) return defs;
    }
    return undefined;
  }

  /** A class that is an interface: a base is abc.ABC or a Protocol, or a method of its MRO is abstract. */
  private isAbstract(def: ClassDef, depth: number): boolean {
    if (depth > 10) return true;
    for (const m of def.members.values()) {
      if (m.k === 'func' && m.def.decorators.some((d) => /(^|\.)abstract(method|property)$/.test(this.resolver.reference(d) ?? ''))) return true;
    }
    for (const b of def.bases) {
      const ref = this.resolver.reference(b);
      if (ref && ABSTRACT_BASES.has(ref.split('[')[0])) return true;
      for (const t of this.resolver.resolve(b)) if (t.kind === 'class' && this.isAbstract(t.def, depth + 1)) return true;
    }
    return false;
  }

  private targets(types: StubType[], receiver: Target | undefined): Target[] {
    return types.map((s): Target => {
      switch (s.kind) {
        case 'none':
          return { kind: 'const', value: null };
        case 'self':
          return receiver ?? { kind: 'unknown', reason: 'the stub returns the receiver, which is not known' };
        case 'unknown':
          return { kind: 'unknown', reason: `type stub: ${s.reason}` };
        case 'class': {
          if (s.name.startsWith('builtins.')) {
            const name = s.name.slice('builtins.'.length);
            return this.resolver.builtinTypes.has(name) ? instanceOf({ kind: 'builtin', name }) : { kind: 'unknown', reason: `type stub: ${s.name}` };
          }
          const t = this.resolver.resolveDotted(s.name).find((x) => x.kind === 'class' || x.kind === 'native' || x.kind === 'builtin');
          if (!t) return { kind: 'unknown', reason: `type stub: ${s.name} is not a class of the program` };
          // An abstract class is an interface (cryptography's RSAPrivateKey): its methods are not what runs.
          if (t.kind === 'class' && this.isAbstract(t.def, 0)) return { kind: 'unknown', reason: `type stub: ${s.name} is abstract (the object is of a subclass)` };
          return instanceOf(t);
        }
      }
    });
  }
}

/** Rich comparisons (a COMPARE_OP the simulation did not fold) and the dunder their left operand's type runs. */
const COMPARISONS: Readonly<Record<string, string>> = { '<': '__lt__', '<=': '__le__', '==': '__eq__', '!=': '__ne__', '>': '__gt__', '>=': '__ge__' };

const ABSTRACT_BASES = new Set(['abc.ABC', 'typing.Protocol', 'typing_extensions.Protocol']);

function argShape(e: Expr): { none: boolean; constant: boolean } {
  return { none: e.k === 'const' && e.value === null, constant: e.k === 'const' };
}

function callShape(call: CallExpr): StubCall {
  return { args: call.args.map(argShape), keywords: call.kwnames ?? [], star: call.star };
}
