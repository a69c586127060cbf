// The control flow of one code object: basic blocks, a worklist to a fixpoint with joins at merges, exception
// edges (exception table, or the 3.8-3.10 block stack), infeasible branches pruned; its instructions go to the
// hot `step` of ModuleSimulation (simulate.ts). Also the code object's initial locals and final namespace.

import { NONE, type DecodedCode } from '../decode';
import { join, unknown, type Expr } from '../values';
import { adjust, EXCEPT_BLOCK, STEP_DIRTY, STEP_RETURN, UNKNOWN_BELOW_HANDLER, UNKNOWN_EXCEPTION, UNKNOWN_LASTI, UNKNOWN_VALUE } from './common';
import { allOnlyConsts } from './allNames';
import { mainGuardFacts } from './mainGuard';
import { namespaceReflections } from './dictUses';
import { identifierConstants, parameterValue } from './gateFacts';
import { nameFacts } from './globalNames';
import { SimulationValues } from './moduleValues';
import { H } from './opcodes';
import type { CodeFacts, CodeRole, SimulationInput, State } from './types';
import { CallArguments } from './callArguments';

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

/** Simulation of one code object at a time, over the module's code objects (the middle of ModuleSimulation). */
export abstract class CodeFlow extends SimulationValues {
  codes: (DecodedCode | undefined)[];
  /** Name, qualified name and first line of every code object (stubs included). */
  heads: { name: string; qualname: string | null; firstlineno: number }[];
  /** The code object that creates each one (its code constant), -1 for none. */
  protected readonly parentOf: Int32Array;
  readonly roles: (CodeRole | undefined)[];

  constructor(input: SimulationInput) {
    super(input);
    const n = input.codes.length;
    this.codes = input.codes;
    this.parentOf = new Int32Array(n).fill(-1);
    this.heads = new Array(n);
    this.roles = new Array(n);
  }

  /** One instruction (ModuleSimulation's hot switch): returns STEP_* flags. */
  protected abstract step(st: State, i: number, op: number, effect: number): number;

  // Control-flow state of the code object being simulated (simulateCode is not re-entrant), in fields: a small hot loop.
  protected readonly cellSummaries = new Map<number, Map<string, Expr>>();
  /** What comprehensions and module-level functions are called with by code simulated first (calls.ts). */
  readonly callArgs = new CallArguments();

  protected starts: number[] = [];
  protected blockOf: Int32Array = new Int32Array(0);
  protected preds: Uint8Array = new Uint8Array(0);
  protected visits: Uint8Array = new Uint8Array(0);
  protected queued: Uint8Array = new Uint8Array(0);
  protected excAt: Int32Array = new Int32Array(0);
  protected entry: (State | undefined)[] = [];
  protected worklist: number[] = [];

  protected readonly handlerState: State = { stack: [], locals: [], names: null, starSeq: null, stars: 0, blocks: null, kwnames: null };

  /** The facts of the code object being simulated. */
  facts: CodeFacts | null = null;

  /** Reflection already recorded in the current code object, by instruction (a loop revisits sites). */
  reflectedAt = new Set<string>();

  codeIdx = 0;
  code: DecodedCode | null = null;
  role: CodeRole | null = null;

  cells = new Map<string, Expr>();

