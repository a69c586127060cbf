// The result of bytecodeTracking: per-module facts, call sites with their resolved callees, call-graph edges,
// diagnostics and statistics. Plain JSON-compatible data (the CLI prints it, the language server sends it).

import type { ModuleKind } from './helperRecords';

export type CalleeKind =
  | 'function' // a Python function defined with def/lambda
  | 'method' // a Python function defined in a class body (self.m(), C.m(), obj.m() on a known class)
  | 'class' // calling a class: instantiation (see `init`)
  | 'native' // a callable of an extension or builtin module (C code): symbol resolution takes over
  | 'builtin' // builtins.* (len, print, ...): C code of the interpreter
  | 'ctypes' // a foreign function reached through ctypes: library + symbol
  | 'operator' // a Python operator: a type slot of the left operand's type
  | 'unknown'; // not determined statically; `reason` says why

/** A native callable: the module that implements it and the attribute path inside it. */
export interface NativeRef {
  /** The extension (or builtin/frozen) module, e.g. `numpy.core._multiarray_umath`, `builtins`, `time`. */
  module: string;
  /** Its file (.so); absent for modules compiled into the interpreter. */
  file?: string;
  /** Attribute path in the module: `['dot']`, `['ndarray', '__matmul__']`, `['str', 'join']`. */
  path: string[];
  /** The module is compiled into the interpreter (sys.builtin_module_names). */
  builtin?: boolean;
}

export interface Callee {
  kind: CalleeKind;
  /** The callee as the code names it, aliases expanded: `numpy.linalg.svd`, `pkg.mod.Solver.step`, `builtins.len`. */
  reference: string;
  /** Where it is defined: `numpy.linalg.linalg.svd`, `numpy.core._multiarray_umath.dot`, `libx.so:f`. */
  qualifiedName?: string;
  /** Defining module and its file (Python source, or the extension for native callees). */
  module?: string;
  file?: string;
  /** First line of the definition (Python functions and classes). */
  line?: number;
  native?: NativeRef;
  ctypes?: {
    /** The library as loaded (`libx.so`, a path, or the `name` given to find_library); null when computed at run time. */
    library: string | null;
    symbol: string;
    /** The library was named through ctypes.util.find_library(name): search it the way the linker does. */
    findLibrary?: boolean;
  };
  operator?: {
    /** As written: `@`, `+`, `+=`, ... */
    symbol: string;
    /** The type slot (`nb_matrix_multiply`) and the method (`__matmul__`) of the left operand's type. */
    slot: string;
    dunder: string;
    /** Qualified name of the left operand's type when known (`numpy.ndarray`). */
    leftType?: string;
  };
  /** Decorators of a Python function (qualified where known), innermost first. */
  decorators?: string[];
  /** A Python stub a decorator replaces by this native callable (numpy's array-function wrappers). */
  pythonStub?: { qualifiedName: string; file?: string; line?: number };
  /** For classes: what runs on instantiation (__init__ of the class or a base; a native type's init). */
  init?: Callee;
  /** Qualified names the resolution went through (re-exports, star imports, class bases). */
  via?: string[];
  /** Several values reach the call (conditional assignment, try/except import): all of them, normal path first. */
  candidates?: Callee[];
  /** Why the callee is unknown or only partly resolved. */
  reason?: string;
}

export interface CallSite {
  /** Module name and file of the code containing the call. */
  module: string;
  file: string;
  /** 1-based line; null when the interpreter recorded none. */
  line: number | null;
  /** 0-based column as CPython reports it (a UTF-8 byte offset in the line); null before Python 3.11. */
  column: number | null;
  endLine: number | null;
  endColumn: number | null;
  kind: 'call' | 'operator' | 'decorator';
  /** Qualified name of the enclosing function (`pkg.mod.f`, `pkg.mod.C.m`), class, or `pkg.mod.<module>`. */
  caller: string;
  callee: Callee;
}

export interface CallEdge {
  caller: string;
  /** Qualified name of the callee (its reference when unresolved). */
  callee: string;
  kind: CalleeKind;
  /** Number of call sites behind the edge. */
  count: number;
}

