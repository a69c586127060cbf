// The simulation's types: the module summary it produces (imports, sites, facts for the reachability gate,
// statistics), its input, the abstract interpreter state, and what opcode handlers may see of a simulation.

import type { DecodedCode, Decoder } from '../decode';
import type { CodeEntry, InterpreterInfo } from '../helperRecords';
import type { ClassDef, Expr, FunctionDef } from '../values';
import type { OpTables } from './opcodes';
import type { CallArguments } from './callArguments';
import type { FrameFlow } from './frameFlow';

export interface ImportRecord {
  /** Absolute name of the imported module (`a.b.c` for `import a.b.c`, `pkg.sub` for `from . import x` in pkg.sub). */
  module: string;
  /** The names of `from module import a, b` (null for `import module`); ['*'] for a star import. */
  fromlist: string[] | null;
  level: number;
  /** Where the import statement runs: at import time (module, class) or when a function is called. */
  scope: 'module' | 'class' | 'function';
  via: 'import' | 'importlib';
  line: number;
  code: number;
  /** Set when a relative import climbs above the top-level package. */
  error?: string;
  /** The modules the statement imports: every parent package and the module (`a`, `a.b`, `a.b.c`). */
  targets: string[];
  /** `module.name` for each name of the fromlist: submodules when they exist, attributes otherwise. */
  probes: string[];
}

export type SiteKind = 'call' | 'operator' | 'decorator';

/** A call site as the simulation saw it; callees are still symbolic (resolve.ts names them). */
export interface SiteRecord {
  kind: SiteKind;
  /** Code object (function, class body or module) containing the site. */
  code: number;
  line: number;
  col: number;
  endLine: number;
  endCol: number;
  /** The called value (calls, decorators). */
  callee: Expr;
  /** Operator sites: the symbol ('@', '+', '+=', ...) and both operands. */
  op?: string;
  left?: Expr;
  right?: Expr;
}

export interface StarImport {
  module: string;
  /** Sequence number: bindings made before it carry a smaller starSeq. */
  seq: number;
}

export interface SimulationStats {
  codes: number;
  unreachableCodes: number;
  instructions: number;
  /** Pops from an empty simulated stack or mismatched depths at joins: 0 when the model is exact. */
  desync: number;
  /** Where the first desyncs happened (`qualname@offset opname`), for diagnosis. */
  desyncAt: string[];
  /**
   * Merges of paths arriving with different stack depths. CPython 3.8 enters `finally` bodies with
   * different depths by design (CALL_FINALLY pushes 1 value, BEGIN_FINALLY and exceptions 6; its compiler
   * takes the maximum, and so do we); in 3.9+ this stays 0.
   */
  depthMismatches: number;
  /**
   * Instructions after which the simulated depth differs from the interpreter's dis.stack_effect (checked
   * per instruction; 3.11's PRECALL/CALL split and generator starts are accounted for). 0 when exact.
   */
  effectMismatches: number;
  effectMismatchAt: string[];
  /** Blocks whose loop did not converge within the visit limit (their values were widened). */
  widened: number;
  /** Opcodes handled by the default rule although not classified (future interpreter versions). */
  unclassified: Record<string, number>;
}

/**
 * What the Python-level reachability gate needs of one code object (see server/src/pythonGate.ts), recorded
 * when the code object is simulated.
 */
