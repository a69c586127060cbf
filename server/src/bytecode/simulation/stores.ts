// Opcode handlers of the simulation: stores and deletes of globals, locals, cells and attributes (the
// frequent STORE_NAME and STORE_FAST stay in the core's hot `step`).

import { join } from '../values';
import { STEP_DIRTY, UNKNOWN_UNBOUND_LOCAL, stripSelf } from './common';
import { H } from './opcodes';
import type { Simulator, State } from './types';

/** The opcodes stepStore handles (the core's dispatch table sends it no other). */
export const STORES_OPS: readonly H[] = [H.StoreGlobal, H.StoreFastStoreFast, H.StoreFastLoadFast, H.StoreDeref, H.StoreAttr, H.DeleteName, H.DeleteFast, H.DeleteDeref, H.DeleteGlobal];

/** Simulates instruction `i` (opcode `op`, stack effect `effect`) of the current code object; returns STEP_* flags. */
export function stepStore(sim: Simulator, st: State, i: number, op: number, effect: number): number {
  const code = sim.code!;
  const role = sim.role!;
  const cells = sim.cells;
  const stack = st.stack;
  const arg = code.arg[i];
  const pop = sim.popFn;
  switch (sim.t.handler[op] as H) {
    case H.StoreGlobal: {
      const val = sim.settle(pop());
      const name = code.names[arg];
      if (role.role === 'module' && st.names) {
        st.names[arg] = val;
        st.starSeq![arg] = st.stars;
      } else {
        sim.summary.globalStores.set(name, join(sim.summary.globalStores.get(name), val)!);
      }
      return STEP_DIRTY;
    }
    case H.StoreFastStoreFast:
      st.locals[arg >> 4] = sim.settle(pop());
      st.locals[arg & 15] = sim.settle(pop());
      return STEP_DIRTY;
    case H.StoreFastLoadFast:
      st.locals[arg >> 4] = sim.settle(pop());
      stack.push(st.locals[arg & 15] ?? UNKNOWN_UNBOUND_LOCAL);
      return STEP_DIRTY;
    case H.StoreDeref: {
      const val = sim.settle(pop());
      st.locals[sim.derefSlot(code, arg)] = val;
      const name = code.freeNames[arg];
      if (name !== undefined) cells.set(name, join(cells.get(name), val)!);
      return STEP_DIRTY;
    }
    case H.StoreAttr: {
      const obj = stripSelf(pop());
      const val = sim.settle(pop());
      const name = code.names[arg];
      if (obj.k === 'instance' && obj.cls.k === 'class') {
        const cls = obj.cls.def;
        cls.instanceAttrs.set(name, join(cls.instanceAttrs.get(name), val)!);
      }
      return 0;
    }
    case H.DeleteName:
      if (st.names) st.names[arg] = undefined;
      return STEP_DIRTY;
    case H.DeleteFast:
      st.locals[arg] = undefined;
      return STEP_DIRTY;
    case H.DeleteDeref:
      st.locals[sim.derefSlot(code, arg)] = undefined;
      return STEP_DIRTY;
    case H.DeleteGlobal:
      return 0;
    default:
      return 0; // Not an opcode of this family (the dispatch table sends none).
  }
}
