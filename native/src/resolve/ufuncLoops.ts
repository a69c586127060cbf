// The loop table of an object an extension makes at import from a table of functions and a name given to one call
// (NumPy's ufuncs: PyUFunc_FromFuncAndData(X_functions, X_data, X_types, ntypes, nin, nout, identity, "X", …)),
// found from the code that loads the name's string: the table is what `lea rdi` gives that call. Its loops are read
// from live memory (the ones NumPy's CPU dispatch chose at import). Not at rest: NumPy fills its tables at import in
// ways a scan of single stores does not follow (Debian's NumPy 1.24 and pip's NumPy 2.4 both pack pairs of functions
// into vector registers, built far from the `movups` that stores them, besides `lea rax,[DOUBLE_sin_X86_V4]; mov
// [sin_functions+16],rax`), so files at rest keep the module-wide fallback.

import { CodeDecoder, Flow, MNEMONIC, REGISTER_RDI } from '../decoder/decoder';
import { REGISTER_RCX } from '../decoder/codeInfo';
import * as C from '../elf/elfConstants';
import type { ElfFile } from '../elf/elfFile';
import { NativeError } from '../errors';
import { codeLeaSites, stringAddresses } from '../trace/codeStrings';

/** Instructions from the name's `lea` to the call it is an argument of, and back from that call to rdi's `lea`. */
const WINDOW = 48;
/** Tables longer than this are not loop tables (NumPy's have at most a few dozen loops). */
const MAX_LOOPS = 256;
/** Functions larger than this are not decoded for the search (NumPy's init of every ufunc is about 0.25 MB). */
const MAX_FUNCTION = 4 * 1024 * 1024;

/** A loop table found for a name: its link address and length (the call's count argument). */
export interface LoopTable {
  table: number;
  count: number;
  /** The `lea rdi,[rip+table]` of each call found that makes an object of it. */
  sites: number[];
}

/** What the search needs of each instruction of a function: calls, `lea`s, immediate moves, register writes. */
interface Step {
  ip: number;
  call: boolean;
  /** `lea reg,[rip+x]`: reg and x; `mov reg, imm`: reg and imm (with `imm` set). */
  reg?: number;
  value?: number;
  imm?: boolean;
  /** Full registers written otherwise (rdi and rcx only are kept). */
  writes?: number[];
}

const stepsByFunction = new WeakMap<ElfFile, Map<number, Step[]>>();

/** The steps of the function extent starting at `start` (decoded once per file). */
function stepsOf(elf: ElfFile, start: number, end: number): Step[] {
  let byStart = stepsByFunction.get(elf);
  if (!byStart) stepsByFunction.set(elf, (byStart = new Map()));
  let steps = byStart.get(start);
  if (steps) return steps;
  steps = [];
  const out = steps;
  const d = new CodeDecoder();
  try {
    d.decodeLinear(elf.readVirtual(start, end - start), start, (v) => {
      const s: Step = { ip: v.ip, call: v.info.flow === Flow.Call || v.info.flow === Flow.IndirectCall };
      const dest = v.opFullRegister(0);
      if (v.info.mnemonic === MNEMONIC.lea && dest !== undefined) {
        const x = v.absoluteMemoryAddress();
        if (x !== undefined) Object.assign(s, { reg: dest, value: x });
      } else if (v.info.mnemonic === MNEMONIC.mov && dest !== undefined && v.immediateOperand(1) !== undefined) {
        Object.assign(s, { reg: dest, value: v.immediateOperand(1), imm: true });
      }
      if (s.reg === undefined && v.info.gprWrite !== 0) {
        const w = v.clobberedRegisters().filter((r) => r === REGISTER_RDI || r === REGISTER_RCX);
        if (w.length) s.writes = w;
      }
      out.push(s);
    });
  } finally {
    d.free();
  }
  byStart.set(start, steps);
  return steps;
}

/** The steps of the function holding `link`, and the index of the instruction at `link` (undefined when not found). */
function around(elf: ElfFile, link: number): { steps: Step[]; at: number } | undefined {
  const ext = elf.functionAt(link);
  if (!ext || ext.end - ext.start > MAX_FUNCTION) return undefined;
  const steps = stepsOf(elf, ext.start, ext.end);
  const at = steps.findIndex((s) => s.ip === link);
  return at < 0 ? undefined : { steps, at };
}

/** The step that sets a register last before step `call` (back to the previous call), when it is a `lea` (or `mov` of an immediate). */
function lastSet(steps: Step[], call: number, reg: number, imm: boolean): Step | undefined {
  for (let k = call - 1; k >= Math.max(0, call - WINDOW) && !steps[k].call; k--) {
    const s = steps[k];
    if (s.reg === reg) return (s.imm === true) === imm ? s : undefined;
    if (s.writes?.includes(reg)) return undefined;
  }
  return undefined;
}

/**
 * The loop tables of the objects `elf` makes under `name`: for every `lea` of the name's string, the first call after
 * it (within WINDOW instructions) whose rdi a `lea rdi,[rip+table]` and whose ecx a `mov ecx, count` set. Tables
 * whose words are not all functions the loader relocates or zeros (filled at import) are dropped.
 */
export function loopTables(elf: ElfFile, name: string): LoopTable[] {
  const found = new Map<number, LoopTable>();
  try {
    for (const s of stringAddresses(elf, name)) {
      for (const site of codeLeaSites(elf, s)) {
        const a = around(elf, site);
        if (!a) continue;
        let call = a.at + 1;
        while (call < a.steps.length && call - a.at <= WINDOW && !a.steps[call].call) call++;
        if (call >= a.steps.length || !a.steps[call].call) continue;
        const lea = lastSet(a.steps, call, REGISTER_RDI, false);
        const table = lea?.value;
        const count = lastSet(a.steps, call, REGISTER_RCX, true)?.value;
        if (table === undefined || count === undefined || count <= 0 || count > MAX_LOOPS) continue;
        const had = found.get(table);
        if (had) had.sites.push(lea!.ip);
        else if (isLoopTable(elf, table, count)) found.set(table, { table, count, sites: [lea!.ip] });
      }
    }
  } catch (e) {
    if (e instanceof NativeError) return [];
    throw e;
  }
  return [...found.values()];
}

/** Whether every word of the table in the file is a function the loader relocates there, or zero (a loop chosen at import). */
function isLoopTable(elf: ElfFile, table: number, count: number): boolean {
  for (let k = 0; k < count; k++) {
    const slot = table + 8 * k;
    const rel = elf.relocationAt(slot);
    if (rel) {
      if (rel.type !== C.R_X86_64_RELATIVE || !elf.isCodeAddress(rel.addend)) return false;
      continue;
    }
    const b = elf.tryReadVirtual(slot, 8);
    if (!b || b.some((x) => x !== 0)) return false;
  }
  return true;
}
