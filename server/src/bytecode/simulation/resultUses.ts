// Whether the value a call returns is only tested (compared, checked for truth, given to callable() or isinstance()),
// never kept or called: `getattr(cls, name) is not obj` runs getters as hasattr does, and fetches nothing more. What
// getattr fetched may also be kept in a local whose every load is so tested, or only have attributes read from it
// by constant names, whose values are tested (abc's `value = getattr(cls, name, None)` then
// `getattr(value, "__isabstractmethod__", False)`).

import type { Decoder, DecodedCode } from '../decode';
import type { Expr } from '../values';
import { nameIndexOf, simpleLoadPushes } from './common';
import type { Simulator } from './types';

/** Builtins that only look at the value they are given (a truth value, an identity, a type). */
const TESTS = new Set(['callable', 'isinstance', 'issubclass', 'id', 'bool', 'type']);

/** Attributes of a fetched function or method that are data, read for a test (`.__func__ is obj.__func__`). */
const DATA_DUNDERS = new Set(['__func__', '__doc__', '__name__', '__qualname__', '__module__', '__self__', '__wrapped__']);

/** Builtins that read one attribute of an object by a constant name (then counted as a name where the call is). */
const FETCHES = new Set(['getattr', 'hasattr']);

/** Names by which code can read its own locals (a local kept there is handed out). */
const LOCALS_READERS = ['locals', 'vars', 'f_locals', '_getframe', 'currentframe'];

/**
 * One stack entry the walk follows: the call's result (or data read from it), a builtin test, getattr/hasattr, a
 * constant string, or another value.
 */
type Entry = 'ours' | 'test' | 'fetch' | 'name' | 'other';

/**
 * Whether the result of the call at instruction `i` (whose operands the simulation has just popped: what is left
 * below is the stack before the call) is only tested: consumed by `is`, `==`, `in`, a conditional jump, POP_TOP, or a
 * call of callable/isinstance/issubclass/id/bool/type, possibly after reading one of its data dunders. With `fetched`
 * (what getattr returned): also stored in a local whose every load is only tested, or given to getattr/hasattr with a
 * constant name whose result is only tested.
 */
export function resultOnlyTested(sim: Simulator, code: DecodedCode, i: number, fetched = false): boolean {
  const isTest = (e: Expr) => [...TESTS].some((t) => sim.isBuiltinNamed(e, t));
  // The two entries below the call (a NULL and the callee of an enclosing call, in either order by version).
  const below: Entry[] = [sim.peekFn(2), sim.peekFn(1)].map((e) => (isTest(e) ? 'test' : 'other'));
  return new Walk(sim, code, fetched).from(i + 1, below);
}

/** What the walk needs of the simulation: the decoder, the interpreter's minor version, the module's namespace. */
export interface FlowContext {
  readonly decoder: Decoder;
  readonly version: number;
  readonly summary: { readonly namespace: ReadonlyMap<string, unknown> };
}

/**
 * Whether every load of local `k` of `code` is only tested, or given to getattr/hasattr with a constant name whose
 * result is (what a loop over a mapping's items binds to its value: dictUses.ts).
 */
export function localOnlyTested(ctx: FlowContext, code: DecodedCode, k: number): boolean {
  return new Walk(ctx, code, true).localOnlyTested(k);
}

class Walk {
  private readonly opnames: readonly (string | null)[];
  private readonly seenLoads = new Set<number>();

  constructor(
    private readonly sim: FlowContext,
    private readonly code: DecodedCode,
    private readonly fetched: boolean,
  ) {
    this.opnames = sim.decoder.model.opnames;
  }

  /** A builtin (`TESTS`, `FETCHES`) loaded by name at `j`, unless the module binds that name itself. */
  private builtinAt(j: number): Entry {
    const o = this.opnames[this.code.op[j]] ?? '';
    if (o !== 'LOAD_GLOBAL' && o !== 'LOAD_NAME') return 'other';
    const n = this.code.names[nameIndexOf(this.sim.decoder, this.code, j)] ?? '';
    if (this.sim.summary.namespace.has(n)) return 'other';
    return TESTS.has(n) ? 'test' : this.fetched && FETCHES.has(n) ? 'fetch' : 'other';
  }

