// Paper Algorithm 3, done better: abstract interpretation of the CPython value stack over each code object of
// one module, on its control-flow graph, producing the module summary: bindings, imports, defs, call sites.

// Joins at merges, exception edges, and infeasible TYPE_CHECKING / version / platform branches pruned.

import { NativeError } from '../../../native/src';
import type { DecodedCode, Decoder } from './decode';
import { NONE } from './decode';
import { isLazyStub, type CodeEntry, type CompactCode } from './protocol';
import {
  alternatives,
  constStrings,
  constTruth,
  join,
  NULL,
  unknown,
  type ClassDef,
  type Expr,
  type FunctionDef,
} from './values';
import {
  adjust,
  ARG_NAME1,
  EMPTY_STACK,
  EXCEPT_BLOCK,
  identifierConstants,
  STEP_DIRTY,
  STEP_RETURN,
  UNKNOWN_BELOW_HANDLER,
  UNKNOWN_EXCEPTION,
  UNKNOWN_LASTI,
  UNKNOWN_UNBOUND_CELL,
  UNKNOWN_UNBOUND_LOCAL,
  UNKNOWN_VALUE,
} from './simulation/common';
import { H, opTables, type OpTables } from './simulation/opcodes';
import type { CodeFacts, CodeRole, ImportRecord, ModuleSummary, SimulationInput, SiteRecord, State, Simulator, StepHandler } from './simulation/types';
import { stepImport, IMPORTS_OPS } from './simulation/imports';
import { stepLoad, LOADS_OPS } from './simulation/loads';
import { stepStore, STORES_OPS } from './simulation/stores';
import { stepStack, STACK_OPS } from './simulation/stack';
import { simulateCall, stepCall, CALLS_OPS } from './simulation/calls';
import { escapedReflection, firstLineUsing, usedNames } from './simulation/gateFacts';
import { binaryOp, stepOperator, OPERATORS_OPS } from './simulation/operators';
import { stepBlock, BLOCKS_OPS } from './simulation/blocks';

export type { CodeFacts, ImportRecord, ModuleSummary, SimulationInput, SimulationStats, SiteKind, SiteRecord, StarImport } from './simulation/types';
export { shortName } from './simulation/common';

const VISIT_LIMIT = 24;

/** Zeroed typed arrays reused across code objects (simulateCode is not re-entrant). */
const scratch = {
  pool: new Map<string, Uint8Array | Int32Array>(),
  u8(name: string, n: number): Uint8Array {
    let a = this.pool.get(name) as Uint8Array | undefined;
    if (!a || a.length < n) {
      a = new Uint8Array(Math.max(n, 1024, a ? a.length * 2 : 0));
      this.pool.set(name, a);
    }
    const v = a.subarray(0, n);
    v.fill(0);
    return v;
  },
  i32(name: string, n: number): Int32Array {
    let a = this.pool.get(name) as Int32Array | undefined;
    if (!a || a.length < n) {
      a = new Int32Array(Math.max(n, 1024, a ? a.length * 2 : 0));
      this.pool.set(name, a);
    }
    const v = a.subarray(0, n);
    v.fill(0);
    return v;
  },
};



/** Joins the namespace of a state into the final one (module and class bodies that return in several places). */
function joinNames(finalNames: (Expr | undefined)[], finalStarSeq: number[], st: State): void {
  for (let k = 0; k < finalNames.length; k++) {
    finalNames[k] = join(finalNames[k], st.names![k]);
    if (st.starSeq![k] > finalStarSeq[k]) finalStarSeq[k] = st.starSeq![k];
  }
}

function cloneState(s: State): State {
  return {
    stack: s.stack.slice(),
    locals: s.locals.slice(),
    names: s.names ? s.names.slice() : null,
    starSeq: s.starSeq ? s.starSeq.slice() : null,
    stars: s.stars,
    blocks: s.blocks ? s.blocks.slice() : null,
    kwnames: s.kwnames,
  };
}

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


