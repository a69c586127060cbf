// What a live frame of module code or of a function can still run: the control flow and the name loads of the program
// files' code (kept by the simulation), and, from the frame's current instruction, the names that only code which ran uses
// to call what it names. Code before a `while True:` loop ran once and will not run again: a C function it called
// by name (a kernel used at start-up) is no root for that name (pythonGate.ts).

import type { Decoder, DecodedCode } from '../decode';
import type { Expr } from '../values';
import { nameIndexOf, shortName } from './common';
import type { OpTables } from './opcodes';

/** Loads that push what a name fetches (a global, an attribute, a method) and nothing else. */
const LOADS = new Set(['LOAD_NAME', 'LOAD_GLOBAL', 'LOAD_ATTR', 'LOAD_METHOD']);

/** The control flow of one code object and how it uses each name (see frameFlow). */
export interface FrameFlow {
  /** Byte offset of each instruction (a frame's lasti maps to one), and its source line and column (-1: none). */
  offsets: number[];
  lines: number[];
  cols: number[];
  /** Jump target of each instruction (an instruction index), -1 for none. */
  jump: number[];
  /** 1 where the instruction can go on to the next one. */
  falls: number[];
  /** 3.11+ exception table: [start, end, handler] triples of instruction indexes. */
  handlers: number[];
  /** 3.8–3.10: the handlers SETUP_* instructions push (a try set up before the frame's instruction still catches). */
  setups: number[];
  /** For each name only ever loaded (LOADS), the loading instructions; names used any other way are absent. */
  loads: Record<string, number[]>;
  /** Each call instruction's callee, by its short name (the name it was loaded by, or was bound to). */
  callees: Record<number, string>;
  /** The call instructions whose callee is a Python function (a `def`) or a global of the module (maybe one). */
  pythonCalls: number[];
  /** Short names of the values module code bound (STORE_NAME), at any time: what was stored can be fetched again. */
  stored: string[];
}

/**
 * co_flags of a function whose call makes an object that runs its body later (a generator, coroutine or async
 * generator): a past call may have left one unstarted, so code before a live frame's instruction can run again.
 */
const RESUMABLE = 0x20 | 0x80 | 0x100 | 0x200;

/** Whether the simulation keeps the flow facts of `code` (of a root file): module code, and functions that are no RESUMABLE. */
export function keepsFlow(role: string | undefined, code: DecodedCode): boolean {
  return role === 'module' || (role === 'function' && (code.raw.flags & RESUMABLE) === 0);
}

/** What the simulation noted of one code object for its flow facts: its calls' callees by instruction, the values it bound. */
export interface FlowNotes {
  callees: ReadonlyMap<number, Expr>;
  stored: ReadonlyArray<{ name: string; value: Expr }>;
}

const namesOf = (e: Expr): string[] => (e.k === 'union' ? e.items : [e]).map(shortName).filter((n): n is string => n !== undefined);

/** The flow facts of `code`, with the callees its calls had (by instruction) once the simulation reached its fixpoint. */
export function frameFlow(decoder: Decoder, t: OpTables, code: DecodedCode, notes: FlowNotes): FrameFlow {
  const opnames = decoder.model.opnames;
  // A store of a value under its own name (`def main`, `from m import f`) only binds what loads of that name fetch: no
  // other name can fetch it from there. A value stored under another name can be (`k = kern.k`: stored has `k`).
  const own = new Map<string, boolean>();
  const stored = new Set<string>();
  for (const { name, value } of notes.stored) {
    const names = namesOf(value);
    const same = names.length === 1 && names[0] === name;
    own.set(name, (own.get(name) ?? true) && same);
    if (!same) for (const n of names) stored.add(n);
  }
  const each = (a: Int32Array) => Array.from(a.subarray(0, code.n));
  const flow: FrameFlow = { offsets: each(code.offset), lines: each(code.line), cols: each(code.col), jump: [], falls: [], handlers: [], setups: [], loads: {}, callees: {}, pythonCalls: [], stored: [...stored] };
  const other = new Set<string>();
  for (let i = 0; i < code.n; i++) {
    const op = code.op[i];
    const target = t.isJump[op] ? code.target[i] : -1;
    flow.jump.push(target);
    flow.falls.push(t.terminal[op] ? 0 : 1);
    if (t.setup[op] && target >= 0) flow.setups.push(target);
    const k = nameIndexOf(decoder, code, i);
    const name = k >= 0 ? code.names[k] : undefined;
    if (name === undefined) continue;
    // A binding under the value's own name (a `def`) is no use of the name: loads of it fetch what it bound.
    if (opnames[op] === 'STORE_NAME' && own.get(name)) continue;
    // A load whose value is copied or stored at once is no call's callee alone (belt and braces: `stored` has those).
    const next = i + 1 < code.n ? opnames[code.op[i + 1]] ?? '' : '';
    if (!LOADS.has(opnames[op] ?? '') || /^(STORE_|DUP_TOP|COPY|SWAP|ROT_)/.test(next)) other.add(name);
    else (flow.loads[name] ??= []).push(i);
  }
  for (const n of other) delete flow.loads[n];
  for (const e of code.exceptions) flow.handlers.push(e.start, e.end, e.target);
  for (const [i, callee] of notes.callees) {
    const n = shortName(callee);
    if (n) flow.callees[i] = n;
    if (n && (callee.k === 'func' || callee.k === 'global')) flow.pythonCalls.push(i);
  }
  return flow;
}

