// Reflection the gate finds in calls of methods: a reflection function reached as an attribute (`b.getattr(obj, name)`,
// `__builtins__.eval(s)`), and str.format, which looks attributes up by the names of its format string (gateFacts.ts).

import type { Expr } from '../values';
import { REFLECTION_BUILTINS } from './common';
import type { Simulator } from './types';

/**
 * What gateFacts records of a reflection site besides what it is: the module and name prefix it is confined to, whether
 * it hands out the code's own namespace, its accessor kind, the hook marks (types.ts CodeFacts.reflections), and the
 * package an import by a computed name is confined to.
 */
export interface ReflectionDetail {
  module?: string;
  prefix?: string;
  own?: boolean;
  accessor?: 'get' | 'set';
  hook?: boolean;
  hookName?: boolean;
  package?: string;
}

/** How gateFacts records a reflection site. */
export type Reflect = (what: string, detail?: ReflectionDetail) => void;

/**
 * A call of a method that may be a reflection function (`b.getattr(obj, name)`, `__builtins__.eval(s)`: reflection) or
 * str.format (formatLookups). Accounts for the attribute's load (escapedReflection); true when the call is judged.
 */
export function attributeCall(
  sim: Simulator,
  i: number,
  q: Extract<Expr, { k: 'attr' }>,
  positional: Expr[],
  star: boolean,
  strings: (e: Expr | undefined) => string[] | undefined,
  reflect: Reflect,
  builtin: (e: Expr, fn: string) => boolean,
): boolean {
  const reflective = REFLECTION_BUILTINS.includes(q.name);
  // A call of a class's own `format` attribute is no str.format: its load is not counted either (escapedReflection).
  const ownFormat = FORMAT_METHODS.has(q.name) && classBindsAttribute(q.base, q.name);
  if (reflective || COUNTED_ATTRIBUTES.has(q.name) || (FORMAT_METHODS.has(q.name) && !ownFormat)) sim.reflectedAt.add(`attr:${q.name}:${i}`);
  if (reflective || ATTRIBUTE_REFLECTION.has(q.name)) {
    if (!attributeReflection(sim, q, builtin)) return false;
    reflect(`${q.name} looked up as an attribute of ${describeBase(sim, q)}`);
    return true;
  }
  return FORMAT_METHODS.has(q.name) && formatLookups(sim, q, positional, star, strings, sim.facts!.reflectNames, reflect);
}

/**
 * Names of reflection functions that hardly anything else is called: an attribute of that name on an object of unknown
 * type may be the function, reached through its module handed on as a value (`b.getattr` with the builtins module in
 * `b`, `m.import_module` with importlib). The other reflection builtins (`compile`, `eval`, …) count so only on
 * `__builtins__`: `_compiler.compile(p)` on a module the simulation does not know is common (a limit, docs/analysis.md).
 */
export const ATTRIBUTE_REFLECTION = new Set(['getattr', 'hasattr', 'setattr', 'delattr', '__import__', 'import_module', 'getattr_static']);

/**
 * Attribute names whose loads escapedReflection counts against the calls made of them here: a reflection function
 * loaded and not called (`[operator.attrgetter]`, `f = pickle.Unpickler`) is kept for a later call with any name.
 */
export const COUNTED_ATTRIBUTES = new Set([...ATTRIBUTE_REFLECTION, 'attrgetter', 'methodcaller', 'getmembers', 'getmembers_static', 'Unpickler']);

/**
 * Functions of the interpreter's C API that look names up, import, or run code, reached by name through ctypes or
 * cffi (`ctypes.pythonapi.PyObject_GetAttrString(obj, name)`): reflection wherever their name is used.
 */
export const C_API_REFLECTION = /^_?Py(Object_(Get|Set|Del|GenericGet|GenericSet)Attr|Object_(Call|Vectorcall)Method|Object_Dir|Import_|Run_|Eval_|Code_|Function_New|Marshal_|Dict_GetItem|Module_GetDict|Sys_GetObject|Builtin_|CFunction_New|Method_New|Instance_New)/;

