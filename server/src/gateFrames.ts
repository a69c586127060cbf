// What a live frame of the program's code can no longer run, for the precise gate: the names only code before its
// current instruction used, and only to call what they name (a kernel called once at start-up, before the loop that runs
// now). Module code runs once; a top-level function (`def main(): warm_up(); while True: …`) only while nothing that can
// still run calls it anew (pythonGate.ts checks, else it counts whole). Python code such names name is still reached
// (what it registered may run later); no C function is a root for them alone.

import * as path from 'node:path';
import { calledOnlyBefore, type RanOnly, ranOnlyPositions, stillRuns } from './bytecode/simulation/frameFlow';
import type { CodeFacts } from './bytecode/simulate';
import { type Code, parentRole } from './gateCodes';
import type { RootCode } from './gateTypes';

/** A code object's qualified name within its module: `pkg.mod.f` of module `pkg.mod` is `f` (a name without it stays). */
export function withinModule(qualified: string, module: string): string {
  return qualified.startsWith(`${module}.`) ? qualified.slice(module.length + 1) : qualified;
}

/** The key of a code object of `file` by its qualified name, as live frames (RootCode) and ranOnly name it. */
const codeKey = (file: string, qualname: string) => `${path.resolve(file)}\0${qualname}`;

export class FrameNarrowing {
  /** The current instructions (byte offsets) of the live frames of each code object, by file and qualified name. */
  private readonly lastis = new Map<string, number[]>();
  /** Code reached again another way (an import runs the program's module code anew): all its names count. */
  private readonly whole = new Set<CodeFacts>();
  private readonly narrowed = new Map<CodeFacts, Code>();
  /** Names used by code that ran only (past) and by code that can still run (live). */
  private readonly past = new Set<string>();
  private readonly live = new Set<string>();
  /** Per program file and code (`file\0qualname`): the source positions that cannot run again (its call sites are done). */
  private readonly ran = new Map<string, RanOnly>();

  /** The short names of the code live frames run (a call in progress to one of them is done when it returns). */
  private readonly running = new Set<string>();

  constructor(rootCodes: readonly RootCode[]) {
    for (const r of rootCodes) if (r.lastis?.length) this.lastis.set(codeKey(r.file, r.qualname), [...r.lastis]);
    for (const r of rootCodes) if (r.lastis?.length) this.running.add(r.qualname.slice(r.qualname.lastIndexOf('.') + 1));
  }

  /** The names of module code or a function `c` that only code before its live frames' instructions uses, to call what they name. */
  calledBefore(c: Code): ReadonlySet<string> {
    const f = c.facts;
    const key = c.module.file ? codeKey(c.module.file, f.qualname) : '';
    const lastis = f.flow && (f.role === 'module' || f.role === 'function') && !this.whole.has(f) ? this.lastis.get(key) : undefined;
    const live = lastis && f.flow ? stillRuns(f.flow, lastis) : undefined;
    if (!live) return new Set();
    this.narrowed.set(f, c);
    this.ran.set(key, ranOnlyPositions(f.flow!, live));
    // A call in progress is done once it returns only if it runs Python code: a `def` the module binds that name to.
    const defs = c.module.summary?.namespace;
    const isDef = (n: string) => {
      const v = defs?.get(n);
      return v !== undefined && (v.k === 'union' ? v.items : [v]).every((x) => x.k === 'func');
    };
    const running = new Set([...this.running].filter(isDef));
    return calledOnlyBefore(f.flow!, live, running);
  }

  /** `c` is reached another way (called anew, its module imported again): true when it was narrowed (then visit it again, whole). */
  wholeAgain(c: Code): boolean {
    this.whole.add(c.facts);
    if (c.module.file) this.ran.delete(codeKey(c.module.file, c.facts.qualname));
    return this.narrowed.delete(c.facts);
  }

  /**
   * The narrowed functions that something able to run may call anew, which count whole from now (visit them again): one
   * whose name such code uses or C code may look up (`cNames`), a lambda or comprehension (run under another name or by
   * its statement again), a nested function or method, one a decorator may keep.
   */
  reentered(cNames: ReadonlyMap<string, string> | undefined): Code[] {
    const anew = (c: Code) => c.facts.name.startsWith('<') || this.live.has(c.facts.name) || !!cNames?.has(c.facts.name) || parentRole(c) !== 'module' || !!c.module.summary!.defs[c.index]?.decorators.length;
    return [...this.narrowed.values()].filter((c) => c.facts.role === 'function' && anew(c) && this.wholeAgain(c));
  }

  /** Notes a use of `n` (by code that ran only, or not); true when that makes a name used only so far by such code live. */
  mark(n: string, past: boolean): boolean {
    if (past) {
      this.past.add(n);
      return false;
    }
    if (this.live.has(n)) return false;
    this.live.add(n);
    return this.past.has(n);
  }

  /** Whether only code that ran used `n` so far. */
  pastOnly(n: string): boolean {
    return this.past.has(n) && !this.live.has(n);
  }

  /** The names that admit C functions: those some code that can still run uses. */
  exported(names: ReadonlyMap<string, string>): Map<string, string> {
    return new Map([...names].filter(([n]) => !this.pastOnly(n)));
  }

  /** The program files' code positions that cannot run again (PythonReachability.ranOnly). */
  ranOnly(): Array<RanOnly & { file: string; qualname: string }> {
    return [...this.ran].map(([key, r]) => ({ file: key.slice(0, key.indexOf('\0')), qualname: key.slice(key.indexOf('\0') + 1), ...r }));
  }

  /** Whether call site `s` (its caller `module.qualname`) lies where only code that cannot run again is. */
  static ranBefore(ranOnly: ReadonlyArray<RanOnly & { file: string; qualname?: string }>, s: { module: string; file: string; line: number | null; column: number | null; caller: string }): boolean {
    if (s.line === null) return false;
    const caller = withinModule(s.caller, s.module);
    const qualname = caller === '<module>' || caller.endsWith('.<module>') ? '<module>' : caller;
    const r = ranOnly.find((x) => x.file === path.resolve(s.file) && (x.qualname ?? '<module>') === qualname);
    return r !== undefined && (s.column === null ? r.lines.includes(s.line) : r.positions.includes(`${s.line}:${s.column}`));
  }
}
