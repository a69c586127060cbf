// Top-level definitions a standard-library module may bind over later in its body: its C accelerator's
// `from _operator import *`, or `try: from _functools import partial`. The tracking asks the helper what the real
// module binds those names to (stdlibExports.ts); the reachability gate (gateShadowed.ts) decides which are dead.

import type { ProgramModule } from './naming';

/**
 * The names of `m`'s top-level functions and classes that something else may bind at the end of its body: every one
 * when a star import from a module that is not a Python module of the closure ran (its names are not known), else
 * those whose final binding is a union (another binding may win). Empty for modules without a summary.
 */
export function shadowCandidates(m: ProgramModule, kindOf: (module: string) => ProgramModule['kind'] | undefined): string[] {
  const s = m.summary;
  if (m.kind !== 'python' || !s) return [];
  const opaqueStar = s.stars.some((st) => kindOf(st.module) !== 'python');
  const out = new Set<string>();
  const consider = (qualname: string, parentIsModule: boolean) => {
    if (!parentIsModule || qualname.includes('.') || qualname.startsWith('<')) return;
    if (opaqueStar || s.namespace.get(qualname)?.k === 'union') out.add(qualname);
  };
  for (const d of s.defs) if (d && d.kind === 'function') consider(d.qualname, d.parent === 0);
  for (const c of s.classes) consider(c.qualname, s.defs[c.code]?.parent === 0 || s.facts[c.code]?.parent === 0);
  return [...out].sort();
}
