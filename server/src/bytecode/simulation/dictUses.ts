// Whether a code object's uses of `__dict__` (or of a module namespace: a function's `__globals__`, a frame's
// `f_globals` or `f_locals`) only test, write or look up constant keys (so the reachability gate need not count them as
// reflection): each load of `x.__dict__` is followed on the stack until the mapping is used.

import { NONE, type Decoder, type DecodedCode } from '../decode';
import { firstLineUsing, nameIndexOf, REFLECTIVE_NAMES, simpleLoadPushes } from './common';
import { localOnlyTested, type FlowContext } from './resultUses';
import type { CodeFacts } from './types';

/** A string constant that counts as a name (gateFacts' identifierConstants), and so may be a `__dict__` key. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Methods of the mapping that fetch nothing (writes) or fetch by the constant key of their first argument. */
const WRITES = new Set(['update', 'clear']);
const KEYED = new Set(['get', 'setdefault']);

/**
 * One stack entry the walk follows: the mapping, what it held under a computed key (`item`), the builtin `type`, a
 * constant, or another value.
 */
type Entry = { k: 'dict' } | { k: 'item' } | { k: 'type' } | { k: 'const'; value: unknown } | { k: 'other' };

const OTHER: Entry = { k: 'other' };

/**
 * Attributes that hand out a namespace by its keys: an object's `__dict__`, and a module's, as a function's
 * `__globals__`, a frame's `f_globals`, or a module-level frame's `f_locals` (`f.__globals__[key]` fetches whatever
 * f's module binds under a computed key; a function frame's `f_locals` holds what its code loaded by names).
 */
export const NAMESPACE_ATTRIBUTES = ['__dict__', '__globals__', 'f_globals', 'f_locals'];


/**
 * Whether the mapping the call at `i` returned (`getattr(x, '__dict__', [])`: a namespace fetched by a constant name)
 * is used only as dictUsesAreBenign allows a loaded one to be (enum's `for name in getattr(self, '__dict__', [])`).
 */
export function fetchedNamespaceBenign(decoder: Decoder, code: DecodedCode, i: number, version: number, typeShadowed: boolean): boolean {
  const nameAt = (j: number): string | undefined => code.names[nameIndexOf(decoder, code, j)];
  return followDict(decoder, code, i, version, typeShadowed, nameAt, true) || loopOverDict(decoder, code, i, version, nameAt);
}

/**
 * A code object's namespace reads (NAMESPACE_ATTRIBUTES) that are not benign (dictUsesAreBenign, with the module's
 * own `type` unless it binds one, and a local's loads followed for a loop over the mapping's items): one site per
 * attribute.
 */
export function namespaceReflections(ctx: FlowContext, code: DecodedCode): CodeFacts['reflections'] {
  const { decoder, version } = ctx;
  const benign = (attr: string) => dictUsesAreBenign(decoder, code, version, ctx.summary.namespace.has('type'), (k) => localOnlyTested(ctx, code, k), attr);
  return NAMESPACE_ATTRIBUTES.filter((attr) => code.raw.names.includes(attr) && !benign(attr)).map((attr) => ({ line: firstLineUsing(decoder, code, attr), what: `\`${attr}\` access` }));
}

/**
 * Whether every use of `__dict__` in the code is one of: `type(x.__dict__)` (types.py's `MappingProxyType`); a
 * membership test (`'k' in cls.__dict__`) or a comparison (`a.__dict__ == b.__dict__`); a lookup by a constant
 * key (`x.__dict__['k']`, `.get('k', d)`, `.setdefault('k', d)`: a name the code shows, counted as every identifier
 * string is); a lookup by a computed key whose value is only compared or tested (`B.__dict__[name] is None`, as
 * _collections_abc's `_check_methods`: a mapping's item is read without running a descriptor, and a truth value is
 * all that is handed on); a write (`x.__dict__[k] = v`, `del x.__dict__[k]`, `.update(…)`, `.clear()`, `x.__dict__ = ns`): what
 * it stores was made by code the gate sees. Anything else (`d = x.__dict__`, `.items()`, a computed key, the mapping
 * passed to a call) hands out values under names no code shows. `version`: the interpreter's minor version;
 * `typeShadowed`: the module binds `type`.
 */
export function dictUsesAreBenign(decoder: Decoder, code: DecodedCode, version: number, typeShadowed: boolean, localTested?: (k: number) => boolean, attr = '__dict__'): boolean {
  const opnames = decoder.model.opnames;
  const nameAt = (i: number): string | undefined => code.names[nameIndexOf(decoder, code, i)];
  for (let i = 0; i < code.n; i++) {
    if (nameAt(i) !== attr) continue;
    const op = opnames[code.op[i]] ?? '';
    if (op === 'STORE_ATTR') continue;
    if (op !== 'LOAD_ATTR' || !(followDict(decoder, code, i, version, typeShadowed, nameAt) || loopOverDict(decoder, code, i, version, nameAt, localTested))) return false;
  }
  return true;
}

