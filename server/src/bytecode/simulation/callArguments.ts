// What a function's parameters hold when its caller is simulated first: a comprehension's iterable, and the arguments
// module code passes to a module-level function that nothing else can reach (`def step(i)` called only as `step(0)` and
// `step(i)` in the module's loop: `i % 2` in its body is int's `%`).

import type { Decoder, DecodedCode } from '../decode';
import { type CodeEntry, type PyConst, isLazyStub } from '../helperRecords';
import { type Expr, type FunctionDef, join } from '../values';
import { REFLECTIVE_NAMES, nameIndexOf } from './common';

/** Names through which code can fetch a module's functions other than by their own name, or hand them to other modules. */
const LOOKUPS = new Set([
  ...REFLECTIVE_NAMES,
  ...['__dict__', 'modules', '__main__', '__globals__', 'f_globals', 'f_locals', '__builtins__', '__all__', '__code__'],
  // Unpickling calls what a pickle names (`__main__.step` with its arguments); the garbage collector hands out any object.
  ...['pickle', '_pickle', 'shelve', 'dill', 'cloudpickle', 'get_referrers', 'get_objects'],
]);
/**
 * Built-in types whose instances are plain values: numbers, which no code can use as a name to look up (a string
 * argument may be: `def get(name): return getattr(impl, name)` called as `get('a')` at import, and by another module
 * with other names, must keep its lookups unknown).
 */
const NUMBERS = new Set(['int', 'float', 'complex', 'bool']);
const [VARARGS, VARKEYWORDS] = [0x04, 0x08];

/** The calls module code makes to one module-level function: where (instruction indexes) and the arguments, joined. */
interface ModuleCalls {
  sites: Set<number>;
  args: Expr[];
  /** A call with keywords, a star, a bound self or another argument count: the parameters are not told. */
  mixed: boolean;
}

/** Arguments of calls whose callee is simulated after its caller (calls.ts records them, codeFlow.ts takes them). */
export class CallArguments {
  /** What each comprehension (by code index) is called with by its parent: its `.0`. */
  readonly comprehension = new Map<number, Expr>();
  private readonly calls = new Map<number, ModuleCalls>();
  /** How often module code loads and binds each name (LOAD_NAME/LOAD_GLOBAL; STORE_NAME/DELETE_NAME). */
  private loads: Map<string, number> | undefined;
  private stores: Map<string, number> | undefined;

  noteComprehension(code: number, iterable: Expr): void {
    this.comprehension.set(code, join(this.comprehension.get(code), iterable)!);
  }

  /** A call in module code (instruction `i`); `irregular`: keywords, a star or a bound self; `settle` settles an argument. */
  noteModuleCall(i: number, callee: Expr, args: readonly Expr[], irregular: boolean, settle: (e: Expr) => Expr): void {
    if (callee.k !== 'func' || callee.def.kind !== 'function' || callee.def.parent !== 0) return;
    const positional = args.map(settle);
    const c = this.calls.get(callee.def.code);
    if (!c) {
      this.calls.set(callee.def.code, { sites: new Set([i]), args: positional, mixed: irregular });
      return;
    }
    c.sites.add(i);
    if (irregular || c.args.length !== positional.length) c.mixed = true;
    else c.args = c.args.map((a, k) => join(a, positional[k])!);
  }

  /** Module code reached its fixpoint: counts its loads and bindings of each name (only needed when it called a function of its own). */
  moduleCodeDone(decoder: Decoder, code: DecodedCode): void {
    if (this.calls.size === 0) return;
    const loads = new Map<string, number>();
    const stores = new Map<string, number>();
    const opnames = decoder.model.opnames;
    for (let i = 0; i < code.n; i++) {
      const op = opnames[code.op[i]];
      const into = op === 'LOAD_NAME' || op === 'LOAD_GLOBAL' ? loads : op === 'STORE_NAME' || op === 'DELETE_NAME' || op === 'STORE_GLOBAL' || op === 'DELETE_GLOBAL' ? stores : undefined;
      const k = into ? nameIndexOf(decoder, code, i) : -1;
      const name = k >= 0 ? code.names[k] : undefined;
      if (into && name !== undefined) into.set(name, (into.get(name) ?? 0) + 1);
    }
    this.loads = loads;
    this.stores = stores;
  }

  /**
   * The values the parameters of function `def` (code object `idx`, `raw`) start with: the arguments of module code's
   * calls, when those calls are all that can run it. Its module binds it once and loads it only to make them, with
   * positional arguments matching its parameters; no other code of the module names it or spells it in a string; no
   * code of the module looks names up (getattr, globals(), `__dict__`, sys.modules, pickle) or exports names
   * (`__all__`); and the arguments are numbers (constants, built-in number types and operators on them). Undefined
   * otherwise: the parameters stay unknown. `heads`: the module's code objects. Another module importing this one
   * and calling the function is not seen here (a program's own helpers are what this is for): numbers cannot be
   * names, so what the reachability gate judges stays the same; only the operators and methods on them resolve.
   */
  parameters(idx: number, def: FunctionDef, heads: readonly unknown[]): Expr[] | undefined {
    const c = this.calls.get(idx);
    const raw = heads[idx] as CodeEntry | undefined;
    if (!c || c.mixed || !raw || isLazyStub(raw) || def.kind !== 'function' || def.parent !== 0 || def.decorators.length > 0) return undefined;
    if (raw.flags & (VARARGS | VARKEYWORDS) || raw.kwonlyargcount > 0 || raw.argcount !== c.args.length || def.qualname !== raw.name) return undefined;
    const name = raw.name;
    if (this.loads?.get(name) !== c.sites.size || this.stores?.get(name) !== 1) return undefined;
    for (let j = 0; j < heads.length; j++) {
      const h = heads[j] as CodeEntry | undefined;
      if (!h || isLazyStub(h)) return undefined;
      if ((j !== 0 && h.names.includes(name)) || h.names.some((n) => LOOKUPS.has(n))) return undefined;
      // Module code holds the name itself for MAKE_FUNCTION (3.8–3.10); a string that contains it may be run.
      if (h.consts.some((k) => spells(k, name, j === 0))) return undefined;
    }
    return c.args.every((a) => plain(a, 0)) ? c.args : undefined;
  }
}

/** Whether a constant spells `name` (a summarised long string may: it counts); `exactOk`: a string equal to it does not count. */
function spells(k: PyConst, name: string, exactOk: boolean): boolean {
  if (typeof k === 'string') return k.includes(name) && !(exactOk && k === name);
  if (k === null || typeof k !== 'object') return false;
  if ('str' in k) return true;
  const items = 'tuple' in k ? k.tuple : 'frozenset' in k ? k.frozenset : 'list' in k ? k.list : undefined;
  return items !== undefined && items.some((x) => spells(x, name, false));
}

/** A number: a numeric constant, an instance of a built-in number type, an operator on those. */
function plain(e: Expr, depth: number): boolean {
  if (depth > 8) return false;
  switch (e.k) {
    case 'const':
      return typeof e.value === 'number' || typeof e.value === 'boolean' || (e.value !== null && typeof e.value === 'object' && ('int' in e.value || 'float' in e.value || 'complex' in e.value));
    case 'instance':
      return e.cls.k === 'builtin' && NUMBERS.has(e.cls.name);
    case 'binop':
      return plain(e.left, depth + 1) && plain(e.right, depth + 1);
    case 'union':
      return e.items.every((x) => plain(x, depth + 1));
    default:
      return false;
  }
}
