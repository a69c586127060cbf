// Result types of operators and of a few builtin calls on Python's built-in scalar types (int, float, bool, str,
// bytes; and the text file `open` makes), for the simulation (a loop counter `i = 0 … i += 1` stays an int instead of a union that grows until it
// is unknown) and the resolver (an operator on a module global), so later operators and methods on them resolve.

import type { PyConst } from './helperRecords';
import type { Target } from './targets';
import { constType, loopItemSource, plainTuple, type Expr } from './values';

export type Scalar = 'bool' | 'int' | 'float' | 'str' | 'bytes';

const SCALARS: ReadonlySet<string> = new Set<Scalar>(['bool', 'int', 'float', 'str', 'bytes']);

/**
 * Builtins whose call returns exactly this type whatever their arguments (the constructors, and functions the
 * interpreter builds the result of itself: `len` is PyLong_FromSsize_t, `hex` PyNumber_ToBase).
 */
const CALL_RESULTS: Readonly<Record<string, Scalar>> = {
  int: 'int', float: 'float', str: 'str', bool: 'bool', bytes: 'bytes',
  len: 'int', hash: 'int', id: 'int', ord: 'int', chr: 'str', hex: 'str', oct: 'str', bin: 'str',
  isinstance: 'bool', issubclass: 'bool', callable: 'bool', hasattr: 'bool',
};

/**
 * C functions and methods of built-in types whose result is always this type (`"_".join(parts)` is a str, and so
 * `.encode()` on it resolves), by qualified name as the resolver names a native callee.
 */
const NATIVE_RESULTS: Readonly<Record<string, Scalar>> = {
  ...Object.fromEntries(
    ['join', 'format', 'format_map', 'upper', 'lower', 'strip', 'lstrip', 'rstrip', 'replace', 'title', 'capitalize', 'casefold', 'zfill', 'center', 'ljust', 'rjust', 'expandtabs', 'swapcase', 'removeprefix', 'removesuffix', 'translate'].map((m) => [`builtins.str.${m}`, 'str' as Scalar]),
  ),
  ...Object.fromEntries(
    ['startswith', 'endswith', 'isdigit', 'isalpha', 'isalnum', 'isspace', 'isupper', 'islower', 'isidentifier', 'isascii', 'isdecimal', 'isnumeric', 'isprintable', 'istitle'].map((m) => [`builtins.str.${m}`, 'bool' as Scalar]),
  ),
  ...Object.fromEntries(['find', 'rfind', 'index', 'rindex', 'count'].flatMap((m) => [[`builtins.str.${m}`, 'int' as Scalar], [`builtins.bytes.${m}`, 'int' as Scalar]])),
  'builtins.str.encode': 'bytes',
  'builtins.bytes.decode': 'str',
  'builtins.bytes.hex': 'str',
  'builtins.bytes.join': 'bytes',
  'builtins.int.bit_length': 'int',
  'builtins.int.bit_count': 'int',
  'builtins.int.to_bytes': 'bytes',
  'builtins.float.hex': 'str',
  'builtins.float.is_integer': 'bool',
  '_io.TextIOWrapper.read': 'str',
  '_io.TextIOWrapper.readline': 'str',
  ...Object.fromEntries(['time', 'monotonic', 'perf_counter', 'process_time', 'thread_time'].flatMap((f) => [[`time.${f}`, 'float' as Scalar], [`time.${f}_ns`, 'int' as Scalar]])),
  'os.getpid': 'int',
  'posix.getpid': 'int',
};

const instances = new Map<string, Expr>();

/** The value "an instance of builtins.NAME" (one object per type, so that joins at loop heads converge). */
export function scalarInstance(name: Scalar): Expr {
  let e = instances.get(name);
  if (!e) {
    e = { k: 'instance', cls: { k: 'builtin', name } };
    instances.set(name, e);
  }
  return e;
}

function asScalar(name: string | undefined): Scalar | undefined {
  return name !== undefined && SCALARS.has(name) ? (name as Scalar) : undefined;
}

/**
 * The built-in scalar types a value may have, or undefined when one of its alternatives may be anything else.
 * `quick` looks a global up (a function's `len` is the builtin when the module binds no `len`).
 */
