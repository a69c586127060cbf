// What the Python-level reachability gate (server/src/pythonGate.ts) learns from the simulation of a code object:
// the names it uses, reflection by computed names (getattr, operator.attrgetter, eval, pickle...), escaping callbacks.

import type { Decoder, DecodedCode } from '../decode';
import { isLazyStub, type CodeEntry } from '../helperRecords';
import { unknown, type Expr } from '../values';
import { firstLineUsing, nameIndexOf, REFLECTION_BUILTINS, REFLECTIVE_NAMES, shortName, simpleLoadPushes } from './common';
import { attributeCall, C_API_REFLECTION, COUNTED_ATTRIBUTES, FORMAT_METHODS, isBuiltinsGlobal, type Reflect, type ReflectionDetail } from './attributeCalls';
import { fetchedNamespaceBenign, IDENTIFIER, NAMESPACE_ATTRIBUTES } from './dictUses';
import { resultOnlyStoredInto, resultOnlyTested } from './resultUses';
import { wrapperNames } from './stdlibCalls';
import type { CodeFacts, CodeRole, Simulator } from './types';

/** The line of the first LOAD_CONST of the string `text` (the code's first line when none shows it). */
function lineLoading(decoder: Decoder, code: DecodedCode, text: string): number {
  const k = code.consts.indexOf(text);
  const opnames = decoder.model.opnames;
  for (let i = 0; i < code.n; i++) if (opnames[code.op[i]] === 'LOAD_CONST' && code.arg[i] === k && code.line[i] > 0) return code.line[i];
  return code.raw.firstlineno;
}

/**
 * co_names without the names only bound (STORE_NAME/STORE_GLOBAL/DELETE_*: a module body's definitions) or
 * imported (IMPORT_NAME, IMPORT_FROM): binding or importing a name calls nothing by it. Attribute stores
 * stay (they call setters).
 */
export function usedNames(decoder: Decoder, code: DecodedCode): string[] {
  const opnames = decoder.model.opnames;
  const used = new Uint8Array(code.names.length);
  for (let i = 0; i < code.n; i++) {
    const k = nameIndexOf(decoder, code, i);
    if (k < 0) continue;
    const opname = opnames[code.op[i]] ?? '';
    if (opname === 'STORE_NAME' || opname === 'STORE_GLOBAL' || opname === 'DELETE_NAME' || opname === 'DELETE_GLOBAL' || opname === 'IMPORT_NAME' || opname === 'IMPORT_FROM') continue;
    if (k < used.length) used[k] = 1;
  }
  return code.names.filter((_n, k) => used[k] === 1);
}

/**
 * The string constants of a code object (and of its constant tuples) that spell an identifier, each once; constants
 * at the indexes in `skip` are left out (a module body's `__all__`, allNames.ts).
 */
export function identifierConstants(code: DecodedCode, skip?: ReadonlySet<number>): string[] {
  const out = new Set<string>();
  const visit = (c: unknown, depth: number): void => {
    if (typeof c === 'string') {
      if (IDENTIFIER.test(c)) out.add(c);
    } else if (depth < 2 && c !== null && typeof c === 'object' && Array.isArray((c as { tuple?: unknown[] }).tuple)) {
      for (const x of (c as { tuple: unknown[] }).tuple) visit(x, depth + 1);
    }
  };
  code.consts.forEach((c, k) => {
    if (!skip?.has(k)) visit(c, 0);
  });
  return [...out];
}

/** Methods the interpreter calls with the name of an attribute looked up (or set) on their object by that name. */
const ATTRIBUTE_HOOKS = new Set(['__getattr__', '__getattribute__', '__setattr__', '__delattr__']);

/**
 * The name parameter of an attribute hook (`def __getattr__(self, name)`, a module's `def __getattr__(name)`):
 * the interpreter passes it a name some code looked up, which the gate counts where that code is (a name, or
 * reflection of its own). `getattr(self.stream, name)` with this very value looks up no name beyond them.
 */
