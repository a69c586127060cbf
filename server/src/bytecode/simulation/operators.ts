// Operators in the simulation: their handlers and binaryOp (an operator site), folded on facts of the analysed
// interpreter (sys.version_info, sys.platform, os.name, `not`, truth) and on constant sequences (__all__, tuples).

import type { DecodedCode } from '../decode';
import type { PyConst } from '../helperRecords';
import { operatorResults, scalarInstance, scalarTypes } from '../scalarResults';
import { callOf, ITER, loopItemSource, MAX_UNION, NEXT, plainTuple, unknown, type Expr } from '../values';
import { comparePy, CONST_FALSE, CONST_TRUE, constSeq } from './common';
import { H } from './opcodes';
import type { SiteRecord, Simulator, State } from './types';

const RICH_COMPARISONS = new Set(['<', '<=', '==', '!=', '>', '>=']);
/** What follows an f-string's constant start: its formatted values and later parts. */
const FSTRING_REST = unknown('the rest of an f-string');

/** The opcodes stepOperator handles (the core's dispatch table sends it no other). */
export const OPERATORS_OPS: readonly H[] = [H.LegacyBinary, H.BinarySubscr, H.CompareOp, H.UnaryNot, H.ToBool, H.BuildSeq, H.ListExtend, H.ListToTuple];

/** Simulates instruction `i` (opcode `op`, stack effect `effect`) of the current code object; returns STEP_* flags. */
export function stepOperator(sim: Simulator, st: State, i: number, op: number, effect: number): number {
  const idx = sim.codeIdx;
  const code = sim.code!;
  const memo = sim.memo;
  const t = sim.t;
  const stack = st.stack;
  const arg = code.arg[i];
  const siteMap = sim.siteMap;
  const pop = sim.popFn;
  const popN = sim.popNFn;
  switch (t.handler[op] as H) {
    case H.LegacyBinary: {
      const right = pop();
      const left = pop();
      stack.push(binaryOp(sim, idx, code, i, t.operator[op]!, left, right, memo, siteMap));
      return 0;
    }
    case H.BinarySubscr: {
      const index = pop();
      const base = pop();
      stack.push(sim.memoized(memo, i, [base, index], () => foldSubscr(sim, base, index) ?? { k: 'subscr', base, index }));
      return 0;
    }
    case H.CompareOp: {
      const right = pop();
      const left = pop();
      const sym = sim.decoder.model.cmpOps[arg >> sim.decoder.model.cmpShift];
      const folded = foldCompare(sim, sym, left, right);
      // A rich comparison not folded is its operands' `__lt__` … `__ge__` (numpy's `a > 0` is an array); no site.
      if (folded === undefined && RICH_COMPARISONS.has(sym)) stack.push(sim.memoized(memo, i, [left, right], () => ({ k: 'binop', op: sym, left, right })));
      else stack.push(folded === undefined ? unknown('comparison') : folded ? CONST_TRUE : CONST_FALSE);
      return 0;
    }
    case H.UnaryNot: {
      const val = pop();
      const tr = sim.truth(val);
      stack.push(tr === undefined ? unknown('not') : tr ? CONST_FALSE : CONST_TRUE);
      return 0;
    }
    case H.ToBool: {
      const val = pop();
      const tr = sim.truth(val);
      stack.push(tr === undefined ? unknown('bool') : tr ? CONST_TRUE : CONST_FALSE);
      return 0;
    }
    case H.BuildSeq: {
      const items = popN(arg);
      const consts: PyConst[] = [];
      for (const it of items) {
        if (it.k !== 'const') break;
        consts.push(it.value);
      }
      const isList = t.names[op] === 'BUILD_LIST';
      stack.push(consts.length === items.length ? sim.memoized(memo, i, items, () => ({ k: 'const', value: isList ? { list: consts } : { tuple: consts } })) : unknown(isList ? 'list' : 'tuple'));
      return 0;
    }
    case H.ListExtend: {
      const iterable = pop();
      const k = stack.length - arg;
      if (k < 0) {
        sim.noteDesync(code, i);
        return 0;
      }
      const list = stack[k];
      const a = list.k === 'const' ? constSeq(list.value) : undefined;
      const b = iterable.k === 'const' ? constSeq(iterable.value) : undefined;
      stack[k] = a && b ? sim.memoized(memo, i, [list, iterable], () => ({ k: 'const', value: { list: a.concat(b) } })) : unknown('list');
      return 0;
    }
    case H.ListToTuple: {
      const val = pop();
      const a = val.k === 'const' ? constSeq(val.value) : undefined;
      stack.push(a ? sim.memoized(memo, i, [val], () => ({ k: 'const', value: { tuple: a } })) : unknown('tuple'));
      return 0;
    }
    default:
      return 0; // Not an opcode of this family (the dispatch table sends none).
  }
}