export function scalarTypes(e: Expr, quick: (e: Expr) => Expr = (x) => x): Scalar[] | undefined {
  const out: Scalar[] = [];
  for (const x of e.k === 'union' ? e.items : [e]) {
    let t: Scalar | undefined;
    if (x.k === 'const') t = asScalar(constType(x.value));
    else if (x.k === 'instance' && x.cls.k === 'builtin') t = asScalar(x.cls.name);
    else if (x.k === 'call' && !x.star) {
      const callee = quick(x.callee);
      if (callee.k === 'builtin' && Object.prototype.hasOwnProperty.call(CALL_RESULTS, callee.name)) t = CALL_RESULTS[callee.name];
    }
    if (t === undefined) return undefined;
    if (!out.includes(t)) out.push(t);
  }
  return out;
}

/** The built-in scalar type of a resolved target, if it is one. */
export function targetScalar(t: Target): Scalar | undefined {
  if (t.kind === 'const') return asScalar(constType(t.value));
  if (t.kind === 'instance' && t.type.kind === 'builtin') return asScalar(t.type.name);
  return undefined;
}

const NUMBER_RANK: Readonly<Record<string, number>> = { bool: 0, int: 1, float: 2 };

/**
 * The type of `left OP right` (OP as BINARY_OP shows it: `+`, `+=`, `//`, …) when the interpreter's own slots of
 * these types compute it; undefined when the result may be of another type (`int ** int` is a float for a negative
 * exponent, `float ** float` a complex for a negative base), the operation raises, or `right` is unknown. `right`
 * may be unknown only for `%` on str and bytes (formatting), whose result does not depend on it.
 */
export function operatorResult(op: string, left: Scalar, right: Scalar | undefined, rightValue?: PyConst): Scalar | undefined {
  const sym = op.length > 1 && op.endsWith('=') ? op.slice(0, -1) : op;
  if ((left === 'str' || left === 'bytes') && sym === '%') return left;
  if (right === undefined) return undefined;
  const l = NUMBER_RANK[left];
  const r = NUMBER_RANK[right];
  if (l !== undefined && r !== undefined) {
    const hasFloat = l === 2 || r === 2;
    switch (sym) {
      case '&':
      case '|':
      case '^':
        return hasFloat ? undefined : l === 0 && r === 0 ? 'bool' : 'int';
      case '<<':
      case '>>':
        return hasFloat ? undefined : 'int';
      case '+':
      case '-':
      case '*':
      case '//':
      case '%':
        return hasFloat ? 'float' : 'int';
      case '/':
        return 'float';
      case '**':
        if (r === 2) return undefined;
        if (l === 2) return 'float';
        return typeof rightValue === 'number' && rightValue >= 0 ? 'int' : undefined;
      default:
        return undefined;
    }
  }
  const count = right === 'int' || right === 'bool';
  if (left === 'str' || left === 'bytes') {
    if (sym === '+' && right === left) return left;
    if (sym === '*' && count) return left;
    return undefined;
  }
  // `3 * "ab"`: int's multiplication declines, the sequence's repeat makes it.
  if ((left === 'int' || left === 'bool') && sym === '*' && (right === 'str' || right === 'bytes')) return right;
  return undefined;
}

/** Every result type of `left OP right` over the alternatives' types, or undefined when one is not known. */
export function operatorResults(op: string, left: Scalar[], right: Scalar[] | undefined, rightValue?: PyConst): Scalar[] | undefined {
  const out: Scalar[] = [];
  for (const a of left) {
    for (const b of right ?? [undefined]) {
      const t = operatorResult(op, a, b, rightValue);
      if (t === undefined) return undefined;
      if (!out.includes(t)) out.push(t);
    }
  }
  return out.length ? out : undefined;
}

/** How the resolver answers a value asked for again while it is being resolved (`TICKS += 1` reads TICKS). */
const CYCLIC = 'cyclic definition';

/**
 * The resolver's form: `left OP right` over resolved targets, as instances of built-in types; undefined if unknown.
 * A cyclic alternative (the value being defined, read by its own definition) adds no type of its own: the least
 * fixpoint of `TICKS = 0; TICKS += 1` is an int. When every alternative is cyclic, so is the result.
 */