const HOOK_NAME = unknown('the attribute name an attribute hook is given');

/**
 * A parameter's value when a function body starts: the name an attribute hook is given (HOOK_NAME); the builtin a
 * parameter named after a reflection builtin is taken to be (codecs' `def __getattr__(self, name, getattr=getattr)`:
 * its default, so calls of it are judged as the builtin's; escapedReflection accounts for the default's load); else
 * unknown.
 */
export function parameterValue(code: DecodedCode, role: CodeRole, p: number): Expr {
  const name = code.localNames[p];
  if (PARAMETER_BUILTINS.includes(name)) return { k: 'builtin', name };
  const def = role.def;
  const fn = def.qualname.slice(def.qualname.lastIndexOf('.') + 1);
  if (ATTRIBUTE_HOOKS.has(fn)) {
    const hookParam = def.kind === 'method' && def.cls ? 1 : def.kind === 'function' && def.qualname === fn && fn === '__getattr__' ? 0 : -1;
    if (p === hookParam) return HOOK_NAME;
  }
  return unknown('parameter');
}

/**
 * Whether the value the call at `i` returns is returned at once by the code: `return getattr(self.stream, name)` in a
 * `__getattr__` passes the lookup that ran the hook through (it gets the value, as if it were made on the stream, and
 * what that lookup is, a name, a test or reflection, is judged where it is).
 */
function resultReturned(sim: Simulator, code: DecodedCode, i: number): boolean {
  const opnames = sim.decoder.model.opnames;
  for (let j = i + 1; j < code.n; j++) {
    const o = opnames[code.op[j]] ?? '';
    if (o !== 'PRECALL' && o !== 'CACHE' && o !== 'NOP') return o === 'RETURN_VALUE';
  }
  return false;
}

/** Records a reflection site of the call at `i` (once per kind), with what the gate needs to narrow it. */
function reflector(sim: Simulator, facts: CodeFacts, i: number, line: number) {
  return (what: string, d: ReflectionDetail = {}): void => {
    const key = `${i}:${what}`;
    if (sim.reflectedAt.has(key)) return;
    sim.reflectedAt.add(key);
    const r: CodeFacts['reflections'][number] = { line, what };
    if (d.module) r.module = d.module;
    if (d.prefix) r.prefix = d.prefix;
    if (d.own) r.own = true;
    if (d.accessor) r.accessor = d.accessor;
    if (d.hook) r.hook = true;
    if (d.hookName) r.hookName = true;
    if (d.package) r.package = d.package;
    facts.reflections.push(r);
  };
}