export function binaryOp(sim: Simulator, idx: number, code: DecodedCode, i: number, sym: string, left: Expr, right: Expr, memo: (unknown[] | undefined)[], siteMap: Map<number, SiteRecord>): Expr {
  // Constant folding for __all__ += [...] and tuple concatenation.
  if ((sym === '+' || sym === '+=') && left.k === 'const' && right.k === 'const') {
    const a = constSeq(left.value);
    const b = constSeq(right.value);
    if (a && b) return sim.memoized(memo, i, [left, right], () => ({ k: 'const', value: { list: a.concat(b) } }));
  }
  const l = sim.settle(left);
  const r = sim.settle(right);
  sim.site(idx, code, i, { kind: 'operator', callee: l, op: sym, left: l, right: r }, siteMap);
  return sim.memoized(memo, i, [l, r], () => scalarResult(sim, sym, l, r) ?? { k: 'binop', op: sym, left: l, right: r });
}

/** `l OP r` on built-in scalars: the result's type (a loop counter stays an int), else undefined. */
function scalarResult(sim: Simulator, sym: string, l: Expr, r: Expr): Expr | undefined {
  const quick = (e: Expr) => sim.quick(e);
  const left = scalarTypes(l, quick);
  if (!left) return undefined;
  const types = operatorResults(sym, left, scalarTypes(r, quick), r.k === 'const' ? r.value : undefined);
  // A string joined to another keeps its form: the gate reads the constant prefix of `'repr_' + name` (gateFacts.ts).
  if (!types || ((sym === '+' || sym === '+=') && !types.every((t) => t === 'int' || t === 'float' || t === 'bool'))) return undefined;
  return types.length === 1 ? scalarInstance(types[0]) : { k: 'union', items: types.map(scalarInstance) };
}

/** sys.version_info[...] of the analysed interpreter (exact facts, not guesses). */
export function foldSubscr(sim: Simulator, base: Expr, index: Expr): Expr | undefined {
  const vi = versionInfo(sim, base);
  if (!vi || index.k !== 'const' || typeof index.value !== 'number') return undefined;
  const item = vi[index.value < 0 ? vi.length + index.value : index.value];
  return item === undefined ? undefined : { k: 'const', value: item };
}

export function versionInfo(sim: Simulator, e: Expr): PyConst[] | undefined {
  if (e.k === 'const' && e.value !== null && typeof e.value === 'object' && 'tuple' in e.value) return undefined;
  if (!sim.isModuleAttr(e, 'sys', 'version_info')) return undefined;
  const [a, b, c] = sim.input.python.version;
  return [a, b, c];
}

/** sys.platform / os.name of the analysed interpreter when `e` names one of them. */
export function platformString(sim: Simulator, e: Expr): string | undefined {
  if (sim.isModuleAttr(e, 'sys', 'platform')) return sim.input.python.platform;
  if (sim.isModuleAttr(e, 'os', 'name')) return sim.input.python.platform === 'win32' ? 'nt' : 'posix';
  return undefined;
}

/** Comparisons on facts of the analysed interpreter: sys.version_info, sys.platform, os.name. */
export function foldCompare(sim: Simulator, sym: string, left: Expr, right: Expr): boolean | undefined {
  let l: PyConst | undefined;
  const vi = versionInfo(sim, left);
  if (vi) l = { tuple: vi };
  else if (sim.isModuleAttr(left, 'sys', 'platform')) l = sim.input.python.platform;
  else if (sim.isModuleAttr(left, 'os', 'name')) l = sim.input.python.platform === 'win32' ? 'nt' : 'posix';
  else if (left.k === 'const' && typeof left.value === 'number' && right.k === 'const' && typeof right.value === 'number') l = left.value;
  if (l === undefined || right.k !== 'const') return undefined;
  const c = comparePy(l, right.value);
  if (c === undefined) return sym === '==' ? (typeof l === typeof right.value ? false : undefined) : sym === '!=' ? (typeof l === typeof right.value ? true : undefined) : undefined;
  switch (sym) {
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
    case '==':
      return c === 0;
    case '!=':
      return c !== 0;
    default:
      return undefined;
  }
}