/**
 * Follows the mapping loaded at `i` until it is used: true when that use is benign (see dictUsesAreBenign). `fromCall`:
 * `i` is a call that returned it (`getattr(x, '__dict__')`), whose own arguments the loads before `i` were.
 */
function followDict(decoder: Decoder, code: DecodedCode, i: number, version: number, typeShadowed: boolean, nameAt: (i: number) => string | undefined, fromCall = false): boolean {
  const opnames = decoder.model.opnames;
  const op = (j: number) => opnames[code.op[j]] ?? '';
  const ours = (e: Entry | undefined) => e?.k === 'dict' || e?.k === 'item';
  // A constant key fetches what the code names, unless it names a reflection function (`builtins.__dict__['getattr']`).
  const constKey = (e: Entry | undefined) => e?.k === 'const' && typeof e.value === 'string' && IDENTIFIER.test(e.value) && !REFLECTIVE_NAMES.has(e.value);
  /** Pushes what a simple load at `j` pushes; false when `j` is not one. */
  const load = (into: Entry[], j: number): boolean => {
    const o = op(j);
    const n = simpleLoadPushes(o, code.arg[j], version);
    for (let k = 1; k < n; k++) into.push(OTHER);
    if (n === 0) return false;
    if (o === 'LOAD_CONST') into.push({ k: 'const', value: code.consts[code.arg[j]] });
    else into.push((o === 'LOAD_GLOBAL' || o === 'LOAD_NAME') && nameAt(j) === 'type' && !typeShadowed ? { k: 'type' } : OTHER);
    return true;
  };
  // What simple loads pushed just before the receiver (`type` and a NULL before `type(x.__dict__)`, the key before
  // `'k' in x.__dict__`), when the receiver is one: the uses below need them.
  const stack: Entry[] = [];
  if (!fromCall && i >= 1 && load([], i - 1)) {
    for (let j = i - 2; j >= 0 && j >= i - 6; j--) {
      const pushed: Entry[] = [];
      if (!load(pushed, j)) break;
      stack.unshift(...pushed);
    }
  }
  stack.push({ k: 'dict' });
  for (let j = i + 1; j < code.n && j < i + 40; j++) {
    const o = op(j);
    const a = code.arg[j];
    if (o === 'PRECALL' || o === 'KW_NAMES' || o === 'CACHE' || o === 'NOP') continue;
    if (load(stack, j)) continue;
    if (o === 'LOAD_ATTR' || o === 'LOAD_METHOD') {
      const base = stack.pop();
      const method = o === 'LOAD_METHOD' || (version >= 12 && (a & 1) === 1);
      const name = nameAt(j) ?? '';
      if (base?.k === 'dict') return (WRITES.has(name) || KEYED.has(name)) && methodCall(decoder, code, j, method ? 2 : 1, KEYED.has(name));
      else if (ours(base)) return false;
      else stack.push(OTHER);
      if (method) stack.push(OTHER);
    } else if (o === 'CONTAINS_OP' || o === 'COMPARE_OP' || o === 'IS_OP') {
      const [x, y] = [stack.pop(), stack.pop()];
      if (ours(x) || ours(y)) return true;
      stack.push(OTHER);
    } else if (o === 'BINARY_SUBSCR') {
      const [key, container] = [stack.pop(), stack.pop()];
      if (container?.k === 'dict' && !ours(key)) {
        if (constKey(key)) return true;
        // A computed key: followed on, benign only if what it fetched is compared or tested and nothing more.
        stack.push({ k: 'item' });
        continue;
      }
      if (ours(key) || ours(container)) return false;
      stack.push(OTHER);
    } else if (o === 'TO_BOOL') {
      // 3.13's truth test before a conditional jump: a truth value replaces the value tested.
      stack.pop();
      stack.push(OTHER);
    } else if (/^POP_JUMP_(FORWARD_|BACKWARD_)?IF_(NOT_)?(TRUE|FALSE|NONE)$/.test(o)) {
      // A truth or None test of the fetched value (3.12+ compiles `x is None` in a condition to POP_JUMP_IF_NONE).
      return stack.pop()?.k === 'item';
    } else if (o === 'STORE_SUBSCR' || o === 'DELETE_SUBSCR') {
      const [key, container] = [stack.pop(), stack.pop()];
      const value = o === 'STORE_SUBSCR' ? stack.pop() : undefined;
      if (container?.k === 'dict') return !ours(key) && !ours(value);
      if (ours(key) || ours(value) || ours(container)) return false;
    } else if (o === 'CALL' || o === 'CALL_FUNCTION' || o === 'CALL_METHOD') {
      const n = a + (o === 'CALL_FUNCTION' ? 1 : 2);
      if (n > stack.length) return false;
      const popped = stack.splice(stack.length - n, n);
      const heads = o === 'CALL_FUNCTION' ? 1 : 2;
      // What the mapping held, called (`mod.__dict__[key](1)`): it runs under a name no code shows.
      if (popped.slice(0, heads).some(ours)) return false;
      if (popped.slice(heads).some(ours)) return popped.slice(0, heads).some((e) => e.k === 'type') && n === heads + 1;
      stack.push(OTHER);
    } else return false;
    if (!stack.some(ours)) return true;
  }
  return false;
}

