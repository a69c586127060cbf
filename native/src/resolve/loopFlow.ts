// A forward data-flow over one function of a file at rest, for staticLoops.ts: which code addresses each register,
// 64-bit lane of xmm0–15 and stack slot can hold (loopState.ts, loopEffects.ts), and so which values each store to an
// absolute address writes. What it cannot follow is unknown.

import { CodeDecoder, Flow } from '../decoder/decoder';
import type { ElfFile } from '../elf/elfFile';
import { Context, effectOf, type Step } from './loopEffects';
import { copyState, join, type State, unknownState, type Val } from './loopState';

/** A store to an absolute address: where, and the values it writes, one per 8 bytes (null: unknown). */
export interface AbsoluteStore {
  at: number;
  values: Val[];
}

/** Code followed together beyond this many bytes is not followed. */
const MAX_CODE = 1024 * 1024;

/** The instructions of the ranges followed, in order, each range's last marked (control does not fall out of it). */
interface Decoded {
  steps: Step[];
  /** [start, end) of each range: the function, then the parts of it its jumps lead to (gcc's `.cold` parts). */
  ranges: Array<[number, number]>;
}

/**
 * The function [start, end) and the other extents its jumps (not calls) lead into, transitively (the parts gcc splits
 * off a function, `foo.cold`, which jump back into it; a tail call's target too), up to MAX_CODE bytes, with their
 * effects. Undefined when one has an indirect jump (a switch: its targets are not known).
 */
function decodeRanges(c: Context, start: number, end: number): Decoded | undefined {
  const ranges: Array<[number, number]> = [[start, end]];
  const steps: Step[] = [];
  let size = end - start;
  const d = new CodeDecoder();
  try {
    for (let k = 0; k < ranges.length; k++) {
      const [a, b] = ranges[k];
      let ok = true;
      d.decodeLinear(c.elf.readVirtual(a, b - a), a, (v) => {
        const flow = v.info.flow;
        // A jump through a GOT slot or a constant word is a tail call; through a register or table, a switch.
        if (flow === Flow.IndirectBranch && v.absoluteMemoryAddress() === undefined) ok = false;
        const target = flow === Flow.UnconditionalBranch || flow === Flow.ConditionalBranch ? v.directTarget() : undefined;
        steps.push({ ip: v.ip, next: v.nextIp, flow, target, ...effectOf(c, v) });
        if (target === undefined || ranges.some(([x, y]) => target >= x && target < y)) return ok ? undefined : 'stop';
        // Past the budget a part is left out: a jump to it leaves the code followed, and a branch back from it is a
        // branch from elsewhere (its block starts unknown).
        const part = c.elf.functionAt(target);
        if (part && size + (part.end - part.start) <= MAX_CODE) {
          size += part.end - part.start;
          ranges.push([part.start, part.end]);
        }
        return ok ? undefined : 'stop';
      });
      if (!ok) return undefined;
      if (steps.length) steps[steps.length - 1].last = true;
    }
  } finally {
    d.free();
  }
  return { steps, ranges };
}

/** Flows after which the next instruction is not reached by falling through. */
const NO_FALLTHROUGH = new Set<Flow>([Flow.UnconditionalBranch, Flow.IndirectBranch, Flow.Return, Flow.Interrupt, Flow.Exception]);

/**
 * The stores to absolute addresses of the function [start, end) (and of the parts its jumps lead into) with the values
 * each can write, after a forward data-flow from an entry where every register is unknown; a block that a branch from
 * elsewhere enters (`sourcesOf` gives the sources of the module's direct branches and calls to an address) starts
 * unknown too. A store in a block no path reaches writes unknown values. Undefined when the function cannot be
 * followed (an indirect jump, a branch into an instruction).
 */
export function functionStores(elf: ElfFile, start: number, end: number, sourcesOf: (target: number) => readonly number[]): Map<number, AbsoluteStore> | undefined {
  const c = new Context(elf);
  const decoded = decodeRanges(c, start, end);
  if (!decoded?.steps.length) return undefined;
  const { steps, ranges } = decoded;
  const inside = (a: number): boolean => ranges.some(([x, y]) => a >= x && a < y);
  const at = new Map<number, number>(steps.map((s, i) => [s.ip, i]));
  const leader = new Uint8Array(steps.length + 1);
  leader[0] = 1;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    if (NO_FALLTHROUGH.has(s.flow) || s.flow === Flow.ConditionalBranch || s.last) leader[i + 1] = 1;
    if (s.target === undefined || !inside(s.target)) continue;
    const j = at.get(s.target);
    if (j === undefined) return undefined;
    leader[j] = 1;
  }
  const entry: (State | undefined)[] = new Array(steps.length);
  entry[0] = unknownState(0);
  const work = [0];
  for (let j = 1; j < steps.length; j++) {
    if (!sourcesOf(steps[j].ip).some((from) => !inside(from))) continue;
    leader[j] = 1;
    entry[j] = unknownState(null);
    work.push(j);
  }
  const propagate = (j: number, s: State) => {
    if (j >= steps.length) return;
    const e = entry[j];
    if (!e) {
      entry[j] = copyState(s);
      work.push(j);
    } else if (join(e, s)) work.push(j);
  };
  while (work.length) {
    const b = work.pop()!;
    const s = copyState(entry[b]!);
    for (let i = b; ; i++) {
      const step = steps[i];
      step.apply(s);
      if (step.target !== undefined && at.has(step.target)) propagate(at.get(step.target)!, s);
      if (NO_FALLTHROUGH.has(step.flow) || step.last) break;
      if (leader[i + 1]) {
        propagate(i + 1, s);
        break;
      }
    }
  }
  return storesOf(steps, entry, leader);
}

/** Replays each reached block once in its final entry state, collecting what its absolute stores write. */
function storesOf(steps: Step[], entry: (State | undefined)[], leader: Uint8Array): Map<number, AbsoluteStore> {
  const out = new Map<number, AbsoluteStore>();
  let s: State | undefined;
  for (let i = 0; i < steps.length; i++) {
    if (leader[i]) s = entry[i] ? copyState(entry[i]!) : undefined;
    const step = steps[i];
    if (step.store) out.set(step.ip, { at: step.store.at, values: s ? step.store.values(s) : [null] });
    if (s) step.apply(s);
  }
  return out;
}
