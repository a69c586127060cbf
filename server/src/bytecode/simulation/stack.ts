// Opcode handlers of the simulation: the rarer stack shuffles (ROT_THREE, ROT_FOUR, ROT_N, DUP_TOP_TWO; the
// frequent ones stay in the core, simulate.ts).

import { H } from './opcodes';
import type { Simulator, State } from './types';

/** The opcodes stepStack handles (the core's dispatch table sends it no other). */
export const STACK_OPS: readonly H[] = [H.RotThree, H.RotFour, H.RotN, H.DupTopTwo];

/** Simulates instruction `i` (opcode `op`, stack effect `effect`) of the current code object; returns STEP_* flags. */
export function stepStack(sim: Simulator, st: State, i: number, op: number, effect: number): number {
  const code = sim.code!;
  const stack = st.stack;
  const arg = code.arg[i];
  const pop = sim.popFn;
  const popN = sim.popNFn;
  const peek = sim.peekFn;
  switch (sim.t.handler[op] as H) {
    case H.RotThree: {
      const a = pop();
      const b = pop();
      const c = pop();
      stack.push(a, c, b);
      return 0;
    }
    case H.RotFour: {
      const a = pop();
      const b = pop();
      const c = pop();
      const d = pop();
      stack.push(a, d, c, b);
      return 0;
    }
    case H.RotN: {
      const items = popN(arg);
      const top = items.pop();
      if (top !== undefined) items.unshift(top);
      stack.push(...items);
      return 0;
    }
    case H.DupTopTwo: {
      const a = peek(2);
      const b = peek(1);
      stack.push(a, b);
      return 0;
    }
    default:
      return 0; // Not an opcode of this family (the dispatch table sends none).
  }
}