  /** Simulates one code object to its fixpoint: its sites, imports, facts and (module, class body) namespace. */
  protected simulateCode(idx: number): void {
    const code = this.codes[idx]!;
    const role = this.roles[idx]!;
    this.current = code.raw.qualname ?? code.raw.name;
    this.summary.stats.codes++;
    this.facts = this.codeFacts(idx, code, role);
    this.summary.facts[idx] = this.facts;
    const n = code.n;
    if (n === 0) return;
    const nb = this.buildBlocks(code);
    this.enterCode(idx, code, role);
    const isNamespace = role.role !== 'function';
    this.finalNames = null;
    this.finalStarSeq = null;
    const { starts, preds, entry, visits, queued, worklist } = this;
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
      if (this.runBlock(code, st, starts[b], end, isNamespace, hasHandlers) && end < n) this.merge(b + 1, st, true);
    }
    if (isNamespace) this.finishNamespace(code, role, this.finalNames ?? entry[nb - 1]?.names ?? [], this.finalStarSeq ?? entry[nb - 1]?.starSeq ?? []);
    this.codeDone(code);
    this.entry = [];
  }
  protected abstract codeDone(code: DecodedCode): void; // A code object reached its fixpoint: the gate's last facts.

  /** What the reachability gate needs of a code object (see CodeFacts); reflection is added as it is found. */
  private codeFacts(idx: number, code: DecodedCode, role: CodeRole): CodeFacts {
    const facts: CodeFacts = {
      name: code.raw.name,
      qualname: role.def.qualname,
      line: code.raw.firstlineno,
      parent: this.parentOf[idx],
      role: role.role,
      ...nameFacts(this.decoder, code),
      free: [...code.raw.freevars, ...code.raw.cellvars],
      escapes: [],
      reflectNames: [],
      nameStrings: identifierConstants(code, role.role === 'module' ? allOnlyConsts(this.decoder, code, this.version) : undefined),
      reflections: [],
    };
    if (role.role === 'module') facts.mainOnly = mainGuardFacts(this.decoder, code, facts.names);
    facts.reflections.push(...namespaceReflections({ decoder: this.decoder, version: this.version, summary: this.summary }, code));
    return facts;
  }

  /** Sets up the code object's memo tables, its entry state (locals, namespace) and its closure cells. */
  private enterCode(idx: number, code: DecodedCode, role: CodeRole): void {
    const n = code.n;
    // Per-instruction memo of created values (second half: a second value of the same instruction), so a
    // revisited loop body recreates identical objects and the fixpoint is reached by identity.
    const memo: (unknown[] | undefined)[] = new Array(2 * n);
    this.memoOut = new Array(2 * n);
    this.memoA = new Array(2 * n);
    this.siteMap = new Map();
    this.reflectedAt = new Set();
    const locals = this.initialLocals(idx, code, role);
    const isNamespace = role.role !== 'function';
    this.entry[0] = {
      stack: [],
      locals,
      names: isNamespace ? new Array(code.names.length) : null,
      starSeq: isNamespace ? new Array(code.names.length).fill(0) : null,
      stars: 0,
      blocks: this.version <= 10 ? [] : null,
      kwnames: null,
    };
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
  }

  /** The namespace where a module or class body returned (joined over its returns), while it is simulated. */
  private finalNames: (Expr | undefined)[] | null = null;
  private finalStarSeq: number[] | null = null;

  /**
   * Runs the instructions [from, end) of one block on `st`, sending states along jumps and exception edges.
   * Returns whether execution falls through to the next block.
   */
  private runBlock(code: DecodedCode, st: State, from: number, end: number, isNamespace: boolean, hasHandlers: boolean): boolean {
    const t = this.t;
    const stats = this.summary.stats;
    const excAt = this.excAt;
    let dirty = true;
    let fallthrough = true;
    let lastHandler = -2;
    let pendingEffect = 0;
    for (let i = from; i < end; i++) {
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
      if (r & STEP_RETURN && isNamespace && st.names) {
        if (!this.finalNames) {
          this.finalNames = st.names.slice();
          this.finalStarSeq = st.starSeq!.slice();
        } else joinNames(this.finalNames, this.finalStarSeq!, st);
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
          this.merge(this.blockOf[code.target[i]], js, true);
        }
        if (feasible === 'jump' || t.terminal[op]) fallthrough = false;
      } else if (t.terminal[op]) fallthrough = false;
    }
    return fallthrough;
  }

  /** Basic blocks: leaders at 0, jump targets, after jumps/terminals, exception handlers. Returns their number. */
  protected buildBlocks(code: DecodedCode): number {
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

  protected enqueue(b: number): void {
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
  protected merge(b: number, s: State, owned: boolean): void {
    const old = this.entry[b];
    if (this.preds[b] <= 1 || !old) {
      this.entry[b] = owned ? s : cloneState(s);
      this.enqueue(b);
      return;
    }
    if (this.joinInto(old, s)) this.enqueue(b);
  }

  /** Sends the state at instruction i to the handler that protects it (exception table or block stack). */
  protected propagateException(code: DecodedCode, st: State, i: number): void {
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

  /** Initial local slots: parameters (self/cls of methods known), closure cells from the enclosing code. */
  protected initialLocals(idx: number, code: DecodedCode, role: CodeRole): (Expr | undefined)[] {
    const raw = code.raw;
    const size = this.decoder.model.localsPlus ? code.localNames.length : code.nvarnames + code.freeNames.length;
    const locals: (Expr | undefined)[] = new Array(size);
    if (role.role !== 'function') return locals;
    const [VARARGS, VARKEYWORDS] = [0x04, 0x08];
    const nparams = raw.argcount + raw.kwonlyargcount + (raw.flags & VARARGS ? 1 : 0) + (raw.flags & VARKEYWORDS ? 1 : 0);
    for (let p = 0; p < nparams && p < code.nvarnames; p++) locals[p] = parameterValue(code, role, p);
    const def = role.def;
    if (def.kind === 'comprehension' && nparams === 1) locals[0] = this.callArgs.comprehension.get(idx) ?? locals[0];
    else this.callArgs.parameters(idx, def, this.heads)?.forEach((v, p) => (locals[p] = v));
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

  protected slotName(code: DecodedCode, slot: number): string | undefined {
    if (this.decoder.model.localsPlus) return code.localNames[slot];
    if (slot < code.nvarnames) return code.localNames[slot];
    return code.freeNames[slot - code.nvarnames];
  }

  derefSlot(code: DecodedCode, arg: number): number {
    return this.decoder.model.localsPlus ? arg : code.nvarnames + arg;
  }

  /** Joins `s` into `into`; returns whether anything changed. */
  protected joinInto(into: State, s: State): boolean {
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
  protected branchFeasibility(name: string, pre: Expr[]): 'both' | 'jump' | 'fall' {
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
}