/** Records what a call tells the reachability gate: reflection by computed names, escaping callbacks. */
export function gateFacts(sim: Simulator, code: DecodedCode, i: number, role: CodeRole, callee: Expr, positional: Expr[], args: Expr[], star: boolean, kwnames?: string[] | null): void {
  const facts = sim.facts;
  if (!facts) return;
  const reflect = reflector(sim, facts, i, code.line[i] > 0 ? code.line[i] : code.raw.firstlineno);
  // The name an attribute hook is given, passed on unchanged: names the gate counts where they are looked up.
  const hookName = (e: Expr | undefined) => e !== undefined && sim.settle(e) === HOOK_NAME;
  const strings = (e: Expr | undefined) => constStringsOf(sim, e);
  // A lookup by the name argument: constant names count as names; a computed one is reflection (an accessor site when
  // it only sets or tests, whatever the name; a hook site when it hands on what it fetched by the name an attribute
  // hook is given, which may come from an accessor site: gateConfine.ts).
  const byName = (what: string, nameArg: Expr | undefined, accessor?: 'get' | 'set', target: { module?: string; prefix?: string } = {}) => {
    const names = star ? undefined : strings(nameArg);
    if (names) constantNames(names, facts.reflectNames, reflect, !accessor);
    else if (star || !hookName(nameArg)) reflect(`${what} with a computed name`, { module: target.module, prefix: target.prefix, accessor });
    else if (accessor || !resultReturned(sim, code, i)) reflect(`${what} of the name an attribute hook is given`, { accessor, hook: !accessor, hookName: accessor !== undefined });
  };
  if (role.role !== 'function') for (const n of args.map((a) => shortName(sim.settle(a)))) if (n && !facts.escapes.includes(n)) facts.escapes.push(n);
  // A builtin as `getattr` or `builtins.getattr` (the module the names come from).
  const builtin = (e: Expr, fn: string) => sim.isBuiltinNamed(e, fn) || sim.isModuleAttr(e, 'builtins', fn);
  // Loads of a reflection builtin that end here (called, or passed on) are accounted for: see escapedReflection.
  for (const fn of REFLECTION_BUILTINS) if (builtin(callee, fn)) sim.reflectedAt.add(`call:${fn}:${i}`);
  wrapperNames(sim, callee, positional, args, star, kwnames, reflect);
  // A reflection function passed as a value (map(getattr, objs, names), functools.partial(getattr, obj)): the
  // callee calls it with arguments no code shows, so whatever names it computes are unknown.
  for (const a of args) {
    const settled = sim.settle(a);
    const v = sim.quick(settled);
    // The builtins namespace handed on (`f(builtins)`): the callee may fetch eval, getattr… from it by any name.
    if ((v.k === 'module' && v.name === 'builtins') || isBuiltinsGlobal(v)) reflect('the builtins namespace passed as a value');
    const what = reflectionFunction(sim, settled, builtin);
    if (what) {
      reflect(`${what} passed as a value`);
      sim.reflectedAt.add(`value:${what}:${i}`);
    }
  }
  // obj.__getattribute__(name), object.__getattribute__(obj, name), type(obj).__getattr__(obj, name): getattr
  // by another spelling (the name is the last argument; __setattr__'s the one before the value).
  const q = sim.quick(callee);
  if (q.k === 'attr' && ATTRIBUTE_DUNDERS.has(q.name)) {
    sim.reflectedAt.add(`attr:${q.name}:${i}`);
    const nameArg = q.name === '__setattr__' ? positional[positional.length - 2] : positional[positional.length - 1];
    byName(q.name, nameArg, q.name === '__setattr__' || q.name === '__delattr__' ? 'set' : undefined);
    return;
  }
  if (q.k === 'attr' && attributeCall(sim, i, q, positional, star, strings, reflect, builtin)) return;
  // inspect.getmembers(obj) hands out every attribute's value, bound methods included, with no name in code.
  for (const fn of ['getmembers', 'getmembers_static']) {
    if (!sim.isModuleAttr(callee, 'inspect', fn)) continue;
    const base = positional[0] ? sim.quick(sim.settle(positional[0])) : undefined;
    reflect(`inspect.${fn}`, { module: base && base.k === 'module' ? base.name : undefined });
    return;
  }
  for (const fn of ['getattr', 'hasattr', 'setattr', 'delattr']) {
    if (!builtin(callee, fn) && !(fn === 'getattr' && sim.isModuleAttr(callee, 'inspect', 'getattr_static'))) continue;
    const computed = star || !strings(positional[1]);
    // A getattr whose result is only tested (`getattr(cls, name) is not obj`) runs getters as hasattr does.
    const tests = computed && (fn === 'hasattr' || (fn === 'getattr' && resultOnlyTested(sim, code, i, true)));
    byName(fn, positional[1], fn === 'setattr' || fn === 'delattr' ? 'set' : tests ? 'get' : undefined, computed ? computedNameTarget(sim, positional, strings) : undefined);
    // A namespace fetched by its constant name (`getattr(mod, '__dict__')`, `getattr(f, '__globals__')`) is judged as
    // the attribute load is: read by a computed key, it hands out what no code names.
    const ns = fn === 'getattr' && !computed ? strings(positional[1])!.find((n) => NAMESPACE_ATTRIBUTES.includes(n)) : undefined;
    if (ns && !fetchedNamespaceBenign(sim.decoder, code, i, sim.version, sim.summary.namespace.has('type'))) reflect(`\`${ns}\` fetched by name`);
    return;
  }
  // A code object rebuilt at run time (`f.__code__.replace(co_names=…)`, copy.replace, types.CodeType): the code it runs
  // looks up names no code object of the closure shows.
  if (kwnames?.some((k) => CODE_FIELDS.test(k)) || sim.isModuleAttr(callee, 'types', 'CodeType')) return reflect('a code object built at run time');
  // A namespace only tested (`name in globals()`, os's `_exists`) or stored into (`globals()[name] = f`) hands out nothing.
  if (positional.length === 0 && !star && ['globals', 'vars', 'locals'].some((fn) => builtin(callee, fn)) && (resultOnlyTested(sim, code, i) || resultOnlyStoredInto(sim, code, i))) return;
  const keyword = (n: string) => (kwnames?.includes(n) ? args[args.length - kwnames.length + kwnames.indexOf(n)] : undefined);
  otherReflection(sim, facts.reflectNames, callee, positional, star, strings, reflect, builtin, role.role, keyword);
}