export interface ImportInfo {
  module: string;
  line: number | null;
  scope: 'module' | 'class' | 'function';
  via: 'import' | 'importlib';
  fromlist: string[] | null;
  /** What the imported name was found to be (absent when not looked up: lazy imports not followed). */
  found?: ModuleKind;
}

export interface ModuleInfo {
  name: string;
  kind: ModuleKind;
  file?: string;
  isPackage: boolean;
  /** Requested directly (a file or module given to bytecodeTracking), not reached through imports. */
  root: boolean;
  /** The analysis came from the cache (the file's identity did not change). */
  cached: boolean;
  imports: ImportInfo[];
  /** Modules star-imported at module level (their names are looked up when needed). */
  starImports: string[];
  /** kind 'alias': the real module (os.path → posixpath). */
  target?: string;
  reason?: string;
}

export interface FunctionInfo {
  qualifiedName: string;
  module: string;
  file?: string;
  line: number;
  kind: 'function' | 'method' | 'staticmethod' | 'classmethod' | 'lambda' | 'comprehension' | 'class-body' | 'module';
  decorators: string[];
}

export type DiagnosticCode = 'syntax-error' | 'load-error' | 'missing-module' | 'bad-relative-import' | 'helper-error';

export interface BytecodeDiagnostic {
  severity: 'error' | 'warning' | 'info';
  code: DiagnosticCode;
  message: string;
  module?: string;
  file?: string;
  line?: number | null;
  column?: number | null;
  endLine?: number | null;
  endColumn?: number | null;
}

export interface TrackingStats {
  modules: number;
  pythonModules: number;
  nativeModules: number;
  builtinModules: number;
  missingModules: number;
  /** Python modules whose analysis came from the cache. */
  cachedModules: number;
  codeObjects: number;
  instructions: number;
  callSites: number;
  operatorSites: number;
  /** Sites whose callee has a qualified name (resolved to a definition). */
  resolvedSites: number;
  /** Sites whose callee (or one of its candidates) is native code: extension, builtin or ctypes. */
  nativeSites: number;
  ctypesSites: number;
  unknownSites: number;
  /**
   * Python modules whose function bodies were not simulated by the end of the run (their call sites were not
   * asked for): the call graph simulates them when a walk enters them.
   */
  pendingModules: number;
  /** Python modules whose record came from the on-disk cache (re-simulated; the helper only located them). */
  diskModules: number;
  /** Simulation health (0 when the stack model is exact; see simulate.ts). */
  desync: number;
  effectMismatches: number;
  depthMismatches: number;
  /** introspect: the helper's answers on the standard library's real exports (pygration_introspect.py). */
  seconds: { total: number; helper: number; simulate: number; resolve: number; introspect?: number };
  /** The helper process: requests sent, its peak RSS, and the CPU time it used during this run. */
  helper: { requests: number; maxRssKB: number | null; cpuSeconds: number | null };
}

/**
 * The call graph of a tracking result over its whole import closure, materialised on demand: asking for
 * the sites of a function simulates its module's function bodies (once) and resolves just those sites,
 * with the same resolver as the result's own sites. What it returns equals what the result would hold with
 * `callSitesOf: 'all'`.
 */
export interface CallGraphQuery {
  /** Call sites whose caller is `qualifiedName` (a function, method, class body or `module.<module>`). */
  sitesOf(qualifiedName: string): CallSite[];
  /** Every call site of a module file of the closure, in the order `callSitesOf: 'all'` lists them. */
  sitesOfFile(file: string): CallSite[] | undefined;
  /** Native callees reachable from a Python function (see reachableNative). */
  reachableNative(qualifiedName: string, maxDepth?: number): Callee[];
}

export interface BytecodeTrackingResult {
  python: { executable: string; version: string; magic: string; sysPath: string[] };
  modules: ModuleInfo[];
  functions: FunctionInfo[];
  /** Call sites of the closure (`callSitesOf: 'all'`) or of the requested roots only (`'roots'`). */
  callSites: CallSite[];
  edges: CallEdge[];
  diagnostics: BytecodeDiagnostic[];
  stats: TrackingStats;
  /** The call graph of the whole closure, on demand (a non-enumerable property: JSON leaves it out). */
  readonly graph?: CallGraphQuery;
}
