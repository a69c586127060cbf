// What a live frame of the program's module code can no longer run, for the precise gate: the names only code before
// its current instruction used, and only to call what they name (a kernel called once at start-up, before the loop
// that runs now). Python code they name is still reached (what it registered may run later); no C function is a root
// for them alone.

import * as path from 'node:path';
import { calledOnlyBefore, type RanOnly, ranOnlyPositions, stillRuns } from './bytecode/simulation/frameFlow';
import type { CodeFacts } from './bytecode/simulate';
import type { Code } from './gateCodes';
import type { RootCode } from './gateTypes';

export class FrameNarrowing {
  /** The current instructions (byte offsets) of the live frames of each code object, by file and qualified name. */
  private readonly lastis = new Map<string, number[]>();
  /** Code reached again another way (an import runs the program's module code anew): all its names count. */
  private readonly whole = new Set<CodeFacts>();
  private readonly narrowed = new Set<CodeFacts>();
  /** Names used by code that ran only (past) and by code that can still run (live). */
  private readonly past = new Set<string>();
  private readonly live = new Set<string>();
  /** Per program file: the source positions of its module code that cannot run again (its call sites are done). */
  private readonly ran = new Map<string, RanOnly>();

  constructor(rootCodes: readonly RootCode[]) {
    for (const r of rootCodes) if (r.lastis?.length) this.lastis.set(`${path.resolve(r.file)}\0${r.qualname}`, [...r.lastis]);
  }

  /** The names of module code `c` that only code before its live frames' instructions uses, to call what they name. */
  calledBefore(c: Code): ReadonlySet<string> {
    const f = c.facts;
    const lastis = f.flow && f.role === 'module' && !this.whole.has(f) && c.module.file ? this.lastis.get(`${path.resolve(c.module.file)}\0${f.qualname}`) : undefined;
    const live = lastis && f.flow ? stillRuns(f.flow, lastis) : undefined;
    if (!live) return new Set();
    this.narrowed.add(f);
    this.ran.set(path.resolve(c.module.file!), ranOnlyPositions(f.flow!, live));
    return calledOnlyBefore(f.flow!, live);
  }

  /** `c` is reached another way: true when it was narrowed (then it must be visited again, whole). */
  wholeAgain(c: Code): boolean {
    this.whole.add(c.facts);
    if (c.module.file) this.ran.delete(path.resolve(c.module.file));
    return this.narrowed.delete(c.facts);
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

  /** The program files' module code positions that cannot run again (PythonReachability.ranOnly). */
  ranOnly(): Array<RanOnly & { file: string }> {
    return [...this.ran].map(([file, r]) => ({ file, ...r }));
  }

  /** Whether call site `s` (of module code, `<module>` its caller) lies where only code that cannot run again is. */
  static ranBefore(ranOnly: ReadonlyArray<RanOnly & { file: string }>, s: { file: string; line: number | null; column: number | null; caller: string }): boolean {
    if (s.line === null || !(s.caller === '<module>' || s.caller.endsWith('.<module>'))) return false;
    const r = ranOnly.find((x) => x.file === path.resolve(s.file));
    return r !== undefined && (s.column === null ? r.lines.includes(s.line) : r.positions.includes(`${s.line}:${s.column}`));
  }
}