/**
 * Constant names a lookup is given: each is a name of reachable code. `str.format` fetched by one (`methodcaller(
 * 'format', obj)`) formats by a format string no code shows (an accessor site); when the lookup hands on what it
 * fetched (`handsOn`: not a test or a store), a reflection function fetched by name is called later with any name.
 */
function constantNames(names: string[], reflectNames: string[], reflect: Reflect, handsOn: boolean): void {
  for (const n of names) {
    if (!reflectNames.includes(n)) reflectNames.push(n);
    if (FORMAT_METHODS.has(n)) reflect(`str.${n} fetched by name`, { accessor: 'get' });
    if (handsOn && REFLECTIVE_NAMES.has(n)) reflect(`${n} fetched by name`);
  }
}

/** Keyword arguments of `code.replace` that change what a code object runs or names. */
const CODE_FIELDS = /^co_(code|names|consts|varnames|freevars|cellvars|linetable|exceptiontable)$/;

/** The strings a value can be, when each alternative is a constant string; undefined otherwise. */
function constStringsOf(sim: Simulator, e: Expr | undefined): string[] | undefined {
  if (!e) return undefined;
  const v = sim.settle(e);
  const out: string[] = [];
  for (const x of v.k === 'union' ? v.items : [v]) {
    if (x.k !== 'const' || typeof x.value !== 'string') return undefined;
    out.push(x.value);
  }
  return out;
}

/**
 * The receiver and name of `getattr(obj, name)` with a computed name: the module when the receiver is one (`import
 * _hashlib` in a try whose except binds None is still that module), and the constant prefix of `'openssl_' + name`.
 */
function computedNameTarget(sim: Simulator, positional: Expr[], strings: (e: Expr | undefined) => string[] | undefined): { module?: string; prefix?: string } {
  const baseValue = positional[0] ? sim.settle(positional[0]) : undefined;
  const expand = (x: Expr): Expr[] => {
    const q = sim.quick(x);
    if (q.k === 'union') return q.items.flatMap(expand);
    if (q.k === 'global' && q.module === sim.input.module) {
      const v = sim.summary.namespace.get(q.name);
      if (v && v.k === 'union') return v.items.map((y) => sim.quick(y));
    }
    return [q];
  };
  const alts = baseValue ? expand(baseValue) : [];
  const mods = alts.filter((x) => x.k === 'module');
  const base = mods.length === 1 && alts.every((x) => x.k === 'module' || (x.k === 'const' && x.value === null)) ? mods[0] : undefined;
  const nameExpr = positional[1] ? sim.settle(positional[1]) : undefined;
  const prefix = nameExpr && nameExpr.k === 'binop' && nameExpr.op === '+' ? strings(nameExpr.left) : undefined;
  return { module: base && base.k === 'module' ? base.name : undefined, prefix: prefix && prefix.length === 1 && prefix[0] ? prefix[0] : undefined };
}

