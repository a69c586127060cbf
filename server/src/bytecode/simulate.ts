// Paper Algorithm 3, done better: abstract interpretation of the CPython value stack over each code object of
// one module, on its control-flow graph, producing the module summary: bindings, imports, defs, call sites.
// The core: which code objects run in what order (now or lazily) and the hot `step` (its less frequent core
// opcodes in stepLess); the control flow of one code object is simulation/codeFlow.ts, the values and records
// simulation/moduleValues.ts, the less frequent opcodes one handler file per family in simulation/.

import { NativeError } from '../../../native/src';
import type { DecodedCode } from './decode';
import { isLazyStub, type CodeEntry, type CompactCode } from './helperRecords';
import { constStrings, join, NULL, unknown, type Expr, type FunctionDef } from './values';
import { ARG_NAME1, EMPTY_STACK, STEP_DIRTY, STEP_RETURN, UNKNOWN_UNBOUND_CELL, UNKNOWN_UNBOUND_LOCAL } from './simulation/common';
import { CodeFlow } from './simulation/codeFlow';
import { H } from './simulation/opcodes';
import { constIteration } from './simulation/operators';
import type { ModuleSummary, SimulationInput, State, Simulator, StepHandler } from './simulation/types';
import { stepImport, IMPORTS_OPS } from './simulation/imports';
import { stepLoad, LOADS_OPS } from './simulation/loads';
import { stepStore, STORES_OPS } from './simulation/stores';
import { stepStack, STACK_OPS } from './simulation/stack';
import { simulateCall, stepCall, CALLS_OPS } from './simulation/calls';
import { binaryOp, stepOperator, OPERATORS_OPS } from './simulation/operators';
import { stepBlock, BLOCKS_OPS } from './simulation/blocks';
import { escapedReflection } from './simulation/gateFacts';
import { classBindsAttribute, FORMAT_METHODS } from './simulation/attributeCalls';
import { frameFlow, keepsFlow } from './simulation/frameFlow';

export type { CodeFacts, ImportRecord, ModuleSummary, SimulationInput, SimulationStats, SiteKind, SiteRecord, StarImport } from './simulation/types';
export { shortName } from './simulation/common';

/** Simulates every reachable code object of one module and returns its summary. */
export function simulateModule(input: SimulationInput): ModuleSummary {
  return new ModuleSimulation(input).run(true);
}

/**
 * Simulates module code and class bodies now (what imports, bindings and class members come from) and keeps
 * the function bodies for later: `pending` completes the summary on demand (null when nothing waits).
 * `bodies` is the JSON text of the bodies a split record sent apart (ModuleRecord.lazyCodes).
 */
export function simulateModuleLazily(input: SimulationInput, bodies: string | undefined): { summary: ModuleSummary; pending: PendingBodies | null } {
  const sim = new ModuleSimulation(input);
  const summary = sim.run(false);
  if (summary.complete) return { summary, pending: null };
  return { summary, pending: new PendingBodies(sim, bodies ?? null) };
}

/** The function bodies of one module whose simulation waits until something needs them. */
export class PendingBodies {
  /** Why completing failed (malformed or unreadable bodies); the summary then stays as module code and classes left it. */
  error: string | null = null;
  /** Where the bodies are when not in memory (the disk cache). */
  private read: (() => string) | null = null;

  constructor(
    private sim: ModuleSimulation | null,
    private text: string | null,
  ) {}

  get pending(): boolean {
    return this.sim !== null;
  }

  /** The bodies can be read back from elsewhere (they were written to disk): the text leaves memory. */
  moveTo(read: () => string): void {
    if (!this.sim) return;
    this.read = read;
    this.text = null;
  }

  /** Simulates the remaining function bodies, once; the summary object is completed in place. */
  complete(): void {
    const sim = this.sim;
    if (!sim) return;
    this.sim = null;
    try {
      const text = this.text ?? (this.read ? this.read() : null);
      this.text = null;
      this.read = null;
      sim.complete(text === null ? null : (JSON.parse(text) as CompactCode[]));
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
      sim.abandon();
    }
  }
}


