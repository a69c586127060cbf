// Opcode handlers of the simulation: operators folded on facts of the analysed interpreter (subscripts,
// comparisons, `not`, truth) and the constant sequences that __all__ and tuples are built from.

import type { PyConst } from '../protocol';
import { unknown } from '../values';
import { CONST_TRUE, CONST_FALSE, constSeq } from './common';
import { H } from './opcodes';
import type { Simulator, State } from './types';

/** The opcodes stepOperator handles (the core's dispatch table sends it no other). */
export const OPERATORS_OPS: readonly H[] = [H.LegacyBinary, H.BinarySubscr, H.CompareOp, H.UnaryNot, H.ToBool, H.BuildSeq, H.ListExtend, H.ListToTuple];

/** Simulates instruction `i` (opcode `op`, stack effect `effect`) of the current code object; returns STEP_* flags. */
export function stepOperator(sim: Simulator, st: State, i: number, op: number, effect: number): number {
  const idx = sim.codeIdx;
  const code = sim.code!;
  const memo = sim.memo;
  const t = sim.t;
  const stack = st.stack;
  const arg = code.arg[i];
  const siteMap = sim.siteMap;
  const pop = sim.popFn;
  const popN = sim.popNFn;
  switch (t.handler[op] as H) {
    case H.LegacyBinary: {
      const right = pop();
      const left = pop();
      stack.push(sim.binary(idx, code, i, t.operator[op]!, left, right, memo, siteMap));
      return 0;
    }
    case H.BinarySubscr: {
      const index = pop();
      const base = pop();
      stack.push(sim.memoized(memo, i, [base, index], () => sim.foldSubscr(base, index) ?? { k: 'subscr', base, index }));
      return 0;
    }
    case H.CompareOp: {
      const right = pop();
      const left = pop();
      const sym = sim.decoder.model.cmpOps[arg >> sim.decoder.model.cmpShift];
      const folded = sim.foldCompare(sym, left, right);
      stack.push(folded === undefined ? unknown('comparison') : folded ? CONST_TRUE : CONST_FALSE);
      return 0;
    }
    case H.UnaryNot: {
      const val = pop();
      const tr = sim.truth(val);
      stack.push(tr === undefined ? unknown('not') : tr ? CONST_FALSE : CONST_TRUE);
      return 0;
    }
    case H.ToBool: {
      const val = pop();
      const tr = sim.truth(val);
      stack.push(tr === undefined ? unknown('bool') : tr ? CONST_TRUE : CONST_FALSE);
      return 0;
    }
    case H.BuildSeq: {
      const items = popN(arg);
      const consts: PyConst[] = [];
      for (const it of items) {
        if (it.k !== 'const') break;
        consts.push(it.value);
      }
      const isList = t.names[op] === 'BUILD_LIST';
      stack.push(consts.length === items.length ? sim.memoized(memo, i, items, () => ({ k: 'const', value: isList ? { list: consts } : { tuple: consts } })) : unknown(isList ? 'list' : 'tuple'));
      return 0;
    }
    case H.ListExtend: {
      const iterable = pop();
      const k = stack.length - arg;
      if (k < 0) {
        sim.noteDesync(code, i);
        return 0;
      }
      const list = stack[k];
      const a = list.k === 'const' ? constSeq(list.value) : undefined;
      const b = iterable.k === 'const' ? constSeq(iterable.value) : undefined;
      stack[k] = a && b ? sim.memoized(memo, i, [list, iterable], () => ({ k: 'const', value: { list: a.concat(b) } })) : unknown('list');
      return 0;
    }
    case H.ListToTuple: {
      const val = pop();
      const a = val.k === 'const' ? constSeq(val.value) : undefined;
      stack.push(a ? sim.memoized(memo, i, [val], () => ({ k: 'const', value: { tuple: a } })) : unknown('tuple'));
      return 0;
    }
    default:
      return 0; // Not an opcode of this family (the dispatch table sends none).
  }
}
