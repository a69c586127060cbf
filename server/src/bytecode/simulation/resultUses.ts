// Whether the value a call returns is only tested (compared, checked for truth, given to callable() or isinstance()),
// never kept or called: `getattr(cls, name) is not obj` runs getters as hasattr does, and fetches nothing more.

import type { DecodedCode } from '../decode';
import type { Expr } from '../values';
import { nameIndexOf, simpleLoadPushes } from './common';
import type { Simulator } from './types';

/** Builtins that only look at the value they are given (a truth value, an identity, a type). */
const TESTS = new Set(['callable', 'isinstance', 'issubclass', 'id', 'bool', 'type']);

/** Attributes of a fetched function or method that are data, read for a test (`.__func__ is obj.__func__`). */
const DATA_DUNDERS = new Set(['__func__', '__doc__', '__name__', '__qualname__', '__module__', '__self__', '__wrapped__']);

/** One stack entry the walk follows: the call's result (or data read from it), a builtin test, or another value. */
type Entry = 'ours' | 'test' | 'other';

/**
 * Whether the result of the call at instruction `i` (whose operands the simulation has just popped: what is left
 * below is the stack before the call) is only tested: consumed by `is`, `==`, `in`, a conditional jump, POP_TOP, or a
 * call of callable/isinstance/issubclass/id/bool/type, possibly after reading one of its data dunders.
 */
export function resultOnlyTested(sim: Simulator, code: DecodedCode, i: number): boolean {
  const opnames = sim.decoder.model.opnames;
  const isTest = (e: Expr) => [...TESTS].some((t) => sim.isBuiltinNamed(e, t));
  // The two entries below the call (a NULL and the callee of an enclosing call, in either order by version).
  const below: Entry[] = [sim.peekFn(2), sim.peekFn(1)].map((e) => (isTest(e) ? 'test' : 'other'));
  const stack: Entry[] = ['ours'];
  for (let j = i + 1; j < code.n && j < i + 24; j++) {
    const o = opnames[code.op[j]] ?? '';
    const a = code.arg[j];
    if (o === 'PRECALL' || o === 'CACHE' || o === 'NOP' || o === 'KW_NAMES') continue;
    const loads = simpleLoadPushes(o, a, sim.version);
    if (loads > 0) {
      for (let k = 0; k < loads; k++) stack.push('other');
    } else if (o === 'LOAD_ATTR' && !(sim.version >= 12 && (a & 1) === 1)) {
      const top = stack.pop();
      if (top === 'ours' && !DATA_DUNDERS.has(code.names[nameIndexOf(sim.decoder, code, j)] ?? '')) return false;
      stack.push(top === 'ours' ? 'ours' : 'other');
    } else if (o === 'IS_OP' || o === 'COMPARE_OP' || o === 'CONTAINS_OP') {
      const [x, y] = [stack.pop(), stack.pop()];
      if (x === 'ours' || y === 'ours') return true;
      stack.push('other');
    } else if (/^POP_JUMP_(FORWARD_|BACKWARD_)?IF_(TRUE|FALSE|NONE|NOT_NONE)$/.test(o) || /^(POP_TOP|TO_BOOL|UNARY_NOT)$/.test(o) || /^JUMP_IF_(TRUE|FALSE)_OR_POP$/.test(o)) {
      return stack[stack.length - 1] === 'ours';
    } else if (o === 'CALL' || o === 'CALL_FUNCTION') {
      const n = a + (o === 'CALL' ? 2 : 1);
      const heads = o === 'CALL' ? 2 : 1;
      const all = [...below, ...stack];
      if (n > all.length) return false;
      const popped = all.slice(all.length - n);
      if (popped.includes('ours')) return popped.slice(heads).includes('ours') && popped.slice(0, heads).includes('test');
      // A call among the operands that come after (`x.__func__ is getattr(b, name).__func__`).
      stack.splice(stack.length - n, n);
      stack.push('other');
    } else return false;
    if (!stack.includes('ours')) return false;
  }
  return false;
}