/** Whether `base.name` may be a reflection function: any of them on `__builtins__`, one of ATTRIBUTE_REFLECTION on an object not known to be something else. */
function attributeReflection(sim: Simulator, q: Extract<Expr, { k: 'attr' }>, builtin: (e: Expr, fn: string) => boolean): boolean {
  // builtins.getattr: the builtin itself, judged by the rules of its calls.
  if (builtin(q, q.name)) return false;
  const base = sim.quick(sim.settle(q.base));
  if (isBuiltinsGlobal(base)) return REFLECTION_BUILTINS.includes(q.name);
  if (!ATTRIBUTE_REFLECTION.has(q.name)) return false;
  if (base.k === 'module' || base.k === 'func' || base.k === 'const' || base.k === 'builtin') return false;
  return !definesMember(sim, base, q.name);
}

/** Whether `base` is a class, or an instance of one, whose own body defines `name` (so `base.name` is that member). */
function definesMember(sim: Simulator, base: Expr, name: string): boolean {
  return ownMember(base.k === 'class' ? base : base.k === 'instance' ? sim.quick(base.cls) : undefined, name) !== undefined;
}

/** What the own body of class `cls` (a class expression) binds to `name`, if anything. */
function ownMember(cls: Expr | undefined, name: string): Expr | undefined {
  return cls?.k === 'class' ? cls.def.members.get(name) : undefined;
}

/** `__builtins__` (the builtins module in __main__, its namespace elsewhere). */
export function isBuiltinsGlobal(e: Expr): boolean {
  return (e.k === 'global' || e.k === 'builtin') && e.name === '__builtins__';
}

function describeBase(sim: Simulator, q: Extract<Expr, { k: 'attr' }>): string {
  return isBuiltinsGlobal(sim.quick(sim.settle(q.base))) ? '__builtins__' : 'an object of unknown type';
}

/** str's methods that look attributes up, in C, by the names in a format string: `'{0.name}'.format(obj)` fetches obj.name. */
export const FORMAT_METHODS = new Set(['format', 'format_map']);

/**
 * Whether `obj.name` reads an attribute the class of `obj` binds in its body (tarfile's `format = DEFAULT_FORMAT`, read
 * as `self.format`): a class attribute or what an instance stored over it, not str's method (a class body or an
 * instance that stores a str's bound `format` loads it there, where it counts).
 */
export function classBindsAttribute(obj: Expr, name: string): boolean {
  const o = obj.k === 'self' ? obj.obj : obj;
  const member = o.k === 'instance' ? ownMember(o.cls, name) : undefined;
  return member !== undefined && member.k !== 'attr';
}

/**
 * The attribute names a format string's replacement fields can look up (`'{0.name}'`, `'{p.a.b!r:>{w.width}}'`): every
 * `.identifier` of a string with a brace, a superset of what str.format parses. None without a brace.
 */
export function formatFieldNames(text: string): string[] {
  if (!text.includes('{')) return [];
  return [...new Set(Array.from(text.matchAll(/\.([\p{L}_][\p{L}\p{N}_]*)/gu), (m) => m[1]))];
}

/**
 * `fmt.format(…)`, `fmt.format_map(…)`, `str.format(fmt, …)`: the format string's replacement fields look attributes
 * up by name, running getters and attribute hooks (`__getattr__` is given the name). A constant format string's
 * names count as names; any other may be a string no code shows: an accessor site ('get'). False when the receiver
 * is known not to be a string (a module, a function, a non-string constant, a builtin other than str, a class or
 * instance whose class defines the method): not str's method.
 */
function formatLookups(
  sim: Simulator,
  q: Extract<Expr, { k: 'attr' }>,
  positional: Expr[],
  star: boolean,
  strings: (e: Expr | undefined) => string[] | undefined,
  reflectNames: string[],
  reflect: Reflect,
): boolean {
  const base = sim.quick(sim.settle(q.base));
  if (base.k === 'module' || base.k === 'func' || (base.k === 'const' && typeof base.value !== 'string')) return false;
  if (base.k === 'builtin' && base.name !== 'str') return false;
  if (definesMember(sim, base, q.name)) return false;
  // An unbound call (`str.format(fmt, obj)`, a class that inherits it) is given the format string first.
  const unbound = base.k === 'builtin' || base.k === 'class';
  const texts = star && unbound ? undefined : strings(unbound ? positional[0] : q.base);
  if (!texts) {
    reflect(`str.${q.name} of a format string no code shows`, { accessor: 'get' });
    return true;
  }
  for (const n of texts.flatMap(formatFieldNames)) if (!reflectNames.includes(n)) reflectNames.push(n);
  return true;
}