/** The core opcodes ModuleSimulation.stepLess handles, apart from the hot `step`. */
const LESS_OPS: readonly H[] = [H.LoadDeref, H.LoadMethod, H.ImportFrom, H.RotTwo, H.DupTop, H.Swap, H.KwNames];

/** The step of each handler id outside the hot `step`: its opcode family's, the block family's default rule otherwise. */
const FAMILY_STEP: StepHandler[] = (() => {
  const out = new Array<StepHandler>(256).fill(stepBlock);
  const families: [StepHandler, readonly H[]][] = [
    [(sim, st, i, op) => (sim as ModuleSimulation).stepLess(st, i, op), LESS_OPS],
    [stepLoad, LOADS_OPS],
    [stepImport, IMPORTS_OPS],
    [stepStore, STORES_OPS],
    [stepStack, STACK_OPS],
    [stepCall, CALLS_OPS],
    [stepOperator, OPERATORS_OPS],
    [stepBlock, BLOCKS_OPS],
  ];
  for (const [step, ops] of families) for (const h of ops) out[h] = step;
  return out;
})();

class ModuleSimulation extends CodeFlow implements Simulator {
  /** Indexes of the code objects sent apart (stubs), ascending. */
  private lazyIndexes: number[];

  /** Code objects simulated so far. */
  private readonly done: Uint8Array;

  /** A run that left function bodies for later happened (their order is restored when they are done). */
  private partial = false;

  constructor(input: SimulationInput) {
    super(input);
    const n = input.codes.length;
    this.lazyIndexes = [];
    for (let i = 0; i < n; i++) {
      const c = input.codes[i];
      const e = input.entries?.[i];
      if (c) {
        this.noteChildren(c);
        this.heads[i] = c.raw;
      } else if (e) {
        this.heads[i] = e;
        if (isLazyStub(e)) this.lazyIndexes.push(i);
      } else throw new NativeError('malformed', `Code object ${i} of ${input.module} is missing.`);
    }
    this.done = new Uint8Array(n);
  }

  /** Root files' module code and functions (SimulationInput.keepFlow): calls' callees, values bound (frameFlow.ts). */
  private readonly flowNotes = { callees: new Map<number, Expr>(), stored: [] as Array<{ name: string; value: Expr }> };

  noteCallee(i: number, callee: Expr): void {
    if (this.input.keepFlow) this.flowNotes.callees.set(i, callee);
  }

  protected codeDone(code: DecodedCode): void {
    escapedReflection(this, this.decoder, code);
    if (this.input.keepFlow && this.facts && keepsFlow(this.roles[code.index]?.role, code)) this.facts.flow = frameFlow(this.decoder, this.t, code, this.flowNotes);
    this.flowNotes.callees.clear();
    this.flowNotes.stored = [];
    if (code.index === 0 && this.roles[0]?.role === 'module') this.callArgs.moduleCodeDone(this.decoder, code);
  }

  /** Records the code objects `c` creates (its code constants) as its children. */
  private noteChildren(c: DecodedCode): void {
    const n = this.codes.length;
    for (const k of c.consts) if (k !== null && typeof k === 'object' && 'code' in k && k.code >= 0 && k.code < n) this.parentOf[k.code] = c.index;
  }

