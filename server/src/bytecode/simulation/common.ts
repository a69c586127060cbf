// Values and small helpers shared by the simulation core and its opcode handlers: step flags, the unknown
// values that stand for what is not modelled, constants, and folding of Python constants.

import type { Decoder, DecodedCode } from '../decode';
import type { PyConst } from '../helperRecords';
import { unknown, type Expr } from '../values';
import type { Block } from './types';

/** Step flags: the state changed (bindings, blocks) / the code object returned. */
export const STEP_DIRTY = 1;
export const ARG_NAME1 = 2;
export const EMPTY_STACK = unknown('empty stack');
export const UNKNOWN_BELOW_HANDLER = unknown('stack below a handler');
export const UNKNOWN_LASTI = unknown('lasti');
export const UNKNOWN_EXCEPTION = unknown('exception');
export const UNKNOWN_VALUE = unknown('value');
export const UNKNOWN_UNBOUND_LOCAL = unknown('unbound local');
export const UNKNOWN_UNBOUND_CELL = unknown('unbound closure variable');
export const EXCEPT_BLOCK: Block = { setup: false };
export const CONST_NONE: Expr = { k: 'const', value: null };
export const CONST_TRUE: Expr = { k: 'const', value: true };
export const CONST_FALSE: Expr = { k: 'const', value: false };
export const STEP_RETURN = 2;

/** The co_names index instruction `i` names (the low bits of LOAD_GLOBAL's and LOAD_ATTR's argument are flags), or -1. */
export function nameIndexOf(decoder: Decoder, code: DecodedCode, i: number): number {
  const kind = decoder.model.argKinds[code.op[i]];
  const a = code.arg[i];
  return kind === 'name' ? a : kind === 'name1' ? a >> 1 : kind === 'name2' ? a >> 2 : -1;
}

/** Builtins and module functions that look names up (or run code) from their arguments. */
export const REFLECTION_BUILTINS = ['getattr', 'hasattr', 'setattr', 'delattr', 'vars', 'globals', 'locals', 'eval', 'exec', 'compile', '__import__'];
/** Names whose value, fetched by a constant name (`getattr(builtins, 'getattr')`, `ns['eval']`), is a reflection function. */
export const REFLECTIVE_NAMES = new Set([
  ...REFLECTION_BUILTINS,
  ...['getattr_static', 'getmembers', 'getmembers_static', 'attrgetter', 'methodcaller', 'import_module'],
  ...['__getattribute__', '__getattr__', '__setattr__', '__delattr__'],
]);

/**
 * How many stack entries a load that only pushes (a constant, a name, a local, a cell, NULL) puts there: 2 for a
 * 3.11+ LOAD_GLOBAL with its NULL bit and 3.13's LOAD_FAST_LOAD_FAST, else 1; 0 for any other instruction. Shared by
 * the walks that follow one value on the stack (dictUses.ts, resultUses.ts, gateFacts' isParameterDefault).
 */
export function simpleLoadPushes(opname: string, arg: number, version: number): number {
  if (opname === 'LOAD_FAST_LOAD_FAST' || (opname === 'LOAD_GLOBAL' && version >= 11 && (arg & 1) === 1)) return 2;
  return /^LOAD_(CONST|NAME|GLOBAL|FAST|FAST_CHECK|DEREF|CLOSURE|SMALL_INT)$/.test(opname) || opname === 'PUSH_NULL' ? 1 : 0;
}

export function stripSelf(e: Expr): Expr {
  return e.k === 'self' ? e.obj : e;
}

export function constSeq(v: PyConst): PyConst[] | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  if ('tuple' in v) return v.tuple;
  if ('list' in v) return v.list;
  return undefined;
}

/** Three-way comparison of numbers, strings and tuples of them; undefined for anything else. */
export function comparePy(a: PyConst, b: PyConst): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  const sa = a !== null && typeof a === 'object' && 'tuple' in a ? a.tuple : undefined;
  const sb = b !== null && typeof b === 'object' && 'tuple' in b ? b.tuple : undefined;
  if (!sa || !sb) return undefined;
  for (let k = 0; k < Math.min(sa.length, sb.length); k++) {
    const c = comparePy(sa[k], sb[k]);
    if (c === undefined) return undefined;
    if (c !== 0) return c;
  }
  return sa.length - sb.length;
}

/** A copy of `stack` after a jump's stack effect (pops, or pushes of unknown values). */
export function adjust(stack: Expr[], effect: number, pushed: Expr): Expr[] {
  const out = effect < 0 ? stack.slice(0, Math.max(0, stack.length + effect)) : stack.slice();
  for (let k = 0; k < effect; k++) out.push(pushed);
  return out;
}

/** The last name of a value that names a function, class or attribute (`f`, `pkg.mod.f` → `f`), if any. */
export function shortName(e: Expr): string | undefined {
  switch (e.k) {
    case 'func':
      return e.def.qualname.split('.').pop();
    case 'class':
      return e.def.qualname.split('.').pop();
    case 'global':
    case 'builtin':
    case 'attr':
      return e.name;
    default:
      return undefined;
  }
}

/** The first line of an instruction of `code` whose name argument is `name` (the code's first line if none). */
export function firstLineUsing(decoder: Decoder, code: DecodedCode, name: string): number {
  const k = code.names.indexOf(name);
  for (let i = 0; i < code.n; i++) if (nameIndexOf(decoder, code, i) === k && code.line[i] > 0) return code.line[i];
  return code.raw.firstlineno;
}