  /** Whether the value on top of `below` after instruction `start - 1` is only tested. */
  from(start: number, below: Entry[]): boolean {
    const { code, opnames, sim } = this;
    const stack: Entry[] = ['ours'];
    for (let j = start; j < code.n && j < start + 24; j++) {
      const o = opnames[code.op[j]] ?? '';
      const a = code.arg[j];
      if (o === 'PRECALL' || o === 'CACHE' || o === 'NOP' || o === 'KW_NAMES') continue;
      const loads = simpleLoadPushes(o, a, sim.version);
      if (loads > 0) {
        for (let k = 1; k < loads; k++) stack.push('other');
        const s = o === 'LOAD_CONST' ? code.consts[a] : undefined;
        stack.push(typeof s === 'string' ? 'name' : this.builtinAt(j));
      } else if (o === 'LOAD_ATTR' && !(sim.version >= 12 && (a & 1) === 1)) {
        const top = stack.pop();
        // A data dunder of it; with `fetched`, any attribute by its constant name, as getattr(ours, 'name') (a getter
        // may run; the value read is followed in turn): `obj.fget is not None` of a class `__dict__`'s value (enum's `__dir__`).
        if (top === 'ours' && !this.fetched && !DATA_DUNDERS.has(code.names[nameIndexOf(sim.decoder, code, j)] ?? '')) return false;
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
        if (popped.includes('ours')) {
          const args = popped.slice(heads);
          if (args.includes('ours') && popped.slice(0, heads).includes('test')) return true;
          // getattr(ours, 'name'[, default]), hasattr(ours, 'name'): one attribute by a constant name, its value tested.
          if (!(popped.slice(0, heads).includes('fetch') && args[0] === 'ours' && args[1] === 'name' && args.length <= 3 && args.lastIndexOf('ours') === 0)) return false;
        }
        const keep = Math.max(0, stack.length - n);
        below.splice(Math.max(0, below.length - (n - (stack.length - keep))));
        stack.splice(keep);
        stack.push(popped.includes('ours') ? 'ours' : 'other');
      } else if (o === 'STORE_FAST' && this.fetched && stack[stack.length - 1] === 'ours') {
        return this.localOnlyTested(a);
      } else return false;
      if (!stack.includes('ours')) return false;
    }
    return false;
  }

  /** Whether every load of local `k` is only tested (and nothing reads the locals as a whole). */
  localOnlyTested(k: number): boolean {
    const { code, opnames, sim } = this;
    if (code.names.some((n) => LOCALS_READERS.includes(n))) return false;
    const kinds = sim.decoder.model.argKinds;
    for (let j = 0; j < code.n; j++) {
      const o = opnames[code.op[j]] ?? '';
      const a = code.arg[j];
      const kind = kinds[code.op[j]];
      if (kind === 'local2' && ((a >> 4) === k || (a & 15) === k) && o !== 'STORE_FAST_STORE_FAST') return false;
      if (kind !== 'local' || a !== k || o === 'STORE_FAST' || o === 'DELETE_FAST') continue;
      if (o !== 'LOAD_FAST' && o !== 'LOAD_FAST_CHECK') return false;
      if (this.seenLoads.has(j)) continue;
      this.seenLoads.add(j);
      // What was loaded just before, deepest first: the builtin a test or fetch calls (with a NULL, by version), or other.
      const prev = [j - 2, j - 1].filter((p) => p >= 0).map((p) => this.builtinAt(p));
      if (!this.from(j + 1, prev)) return false;
    }
    return true;
  }
}

/** Operators a subscript's key may be computed with after the container is loaded: how many values each pops (it pushes one). */
const KEY_OPERATORS: Record<string, (arg: number) => number> = {
  BINARY_OP: () => 2,
  BINARY_ADD: () => 2,
  BINARY_MODULO: () => 2,
  FORMAT_VALUE: (a) => ((a & 4) !== 0 ? 2 : 1),
  FORMAT_SIMPLE: () => 1,
  FORMAT_WITH_SPEC: () => 2,
  CONVERT_VALUE: () => 1,
  BUILD_STRING: (a) => a,
};

/**
 * Whether the result of the call at instruction `i` is only the container of a subscript store or delete
 * (`globals()[name] = value`, hashlib's constructors; the key loaded, or computed by operators from loads): a store
 * into a plain dict runs no code and hands out nothing; the value stored was made, and is accounted for, where the code
 * that made it is.
 */
export function resultOnlyStoredInto(sim: Simulator, code: DecodedCode, i: number): boolean {
  const opnames = sim.decoder.model.opnames;
  let depth = 0; // Values pushed above the call's result: the key being computed.
  for (let j = i + 1; j < code.n && j < i + 24; j++) {
    const o = opnames[code.op[j]] ?? '';
    const a = code.arg[j];
    if (o === 'PRECALL' || o === 'CACHE' || o === 'NOP' || o === 'EXTENDED_ARG') continue;
    if (o === 'STORE_SUBSCR' || o === 'DELETE_SUBSCR') return depth === 1;
    const loads = simpleLoadPushes(o, a, sim.version);
    if (loads > 0) depth += loads;
    else if (KEY_OPERATORS[o] && KEY_OPERATORS[o](a) <= depth) depth += 1 - KEY_OPERATORS[o](a);
    else return false;
  }
  return false;
}