/**
 * The package an import by a computed name is confined to: `__import__('encodings.' + name)`, an absolute import (no
 * `level` argument but 0, no `package`) of a constant prefix ending in a dot, the package's name. Undefined otherwise.
 */
function packagePrefix(sim: Simulator, positional: Expr[], strings: (e: Expr | undefined) => string[] | undefined, keyword: (name: string) => Expr | undefined): string | undefined {
  const nameExpr = positional[0] ? sim.settle(positional[0]) : undefined;
  const prefix = nameExpr && nameExpr.k === 'binop' && nameExpr.op === '+' ? strings(nameExpr.left) : undefined;
  // __import__'s level: the fifth argument or `level=`; 0 (absolute) when absent. import_module's second argument, the
  // package, only anchors a name that starts with a dot, which the prefix does not.
  const given = positional[4] ?? keyword('level');
  const level = given ? sim.settle(given) : undefined;
  const absolute = level === undefined || (level.k === 'const' && level.value === 0);
  if (!absolute || !prefix || prefix.length !== 1 || !/^[A-Za-z_][\w.]*\.$/.test(prefix[0])) return undefined;
  return prefix[0].slice(0, -1);
}

/** operator.attrgetter/methodcaller, vars/globals/locals/eval/exec/compile, __import__/import_module, pickle and marshal loads. */
function otherReflection(
  sim: Simulator,
  reflectNames: string[],
  callee: Expr,
  positional: Expr[],
  star: boolean,
  strings: (e: Expr | undefined) => string[] | undefined,
  reflect: Reflect,
  builtin: (e: Expr, fn: string) => boolean,
  role: CodeRole['role'],
  keyword: (name: string) => Expr | undefined,
): void {
  for (const fn of ['attrgetter', 'methodcaller']) {
    if (!sim.isModuleAttr(callee, 'operator', fn) && !sim.isModuleAttr(callee, '_operator', fn)) continue;
    const given = fn === 'methodcaller' ? positional.slice(0, 1) : positional;
    const names = star ? undefined : given.map((p) => strings(p));
    if (names && names.every((n) => n !== undefined)) {
      // attrgetter hands on what it fetched; methodcaller calls it.
      const flat = names.flatMap((x) => x!.flatMap((y) => y.split('.')));
      constantNames(flat, reflectNames, reflect, true);
      // attrgetter('__dict__') hands out the namespace to whatever calls it: a read no code shows.
      for (const n of flat.filter((x) => NAMESPACE_ATTRIBUTES.includes(x))) reflect(`\`${n}\` fetched by name`);
    } else reflect(`operator.${fn} with a computed name`);
    return;
  }
  for (const fn of ['vars', 'globals', 'locals', 'eval', 'exec', 'compile']) {
    if (builtin(callee, fn)) {
      // globals(), and vars()/locals() with no argument in module code, hand out the code's own module namespace.
      const own = fn === 'globals' || ((fn === 'vars' || fn === 'locals') && role === 'module' && positional.length === 0 && !star);
      reflect(`${fn}()`, { own });
      return;
    }
  }
  if (builtin(callee, '__import__') || sim.isModuleAttr(callee, 'importlib', 'import_module')) {
    if (star || !strings(positional[0])) reflect(`${builtin(callee, '__import__') ? '__import__' : 'importlib.import_module'} of a computed name`, { package: star ? undefined : packagePrefix(sim, positional, strings, keyword) });
    return;
  }
  // importlib.util.find_spec imports the parent package of the name it is given (server/src/gateModels.ts).
  if (isFindSpec(sim, callee)) {
    if (star || !strings(positional[0])) reflect('importlib.util.find_spec of a computed name');
    return;
  }
  // The garbage collector hands out objects no code names (a function of a module, fetched by its `__name__`).
  for (const [mod, fns] of [['pickle', ['load', 'loads', 'Unpickler']], ['_pickle', ['load', 'loads', 'Unpickler']], ['marshal', ['load', 'loads']], ['gc', ['get_objects', 'get_referrers', 'get_referents']]] as const) {
    for (const fn of fns) if (sim.isModuleAttr(callee, mod, fn)) return reflect(`${mod}.${fn}`);
  }
}