  /**
   * Simulates the reachable code objects not simulated yet, parents before children (a child's role —
   * method, class body, decorators — is known once its parent ran), breadth first from module code. With
   * `functions` false, function bodies wait (and so does everything defined inside them).
   */
  run(functions: boolean): ModuleSummary {
    const n = this.codes.length;
    if (n === 0) {
      this.summary.complete = true;
      return this.summary;
    }
    if (!this.roles[0]) {
      const moduleDef: FunctionDef = { module: this.input.module, qualname: '<module>', code: 0, line: 1, kind: 'module', cls: null, decorators: [], returns: undefined, parent: -1 };
      this.roles[0] = { def: moduleDef, role: 'module', cls: null };
      this.summary.defs[0] = moduleDef;
    }
    const children: number[][] = [];
    for (let j = 0; j < n; j++) children.push([]);
    for (let j = 0; j < n; j++) if (this.parentOf[j] >= 0) children[this.parentOf[j]].push(j);
    // The breadth-first order is replayed from the start each time, so code simulated later takes the place
    // it has in a run that simulates everything at once.
    const rank = new Int32Array(n).fill(-1);
    const seen = new Uint8Array(n);
    const queue = [0];
    let waiting = false;
    let r = 0;
    for (let q = 0; q < queue.length; q++) {
      const idx = queue[q];
      if (seen[idx]) continue;
      seen[idx] = 1;
      if (!this.done[idx]) {
        if ((!functions && this.roles[idx]!.role === 'function') || !this.codes[idx]) {
          waiting = true;
          continue;
        }
        this.done[idx] = 1;
        this.simulateCode(idx);
      }
      rank[idx] = r++;
      for (const j of children[idx]) if (this.roles[j] && !seen[j]) queue.push(j);
    }
    if (waiting) {
      this.partial = true;
      this.release();
      return this.summary;
    }
    const summary = this.summary;
    summary.complete = true;
    summary.lazyGlobals = null;
    for (let j = 0; j < n; j++) if (!this.done[j]) summary.stats.unreachableCodes++;
    if (this.partial) {
      // Code objects simulated early (module code, class bodies) recorded their sites and imports first:
      // restore the order of a run that simulates everything at once (stable sort by code order).
      summary.sites.sort((a, b) => rank[a.code] - rank[b.code]);
      summary.imports.sort((a, b) => rank[a.code] - rank[b.code]);
      summary.classes.sort((a, b) => rank[this.parentOf[a.code]] - rank[this.parentOf[b.code]]);
    }
    this.release();
    return summary;
  }

  /** Adds the function bodies sent apart (in index order) and simulates everything that waited for them. */
  complete(bodies: CompactCode[] | null): void {
    if (!bodies && this.lazyIndexes.length) throw new NativeError('io', `The function bodies of ${this.input.module} are unavailable.`);
    if (bodies) {
      if (bodies.length !== this.lazyIndexes.length) throw new NativeError('malformed', `${this.input.module}: ${bodies.length} function bodies for ${this.lazyIndexes.length} stubs.`);
      const entries = new Array<CodeEntry | undefined>(this.codes.length);
      this.lazyIndexes.forEach((i, k) => (entries[i] = bodies[k]));
      const decoded = this.decoder.decodeEntries(entries, this.lazyIndexes);
      for (const i of this.lazyIndexes) {
        const c = decoded[i]!;
        this.codes[i] = c;
        this.heads[i] = c.raw;
      }
      for (const i of this.lazyIndexes) this.noteChildren(this.codes[i]!);
    }
    this.lazyIndexes = [];
    this.run(true);
    this.codes = [];
    this.heads = [];
  }

  /** Gives up on the waiting bodies: the summary stays what module code and class bodies made it. */
  abandon(): void {
    this.summary.complete = true;
    this.summary.lazyGlobals = null;
    this.codes = [];
    this.heads = [];
  }

  /** Drops what the simulated code objects no longer need (their decoded instructions, per-code memos). */
  private release(): void {
    for (let j = 0; j < this.codes.length; j++) if (this.done[j]) this.codes[j] = undefined;
    this.memo = [];
    this.memoOut = [];
    this.memoA = [];
    this.siteMap = new Map();
    this.code = null;
    this.curCode = null;
    this.curStack = [];
  }

  private curCode: DecodedCode | null = null;

  private curI = 0;

  private curStack: Expr[] = [];

  readonly popFn = (): Expr => {
    const v = this.curStack.pop();
    if (v === undefined) {
      this.noteDesync(this.curCode, this.curI);
      return unknown('empty stack');
    }
    return v;
  };

  readonly popNFn = (k: number): Expr[] => {
    const out = new Array<Expr>(k);
    for (let j = k - 1; j >= 0; j--) out[j] = this.popFn();
    return out;
  };

  readonly peekFn = (d: number): Expr => this.curStack[this.curStack.length - d] ?? unknown('empty stack');