/**
 * Iteration. GET_ITER of a value `v` gives `iter(v)` and FOR_ITER on it the item: the union of the elements of a
 * constant tuple (`for name in ('__or__', '__and__'): getattr(cls, name)`; the compiler makes a literal list in a
 * `for` a tuple; a list, which may be changed in place, is not followed), an int for `range(…)`, else `next(iter(v))`,
 * which the resolver types by what `v` is (a str's items are strs, a text file's lines strs: naming.ts). Read before
 * the opcode's `pops` operands are popped from `stack`. Undefined for anything else (the opcode's unknown result stays).
 */
export function constIteration(sim: Simulator, opname: string | null, i: number, stack: Expr[], pops: number, arg = 0): Expr | undefined {
  // A constant string formatted without a spec, as is or by str() (FORMAT_VALUE's conversion bits 0 or 1; 3.12's
  // FORMAT_SIMPLE): itself (`sys.platform`, folded on the analysed interpreter, in `f'get_{sys.platform}'`).
  if ((opname === 'FORMAT_VALUE' && (arg & 7) <= 1) || opname === 'FORMAT_SIMPLE') {
    const v = pops === 1 && stack.length >= 1 ? sim.settle(stack[stack.length - 1]) : undefined;
    if (v?.k === 'const' && typeof v.value === 'string') return v;
    const fact = v ? platformString(sim, v) : undefined;
    if (fact !== undefined) return sim.memoized(sim.memo, i, [v!], () => ({ k: 'const', value: fact }));
  }
  // An f-string of constant parts is their concatenation; one that starts with a constant is a string with that
  // prefix, as `'get_' + str(x)` is: a lookup by it is narrowed to the prefix (gateFacts' byName), as for `+`.
  if (opname === 'BUILD_STRING' && pops >= 1 && stack.length >= pops) {
    const parts = stack.slice(stack.length - pops).map((e) => sim.settle(e));
    if (parts.every((p) => p.k === 'const' && typeof p.value === 'string')) return sim.memoized(sim.memo, i, parts, () => ({ k: 'const', value: parts.map((p) => (p as { value: string }).value).join('') }));
    const first = parts[0];
    if (first.k === 'const' && typeof first.value === 'string' && first.value !== '') {
      return sim.memoized(sim.memo, i, [first], () => ({ k: 'binop', op: '+', left: first, right: FSTRING_REST }));
    }
  }
  if (opname === 'GET_ITER' && pops === 1 && stack.length >= 1) {
    const v = sim.settle(stack[stack.length - 1]);
    return sim.memoized(sim.memo, i, [v], () => callOf(ITER, v));
  }
  if (opname === 'FOR_ITER' && pops === 0) {
    const it = stack[stack.length - 1];
    if (it?.k !== 'call' || it.callee !== ITER) return undefined;
    const v = it.args[0];
    // `for i in range(n)`: the builtin range yields ints, whatever its arguments.
    if (v.k === 'call' && !v.star && sim.isBuiltinNamed(v.callee, 'range')) return scalarInstance('int');
    const items = v.k === 'const' ? plainTuple(v.value) : undefined;
    if (items && items.length > 0 && items.length <= MAX_UNION) {
      return sim.memoized(sim.memo, i, [it], () => (items.length === 1 ? { k: 'const', value: items[0] } : { k: 'union', items: items.map((x): Expr => ({ k: 'const', value: x })) }));
    }
    return sim.memoized(sim.memo, i, [it], () => callOf(NEXT, it));
  }
  return undefined;
}

/**
 * `for i, x in enumerate(xs)`: UNPACK_SEQUENCE 2 of an item of `enumerate(xs)` gives the index, an int, and an item of
 * `xs`; returned in push order (an item of `xs`, then the index, which ends on top as the first target's value).
 * Undefined for any other unpacking.
 */
export function enumerateItems(sim: Simulator, item: Expr): Expr[] | undefined {
  if (item.k !== 'call' || item.callee !== NEXT) return undefined;
  const known = enumerated.get(item);
  if (known !== undefined) return known ?? undefined;
  const out = enumerateItemsOf(sim, item);
  enumerated.set(item, out ?? null);
  return out;
}

/** One pair per item value, so that joins at the loop head stay stable. */
const enumerated = new WeakMap<Expr, Expr[] | null>();

function enumerateItemsOf(sim: Simulator, item: Expr): Expr[] | undefined {
  const e = loopItemSource(item);
  if (!e || e.k !== 'call' || e.star || e.args.length < 1 || e.kwnames?.length || !sim.isBuiltinNamed(e.callee, 'enumerate')) return undefined;
  return [callOf(NEXT, callOf(ITER, e.args[0])), scalarInstance('int')];
}
