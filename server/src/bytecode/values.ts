// The symbolic values the stack simulation pushes and stores: imports, attribute chains, globals looked up
// lazily, functions/classes defined in a module, call results, constants, unknowns (with a reason), unions.

import type { PyConst } from './helperRecords';

export interface FunctionDef {
  /** The module defining it. */
  module: string;
  /** Module-relative qualified name (`Class.method`, `f.<locals>.g`, `<lambda>`). */
  qualname: string;
  /** Index of the code object in the module's code list. */
  code: number;
  line: number;
  kind: 'function' | 'method' | 'staticmethod' | 'classmethod' | 'lambda' | 'comprehension' | 'class-body' | 'module';
  /** The class whose body defines it (for methods). */
  cls: ClassDef | null;
  /** Decorator expressions, innermost first. */
  decorators: Expr[];
  /** Values the function returns (a bounded union). */
  returns: Expr | undefined;
  /** Index of the code object that contains this one (-1 for module code). */
  parent: number;
}

export interface ClassDef {
  module: string;
  qualname: string;
  /** The class body's code object. */
  code: number;
  line: number;
  bases: Expr[];
  /** The class namespace when its body finished (methods, class attributes). */
  members: Map<string, Expr>;
  /** Attributes stored through `self.x = ...` in its methods. */
  instanceAttrs: Map<string, Expr>;
  decorators: Expr[];
  /** The metaclass keyword of the class statement (`metaclass=M`), when given. */
  metaclass?: Expr;
  /** Set when the class statement passes other keywords, or passes bases or keywords through a star. */
  keywords?: true;
  /** Set for classes whose body was never simulated (the class statement was unreachable). */
  bodySeen: boolean;
}

export type Expr =
  | { k: 'module'; name: string }
  | { k: 'attr'; base: Expr; name: string }
  | { k: 'global'; module: string; name: string }
  | { k: 'builtin'; name: string }
  | { k: 'const'; value: PyConst }
  | { k: 'func'; def: FunctionDef; fresh: boolean }
  | { k: 'class'; def: ClassDef; fresh: boolean }
  | { k: 'instance'; cls: Expr }
  | { k: 'call'; callee: Expr; args: Expr[]; kwnames: string[] | null; star: boolean }
  | { k: 'binop'; op: string; left: Expr; right: Expr }
  | { k: 'subscr'; base: Expr; index: Expr }
  | { k: 'super'; cls: ClassDef; self: Expr }
  | { k: 'unknown'; reason: string }
  | { k: 'union'; items: Expr[] }
  | { k: 'null' }
  | { k: 'self'; obj: Expr }
  | { k: 'code'; index: number }
  | { k: 'buildclass' };

export const NULL: Expr = { k: 'null' };
export const BUILD_CLASS: Expr = { k: 'buildclass' };

const unknowns = new Map<string, Expr>();
/** The unknown value with this reason (one object per reason, so joins stay stable). */
export function unknown(reason: string): Expr {
  let u = unknowns.get(reason);
  if (!u) {
    u = { k: 'unknown', reason };
    unknowns.set(reason, u);
  }
  return u;
}

const modules = new Map<string, Expr>();
export function moduleExpr(name: string): Expr {
  let m = modules.get(name);
  if (!m) {
    m = { k: 'module', name };
    modules.set(name, m);
  }
  return m;
}

/** Most values a union may hold before it becomes unknown. */
export const MAX_UNION = 8;
export const TOO_MANY = unknown('too many possible values');

/** Joins two values; returns `a` itself when `b` adds nothing (so fixpoint checks can compare identity). */
export function join(a: Expr | undefined, b: Expr | undefined): Expr | undefined {
  if (a === b || b === undefined) return a;
  if (a === undefined) return b;
  if (a === TOO_MANY) return a;
  if (b === TOO_MANY) return b;
  const left = a.k === 'union' ? a.items : [a];
  const right = b.k === 'union' ? b.items : [b];
  let added: Expr[] | null = null;
  for (const r of right) {
    if (left.includes(r) || (added && added.includes(r))) continue;
    (added ??= []).push(r);
  }
  if (!added) return a;
  const items = left.concat(added);
  if (items.length > MAX_UNION) return TOO_MANY;
  return { k: 'union', items };
}