/**
 * The instructions that can still run once the frame's current instructions (`lastis`, byte offsets, one per live
 * frame of this code) complete: what control flow reaches from them, exception handlers included (1). A current
 * instruction no path comes back to is 2: it runs now (a handler covering it still catches, its source position stays
 * live), but it will not start again (a call in progress). Undefined when a frame has not started (lasti −1).
 */
export function stillRuns(flow: FrameFlow, lastis: readonly number[]): Uint8Array | undefined {
  const n = flow.offsets.length;
  const live = new Uint8Array(n);
  const work: number[] = [];
  const seed = (i: number) => {
    if (i >= 0 && i < n && live[i] !== 1) {
      live[i] = 1;
      work.push(i);
    }
  };
  for (const lasti of lastis) {
    if (lasti < 0) return undefined;
    // The instruction at or before lasti (a frame points at an instruction's first byte, past any EXTENDED_ARG).
    let at = 0;
    while (at + 1 < n && flow.offsets[at + 1] <= lasti) at++;
    if (!live[at]) live[at] = 2;
    seed(flow.jump[at]);
    if (flow.falls[at]) seed(at + 1);
  }
  for (const s of flow.setups) seed(s);
  for (;;) {
    while (work.length) {
      const i = work.pop()!;
      seed(flow.jump[i]);
      if (flow.falls[i]) seed(i + 1);
    }
    let more = false;
    for (let k = 0; k + 2 < flow.handlers.length; k += 3) {
      const [start, end, target] = [flow.handlers[k], flow.handlers[k + 1], flow.handlers[k + 2]];
      if (live[target] === 1) continue;
      for (let i = start; i < end && i < n; i++) {
        if (!live[i]) continue;
        seed(target);
        more = true;
        break;
      }
    }
    if (!more) return live;
  }
}

/**
 * The names code that ran uses only to call what they name, and code that can still run (`live`) never uses: each
 * is only ever loaded, by instructions that cannot run again, and each load is the callee of one of those calls (as
 * many calls name it as there are loads). A call in progress (live 2) counts as one of those when its callee is a
 * Python function (pythonCalls) named in `running`: one a live frame runs (`main()` while main loops), which the module
 * binds to its `def` (the caller checks); a C function running now keeps its name. A name module code bound a value of
 * at any time (`x = kern.k`) does not count: what was stored can be fetched again under the binding's name, or from
 * where that was passed.
 */
export function calledOnlyBefore(flow: FrameFlow, live: Uint8Array, running?: ReadonlySet<string>): Set<string> {
  const bound = new Set(flow.stored);
  const calls = new Map<string, number>();
  const python = new Set(flow.pythonCalls);
  const done = (i: number, name: string) => !live[i] || (live[i] === 2 && python.has(i) && !!running?.has(name));
  for (const [i, name] of Object.entries(flow.callees)) if (done(Number(i), name)) calls.set(name, (calls.get(name) ?? 0) + 1);
  const out = new Set<string>();
  for (const [name, at] of Object.entries(flow.loads)) {
    if (bound.has(name) || at.some((i) => live[i])) continue;
    if (calls.get(name) === at.length) out.add(name);
  }
  return out;
}

/** Source positions only instructions that cannot run again have: lines, and `line:column` (3.11+ give columns). */
export interface RanOnly {
  lines: number[];
  positions: string[];
}

/** The source lines and positions (a call site's) that no instruction of `live` has: code there ran and is done. */
export function ranOnlyPositions(flow: FrameFlow, live: Uint8Array): RanOnly {
  const liveLines = new Set<number>();
  const livePositions = new Set<string>();
  for (let i = 0; i < live.length; i++) {
    if (!live[i]) continue;
    liveLines.add(flow.lines[i]);
    livePositions.add(`${flow.lines[i]}:${flow.cols[i]}`);
  }
  const lines = new Set<number>();
  const positions = new Set<string>();
  for (let i = 0; i < live.length; i++) {
    if (live[i] || flow.lines[i] < 0) continue;
    if (!liveLines.has(flow.lines[i])) lines.add(flow.lines[i]);
    const at = `${flow.lines[i]}:${flow.cols[i]}`;
    if (flow.cols[i] >= 0 && !livePositions.has(at)) positions.add(at);
  }
  return { lines: [...lines], positions: [...positions] };
}
