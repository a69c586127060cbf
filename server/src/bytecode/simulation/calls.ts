// Opcode handlers of the simulation: calls with keywords or star arguments and function creation
// (MAKE_FUNCTION, SET_FUNCTION_ATTRIBUTE); CALL itself stays in the core's hot `step`.

import { unknown, constStrings } from '../values';
import { H } from './opcodes';
import type { Simulator, State } from './types';

/** The opcodes stepCall handles (the core's dispatch table sends it no other). */
export const CALLS_OPS: readonly H[] = [H.CallFunctionKw, H.CallFunctionEx, H.CallKw, H.MakeFunction, H.SetFunctionAttribute];

/** Simulates instruction `i` (opcode `op`, stack effect `effect`) of the current code object; returns STEP_* flags. */
export function stepCall(sim: Simulator, st: State, i: number, op: number, effect: number): number {
  const idx = sim.codeIdx;
  const code = sim.code!;
  const role = sim.role!;
  const memo = sim.memo;
  const stack = st.stack;
  const arg = code.arg[i];
  const siteMap = sim.siteMap;
  const pop = sim.popFn;
  const popN = sim.popNFn;
  const v = sim.version;
  switch (sim.t.handler[op] as H) {
    case H.CallFunctionKw: {
      const items = popN(arg + 2);
      const names = items.pop()!;
      sim.call(idx, code, role, st, i, items, 1, arg, names.k === 'const' ? (constStrings(names.value) ?? null) : null, false, memo, siteMap);
      return 0;
    }
    case H.CallFunctionEx: {
      const count = 2 + (arg & 1) + (v >= 11 ? 1 : 0);
      const items = popN(count);
      const head = v >= 11 ? 2 : 1;
      sim.call(idx, code, role, st, i, items, head, 0, null, true, memo, siteMap);
      return 0;
    }
    case H.CallKw: {
      const items = popN(arg + 3);
      const names = items.pop()!;
      sim.call(idx, code, role, st, i, items, 2, arg, names.k === 'const' ? (constStrings(names.value) ?? null) : null, false, memo, siteMap);
      return 0;
    }
    case H.MakeFunction: {
      const items = popN(1 - effect);
      let codeIdx = -1;
      let qualConst: string | undefined;
      for (let k = items.length - 1; k >= 0; k--) {
        const it = items[k];
        if (it.k === 'code' && codeIdx < 0) codeIdx = it.index;
        else if (it.k === 'const' && typeof it.value === 'string' && qualConst === undefined && k === items.length - 1) qualConst = it.value;
      }
      if (codeIdx < 0 || codeIdx >= sim.codes.length) {
        stack.push(unknown('function of an unknown code object'));
        return 0;
      }
      stack.push(sim.makeFunction(idx, codeIdx, role, qualConst));
      return 0;
    }
    case H.SetFunctionAttribute: {
      const fn = pop();
      pop();
      stack.push(fn);
      return 0;
    }
    default:
      return 0; // Not an opcode of this family (the dispatch table sends none).
  }
}
