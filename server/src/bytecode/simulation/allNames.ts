// String constants of a module body that only build its `__all__` (`__all__ = ['a', 'b']`, `__all__ += [...]`,
// `__all__.extend(...)`) or name a function it defines (3.8–3.10 load the qualified name for MAKE_FUNCTION). A star
// import binds the names of `__all__` in the importer, whose code then uses them by name; code reading `__all__`
// computes the names it looks up (reflection the gate judges where it is). So they name nothing by themselves
// (gateFacts' identifierConstants), where any other string constant may be handed to code that looks it up.

import type { Decoder, DecodedCode } from '../decode';
import { nameIndexOf, simpleLoadPushes } from './common';

/** A stack entry: the constant followed, `__all__`, a bound `__all__.extend`/`append`, or anything else. */
type Entry = 'ours' | 'all' | 'allMethod' | 'other';

const ALL_METHODS = new Set(['extend', 'append', '__iadd__']);
/** Names by which a module can hand a star import's lookups to code: its `__getattr__`, or a class of its own. */
const MODULE_HOOKS = new Set(['__getattr__', '__getattribute__', '__class__']);
/** Instructions that neither push nor pop what this follows (a version's call prologue, caches, no-ops). */
const SKIP = new Set(['PRECALL', 'CACHE', 'NOP', 'KW_NAMES', 'EXTENDED_ARG', 'LIST_TO_TUPLE']);
/** How far a constant is followed (3.8 loads each name of a long `__all__` before BUILD_LIST). */
const WINDOW = 4096;

/** The indexes of `code`'s constants whose every load builds `__all__` or names a function (buildsAll). */
export function allOnlyConsts(decoder: Decoder, code: DecodedCode, version: number): Set<number> {
  // A star import looks each name of `__all__` up on the module: a name it does not bind goes to its `__getattr__`
  // (or a module class's hook, `__class__` assigned), which then gets a name no code shows. Such a module keeps them.
  if ([...code.names, ...code.consts].some((n) => typeof n === 'string' && MODULE_HOOKS.has(n))) return new Set();
  const opnames = decoder.model.opnames;
  const verdict = new Map<number, boolean>();
  for (let i = 0; i < code.n; i++) {
    if (opnames[code.op[i]] !== 'LOAD_CONST') continue;
    const k = code.arg[i];
    if (verdict.get(k) === false) continue;
    verdict.set(k, buildsAll(decoder, code, i, version));
  }
  return new Set([...verdict].filter(([, ok]) => ok).map(([k]) => k));
}

/**
 * Whether the value the LOAD_CONST at `i` pushes ends in `__all__` (stored there, or given to its extend/append) or
 * is the qualified name MAKE_FUNCTION takes.
 */
function buildsAll(decoder: Decoder, code: DecodedCode, i: number, version: number): boolean {
  const opnames = decoder.model.opnames;
  const nameAt = (j: number) => code.names[nameIndexOf(decoder, code, j)] ?? '';
  // `__all__.extend([...])`: the bound method was loaded before the list's constants (and its empty BUILD_LIST).
  let b = i - 1;
  while (b >= 0 && (SKIP.has(opnames[code.op[b]] ?? '') || opnames[code.op[b]] === 'LOAD_CONST' || (opnames[code.op[b]] === 'BUILD_LIST' && code.arg[b] === 0))) b--;
  const method = b > 0 && ['LOAD_METHOD', 'LOAD_ATTR'].includes(opnames[code.op[b]] ?? '') && ALL_METHODS.has(nameAt(b));
  const onAll = method && ['LOAD_NAME', 'LOAD_GLOBAL'].includes(opnames[code.op[b - 1]] ?? '') && nameAt(b - 1) === '__all__';
  const stack: Entry[] = onAll ? ['allMethod', 'other', 'ours'] : ['ours'];
  // Entries pushed before the constant (the empty list `BUILD_LIST 0` that LIST_EXTEND fills) are other values.
  const ensure = (n: number) => {
    while (stack.length < n) stack.unshift('other');
  };
  const pop = (n: number): Entry[] => {
    ensure(n);
    return stack.splice(stack.length - n, n);
  };
  for (let j = i + 1; j < code.n && j < i + WINDOW; j++) {
    const o = opnames[code.op[j]] ?? '';
    const a = code.arg[j];
    if (SKIP.has(o)) continue;
    if ((o === 'LOAD_NAME' || o === 'LOAD_GLOBAL') && nameAt(j) === '__all__') {
      for (let p = 1; p < simpleLoadPushes(o, a, version); p++) stack.push('other');
      stack.push('all');
      continue;
    }
    const loads = simpleLoadPushes(o, a, version);
    if (loads > 0) {
      for (let p = 0; p < loads; p++) stack.push('other');
      continue;
    }
    if (o === 'BUILD_LIST' || o === 'BUILD_TUPLE' || o === 'BUILD_SET') {
      stack.push(pop(a).includes('ours') ? 'ours' : 'other');
    } else if (o === 'LIST_EXTEND' || o === 'SET_UPDATE') {
      const [top] = pop(1);
      ensure(a);
      if (top === 'ours') stack[stack.length - a] = 'ours';
    } else if (o === 'BINARY_ADD' || o === 'INPLACE_ADD' || (o === 'BINARY_OP' && (a === 0 || a === 13))) {
      stack.push(pop(2).includes('ours') ? 'ours' : 'other');
    } else if (o === 'LOAD_METHOD' || o === 'LOAD_ATTR') {
      const [top] = pop(1);
      const method = top === 'all' && ALL_METHODS.has(nameAt(j)) ? 'allMethod' : 'other';
      if (top === 'ours') return false;
      stack.push(method);
      if (o === 'LOAD_METHOD' || (version >= 12 && (a & 1) === 1)) stack.push('other');
    } else if (o === 'CALL_FUNCTION' || o === 'CALL_METHOD' || o === 'CALL') {
      const popped = pop(a + (o === 'CALL_FUNCTION' ? 1 : 2));
      if (popped.includes('ours')) return popped.includes('allMethod');
      stack.push('other');
    } else if (o === 'STORE_NAME' || o === 'STORE_GLOBAL') {
      const [top] = pop(1);
      if (top === 'ours') return nameAt(j) === '__all__';
    } else if (o === 'MAKE_FUNCTION' && version <= 10) {
      // 3.8–3.10 load a function's qualified name for MAKE_FUNCTION (on top of its code): it names the function.
      ensure(2);
      return stack[stack.length - 1] === 'ours';
    } else if (o === 'POP_TOP') {
      if (pop(1)[0] === 'ours') return false;
    } else return false;
    if (!stack.includes('ours')) return false;
  }
  return false;
}