/**
 * A loop straight over the mapping loaded at `i` (`for k in x.__dict__`, `.keys()`) binds its names only; over
 * `.items()` or `.values()`, it binds values to a local whose every load is only tested (abc's
 * `for name, value in cls.__dict__.items(): if getattr(value, "__isabstractmethod__", False)`): a name, and a truth
 * value, is all the loop hands on.
 */
function loopOverDict(decoder: Decoder, code: DecodedCode, i: number, version: number, nameAt: (i: number) => string | undefined, localTested?: (k: number) => boolean): boolean {
  const opnames = decoder.model.opnames;
  const seq: number[] = [];
  for (let j = i + 1; j < code.n && seq.length < 8; j++) if (opnames[code.op[j]] !== 'PRECALL') seq.push(j);
  const op = (n: number) => (seq[n] !== undefined ? (opnames[code.op[seq[n]]] ?? '') : '');
  let at = 0;
  let method = '';
  if (op(0) === 'LOAD_METHOD' || (op(0) === 'LOAD_ATTR' && version >= 12 && (code.arg[seq[0]] & 1) === 1)) {
    method = nameAt(seq[0]) ?? '';
    if (!['items', 'values', 'keys'].includes(method) || !/^CALL(_METHOD)?$/.test(op(1)) || code.arg[seq[1]] !== 0) return false;
    at = 2;
  }
  if (op(at) !== 'GET_ITER' || op(at + 1) !== 'FOR_ITER') return false;
  const store = (n: number) => (op(n) === 'STORE_FAST' ? code.arg[seq[n]] : -1);
  if (method === '' || method === 'keys') return store(at + 2) >= 0;
  if (!localTested) return false;
  if (method === 'values') return store(at + 2) >= 0 && localTested(store(at + 2));
  if (op(at + 2) !== 'UNPACK_SEQUENCE' || code.arg[seq[at + 2]] !== 2) return false;
  if (op(at + 3) === 'STORE_FAST_STORE_FAST') return localTested(code.arg[seq[at + 3]] & 15);
  return store(at + 3) >= 0 && store(at + 4) >= 0 && localTested(store(at + 4));
}

/** How many stack entries a call instruction pops, or -1 for other instructions (or calls of unknown shape). */
function callPops(op: string, arg: number): number {
  if (op === 'CALL' || op === 'CALL_METHOD' || op === 'CALL_FUNCTION_KW') return arg + 2;
  if (op === 'CALL_KW') return arg + 3;
  if (op === 'CALL_FUNCTION') return arg + 1;
  return -1;
}

/**
 * A method of the mapping loaded at `at` (`slots` stack entries: the method and its self, or the bound method):
 * whether the call that consumes them is the next call at that depth, with no jump or stack shuffle between (the
 * arguments are ordinary expressions, followed by their stack effects), and, for a keyed method, a constant name as
 * its first argument (the instruction right after the load).
 */
function methodCall(decoder: Decoder, code: DecodedCode, at: number, slots: number, keyed: boolean): boolean {
  const opnames = decoder.model.opnames;
  if (keyed) {
    const key = at + 1 < code.n && opnames[code.op[at + 1]] === 'LOAD_CONST' ? code.consts[code.arg[at + 1]] : undefined;
    if (typeof key !== 'string' || !IDENTIFIER.test(key)) return false;
  }
  let depth = 0;
  for (let j = at + 1; j < code.n && j < at + 200; j++) {
    const o = opnames[code.op[j]] ?? '';
    // 3.11's PRECALL counts part of the call's pops in dis.stack_effect: callPops counts them all at CALL.
    if (o === 'PRECALL') continue;
    if (code.target[j] >= 0 || /^(COPY|SWAP|DUP_TOP|DUP_TOP_TWO|ROT_\w+)$/.test(o) || code.effect[j] === NONE) return false;
    const pops = callPops(o, code.arg[j]);
    if (pops >= 0 && pops === depth + slots) return true;
    if (o === 'CALL_FUNCTION_EX') return false;
    depth += code.effect[j];
    if (depth < 0) return false;
  }
  return false;
}