export interface CodeFacts {
  /** co_name (a class body's is the class name) and the module-relative qualified name. */
  name: string;
  qualname: string;
  line: number;
  /** Index of the code object that contains this one (-1 for module code). */
  parent: number;
  role: 'module' | 'class' | 'function';
  /** co_names: every global, attribute and method name the code uses. */
  names: string[];
  /**
   * The names of `names` whose every use is a global load (LOAD_GLOBAL, LOAD_NAME, LOAD_FROM_DICT_OR_GLOBALS): they
   * fetch from the module's namespace (a class body's first), not an attribute of any object (globalNames.ts).
   */
  globalOnly?: string[];
  /** `from X import a as b` (IMPORT_FROM then a store): [a, b]; a global load of `b` reaches what `a` names. */
  importsFrom?: [string, string][];
  /** A star import: the module's namespace may bind any name to anything. */
  starImport?: true;
  /** co_freevars and co_cellvars. */
  free: string[];
  /** Module and class bodies: short names of the values passed as call arguments (callbacks registered at import time). */
  escapes: string[];
  /** Constant attribute names given to getattr/hasattr/setattr/delattr, attrgetter and methodcaller. */
  reflectNames: string[];
  /**
   * Other string constants that spell an identifier: a call may hand one to code that looks it up (a C extension's
   * `PyObject_CallMethodObjArgs(obj, name)`, a library's own getattr), so they count as names.
   */
  nameStrings: string[];
  /**
   * Reflection that defeats names: the line, what it is, the module it is confined to when the receiver is a known
   * module, and `own` when it hands out the code's own module namespace (globals(), vars() in module code).
   */
  /** `prefix`: the name is a constant prefix joined to a computed rest (`'repr_' + typename`), whatever the receiver. */
  /**
   * `accessor`: the site fetches nothing it hands on, but may run an accessor of any name: 'set' for setattr and
   * delattr (or `__setattr__`, `__delattr__`), a setter; 'get' for hasattr (and a getattr whose result is only
   * tested: resultUses.ts), a getter.
   */
  /** `hook`: a getattr that hands on what it fetched by the name an attribute hook is given (see gateConfine.ts). */
  /** `hookName`: an accessor site given that name (`setattr(self, name, v)` in a `__getattr__`): it computes no name. */
  reflections: { line: number; what: string; module?: string; prefix?: string; own?: true; accessor?: 'get' | 'set'; hook?: true; hookName?: true; package?: string }[];
  /**
   * A module body's `if __name__ == '__main__':` blocks (mainGuard.ts): the used names only they use, and their source
   * lines; they run only when the module is the program.
   */
  mainOnly?: { names: string[]; lines: [number, number][] };
  /** Module code of a root file (SimulationInput.keepFlow): what a live frame of it can still run (frameFlow.ts). */
  flow?: FrameFlow;
}

export interface ModuleSummary {
  name: string;
  file: string;
  isPackage: boolean;
  /** Final module namespace (a union where several bindings reach the end). */
  namespace: Map<string, Expr>;
  /** For each binding, how many star imports had run when it was last bound. */
  bindingStarSeq: Map<string, number>;
  stars: StarImport[];
  /** A literal __all__ (list/tuple of strings), null when absent, 'dynamic' when computed or mutated. */
  all: string[] | null | 'dynamic';
  /** Values functions store into module globals (`global x; x = ...`). */
  globalStores: Map<string, Expr>;
  imports: ImportRecord[];
  /** One entry per reached code object, indexed by code index (module code is 0). */
  defs: (FunctionDef | undefined)[];
  classes: ClassDef[];
  sites: SiteRecord[];
  /** Per simulated code object (by code index): the facts the Python-level reachability gate uses. */
  facts: (CodeFacts | undefined)[];
  stats: SimulationStats;
  /**
   * Whether every reachable code object has been simulated. False while function bodies wait (lazy
   * simulation): `sites`, `imports` of functions, `globalStores`, returns and `self.x` attributes are then
   * those of module code and class bodies only; PendingBodies.complete() adds the rest.
   */
  complete: boolean;
  /** While incomplete: the globals unsimulated function bodies store (`global x; x = ...`), else null. */
  lazyGlobals: Set<string> | null;
}

export interface SimulationInput {
  module: string;
  file: string;
  isPackage: boolean;
  /** Decoded code objects by index; undefined where a split record sent a stub (a function body kept apart). */
  codes: (DecodedCode | undefined)[];
  /** The record's code entries (stubs name the functions whose bodies are not decoded yet). */
  entries?: CodeEntry[];
  /** Globals the bodies kept apart store (ModuleRecord.lazyGlobals). */
  lazyGlobals?: string[];
  /** Some code of the module changes `__all__` in place (ModuleRecord.allMutated). */
  allMutated?: boolean;
  /** A file given by path (the program's): keep its module code's flow facts (CodeFacts.flow). */
  keepFlow?: boolean;
  decoder: Decoder;
  python: InterpreterInfo;
}

export type Block = { setup: true; target: number; stack: Expr[] } | { setup: false };