/** Dunder methods that look an attribute up by a name given as an argument. */
const ATTRIBUTE_DUNDERS = new Set(['__getattribute__', '__getattr__', '__setattr__', '__delattr__']);

/**
 * Reflection builtins a parameter of the same name is taken to be (parameterValue, isParameterDefault): the
 * attribute builtins of the `getattr=getattr` idiom. A parameter named `globals` or `locals` holds a namespace (pdb's
 * `run(statement, globals, locals)`); a default that is the builtin itself stays a use as a value.
 */
const PARAMETER_BUILTINS = ['getattr', 'hasattr', 'setattr', 'delattr'];
const REFLECTION_MODULE_FUNCTIONS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['operator', ['attrgetter', 'methodcaller']],
  ['_operator', ['attrgetter', 'methodcaller']],
  ['importlib', ['import_module']],
  ['inspect', ['getmembers', 'getmembers_static', 'getattr_static']],
  ['pickle', ['load', 'loads', 'Unpickler']],
  ['_pickle', ['load', 'loads', 'Unpickler']],
];

/** Whether `e` is importlib.util.find_spec (`from importlib.util import find_spec`, or through `import importlib.util`). */
function isFindSpec(sim: Simulator, e: Expr): boolean {
  if (sim.isModuleAttr(e, 'importlib.util', 'find_spec')) return true;
  const q = sim.quick(e);
  if (q.k !== 'attr' || q.name !== 'find_spec') return false;
  const base = sim.quick(q.base);
  return base.k === 'attr' && base.name === 'util' && sim.quick(base.base).k === 'module' && (sim.quick(base.base) as { name?: string }).name === 'importlib';
}

/** The name of the reflection function `e` is (as a value, not called), if it is one. */
function reflectionFunction(sim: Simulator, e: Expr, builtin: (e: Expr, fn: string) => boolean): string | undefined {
  if (isFindSpec(sim, e)) return 'importlib.util.find_spec';
  for (const fn of REFLECTION_BUILTINS) if (builtin(e, fn)) return fn;
  for (const [mod, fns] of REFLECTION_MODULE_FUNCTIONS) for (const fn of fns) if (sim.isModuleAttr(e, mod, fn)) return `${mod}.${fn}`;
  const q = sim.quick(e);
  if (q.k === 'attr' && ATTRIBUTE_DUNDERS.has(q.name)) return q.name;
  return undefined;
}

/**
 * After a code object's simulation: a reflection builtin loaded (LOAD_GLOBAL, LOAD_NAME) more often than calls
 * of it and arguments passing it were seen escaped as a value (`fs = [getattr]; fs[0](obj, name)`, a dict of
 * operations, a return value): whoever calls it later computes names no code shows. Recorded as reflection.
 */