export function scalarOperatorTargets(op: string, left: Target[], right: Target[]): Target[] | undefined {
  const types = (ts: Target[]): Scalar[] | undefined => {
    const out: Scalar[] = [];
    for (const t of ts) {
      if (t.kind === 'unknown' && t.reason === CYCLIC) continue;
      const s = targetScalar(t);
      if (s === undefined) return undefined;
      if (!out.includes(s)) out.push(s);
    }
    return out;
  };
  const l = types(left);
  if (!l) return undefined;
  if (!l.length) return left.length ? [{ kind: 'unknown', reason: CYCLIC }] : undefined;
  const r = types(right);
  const only = right.length === 1 && right[0].kind === 'const' ? right[0].value : undefined;
  return operatorResults(op, l, r && r.length ? r : undefined, only)?.map((name): Target => ({ kind: 'instance', type: { kind: 'builtin', name } }));
}

/**
 * What a call returns when it is always one built-in scalar type: a builtin function by NAME (`len` → int), or a C
 * function or method by qualified name (`builtins.str.join` → str, `time.monotonic` → float).
 */
export function builtinCallTargets(name: string, call?: Expr, resolve?: (e: Expr) => Target[]): Target[] | undefined {
  if (name === 'next' && call && resolve) return nextItem(call, resolve);
  // The io classes' __enter__ (IOBase's) returns the file itself: `with open(p) as f:` makes `f` the TextIOWrapper.
  const enter = /^_io\.(\w+)\.__enter__$/.exec(name);
  if (enter) return [{ kind: 'instance', type: { kind: 'native', module: '_io', path: [enter[1]] } }];
  if (name === '_io.open') return call && textMode(call) ? [{ kind: 'instance', type: { kind: 'native', module: '_io', path: ['TextIOWrapper'] } }] : undefined;
  const table = name.includes('.') ? NATIVE_RESULTS : CALL_RESULTS;
  const t = Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined;
  return t ? [{ kind: 'instance', type: { kind: 'builtin', name: t } }] : undefined;
}

/**
 * Whether `open(…)` (a call expression) opens in text mode, which makes a `_io.TextIOWrapper` whatever the file: no
 * mode given, or a constant mode without `b`. A binary mode makes a BufferedReader, BufferedWriter, BufferedRandom or
 * (unbuffered) FileIO, by mode and buffering: not said here.
 */
function textMode(call: Expr): boolean {
  if (call.k !== 'call' || call.star) return false;
  const kw = call.kwnames ?? [];
  const positional = call.args.slice(0, call.args.length - kw.length);
  const k = kw.indexOf('mode');
  const mode = positional.length >= 2 ? positional[1] : k >= 0 ? call.args[positional.length + k] : undefined;
  if (mode === undefined) return true;
  return mode.k === 'const' && typeof mode.value === 'string' && !mode.value.includes('b');
}

const ITEM_TYPES: Readonly<Record<string, Scalar>> = {
  'builtins.str': 'str',
  'builtins.bytes': 'int',
  'builtins.bytearray': 'int',
  'builtins.range': 'int',
  '_io.TextIOWrapper': 'str',
  '_io.StringIO': 'str',
  '_io.BufferedReader': 'bytes',
  '_io.BufferedRandom': 'bytes',
  '_io.BytesIO': 'bytes',
  '_io.FileIO': 'bytes',
};

/**
 * An item of `for x in v` (the simulation's `next(iter(v))`): the type of the items `v` yields when that is fixed by
 * what `v` is: a str's are strs, bytes' ints, a text file's lines strs, a binary file's lines bytes, a constant
 * tuple's its elements. Otherwise (a list, a dict, anything of unknown type) unknown, with what was iterated.
 */
function nextItem(call: Expr, resolve: (e: Expr) => Target[]): Target[] | undefined {
  const iterated = loopItemSource(call);
  if (!iterated) return undefined;
  const out: Target[] = [];
  for (const t of resolve(iterated)) {
    const seq = t.kind === 'const' ? plainTuple(t.value) : undefined;
    if (seq) {
      for (const x of seq) out.push({ kind: 'const', value: x });
      continue;
    }
    const type = t.kind === 'const' ? `builtins.${constType(t.value)}` : t.kind === 'instance' ? (t.type.kind === 'builtin' ? `builtins.${t.type.name}` : t.type.kind === 'native' ? `${t.type.module}.${t.type.path.join('.')}` : '') : '';
    const item = Object.prototype.hasOwnProperty.call(ITEM_TYPES, type) ? ITEM_TYPES[type] : undefined;
    if (!item) return [{ kind: 'unknown', reason: 'an item of something iterated whose items have no type known statically' }];
    out.push({ kind: 'instance', type: { kind: 'builtin', name: item } });
  }
  return out.length ? out : undefined;
}
