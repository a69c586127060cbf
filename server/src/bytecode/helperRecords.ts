// The JSON records the Python helper (server/python/pygration_dump.py) prints, one per line: `hello` (the
// interpreter and its decode model), `module` (one module, with its code objects), `done`, `error`, `info`,
// `introspect` (what standard-library modules bind names to at import time).

/** A constant as the helper encodes it: JSON scalars as is, everything else as a tagged object. */
export type PyConst =
  | null
  | boolean
  | number
  | string
  | { tuple: PyConst[] }
  | { frozenset: PyConst[] }
  | { list: PyConst[] } // produced by our constant folding (BUILD_LIST of constants), never by the helper
  | { str: string; len: number } // a long string, summarised
  | { bytes: string; len?: number } // latin-1 text of the bytes (first 64 when len is set)
  | { int: string } // an integer beyond 2^53
  | { float: string } // inf, -inf, nan, and floats with an integral value (2.0), which JSON would make ints
  | { complex: [PyConst, PyConst] }
  | { ellipsis: true }
  | { code: number } // index of a code object in the module's `codes`
  | { repr: string }; // another type (name only)

/** Everything version-specific the decoder needs, read by the helper from the running interpreter. */
export interface DecodeModel {
  /** opname per opcode 0..255 (null where unused). */
  opnames: (string | null)[];
  /** Whether the opcode takes an argument (the dis rule of this version). */
  hasArg: boolean[];
  /** How dis turns the argument into argval. */
  argKinds: (ArgKind | null)[];
  /** Inline CACHE code units following the opcode (3.11+). */
  caches: number[];
  /** dis.stack_effect(op, arg, jump=False): a number when independent of arg, else a row for arg 0..255. */
  effects: (number | (number | null)[] | null)[];
  /** dis.stack_effect(op, arg, jump=True) for jump opcodes (null for the others). */
  jumpEffects: (number | (number | null)[] | null)[];
  extendedArg: number;
  /** Jump arguments count bytes (1, 3.8-3.9) or code units (2, 3.10+). */
  jumpUnit: 1 | 2;
  /** Relative jumps are measured from after the inline caches (3.12+). */
  jumpAddsCaches: boolean;
  cmpOps: string[];
  cmpShift: number;
  /** BINARY_OP argument → operator symbol ('+', '@', '+=', ...) (3.11+). */
  nbOps: string[] | null;
  intrinsic1: string[] | null;
  intrinsic2: string[] | null;
  /** LOAD_FAST/LOAD_DEREF index one "localsplus" table (3.11+). */
  localsPlus: boolean;
  /** co_linetable is the 3.11+ location table (columns available). */
  positions: boolean;
  exceptionTable: boolean;
}

export type ArgKind = 'const' | 'name' | 'name1' | 'name2' | 'jabs' | 'jrel' | 'jback' | 'local' | 'local2' | 'free' | 'compare' | 'int';

export interface InterpreterInfo {
  version: [number, number, number];
  versionString: string;
  implementation: string;
  cacheTag: string | null;
  /** importlib.util.MAGIC_NUMBER in hex: identifies the bytecode format. */
  magic: string;
  executable: string;
  prefix: string;
  basePrefix: string;
  platform: string;
  byteorder: string;
  sysPath: string[];
  builtinModules: string[];
  /** dir(builtins). */
  builtins: string[];
  /** The names in builtins that are classes (int, list, ValueError, ...). */
  builtinTypes: string[];
  extensionSuffixes: string[];
  stdlib: string | null;
  maxsize: number;
  pid: number;
  /** With --target-site-json: the .pth files whose `import` lines were not run (paths they add are missing). */
  skippedPth?: string[];
}

export interface HelloRecord {
  type: 'hello';
  protocol: number;
  python: InterpreterInfo;
  model: DecodeModel;
}

/** One code object in the compact format. */
export interface CompactCode {
  name: string;
  qualname: string | null;
  firstlineno: number;
  flags: number;
  argcount: number;
  posonlyargcount: number;
  kwonlyargcount: number;
  cellvars: string[];
  freevars: string[];
  names: string[];
  consts: PyConst[];
  /** co_code, base64. */
  code: string;
  /** 3.11+: co_varnames + cell variables that are not arguments + co_freevars (the localsplus order). */
  localNames?: string[];
  nvarnames?: number;
  /** 3.11+: co_linetable, base64 (the location table). */
  linetable?: string;
  /** 3.11+: [start, end, target, depth, lasti, ...] in byte offsets. */
  exceptions?: number[];
  /** 3.8-3.10: co_varnames. */
  varnames?: string[];
  /** 3.8-3.10: co_cellvars + co_freevars (what LOAD_DEREF indexes). */
  cellNames?: string[];
  /** 3.10: co_lines() as [start, end, line|null]. */
  lines?: [number, number, number | null][];
  /** 3.8-3.9: dis.findlinestarts() as [offset, line]. */
  lineStarts?: [number, number][];
  /** Stack effects of instructions with an argument >= 256: [offset, effect, jumpEffect, ...]. */
  ext?: (number | null)[];
  /** Reference format only: per instruction [offset, opname, arg, argval, line, col, endLine, endCol, effect, jumpEffect]. */
  instructions?: FullInstruction[];
}