/** The step of each handler id outside the hot `step`: its opcode family's, the block family's default rule otherwise. */
const FAMILY_STEP: StepHandler[] = (() => {
  const out = new Array<StepHandler>(256).fill(stepBlock);
  const families: [StepHandler, readonly H[]][] = [
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

class ModuleSimulation implements Simulator {
  codes: (DecodedCode | undefined)[];
  /** Name, qualified name and first line of every code object (stubs included). */
  heads: { name: string; qualname: string | null; firstlineno: number }[];
  /** Indexes of the code objects sent apart (stubs), ascending. */
  private lazyIndexes: number[];
  readonly decoder: Decoder;
  readonly t: OpTables;
  readonly version: number; // minor version: 8..13
  readonly summary: ModuleSummary;
  private readonly parentOf: Int32Array;
  readonly roles: (CodeRole | undefined)[];
  /** Code objects simulated so far. */
  private readonly done: Uint8Array;
  /** A run that left function bodies for later happened (their order is restored when they are done). */
  private partial = false;
  readonly classOfBody = new Map<number, ClassDef>();
  private readonly cellSummaries = new Map<number, Map<string, Expr>>();
  private readonly instances = new Map<ClassDef, Expr>();
  private readonly funcExprs = new Map<FunctionDef, Expr>();
  private readonly classExprs = new Map<ClassDef, Expr>();
  readonly freshFunc = new Map<FunctionDef, Expr>();
  readonly freshClass = new Map<ClassDef, Expr>();
  private readonly packageName: string;
  private readonly builtins: Set<string>;
  private current = '';

  constructor(readonly input: SimulationInput) {
    this.codes = input.codes;
    this.decoder = input.decoder;
    this.t = opTables(input.decoder);
    this.version = input.python.version[1];
    this.builtins = new Set(input.python.builtins);
    this.packageName = input.isPackage ? input.module : input.module.includes('.') ? input.module.slice(0, input.module.lastIndexOf('.')) : '';
    this.summary = {
      name: input.module,
      file: input.file,
      isPackage: input.isPackage,
      namespace: new Map(),
      bindingStarSeq: new Map(),
      stars: [],
      all: null,
      globalStores: new Map(),
      imports: [],
      defs: new Array(input.codes.length),
      classes: [],
      sites: [],
      facts: new Array(input.codes.length),
      stats: { codes: 0, unreachableCodes: 0, instructions: 0, desync: 0, desyncAt: [], depthMismatches: 0, effectMismatches: 0, effectMismatchAt: [], widened: 0, unclassified: {} },
      complete: false,
      lazyGlobals: input.lazyGlobals && input.lazyGlobals.length ? new Set(input.lazyGlobals) : null,
    };
    const n = input.codes.length;
    this.parentOf = new Int32Array(n).fill(-1);
    this.heads = new Array(n);
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
    this.roles = new Array(n);
    this.done = new Uint8Array(n);
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

  // ----------------------------------------------------------------------------------------------------
  // One code object.

  // Control-flow state of the code object being simulated (simulateCode is not re-entrant). Kept in fields
  // and handled by small methods, so the hot loop stays small for the JavaScript engine to optimise.
  private starts: number[] = [];
  private blockOf: Int32Array = new Int32Array(0);
  private preds: Uint8Array = new Uint8Array(0);
  private visits: Uint8Array = new Uint8Array(0);
  private queued: Uint8Array = new Uint8Array(0);
  private excAt: Int32Array = new Int32Array(0);
  private entry: (State | undefined)[] = [];
  private worklist: number[] = [];
  private readonly handlerState: State = { stack: [], locals: [], names: null, starSeq: null, stars: 0, blocks: null, kwnames: null };

  /** The facts of the code object being simulated. */
  facts: CodeFacts | null = null;
  /** Reflection already recorded in the current code object, by instruction (a loop revisits sites). */
  reflectedAt = new Set<string>();




  private simulateCode(idx: number): void {
    const code = this.codes[idx]!;
    const role = this.roles[idx]!;
    const t = this.t;
    const stats = this.summary.stats;
    this.current = code.raw.qualname ?? code.raw.name;
    stats.codes++;
    this.facts = {
      name: code.raw.name,
      qualname: role.def.qualname,
      line: code.raw.firstlineno,
      parent: this.parentOf[idx],
      role: role.role,
      names: usedNames(this.decoder, code),
      free: [...code.raw.freevars, ...code.raw.cellvars],
      escapes: [],
      reflectNames: [],
      strings: identifierConstants(code.raw.consts),
      reflections: [],
    };
    this.summary.facts[idx] = this.facts;
    if (code.raw.names.includes('__dict__')) this.facts.reflections.push({ line: firstLineUsing(this.decoder, code, '__dict__'), what: '`__dict__` access' });
    const n = code.n;
    if (n === 0) return;
    const nb = this.buildBlocks(code);
    const starts = this.starts;
    const blockOf = this.blockOf;
    const preds = this.preds;
    const entry = this.entry;
    const visits = this.visits;
    const queued = this.queued;
    const excAt = this.excAt;
    // Per-instruction memo of created values (second half: a second value of the same instruction), so a
    // revisited loop body recreates identical objects and the fixpoint is reached by identity.
    const memo: (unknown[] | undefined)[] = new Array(2 * n);
    this.memoOut = new Array(2 * n);
    this.memoA = new Array(2 * n);
    this.siteMap = new Map();
    this.reflectedAt = new Set();
    const locals = this.initialLocals(idx, code, role);
    const isNamespace = role.role !== 'function';
    entry[0] = {
      stack: [],
      locals,
      names: isNamespace ? new Array(code.names.length) : null,
      starSeq: isNamespace ? new Array(code.names.length).fill(0) : null,
      stars: 0,
      blocks: this.version <= 10 ? [] : null,
      kwnames: null,
    };
    let finalNames: (Expr | undefined)[] | null = null;
    let finalStarSeq: number[] | null = null;
    const cells = new Map<string, Expr>();
    // Cell variables of this code start with their parameter value (or the enclosing value for free vars).
    for (let s = 0; s < locals.length; s++) {
      const v = locals[s];
      if (v !== undefined) {
        const name = this.slotName(code, s);
        if (name !== undefined && (code.raw.cellvars.includes(name) || code.raw.freevars.includes(name))) cells.set(name, join(cells.get(name), v)!);
      }
    }
    this.cellSummaries.set(idx, cells);
    this.codeIdx = idx;
    this.code = code;
    this.role = role;
    this.memo = memo;
    this.cells = cells;
    const worklist = this.worklist;
    worklist.length = 0;
    worklist.push(0);
    queued[0] = 1;
    const hasHandlers = code.exceptions.length > 0 || this.version <= 10;
    while (worklist.length) {
      // Lowest block first: forward code converges in one pass.
      let pick = 0;
      for (let w = 1; w < worklist.length; w++) if (worklist[w] < worklist[pick]) pick = w;
      const b = worklist[pick];
      worklist[pick] = worklist[worklist.length - 1];
      worklist.pop();
      queued[b] = 0;
      visits[b]++;
      const st = preds[b] <= 1 ? entry[b]! : cloneState(entry[b]!);
      const end = b + 1 < nb ? starts[b + 1] : n;
      let dirty = true;
      let fallthrough = true;
      let lastHandler = -2;
      let pendingEffect = 0;
      for (let i = starts[b]; i < end; i++) {
        stats.instructions++;
        const op = code.op[i];
        if (hasHandlers) {
          const handlerKey = code.exceptions.length ? excAt[i] : st.blocks && st.blocks.length ? st.blocks.length : -1;
          if (handlerKey !== -1 && (dirty || handlerKey !== lastHandler)) this.propagateException(code, st, i);
          dirty = false;
          lastHandler = handlerKey;
        }
        const isJump = t.isJump[op] === 1 && code.target[i] >= 0;
        const pre = isJump ? st.stack.slice() : null;
        const effect = code.effect[i];
        const before = st.stack.length;
        const desyncBefore = stats.desync;
        const r = this.step(st, i, op, effect === NONE ? 0 : effect);
        // Our pops/pushes must agree with the interpreter's stack effect (PRECALL's share is paid by CALL in
        // 3.11; generator starts push the sent value the compiler does not count).
        if (effect !== NONE) {
          const h = t.handler[op] as H;
          if (h === H.Precall) pendingEffect += effect;
          else if (h !== H.ReturnGenerator && h !== H.GenStart && stats.desync === desyncBefore) {
            const expected = before + effect + (h === H.Call ? pendingEffect : 0);
            if (h === H.Call) pendingEffect = 0;
            if (st.stack.length !== expected && Math.max(0, expected) !== st.stack.length) this.noteEffectMismatch(code, i, op, st.stack.length - before, effect);
          }
        }
        if (r & STEP_DIRTY) dirty = true;
        if (r & STEP_RETURN) {
          if (isNamespace && st.names) {
            if (!finalNames) {
              finalNames = st.names.slice();
              finalStarSeq = st.starSeq!.slice();
            } else joinNames(finalNames, finalStarSeq!, st);
          }
        }
        if (isJump) {
          if (t.setup[op]) {
            // The target is an exception handler: entered with the setup-time stack plus the handler's values.
            const je = code.jumpEffect[i];
            const hs = adjust(pre!, je === NONE ? 0 : je, UNKNOWN_EXCEPTION);
            if (st.blocks) st.blocks.push({ setup: true, target: code.target[i], stack: hs });
            dirty = true;
            continue;
          }
          const feasible = this.branchFeasibility(t.names[op]!, pre!);
          const je = code.jumpEffect[i];
          if (feasible !== 'fall') {
            const js: State = { stack: adjust(pre!, je === NONE ? 0 : je, UNKNOWN_VALUE), locals: st.locals.slice(), names: st.names ? st.names.slice() : null, starSeq: st.starSeq ? st.starSeq.slice() : null, stars: st.stars, blocks: st.blocks ? st.blocks.slice() : null, kwnames: null };
            this.merge(blockOf[code.target[i]], js, true);
          }
          if (feasible === 'jump' || t.terminal[op]) fallthrough = false;
        } else if (t.terminal[op]) fallthrough = false;
      }
      if (fallthrough && end < n) this.merge(b + 1, st, true);
    }
    if (isNamespace) this.finishNamespace(code, role, finalNames ?? entry[nb - 1]?.names ?? [], finalStarSeq ?? entry[nb - 1]?.starSeq ?? []);
    escapedReflection(this, this.decoder, code);
    this.entry = [];
  }

  /** Basic blocks: leaders at 0, jump targets, after jumps/terminals, exception handlers. Returns their number. */
  private buildBlocks(code: DecodedCode): number {
    const t = this.t;
    const n = code.n;
    const leader = scratch.u8('leader', n + 1);
    leader[0] = 1;
    for (let i = 0; i < n; i++) {
      const op = code.op[i];
      if (t.isJump[op] && code.target[i] >= 0) {
        leader[code.target[i]] = 1;
        leader[i + 1] = 1;
      } else if (t.terminal[op]) leader[i + 1] = 1;
    }
    for (const e of code.exceptions) leader[e.target] = 1;
    const blockOf = scratch.i32('blockOf', n);
    const starts: number[] = [];
    for (let i = 0; i < n; i++) {
      if (leader[i]) starts.push(i);
      blockOf[i] = starts.length - 1;
    }
    const nb = starts.length;
    const excAt = scratch.i32('excAt', n);
    excAt.fill(-1);
    code.exceptions.forEach((e, k) => {
      for (let i = e.start; i < e.end && i < n; i++) excAt[i] = k;
    });
    // Blocks with one predecessor take their incoming state over (no copy, no join): every cycle enters
    // through a block with several predecessors, where joins decide the fixpoint.
    const preds = scratch.u8('preds', nb);
    const addPred = (b: number, k: number): void => {
      preds[b] = Math.min(255, preds[b] + k);
    };
    addPred(0, 1);
    for (let b = 0; b < nb; b++) {
      const last = (b + 1 < nb ? starts[b + 1] : n) - 1;
      const op = code.op[last];
      if (t.isJump[op] && code.target[last] >= 0) addPred(blockOf[code.target[last]], t.setup[op] ? 2 : 1);
      if (!t.terminal[op] && b + 1 < nb) addPred(b + 1, 1);
    }
    for (const e of code.exceptions) addPred(blockOf[e.target], 2);
    this.starts = starts;
    this.blockOf = blockOf;
    this.preds = preds;
    this.excAt = excAt;
    this.visits = scratch.u8('visits', nb);
    this.queued = scratch.u8('queued', nb);
    this.entry = new Array(nb);
    return nb;
  }

  private enqueue(b: number): void {
    const visits = this.visits;
    if (visits[b] >= VISIT_LIMIT) {
      if (visits[b] === VISIT_LIMIT) {
        this.summary.stats.widened++;
        visits[b]++;
      }
      return;
    }
    if (!this.queued[b]) {
      this.queued[b] = 1;
      this.worklist.push(b);
    }
  }

  /** Merges a state into block b's entry. `owned`: the state may be kept as is (nobody else uses it). */
  private merge(b: number, s: State, owned: boolean): void {
    const old = this.entry[b];
    if (this.preds[b] <= 1 || !old) {
      this.entry[b] = owned ? s : cloneState(s);
      this.enqueue(b);
      return;
    }
    if (this.joinInto(old, s)) this.enqueue(b);
  }

  /** Sends the state at instruction i to the handler that protects it (exception table or block stack). */
  private propagateException(code: DecodedCode, st: State, i: number): void {
    const handlerState = this.handlerState;
    if (code.exceptions.length) {
      const k = this.excAt[i];
      if (k < 0) return;
      const e = code.exceptions[k];
      const stack = st.stack.slice(0, e.depth);
      while (stack.length < e.depth) {
        stack.unshift(UNKNOWN_BELOW_HANDLER);
        this.noteDesync(code, i);
      }
      if (e.lasti) stack.push(UNKNOWN_LASTI);
      stack.push(UNKNOWN_EXCEPTION);
      handlerState.stack = stack;
      handlerState.locals = st.locals;
      handlerState.names = st.names;
      handlerState.starSeq = st.starSeq;
      handlerState.stars = st.stars;
      handlerState.blocks = null;
      this.merge(this.blockOf[e.target], handlerState, false);
    } else if (st.blocks && st.blocks.length) {
      for (let b = st.blocks.length - 1; b >= 0; b--) {
        const blk = st.blocks[b];
        if (!blk.setup) continue;
        const blocks = st.blocks.slice(0, b);
        blocks.push(EXCEPT_BLOCK);
        handlerState.stack = blk.stack;
        handlerState.locals = st.locals;
        handlerState.names = st.names;
        handlerState.starSeq = st.starSeq;
        handlerState.stars = st.stars;
        handlerState.blocks = blocks;
        this.merge(this.blockOf[blk.target], handlerState, false);
        return;
      }
    }
  }

  private noteEffectMismatch(code: DecodedCode, i: number, op: number, got: number, effect: number): void {
    const stats = this.summary.stats;
    stats.effectMismatches++;
    if (stats.effectMismatchAt.length < 10) stats.effectMismatchAt.push(`${code.raw.qualname ?? code.raw.name}@${code.offset[i]} ${this.t.names[op]} ${got} vs ${effect}`);
  }

  /** Results of a module or class body: its namespace where execution ended, and `__all__`. */
  private finishNamespace(code: DecodedCode, role: CodeRole, fin: (Expr | undefined)[], seq: number[]): void {
    const names = code.names;
    const target = role.role === 'module' ? this.summary.namespace : role.cls!.members;
    for (let k = 0; k < names.length; k++) {
      const v = fin[k];
      if (v === undefined) continue;
      target.set(names[k], join(target.get(names[k]), v)!);
      if (role.role === 'module') this.summary.bindingStarSeq.set(names[k], seq[k] ?? 0);
    }
    if (role.role === 'module') {
      const all = this.summary.namespace.get('__all__');
      if (all !== undefined && this.summary.all !== 'dynamic') {
        const alts = alternatives(all);
        const first = alts.length === 1 && alts[0].k === 'const' ? constStrings(alts[0].value) : undefined;
        this.summary.all = first ?? 'dynamic';
      }
    }
  }

  /** Initial local slots: parameters (self/cls of methods known), closure cells from the enclosing code. */
  private initialLocals(idx: number, code: DecodedCode, role: CodeRole): (Expr | undefined)[] {
    const raw = code.raw;
    const size = this.decoder.model.localsPlus ? code.localNames.length : code.nvarnames + code.freeNames.length;
    const locals: (Expr | undefined)[] = new Array(size);
    if (role.role !== 'function') return locals;
    const VARARGS = 0x04;
    const VARKEYWORDS = 0x08;
    const nparams = raw.argcount + raw.kwonlyargcount + (raw.flags & VARARGS ? 1 : 0) + (raw.flags & VARKEYWORDS ? 1 : 0);
    for (let p = 0; p < nparams && p < code.nvarnames; p++) locals[p] = unknown('parameter');
    const def = role.def;
    if (raw.argcount > 0 && def.cls && (def.kind === 'method' || def.kind === 'classmethod')) {
      locals[0] = def.kind === 'method' ? this.instanceOf(def.cls) : this.classExpr(def.cls);
    }
    // Closure variables: the enclosing code's cell values; cells that are parameters start as the parameter.
    const parent = this.parentOf[idx];
    const parentCells = parent >= 0 ? this.cellSummaries.get(parent) : undefined;
    for (let s = 0; s < size; s++) {
      const name = this.slotName(code, s);
      if (name === undefined) continue;
      if (raw.freevars.includes(name) && s >= code.nvarnames) {
        const v = parentCells?.get(name);
        locals[s] = v ?? unknown('closure variable');
      } else if (!this.decoder.model.localsPlus && s >= code.nvarnames) {
        const p = raw.varnames ? raw.varnames.indexOf(name) : -1;
        if (p >= 0 && p < nparams) locals[s] = locals[p];
      }
    }
    return locals;
  }

  private slotName(code: DecodedCode, slot: number): string | undefined {
    if (this.decoder.model.localsPlus) return code.localNames[slot];
    if (slot < code.nvarnames) return code.localNames[slot];
    return code.freeNames[slot - code.nvarnames];
  }

  derefSlot(code: DecodedCode, arg: number): number {
    return this.decoder.model.localsPlus ? arg : code.nvarnames + arg;
  }

  adjustStack(stack: Expr[], effect: number, code: DecodedCode, i: number): void {
    if (effect < 0) {
      if (stack.length + effect < 0) this.noteDesync(code, i);
      for (let k = effect; k < 0 && stack.length; k++) stack.pop();
    }
    for (let k = 0; k < effect; k++) stack.push(UNKNOWN_VALUE);
  }

  noteDesync(code: DecodedCode | null, i: number): void {
    const stats = this.summary.stats;
    stats.desync++;
    if (stats.desyncAt.length < 10) {
      const where = code ? `${code.raw.qualname ?? code.raw.name}@${code.offset[i]} ${this.t.names[code.op[i]]}` : `${this.current}: join`;
      stats.desyncAt.push(where);
    }
  }

  /** Joins `s` into `into`; returns whether anything changed. */
  private joinInto(into: State, s: State): boolean {
    let changed = false;
    if (into.stack.length !== s.stack.length) {
      this.summary.stats.depthMismatches++;
      // Align at the bottom (what a handler or loop keeps) and keep the longer depth.
      while (into.stack.length < s.stack.length) into.stack.push(unknown('mismatched stack depth'));
    }
    for (let k = 0; k < into.stack.length; k++) {
      const v = k < s.stack.length ? join(into.stack[k], s.stack[k])! : into.stack[k];
      if (v !== into.stack[k]) {
        into.stack[k] = v;
        changed = true;
      }
    }
    for (let k = 0; k < into.locals.length; k++) {
      const v = join(into.locals[k], s.locals[k]);
      if (v !== into.locals[k]) {
        into.locals[k] = v;
        changed = true;
      }
    }
    if (into.names && s.names) {
      for (let k = 0; k < into.names.length; k++) {
        const v = join(into.names[k], s.names[k]);
        if (v !== into.names[k]) {
          into.names[k] = v;
          changed = true;
        }
        if (s.starSeq![k] > into.starSeq![k]) {
          into.starSeq![k] = s.starSeq![k];
          changed = true;
        }
      }
    }
    if (s.stars > into.stars) {
      into.stars = s.stars;
      changed = true;
    }
    return changed;
  }

  /** Which successors of a conditional jump can run: 'both', 'jump' only, or 'fall' only. */
  private branchFeasibility(name: string, pre: Expr[]): 'both' | 'jump' | 'fall' {
    const top = pre[pre.length - 1];
    if (top === undefined) return 'both';
    let jumpWhen: boolean | 'none' | 'notnone';
    if (name.includes('IF_FALSE')) jumpWhen = false;
    else if (name.includes('IF_TRUE')) jumpWhen = true;
    else if (name.includes('IF_NOT_NONE')) jumpWhen = 'notnone';
    else if (name.includes('IF_NONE')) jumpWhen = 'none';
    else return 'both';
    if (jumpWhen === 'none' || jumpWhen === 'notnone') {
      if (top.k !== 'const') return 'both';
      const isNone = top.value === null;
      return isNone === (jumpWhen === 'none') ? 'jump' : 'fall';
    }
    const truth = this.truth(top);
    if (truth === undefined) return 'both';
    return truth === jumpWhen ? 'jump' : 'fall';
  }

  /** Truthiness known statically: constants, typing.TYPE_CHECKING (False at run time), folded comparisons. */
  truth(e: Expr): boolean | undefined {
    if (e.k === 'const') return constTruth(e.value);
    if ((e.k === 'attr' || e.k === 'global') && e.name === 'TYPE_CHECKING') return false;
    if (e.k === 'union') {
      const ts = e.items.map((i) => this.truth(i));
      return ts.every((x) => x === ts[0]) ? ts[0] : undefined;
    }
    return undefined;
  }

  // ----------------------------------------------------------------------------------------------------
  // Values.

  instanceOf(cls: ClassDef): Expr {
    let e = this.instances.get(cls);
    if (!e) {
      e = { k: 'instance', cls: this.classExpr(cls) };
      this.instances.set(cls, e);
    }
    return e;
  }

  private classExpr(cls: ClassDef): Expr {
    let e = this.classExprs.get(cls);
    if (!e) {
      e = { k: 'class', def: cls, fresh: false };
      this.classExprs.set(cls, e);
    }
    return e;
  }

  private funcExpr(def: FunctionDef): Expr {
    let e = this.funcExprs.get(def);
    if (!e) {
      e = { k: 'func', def, fresh: false };
      this.funcExprs.set(def, e);
    }
    return e;
  }

  /** A value as stored: fresh function/class markers become plain references. */
  settle(v: Expr): Expr {
    if (v.k === 'func' && v.fresh) return this.funcExpr(v.def);
    if (v.k === 'class' && v.fresh) return this.classExpr(v.def);
    return v;
  }

  /** Looks a function-level global up in this module's final namespace (already known: module code ran first). */
  quick(e: Expr): Expr {
    if (e.k === 'global' && e.module === this.input.module) {
      const v = this.summary.namespace.get(e.name);
      if (v !== undefined && v.k !== 'union') return v;
      if (v === undefined && this.builtins.has(e.name) && !this.summary.globalStores.has(e.name) && this.summary.stars.length === 0) return { k: 'builtin', name: e.name };
    }
    return e;
  }

  isModuleAttr(e: Expr, module: string, name: string): boolean {
    const q = this.quick(e);
    if (q.k !== 'attr' || q.name !== name) return false;
    const base = this.quick(q.base);
    return base.k === 'module' && base.name === module;
  }

  isBuiltinNamed(e: Expr, name: string): boolean {
    const q = this.quick(e);
    return (q.k === 'builtin' && q.name === name) || (q.k === 'global' && q.name === name && !this.summary.namespace.has(name));
  }

  absoluteImport(name: string, level: number): { module: string; error?: string } {
    if (level <= 0) return { module: name };
    const parts = this.packageName ? this.packageName.split('.') : [];
    if (level - 1 > parts.length || (parts.length === 0 && level > 0)) {
      return { module: name, error: `relative import beyond the top-level package (level ${level} in ${this.input.module})` };
    }
    const base = parts.slice(0, parts.length - (level - 1)).join('.');
    return { module: name ? (base ? `${base}.${name}` : name) : base };
  }

  private readonly globals = new Map<string, Expr>();

  /** The lazily looked-up module global `name` (one object per name in a module). */
  private globalExpr(name: string): Expr {
    let e = this.globals.get(name);
    if (!e) {
      e = { k: 'global', module: this.input.module, name };
      this.globals.set(name, e);
    }
    return e;
  }

  /** The attribute value of instruction i on `obj` (one object per instruction and base). */
  private memoAttr(i: number, obj: Expr, name: string): Expr {
    const out = this.memoOut[i];
    if (out !== undefined && this.memoA[i] === obj) return out;
    // One object per (base, name) in the module: `np.dot` in twenty functions is one value, resolved once.
    const base = obj.k === 'self' ? obj.obj : obj;
    let byName = this.attrs.get(base);
    if (!byName) this.attrs.set(base, (byName = new Map()));
    let e = byName.get(name);
    if (!e) byName.set(name, (e = { k: 'attr', base, name }));
    this.memoA[i] = obj;
    this.memoOut[i] = e;
    return e;
  }

  private readonly attrs = new Map<Expr, Map<string, Expr>>();

  private memoSelf(slot: number, obj: Expr): Expr {
    const out = this.memoOut[slot];
    if (out !== undefined && this.memoA[slot] === obj) return out;
    const e: Expr = { k: 'self', obj };
    this.memoA[slot] = obj;
    this.memoOut[slot] = e;
    return e;
  }

  memoized(memo: (unknown[] | undefined)[], i: number, inputs: unknown[], make: () => Expr): Expr {
    const m = memo[i];
    if (m && m.length === inputs.length + 1) {
      let same = true;
      for (let k = 0; k < inputs.length; k++) {
        if (m[k] !== inputs[k]) {
          same = false;
          break;
        }
      }
      if (same) return m[inputs.length] as Expr;
    }
    const out = make();
    memo[i] = [...inputs, out];
    return out;
  }

  site(idx: number, code: DecodedCode, i: number, rec: Omit<SiteRecord, 'code' | 'line' | 'col' | 'endLine' | 'endCol'>, siteMap: Map<number, SiteRecord>): void {
    const existing = siteMap.get(i);
    if (existing) {
      // A loop revisited this instruction: keep the joined (final) values.
      existing.callee = rec.callee;
      existing.left = rec.left;
      existing.right = rec.right;
      existing.kind = rec.kind;
      return;
    }
    // One fixed object shape for every site (no spread): V8 keeps these fast and small.
    const s: SiteRecord = {
      kind: rec.kind,
      code: idx,
      line: code.line[i],
      col: code.col[i],
      endLine: code.endLine[i],
      endCol: code.endCol[i],
      callee: rec.callee,
      op: rec.op,
      left: rec.left,
      right: rec.right,
    };
    siteMap.set(i, s);
    this.summary.sites.push(s);
  }

  // ----------------------------------------------------------------------------------------------------
  // One instruction. Returns STEP_* flags.

  private importSeen = new Set<number>();
  siteMap = new Map<number, SiteRecord>();
  codeIdx = 0;
  code: DecodedCode | null = null;
  role: CodeRole | null = null;
  memo: (unknown[] | undefined)[] = [];
  memoOut: (Expr | undefined)[] = [];
  memoA: unknown[] = [];
  cells = new Map<string, Expr>();
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

  private step(st: State, i: number, op: number, effect: number): number {
    const stack = st.stack;
    const code = this.code!;
    const arg = code.arg[i];
    switch (this.t.handler[op] as H) {
      case H.LoadConst: {
        let e = this.memoOut[i];
        if (e === undefined) {
          const c = code.consts[arg];
          e = c !== null && typeof c === 'object' && 'code' in c ? { k: 'code', index: c.code } : { k: 'const', value: c };
          this.memoOut[i] = e;
        }
        stack.push(e);
        return 0;
      }
      case H.ReturnConst: {
        const role = this.role!;
        const c = code.consts[arg];
        if (role.role === 'function') role.def.returns = join(role.def.returns, this.memoized(this.memo, i, [], () => ({ k: 'const', value: c })));
        return STEP_RETURN;
      }
      case H.ReturnValue: {
        const role = this.role!;
        const val = stack.pop() ?? this.underflow(code, i);
        if (role.role === 'function') role.def.returns = join(role.def.returns, this.settle(val));
        return STEP_RETURN;
      }
      case H.LoadName:
        stack.push(this.loadName(st, arg, code.names[arg], this.role!, this.memo, i));
        return 0;
      case H.LoadGlobal: {
        const shifted = this.t.argKind[op] === ARG_NAME1;
        const name = code.names[shifted ? arg >> 1 : arg];
        const withNull = shifted && (arg & 1) === 1;
        const val = this.role!.role === 'module' && st.names ? this.loadName(st, code.names.indexOf(name), name, this.role!, this.memo, i) : this.globalExpr(name);
        if (withNull && this.version < 13) stack.push(NULL);
        stack.push(val);
        if (withNull && this.version >= 13) stack.push(NULL);
        return 0;
      }
      case H.LoadFast:
        stack.push(st.locals[arg] ?? UNKNOWN_UNBOUND_LOCAL);
        return 0;
      case H.LoadDeref:
        stack.push(st.locals[this.derefSlot(code, arg)] ?? UNKNOWN_UNBOUND_CELL);
        return 0;
      case H.LoadAttr: {
        const shifted = this.t.argKind[op] === ARG_NAME1;
        const name = code.names[shifted ? arg >> 1 : arg];
        const obj = stack.pop() ?? this.underflow(code, i);
        stack.push(this.memoAttr(i, obj, name));
        if (shifted && (arg & 1) === 1) stack.push(this.memoSelf(code.n + i, obj));
        return 0;
      }
      case H.LoadMethod: {
        const obj = stack.pop() ?? this.underflow(code, i);
        stack.push(this.memoAttr(i, obj, code.names[arg]), this.memoSelf(code.n + i, obj));
        return 0;
      }
      case H.ImportFrom:
        stack.push(this.memoAttr(i, stack[stack.length - 1] ?? this.underflow(code, i), code.names[arg]));
        return 0;
      case H.StoreName: {
        const val = this.settle(stack.pop() ?? this.underflow(code, i));
        if (st.names) {
          st.names[arg] = val;
          st.starSeq![arg] = st.stars;
          if (code.names[arg] === '__all__' && this.role!.role === 'module' && val.k !== 'const') this.summary.all = 'dynamic';
        }
        return STEP_DIRTY;
      }
      case H.StoreFast:
        st.locals[arg] = this.settle(stack.pop() ?? this.underflow(code, i));
        return STEP_DIRTY;
      case H.PopTop:
        if (stack.pop() === undefined) this.underflow(code, i);
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
      case H.Copy:
        stack.push(stack[stack.length - arg] ?? this.underflow(code, i));
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
      case H.PushNull:
        stack.push(NULL);
        return 0;
      case H.KwNames:
        st.kwnames = constStrings(code.consts[arg]) ?? null;
        return 0;
      case H.Precall:
        return 0;
      case H.CallFunction:
        this.curStack = stack;
        this.curCode = code;
        this.curI = i;
        simulateCall(this, this.codeIdx, code, this.role!, st, i, this.popNFn(arg + 1), 1, arg, null, false, this.memo, this.siteMap);
        return 0;
      case H.CallMethod:
      case H.Call: {
        const kw = st.kwnames;
        st.kwnames = null;
        this.curStack = stack;
        this.curCode = code;
        this.curI = i;
        simulateCall(this, this.codeIdx, code, this.role!, st, i, this.popNFn(arg + 2), 2, arg, kw, false, this.memo, this.siteMap);
        return 0;
      }
      case H.BinaryOp: {
        const right = stack.pop() ?? this.underflow(code, i);
        const left = stack.pop() ?? this.underflow(code, i);
        const sym = this.decoder.model.nbOps?.[arg] ?? `op${arg}`;
        stack.push(binaryOp(this, this.codeIdx, code, i, sym, left, right, this.memo, this.siteMap));
        return 0;
      }
      case H.Pushes: {
        const t = this.t;
        const pushes = t.fixed[op];
        const pops = pushes - effect;
        if (stack.length < pops) this.noteDesync(code, i);
        for (let k = 0; k < pops; k++) stack.pop();
        const u = t.result[op]!;
        for (let k = 0; k < pushes; k++) stack.push(u);
        return 0;
      }
      default:
        this.curStack = stack;
        this.curCode = code;
        this.curI = i;
        return this.stepOther(st, i, op, effect);
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

  private loadName(st: State, slot: number, name: string, role: CodeRole, memo: (unknown[] | undefined)[], i: number): Expr {
    const own = slot >= 0 && st.names ? st.names[slot] : undefined;
    if (own !== undefined) return own;
    return this.globalExpr(name);
  }

  starImport(mod: Expr, st: State, role: CodeRole): void {
    if (mod.k !== 'module') return;
    if (role.role !== 'module') return;
    st.stars++;
    if (!this.summary.stars.some((s) => s.module === mod.name)) this.summary.stars.push({ module: mod.name, seq: st.stars });
  }

  recordImport(idx: number, code: DecodedCode, i: number, role: CodeRole, rec: Omit<ImportRecord, 'scope' | 'line' | 'code' | 'targets' | 'probes'>): void {
    const key = idx * 0x100000 + i;
    if (this.importSeen.has(key)) return;
    this.importSeen.add(key);
    const parts = rec.module.split('.');
    const targets: string[] = [];
    for (let k = 1; k <= parts.length; k++) targets.push(parts.slice(0, k).join('.'));
    const probes = (rec.fromlist ?? []).filter((f) => f !== '*').map((f) => `${rec.module}.${f}`);
    this.summary.imports.push({ module: rec.module, fromlist: rec.fromlist, level: rec.level, scope: role.role, via: rec.via, line: code.line[i], code: idx, error: rec.error, targets, probes });
  }








}