export function escapedReflection(sim: Simulator, decoder: Decoder, code: DecodedCode): void {
  const facts = sim.facts;
  if (!facts) return;
  const opnames = decoder.model.opnames;
  for (const fn of REFLECTION_BUILTINS) {
    const k = code.names.indexOf(fn);
    if (k < 0 || sim.summary.namespace.has(fn)) continue;
    let loads = 0;
    for (let i = 0; i < code.n; i++) {
      const opname = opnames[code.op[i]] ?? '';
      if (opname !== 'LOAD_GLOBAL' && opname !== 'LOAD_NAME') continue;
      if (nameIndexOf(decoder, code, i) === k && !isParameterDefault(sim, code, i, fn)) loads++;
    }
    let accounted = 0;
    for (const key of sim.reflectedAt) if (key.startsWith(`call:${fn}:`) || key.startsWith(`value:${fn}:`)) accounted++;
    if (loads > accounted) facts.reflections.push({ line: firstLineUsing(decoder, code, fn), what: `${fn} used as a value` });
  }
  // The C API's lookups reached by name (`ctypes.pythonapi.PyObject_GetAttrString`, `lib['PyRun_String']`).
  const api = [...code.names, ...facts.nameStrings].find((n) => C_API_REFLECTION.test(n));
  if (api) facts.reflections.push({ line: code.names.includes(api) ? firstLineUsing(decoder, code, api) : lineLoading(decoder, code, api), what: `the C API's ${api} reached by name` });
  // `__builtins__['getattr']`, `ns = __builtins__`: the builtins namespace (a dict outside __main__) hands out every
  // reflection builtin by a key; its attributes called directly are judged in attributeCall.
  const b = code.names.indexOf('__builtins__');
  if (b >= 0 && !sim.summary.namespace.has('__builtins__')) {
    for (let i = 0; i < code.n; i++) {
      const opname = opnames[code.op[i]] ?? '';
      if ((opname === 'LOAD_GLOBAL' || opname === 'LOAD_NAME') && nameIndexOf(decoder, code, i) === b) {
        facts.reflections.push({ line: code.line[i] > 0 ? code.line[i] : code.raw.firstlineno, what: 'the builtins namespace (`__builtins__`) used' });
        break;
      }
    }
  }
  // `b.getattr` loaded and not called here (kept, passed on): may be the builtin, called later with names no code shows.
  // Also `obj.__getattribute__` kept (`fs = [obj.__getattr__]`): getattr by another spelling, called later by any name.
  for (const fn of [...COUNTED_ATTRIBUTES, ...ATTRIBUTE_DUNDERS]) {
    if (keptAttribute(sim, decoder, code, fn)) facts.reflections.push({ line: firstLineUsing(decoder, code, fn), what: `${fn} looked up as an attribute and used as a value` });
  }
  // `fmt.format` loaded and not called here (`map('{0.x}'.format, objs)`, `f = s.format`): whoever calls it formats
  // by a format string no code shows, so it is an accessor site (str.format's calls are judged in attributeCall).
  for (const fn of FORMAT_METHODS) {
    if (keptAttribute(sim, decoder, code, fn, true)) facts.reflections.push({ line: firstLineUsing(decoder, code, fn), what: `str.${fn} used as a value`, accessor: 'get' });
  }
}

/**
 * Whether `code` loads the attribute `fn` more often than the calls of it seen here (`attr:fn:i`) account for.
 * `ownAttributes`: loads of an attribute the object's class binds (`self.format`, noted `fmtown` at every visit) do not
 * count, nor do their calls (attributeCall).
 */
function keptAttribute(sim: Simulator, decoder: Decoder, code: DecodedCode, fn: string, ownAttributes = false): boolean {
  const k = code.names.indexOf(fn);
  if (k < 0) return false;
  const opnames = decoder.model.opnames;
  let loads = 0;
  for (let i = 0; i < code.n; i++) {
    const opname = opnames[code.op[i]] ?? '';
    if ((opname === 'LOAD_ATTR' || opname === 'LOAD_METHOD' || opname === 'LOAD_SUPER_ATTR') && nameIndexOf(decoder, code, i) === k) {
      if (ownAttributes && sim.reflectedAt.has(`fmtown:${fn}:${i}`) && !sim.reflectedAt.has(`fmtany:${fn}:${i}`)) continue;
      loads++;
    }
  }
  let accounted = 0;
  for (const key of sim.reflectedAt) if (key.startsWith(`attr:${fn}:`)) accounted++;
  return loads > accounted;
}