/**
 * What `codes` holds in place of a function body when the request asked for `split`: enough to name the
 * function; the body itself comes in the record's `lazyCodes`.
 */
export interface LazyCodeStub {
  name: string;
  qualname: string | null;
  firstlineno: number;
  flags: number;
  lazy: true;
  /** Its parameters named after an attribute builtin (`getattr=getattr`: PARAMETER_BUILTINS), when it has any. */
  reflectionParams?: string[];
}

export type CodeEntry = CompactCode | LazyCodeStub;

export function isLazyStub(c: CodeEntry | undefined): c is LazyCodeStub {
  return c !== undefined && (c as LazyCodeStub).lazy === true;
}

export type FullInstruction = [
  number,
  string,
  number | null,
  PyConst | PyConst[],
  number | null,
  number | null,
  number | null,
  number | null,
  number | null,
  number | null,
];

export type ModuleKind = 'python' | 'native' | 'builtin' | 'frozen' | 'namespace' | 'alias' | 'missing' | 'error';

export interface SyntaxErrorInfo {
  file: string;
  line: number | null;
  column: number | null;
  endLine?: number | null;
  endColumn?: number | null;
  message: string;
  type?: string;
}

export interface ModuleRecord {
  type: 'module';
  id: number | null;
  name: string;
  kind: ModuleKind;
  file?: string;
  isPackage?: boolean;
  searchLocations?: string[];
  /** For files given by path: the directory their top-level package lives in. */
  root?: string;
  /** For files given by path: the path as requested. */
  requested?: string;
  /** kind 'alias': the module sys.modules maps the name to (os.path → posixpath). */
  target?: string;
  reason?: string;
  size?: number;
  /** st_mtime_ns as a decimal string (exact beyond 2^53). */
  mtimeNs?: string;
  ino?: number;
  /** The file has the identity the request said it knew (no code sent). */
  unchanged?: boolean;
  load?: 'pyc' | 'compile' | 'loader' | 'source';
  syntaxError?: SyntaxErrorInfo;
  /** Code objects by index (module code first); with `split`, function bodies are LazyCodeStubs. */
  codes?: CodeEntry[];
  /** With `split`: the number of function bodies sent apart, and the globals they store (STORE_GLOBAL). */
  lazy?: number;
  lazyGlobals?: string[];
  /** Some code changes `__all__` in place (`__all__.extend(…)`, numpy's `extend_all`): exports are not its literal. */
  allMutated?: boolean;
  /**
   * With `split`: the function bodies as JSON text (an array of CompactCode in index order), attached by
   * PythonHelper from the line that follows the record; parsed only when a body is simulated.
   */
  lazyCodes?: string;
  /** The record's JSON line as received (attached by PythonHelper to records with code, for the disk cache). */
  source?: string;
  format?: 'compact' | 'full';
  seconds?: number;
  sourceless?: boolean;
}

export interface DoneRecord {
  type: 'done';
  id: number | null;
  seconds: number;
  maxRssKB: number | null;
  /** CPU seconds (user + system) the helper process has used since it started. */
  cpuSeconds?: number | null;
}

export interface ErrorRecord {
  type: 'error';
  id: number | null;
  message: string;
}

/**
 * What a standard-library module binds a name to at import time, as the helper's `introspect` request saw it
 * (server/python/pygration_introspect.py): a C function, a method of a C type, a C type (with the extension
 * that holds its code: `file`, or `builtin` when compiled into the interpreter), a Python function or class
 * (by qualified name), a module, or an instance of one of those types.
 */
export type RuntimeBinding =
  | { kind: 'native-function'; module: string; name: string; file?: string; builtin?: boolean }
  | { kind: 'native-method'; module: string; type: string; name: string; file?: string; builtin?: boolean }
  | { kind: 'native-type'; module: string; type: string; file?: string; builtin?: boolean }
  | { kind: 'function' | 'class'; module: string; qualname: string; /** A class: false for a C type that names the Python module its own (operator.attrgetter). */ python?: boolean }
  | { kind: 'module'; module: string }
  | { kind: 'instance'; of: RuntimeBinding };

/** One module's answer: each name asked → its binding, or null (not bound at import time, or not describable). */
export interface IntrospectAnswer {
  module: string;
  names: Record<string, RuntimeBinding | null>;
  /** Why the module was not imported (not the standard library's, import failed). */
  reason?: string;
}

export interface IntrospectRecord {
  type: 'introspect';
  id: number | null;
  modules: IntrospectAnswer[];
}

export type HelperRecord = HelloRecord | ModuleRecord | DoneRecord | ErrorRecord | IntrospectRecord | { type: 'info'; id: number | null; python: InterpreterInfo };
