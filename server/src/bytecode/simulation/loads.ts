// Opcode handlers of the simulation: the rarer loads of locals, cells, class and global names, `super`
// attributes, and the build-class and assertion markers (the frequent loads stay in the core, simulate.ts).

import { BUILD_CLASS, unknown } from '../values';
import { STEP_DIRTY, stripSelf, UNKNOWN_UNBOUND_CELL, UNKNOWN_UNBOUND_LOCAL } from './common';
import { H } from './opcodes';
import type { Simulator, State } from './types';

/** The opcodes stepLoad handles (the core's dispatch table sends it no other). */
export const LOADS_OPS: readonly H[] = [H.LoadFastAndClear, H.LoadFastLoadFast, H.LoadClassDeref, H.LoadClosure, H.LoadFromDictOrDeref, H.LoadFromDictOrGlobals, H.LoadLocals, H.LoadSuperAttr, H.LoadBuildClass, H.LoadAssertionError];

/** Simulates instruction `i` (opcode `op`, stack effect `effect`) of the current code object; returns STEP_* flags. */
export function stepLoad(sim: Simulator, st: State, i: number, op: number, effect: number): number {
  const code = sim.code!;
  const role = sim.role!;
  const memo = sim.memo;
  const stack = st.stack;
  const arg = code.arg[i];
  const pop = sim.popFn;
  const popN = sim.popNFn;
  switch (sim.t.handler[op] as H) {
    case H.LoadFastAndClear:
      stack.push(st.locals[arg] ?? UNKNOWN_UNBOUND_LOCAL);
      st.locals[arg] = undefined;
      return STEP_DIRTY;
    case H.LoadFastLoadFast:
      stack.push(st.locals[arg >> 4] ?? UNKNOWN_UNBOUND_LOCAL);
      stack.push(st.locals[arg & 15] ?? UNKNOWN_UNBOUND_LOCAL);
      return 0;
    case H.LoadClassDeref: {
      const name = code.freeNames[arg];
      const k = st.names ? code.names.indexOf(name) : -1;
      const own = k >= 0 ? st.names![k] : undefined;
      stack.push(own ?? st.locals[sim.derefSlot(code, arg)] ?? UNKNOWN_UNBOUND_CELL);
      return 0;
    }
    case H.LoadClosure:
      stack.push(unknown('closure cell'));
      return 0;
    case H.LoadFromDictOrDeref: {
      pop();
      const name = code.freeNames[arg];
      const k = st.names ? code.names.indexOf(name) : -1;
      const own = k >= 0 ? st.names![k] : undefined;
      stack.push(own ?? st.locals[sim.derefSlot(code, arg)] ?? UNKNOWN_UNBOUND_CELL);
      return 0;
    }
    case H.LoadFromDictOrGlobals: {
      pop();
      const name = code.names[arg];
      stack.push(sim.memoized(memo, i, [], () => ({ k: 'global', module: sim.input.module, name })));
      return 0;
    }
    case H.LoadLocals:
      stack.push(unknown('locals()'));
      return 0;
    case H.LoadSuperAttr: {
      const name = code.names[arg >> 2];
      const [, , self] = popN(3);
      const cls = role.def.cls;
      const attr = sim.memoized(memo, i, [self], () => ({ k: 'attr', base: cls ? { k: 'super', cls, self: stripSelf(self) } : unknown('super() outside a method'), name }));
      stack.push(attr);
      if (arg & 1) stack.push(sim.memoized(memo, code.n + i, [self], () => ({ k: 'self', obj: self })));
      return 0;
    }
    case H.LoadBuildClass:
      stack.push(BUILD_CLASS);
      return 0;
    case H.LoadAssertionError:
      stack.push({ k: 'builtin', name: 'AssertionError' });
      return 0;
    default:
      return 0; // Not an opcode of this family (the dispatch table sends none).
  }
}