  /**
   * The hot dispatch: the opcodes most instructions are, inline; the less frequent core opcodes (stepLess) and
   * the opcode families (simulation/*.ts) behind one call through FAMILY_STEP.
   */
  protected step(st: State, i: number, op: number, effect: number): number {
    const stack = st.stack;
    const code = this.code!;
    const arg = code.arg[i];
    switch (this.t.handler[op] as H) {
      case H.LoadConst:
        stack.push(this.memoOut[i] ?? this.constAt(code, arg, i));
        return 0;
      case H.ReturnConst: {
        const role = this.role!;
        if (role.role === 'function') role.def.returns = join(role.def.returns, this.memoized(this.memo, i, [], () => ({ k: 'const', value: code.consts[arg] })));
        return STEP_RETURN;
      }
      case H.ReturnValue: {
        const val = stack.pop() ?? this.underflow(code, i);
        if (this.role!.role === 'function') this.role!.def.returns = join(this.role!.def.returns, this.settle(val));
        return STEP_RETURN;
      }
      case H.LoadName:
        stack.push(this.loadName(st, arg, code.names[arg], this.role!, this.memo, i));
        return 0;
      case H.LoadGlobal:
        this.loadGlobal(st, code, op, arg, i);
        return 0;
      case H.LoadFast:
        stack.push(st.locals[arg] ?? UNKNOWN_UNBOUND_LOCAL);
        return 0;
      case H.LoadAttr: {
        const shifted = this.t.argKind[op] === ARG_NAME1;
        const obj = stack.pop() ?? this.underflow(code, i);
        stack.push(this.attrLoad(i, obj, code.names[shifted ? arg >> 1 : arg]));
        if (shifted && (arg & 1) === 1) stack.push(this.memoSelf(code.n + i, obj));
        return 0;
      }
      case H.StoreName:
        this.storeName(st, code, arg, i);
        return STEP_DIRTY;
      case H.StoreFast:
        st.locals[arg] = this.settle(stack.pop() ?? this.underflow(code, i));
        return STEP_DIRTY;
      case H.PopTop:
        if (stack.pop() === undefined) this.underflow(code, i);
        return 0;
      case H.Copy:
        stack.push(stack[stack.length - arg] ?? this.underflow(code, i));
        return 0;
      case H.PushNull:
        stack.push(NULL);
        return 0;
      case H.Precall:
        return 0;
      case H.CallFunction:
        this.callAt(st, code, i, arg, 1, null);
        return 0;
      case H.CallMethod:
      case H.Call: {
        const kw = st.kwnames;
        st.kwnames = null;
        this.callAt(st, code, i, arg, 2, kw);
        return 0;
      }
      case H.BinaryOp: {
        const right = stack.pop() ?? this.underflow(code, i);
        const left = stack.pop() ?? this.underflow(code, i);
        stack.push(binaryOp(this, this.codeIdx, code, i, this.decoder.model.nbOps?.[arg] ?? `op${arg}`, left, right, this.memo, this.siteMap));
        return 0;
      }
      case H.Pushes: {
        const pushes = this.t.fixed[op];
        const pops = pushes - effect;
        if (stack.length < pops) this.noteDesync(code, i);
        const u = (pushes === 1 ? constIteration(this, this.t.names[op], i, stack, pops, arg) : undefined) ?? this.t.result[op]!;
        for (let k = 0; k < pops; k++) stack.pop();
        for (let k = 0; k < pushes; k++) stack.push(u);
        return 0;
      }
      default:
        return this.stepOther(st, i, op, effect);
    }
  }

  /**
   * The attribute `name` of `obj` loaded at `i` (LOAD_ATTR, LOAD_METHOD). A load of `format`/`format_map` notes whether
   * it is an attribute the object's class binds (at every visit, or it counts as str's method), for escapedReflection's
   * count of kept str.format loads.
   */
  private attrLoad(i: number, obj: Expr, name: string): Expr {
    if (FORMAT_METHODS.has(name)) this.reflectedAt.add(`${classBindsAttribute(obj, name) ? 'fmtown' : 'fmtany'}:${name}:${i}`);
    return this.memoAttr(i, obj, name);
  }

  /** LOAD_CONST's value the first time the instruction runs in this code object (then memoOut holds it). */
  private constAt(code: DecodedCode, arg: number, i: number): Expr {
    const c = code.consts[arg];
    const e: Expr = c !== null && typeof c === 'object' && 'code' in c ? { k: 'code', index: c.code } : { k: 'const', value: c };
    this.memoOut[i] = e;
    return e;
  }

