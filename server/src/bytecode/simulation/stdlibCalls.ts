// Calls that hand functools.update_wrapper (or wraps) attribute names of their own. The gate models the getattr by a
// computed name in update_wrapper as the copy of its default attributes (server/src/gateModels.ts: `__module__`,
// `__name__`, ..., and `__dict__` merged into the wrapper's); a call passing other names, or update_wrapper passed on
// as a value (called later with any arguments), is a reflection site where it is.

import { shortName } from './common';
import type { Expr } from '../values';
import type { Simulator } from './types';

const WRAPPERS = new Map([
  ['update_wrapper', 2],
  ['wraps', 1],
]);

/** Records such calls as reflection (`reflect`), except in functools itself (its wraps forwards its own parameters). */
export function wrapperNames(sim: Simulator, callee: Expr, positional: Expr[], args: Expr[], star: boolean, kwnames: string[] | null | undefined, reflect: (what: string) => void): void {
  if (sim.summary.name === 'functools') return;
  const name = shortName(sim.settle(callee)) ?? '';
  const positionalLimit = WRAPPERS.get(name);
  if (positionalLimit !== undefined && (star || positional.length > positionalLimit || kwnames?.some((k) => k === 'assigned' || k === 'updated'))) {
    reflect(`functools.${name} given attribute names`);
  }
  for (const a of args) {
    const n = shortName(sim.settle(a)) ?? '';
    if (WRAPPERS.has(n)) reflect(`functools.${n} passed as a value`);
  }
}
