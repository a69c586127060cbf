// Opcode handlers of the simulation: the 3.8-3.10 block stack (SETUP_*, POP_BLOCK, POP_EXCEPT), generator
// starts, and the default rule for opcodes known only by their stack effect.

import { unknown, type Expr } from '../values';
import { STEP_DIRTY } from './common';
import { H } from './opcodes';
import { enumerateItems } from './operators';
import type { Simulator, State } from './types';

/** The opcodes stepBlock handles (the core's dispatch table sends it no other). */
export const BLOCKS_OPS: readonly H[] = [H.Setup, H.PopBlock, H.PopExcept, H.GenStart, H.ReturnGenerator, H.Pops];

/** Simulates instruction `i` (opcode `op`, stack effect `effect`) of the current code object; returns STEP_* flags. */
export function stepBlock(sim: Simulator, st: State, i: number, op: number, effect: number): number {
  const code = sim.code!;
  const t = sim.t;
  const stack = st.stack;
  const stats = sim.summary.stats;
  const popN = sim.popNFn;
  switch (t.handler[op] as H) {
    case H.Setup:
      // SETUP_WITH (3.8–3.10) and BEFORE_WITH (3.11+) replace the context manager by __exit__ and the __enter__
      // result; the other SETUP_* only push the block (the handler edge is added by the caller).
      if (t.names[op] !== 'SETUP_WITH' && t.names[op] !== 'BEFORE_WITH') sim.adjustStack(stack, effect, code, i);
      else if (effect === 1 && stack.length) stack.push(...withValues(popN(1)[0]));
      else {
        popN(1);
        for (let k = 0; k < 1 + effect; k++) stack.push(unknown('context manager'));
      }
      return 0;
    case H.PopBlock:
      if (st.blocks && st.blocks.length) st.blocks.pop();
      sim.adjustStack(stack, effect, code, i);
      return STEP_DIRTY;
    case H.PopExcept:
      if (st.blocks && st.blocks.length && !st.blocks[st.blocks.length - 1].setup) st.blocks.pop();
      sim.adjustStack(stack, effect, code, i);
      return STEP_DIRTY;
    case H.GenStart:
      // 3.10: the value sent to start the generator is on the stack when GEN_START pops it.
      if (stack.length) stack.pop();
      return 0;
    case H.ReturnGenerator:
      // The value sent to start the generator arrives on the stack (the next POP_TOP removes it).
      stack.push(unknown('generator start'));
      return 0;
    case H.Pops: {
      const pops = t.fixed[op];
      const pair = pops === 1 && effect === 1 && t.names[op] === 'UNPACK_SEQUENCE' && stack.length ? enumerateItems(sim, stack[stack.length - 1]) : undefined;
      if (pair) {
        stack.pop();
        stack.push(...pair);
        return 0;
      }
      if (stack.length < pops) sim.noteDesync(code, i);
      for (let k = 0; k < pops; k++) stack.pop();
      const u = t.result[op]!;
      for (let k = 0; k < pops + effect; k++) stack.push(u);
      return 0;
    }
    default: {
      if (!t.classified[op]) {
        const name = t.names[op] ?? `op${op}`;
        stats.unclassified[name] = (stats.unclassified[name] ?? 0) + 1;
      }
      sim.adjustStack(stack, effect, code, i);
      return 0;
    }
  }
}

const withPairs = new WeakMap<Expr, [Expr, Expr]>();

/**
 * What `with ctx as v:` puts on the stack (SETUP_WITH in 3.8–3.10, BEFORE_WITH in 3.11+): `ctx.__exit__`, which the
 * end of the block calls (a call site), and the result of `ctx.__enter__()`, bound to `v`. One pair per context
 * manager value, so that joins at loop heads stay stable.
 */
export function withValues(ctx: Expr): [Expr, Expr] {
  let pair = withPairs.get(ctx);
  if (!pair) {
    const enter: Expr = { k: 'call', callee: { k: 'attr', base: ctx, name: '__enter__' }, args: [], kwnames: null, star: false };
    pair = [{ k: 'attr', base: ctx, name: '__exit__' }, enter];
    withPairs.set(ctx, pair);
  }
  return pair;
}
