// The inputs and the answer of Python-level reachability (pythonGate.ts): the roots it starts from, what the process
// says of itself (live frames, sys.modules, names C code looks up), and what reachable code can call.

/** A code object given as a root: its file and qualified name (co_qualname), e.g. a live frame's. */
export interface RootCode {
  file: string;
  qualname: string;
  /** The current instructions (byte offsets, f_lasti) of its live frames; what ran before them does not run again. */
  lastis?: number[];
}

export interface PythonReachability {
  /** Names reachable code uses (or C code looks up), each with the first reason found. */
  names: Map<string, string>;
  /** Extension modules (file paths) whose every entry stays a root: reflection confined to them. */
  modules: Map<string, string>;
  /** Extension modules (file paths) whose entries with these name prefixes stay roots (`'openssl_' + name`). */
  prefixes: Map<string, { prefix: string; reason: string }[]>;
  /** Name prefixes whose entries stay roots in every module (`getattr(self, 'repr_' + name)`), with why. */
  namePrefixes: Map<string, string>;
  /** Set (to why) when reachable code sets or deletes (tests) attributes by computed names: getset setters (getters) stay. */
  setters?: string;
  getters?: string;
  /** Set when reflection (or missing facts) forces the strict policy: why, with file:line. */
  strictReason?: string;
  notes: string[];
  /** liveModules: imported at start-up or by reachable code (their functions can run); startupModules: the former. */
  stats: { modules: number; codeObjects: number; reachable: number; names: number; seconds: number; liveModules: number; startupModules: number };
  /**
   * Modules reachable code imports (inside functions) that the tracking result does not hold: track them too
   * (bytecodeTracking with them as `modules`) and run again, until none is missing.
   */
  missing: string[];
  /**
   * Reflection sites in reachable code that defeat names (`what at file:line`), the nearest to the roots first: every
   * one with `exhaustive`, else those no further from the roots than the nearest.
   */
  reflections: string[];
  /** Why each reachable code object (`module:qualname`) is reachable. */
  whyCode: Map<string, string>;
  /**
   * Per program file and code (its module code, or a top-level function nothing can call anew) with a live frame: the
   * source lines and `line:column` positions of that code which cannot run again (before the frame's instruction, out
   * of its loop). The call sites there are done: their resolved natives are no roots (gateFrames.ts).
   */
  ranOnly?: Array<{ file: string; qualname?: string; lines: number[]; positions: string[] }>;
}

export interface ReachabilityOptions {
  /** The program's own files: every code object of them is a root (module body included). */
  files: string[];
  /**
   * The files whose start-up imports ran (their import closure through module and class level imports is
   * taken as imported); default `files`. Give the program's files here and `files: []` when the live frames
   * (`rootCodes`) stand for what can still run.
   */
  startupFiles?: string[];
  /** More root code objects (the live frames of every thread). */
  rootCodes?: RootCode[];
  /**
   * The names in the process's sys.modules, when read from its memory: the modules whose bodies ran are these (a module
   * the program's imports name but the process never imported, like `_py_abc` behind `_abc`, is not one). Without it,
   * the start-up imports are what the program's imports name.
   */
  liveModules?: ReadonlySet<string>;
  /** Names C code can look up on objects (cCallableNames): Python functions of those names stay reachable. */
  cNames?: ReadonlyMap<string, string>;
  /**
   * Close over everything even after reflection forced the fallback, to list every site (eval/gate-sites.mjs). By
   * default the closure stops going further from the roots than the nearest site found: the fallback stands whatever
   * else is reachable, and the closure of a large program costs most of a second.
   */
  exhaustive?: boolean;
}
