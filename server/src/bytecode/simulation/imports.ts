// Opcode handlers of the simulation: imports (IMPORT_NAME, IMPORT_STAR and the 3.12 intrinsics, one of which
// is the star import), recorded in the summary with the module each binds.

import { constStrings, moduleExpr, unknown } from '../values';
import { CONST_NONE, STEP_DIRTY } from './common';
import { H } from './opcodes';
import type { Simulator, State } from './types';

/** The opcodes stepImport handles (the core's dispatch table sends it no other). */
export const IMPORTS_OPS: readonly H[] = [H.ImportName, H.ImportStar, H.CallIntrinsic1];

/** Simulates instruction `i` (opcode `op`, stack effect `effect`) of the current code object; returns STEP_* flags. */
export function stepImport(sim: Simulator, st: State, i: number, op: number, effect: number): number {
  const idx = sim.codeIdx;
  const code = sim.code!;
  const role = sim.role!;
  const memo = sim.memo;
  const stack = st.stack;
  const arg = code.arg[i];
  const pop = sim.popFn;
  switch (sim.t.handler[op] as H) {
    case H.ImportName: {
      const fromlistV = pop();
      const levelV = pop();
      const name = code.names[arg];
      const level = levelV.k === 'const' && typeof levelV.value === 'number' ? levelV.value : 0;
      const fromlist = fromlistV.k === 'const' ? constStrings(fromlistV.value) ?? null : null;
      const abs = sim.absoluteImport(name, level);
      sim.recordImport(idx, code, i, role, { module: abs.module, fromlist: fromlist && fromlist.length ? fromlist : null, level, via: 'import', error: abs.error });
      // `import a.b.c` binds `a`; with a fromlist the module itself is returned.
      const bound = fromlist && fromlist.length ? abs.module : abs.module.split('.')[0];
      stack.push(abs.error ? unknown('bad relative import') : moduleExpr(bound));
      return 0;
    }
    case H.ImportStar: {
      sim.starImport(pop(), st, role);
      return STEP_DIRTY;
    }
    case H.CallIntrinsic1: {
      const which = sim.decoder.model.intrinsic1?.[arg];
      const val = pop();
      if (which === 'INTRINSIC_IMPORT_STAR') {
        sim.starImport(val, st, role);
        stack.push(CONST_NONE);
        return STEP_DIRTY;
      }
      if (which === 'INTRINSIC_LIST_TO_TUPLE' && val.k === 'const' && val.value !== null && typeof val.value === 'object' && 'list' in val.value) {
        const items = val.value.list;
        stack.push(sim.memoized(memo, i, [val], () => ({ k: 'const', value: { tuple: items } })));
        return 0;
      }
      stack.push(unknown('intrinsic result'));
      return 0;
    }
    default:
      return 0; // Not an opcode of this family (the dispatch table sends none).
  }
}
