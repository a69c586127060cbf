// What the reachability gate (pythonGate.ts) knows of two standard-library functions whose reflection is bounded by
// their own code: it is no reflection that defeats names, in the standard library's own file of that module.

import type { CodeFacts } from './bytecode/simulate';
import type { Code } from './gateCodes';

/**
 * Whether reflection `r` in code `c` is modelled: collections.namedtuple evaluates (3.8: executes) the source of its
 * `__new__`, `lambda _cls, <fields>: _tuple_new(_cls, (<fields>))`, whose field names it checked are identifiers and
 * no keywords: that code reads its parameters and tuple.__new__ only. functools.update_wrapper's getattr by the names
 * of `assigned` and `updated` copies those attributes from the wrapped function to the wrapper under the same names
 * (the `__dict__` merged into the wrapper's): with the default names, dunder data; a call that passes other names, or
 * passes update_wrapper or wraps on as a value, is a reflection site where it is (simulation/stdlibCalls.ts).
 */
export function stdlibModelled(c: Code, r: CodeFacts['reflections'][number], isStdlib: (file: string | undefined) => boolean): boolean {
  const key = `${c.module.name}:${c.facts.qualname}`;
  const modelled = key === 'collections:namedtuple' ? r.what === 'eval()' || r.what === 'exec()' : key === 'functools:update_wrapper' && r.what === 'getattr with a computed name';
  return modelled && isStdlib(c.module.file);
}