export interface State {
  stack: Expr[];
  locals: (Expr | undefined)[];
  /** Module/class namespace by co_names index (null in functions). */
  names: (Expr | undefined)[] | null;
  starSeq: number[] | null;
  stars: number;
  /** 3.8-3.10 block stack (SETUP_* handlers), null on 3.11+. */
  blocks: Block[] | null;
  /** KW_NAMES (3.11/3.12) waiting for the next CALL. */
  kwnames: string[] | null;
}

/** What a code object is to the simulation: its definition, whether module, class body or function, and its class. */
export interface CodeRole {
  def: FunctionDef;
  role: 'module' | 'class' | 'function';
  cls: ClassDef | null;
}

/**
 * What the opcode handlers (simulation/*.ts) see of the module simulation (simulate.ts): the code object being
 * simulated and its memo tables, the stack helpers, and the operations shared with the core's hot `step`.
 */
export interface Simulator {
  readonly input: SimulationInput;
  readonly codes: (DecodedCode | undefined)[];
  readonly decoder: Decoder;
  readonly t: OpTables;
  /** The analysed interpreter's minor version (8..13). */
  readonly version: number;
  readonly summary: ModuleSummary;
  /** The code object being simulated: its index, decoded form, role, memo of results, closure cells and sites. */
  readonly codeIdx: number;
  readonly code: DecodedCode | null;
  readonly role: CodeRole | null;
  readonly memo: (unknown[] | undefined)[];
  readonly cells: Map<string, Expr>;
  readonly siteMap: Map<number, SiteRecord>;
  /** Pop, pop `k` and peek at depth `d` of the current stack; an underflow is noted as a desync. */
  readonly popFn: () => Expr;
  readonly popNFn: (k: number) => Expr[];
  readonly peekFn: (d: number) => Expr;
  derefSlot(code: DecodedCode, arg: number): number;
  memoized(memo: (unknown[] | undefined)[], i: number, inputs: unknown[], make: () => Expr): Expr;
  absoluteImport(name: string, level: number): { module: string; error?: string };
  recordImport(idx: number, code: DecodedCode, i: number, role: CodeRole, rec: Omit<ImportRecord, 'scope' | 'line' | 'code' | 'targets' | 'probes'>): void;
  starImport(mod: Expr, st: State, role: CodeRole): void;
  settle(v: Expr): Expr;
  truth(e: Expr): boolean | undefined;
  noteDesync(code: DecodedCode | null, i: number): void;
  adjustStack(stack: Expr[], effect: number, code: DecodedCode, i: number): void;
  /** Name, qualified name and first line of every code object (stubs included), and the role of each simulated one. */
  readonly heads: { name: string; qualname: string | null; firstlineno: number }[];
  readonly roles: (CodeRole | undefined)[];
  /** One value per definition: fresh (just made, not yet stored) functions and classes, and class bodies' classes. */
  readonly freshFunc: Map<FunctionDef, Expr>;
  readonly freshClass: Map<ClassDef, Expr>;
  readonly classOfBody: Map<number, ClassDef>;
  /** The iterable each comprehension's code object (by index) is called with, and module code's calls' arguments. */
  readonly callArgs: CallArguments;
  /** Per instruction of the current code object: the last result and the inputs it was made from. */
  readonly memoOut: (Expr | undefined)[];
  readonly memoA: unknown[];
  quick(e: Expr): Expr;
  site(idx: number, code: DecodedCode, i: number, rec: Omit<SiteRecord, 'code' | 'line' | 'col' | 'endLine' | 'endCol'>, siteMap: Map<number, SiteRecord>): void;
  /** The reachability gate's facts of the current code object, and the reflections recorded there by instruction. */
  readonly facts: CodeFacts | null;
  readonly reflectedAt: Set<string>;
  isBuiltinNamed(e: Expr, name: string): boolean;
  isModuleAttr(e: Expr, module: string, name: string): boolean;
  /** A call at instruction `i` of the current code object had this callee (kept for root files' flow facts). */
  noteCallee(i: number, callee: Expr): void;
  instanceOf(cls: ClassDef): Expr;
}

/** One opcode family's step (simulation/*.ts): returns STEP_* flags. */
export type StepHandler = (sim: Simulator, st: State, i: number, op: number, effect: number) => number;