/** The alternatives of a value (a union's members, or the value itself). */
export function alternatives(e: Expr): Expr[] {
  return e.k === 'union' ? e.items : [e];
}

/** Python truthiness of a constant; undefined when it cannot be known. */
export function constTruth(v: PyConst): boolean | undefined {
  if (v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'object') {
    if ('tuple' in v) return v.tuple.length > 0;
    if ('list' in v) return v.list.length > 0;
    if ('frozenset' in v) return v.frozenset.length > 0;
    if ('str' in v) return v.len > 0;
    if ('ellipsis' in v) return true;
    if ('code' in v) return true;
  }
  return undefined;
}

/** The builtins type of a constant (`str`, `int`, ...), for operator call sites on literals. */
export function constType(v: PyConst): string | undefined {
  if (v === null) return 'NoneType';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'string') return 'str';
  if ('tuple' in v) return 'tuple';
  if ('list' in v) return 'list';
  if ('frozenset' in v) return 'frozenset';
  if ('str' in v) return 'str';
  if ('bytes' in v) return 'bytes';
  if ('int' in v) return 'int';
  if ('float' in v) return 'float';
  if ('complex' in v) return 'complex';
  return undefined;
}

/** The builtins `iter` and `next` as the simulation calls them: a `for` loop's iterator is `iter(v)`, its item `next(iter(v))`. */
export const ITER: Expr = { k: 'builtin', name: 'iter' };
export const NEXT: Expr = { k: 'builtin', name: 'next' };

/** `callee(arg)`, a call the simulation makes up (an iterator, a loop item). */
export function callOf(callee: Expr, arg: Expr): Expr {
  return { k: 'call', callee, args: [arg], kwnames: null, star: false };
}

/** What a `for` loop's item iterates: `v` for `next(iter(v))`, else undefined. */
export function loopItemSource(e: Expr): Expr | undefined {
  const it = e.k === 'call' && e.callee.k === 'builtin' && e.callee.name === 'next' && e.args.length === 1 ? e.args[0] : undefined;
  return it?.k === 'call' && it.callee.k === 'builtin' && it.callee.name === 'iter' && it.args.length === 1 ? it.args[0] : undefined;
}

/** The elements of a constant tuple of plain constants (none a tuple, long string or other object), else undefined. */
export function plainTuple(v: PyConst): PyConst[] | undefined {
  const items = v !== null && typeof v === 'object' && 'tuple' in v ? v.tuple : undefined;
  return items && items.every((x) => x === null || typeof x !== 'object') ? items : undefined;
}

/** The items of a constant sequence of strings (for __all__), or undefined. */
export function constStrings(v: PyConst): string[] | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const items = 'tuple' in v ? v.tuple : 'list' in v ? v.list : undefined;
  if (!items) return undefined;
  const out: string[] = [];
  for (const i of items) {
    if (typeof i !== 'string') return undefined;
    out.push(i);
  }
  return out;
}

/** A dotted rendering of a value for messages and reference names (`numpy.linalg.norm`, `<call numpy.array>`). */
export function describe(e: Expr, depth = 0): string {
  if (depth > 12) return '…';
  switch (e.k) {
    case 'module':
      return e.name;
    case 'attr':
      return `${describe(e.base, depth + 1)}.${e.name}`;
    case 'global':
      return e.name;
    case 'builtin':
      return e.name;
    case 'const':
      return typeof e.value === 'string' ? JSON.stringify(e.value) : JSON.stringify(e.value);
    case 'func':
      return e.def.qualname;
    case 'class':
      return e.def.qualname;
    case 'instance':
      return `<${describe(e.cls, depth + 1)} instance>`;
    case 'call': {
      const iterated = loopItemSource(e);
      return iterated ? `<item of ${describe(iterated, depth + 1)}>` : `${describe(e.callee, depth + 1)}(…)`;
    }
    case 'binop':
      return `(${describe(e.left, depth + 1)} ${e.op} …)`;
    case 'subscr':
      return `${describe(e.base, depth + 1)}[…]`;
    case 'super':
      return `super(${e.cls.qualname})`;
    case 'unknown':
      return `<unknown: ${e.reason}>`;
    case 'union':
      return e.items.map((i) => describe(i, depth + 1)).join(' | ');
    case 'self':
      return describe(e.obj, depth + 1);
    default:
      return `<${e.k}>`;
  }
}