/** One entry of the stack isParameterDefault follows: whether it holds the load's value; the code object a constant is. */
interface Slot {
  ours: boolean;
  code?: number;
}

/**
 * Whether the load at `i` of the reflection builtin `fn` is a default (positional or keyword) of the function the
 * MAKE_FUNCTION after it makes, for a parameter of the same name: `def __getattr__(self, name, getattr=getattr)`.
 * parameterValue takes that parameter for the builtin, so its calls are judged where they are. Followed on the
 * stack through the loads and builds that may come between; anything else (a call, a store) is a use as a value.
 */
function isParameterDefault(sim: Simulator, code: DecodedCode, i: number, fn: string): boolean {
  if (!PARAMETER_BUILTINS.includes(fn)) return false;
  const opnames = sim.decoder.model.opnames;
  const v = sim.version;
  const op = (j: number) => opnames[code.op[j]] ?? '';
  // 3.11+: a LOAD_GLOBAL that pushes a NULL too loads the builtin for a call, not as a value.
  if (simpleLoadPushes(op(i), code.arg[i], v) === 2) return false;
  const lands = (x: Slot, flag: number, made: Slot | undefined) => x.ours && (flag === 0x01 || flag === 0x02) && made?.code !== undefined && hasParameter(sim, made.code, fn);
  const stack: Slot[] = [{ ours: true }];
  for (let j = i + 1; j < code.n && j < i + 32; j++) {
    const o = op(j);
    const a = code.arg[j];
    if (o === 'LOAD_CONST') {
      const c = code.consts[a];
      stack.push({ ours: false, code: c !== null && typeof c === 'object' && 'code' in c ? c.code : undefined });
    } else if (simpleLoadPushes(o, a, v) > 0) {
      for (let k = simpleLoadPushes(o, a, v); k > 0; k--) stack.push({ ours: false });
    } else if (/^BUILD_(TUPLE|LIST|MAP|CONST_KEY_MAP)$/.test(o)) {
      const n = o === 'BUILD_MAP' ? 2 * a : o === 'BUILD_CONST_KEY_MAP' ? a + 1 : a;
      if (n > stack.length) return false;
      stack.push({ ours: stack.splice(stack.length - n, n).some((x) => x.ours) });
    } else if (o === 'MAKE_FUNCTION' && v >= 13) {
      stack.push({ ours: false, code: stack.pop()?.code });
    } else if (o === 'MAKE_FUNCTION') {
      // Below the code object (and the qualified name before 3.11): defaults, kwdefaults, annotations, closure.
      if (v < 11) stack.pop();
      const made = stack.pop();
      for (const flag of [0x08, 0x04, 0x02, 0x01]) {
        if (!(a & flag)) continue;
        const x = stack.pop();
        if (!x) return false;
        if (x.ours) return lands(x, flag, made);
      }
      stack.push({ ours: false, code: made?.code });
    } else if (o === 'SET_FUNCTION_ATTRIBUTE') {
      const made = stack.pop();
      const x = stack.pop();
      if (!x || !made) return false;
      if (x.ours) return lands(x, a, made);
      stack.push(made);
    } else return false;
    if (!stack.some((x) => x.ours)) return false;
  }
  return false;
}

/** Whether code object `k` of the module has a parameter named `name` (a stub says so only of reflection builtins). */
function hasParameter(sim: Simulator, k: number, name: string): boolean {
  const head = sim.heads[k] as CodeEntry | undefined;
  if (!head) return false;
  if (isLazyStub(head)) return head.reflectionParams?.includes(name) ?? false;
  const names = head.localNames ?? head.varnames ?? [];
  return names.slice(0, head.argcount + head.kwonlyargcount).includes(name);
}