  /** LOAD_GLOBAL: a module's own binding in module code, the global otherwise; with its NULL (3.11+), before or after. */
  private loadGlobal(st: State, code: DecodedCode, op: number, arg: number, i: number): void {
    const stack = st.stack;
    const shifted = this.t.argKind[op] === ARG_NAME1;
    const name = code.names[shifted ? arg >> 1 : arg];
    const withNull = shifted && (arg & 1) === 1;
    const val = this.role!.role === 'module' && st.names ? this.loadName(st, code.names.indexOf(name), name, this.role!, this.memo, i) : this.globalExpr(name);
    if (withNull && this.version < 13) stack.push(NULL);
    stack.push(val);
    if (withNull && this.version >= 13) stack.push(NULL);
  }

  /** STORE_NAME: binds the name in module and class code (and notes a dynamic `__all__`). */
  private storeName(st: State, code: DecodedCode, arg: number, i: number): void {
    const val = this.settle(st.stack.pop() ?? this.underflow(code, i));
    if (this.input.keepFlow) this.flowNotes.stored.push({ name: code.names[arg], value: val });
    if (st.names) {
      st.names[arg] = val;
      st.starSeq![arg] = st.stars;
      if (code.names[arg] === '__all__' && this.role!.role === 'module' && val.k !== 'const') this.summary.all = 'dynamic';
    }
  }

  /** A call of `arg` arguments with `head` values below them (the callable, and self or NULL for 3.11+). */
  private callAt(st: State, code: DecodedCode, i: number, arg: number, head: number, kw: string[] | null): void {
    this.curStack = st.stack;
    this.curCode = code;
    this.curI = i;
    simulateCall(this, this.codeIdx, code, this.role!, st, i, this.popNFn(arg + head), head, arg, kw, false, this.memo, this.siteMap);
  }

  /**
   * The core opcodes less frequent than step's (below about 1 % of simulated instructions, or only in a few
   * versions): reached through FAMILY_STEP (LESS_OPS), like the opcode families.
   */
  stepLess(st: State, i: number, op: number): number {
    const stack = st.stack;
    const code = this.code!;
    const arg = code.arg[i];
    switch (this.t.handler[op] as H) {
      case H.LoadDeref:
        stack.push(st.locals[this.derefSlot(code, arg)] ?? UNKNOWN_UNBOUND_CELL);
        return 0;
      case H.LoadMethod: {
        const obj = stack.pop() ?? this.underflow(code, i);
        stack.push(this.attrLoad(i, obj, code.names[arg]), this.memoSelf(code.n + i, obj));
        return 0;
      }
      case H.ImportFrom:
        stack.push(this.memoAttr(i, stack[stack.length - 1] ?? this.underflow(code, i), code.names[arg]));
        return 0;
      case H.RotTwo: {
        const n = stack.length;
        if (n < 2) {
          this.noteDesync(code, i);
          return 0;
        }
        const a = stack[n - 1];
        stack[n - 1] = stack[n - 2];
        stack[n - 2] = a;
        return 0;
      }
      case H.DupTop:
        stack.push(stack[stack.length - 1] ?? this.underflow(code, i));
        return 0;
      case H.Swap: {
        const k = stack.length - arg;
        if (k < 0) {
          this.noteDesync(code, i);
          return 0;
        }
        const top = stack[stack.length - 1];
        stack[stack.length - 1] = stack[k];
        stack[k] = top;
        return 0;
      }
      case H.KwNames:
        st.kwnames = constStrings(code.consts[arg]) ?? null;
        return 0;
      default:
        return 0; // Not one of LESS_OPS (FAMILY_STEP sends none).
    }
  }

  /** Notes a pop from an empty simulated stack and stands in an unknown value. */
  private underflow(code: DecodedCode, i: number): Expr {
    this.noteDesync(code, i);
    return EMPTY_STACK;
  }

  /** The less frequent opcodes, one handler per opcode family (kept apart so the hot `step` stays small). */
  private stepOther(st: State, i: number, op: number, effect: number): number {
    this.curCode = this.code;
    this.curI = i;
    this.curStack = st.stack;
    return FAMILY_STEP[this.t.handler[op]](this, st, i, op, effect);
  }
}
