// The code objects the Python-level reachability gate (pythonGate.ts) works on: a module's code object with the facts
// its simulation gave, how to list them, and which decorators keep a function where only its name can reach it.

import * as path from 'node:path';
import type { ProgramModule } from './bytecode/naming';
import { type CodeFacts, shortName } from './bytecode/simulate';
import type { Expr } from './bytecode/values';

/** Decorators that return a wrapper bound to the same name, and store the function nowhere else. */
export const BENIGN_DECORATORS = new Set([
  'property', 'staticmethod', 'classmethod', 'setter', 'getter', 'deleter', 'cached_property', 'abstractmethod',
  'wraps', 'lru_cache', 'cache', 'contextmanager', 'asynccontextmanager', 'overload', 'final', 'override',
  'total_ordering', 'dataclass', 'set_module', 'array_function_dispatch', 'array_function_from_c_func_and_dispatcher',
  'deprecated', 'deprecate', 'singledispatch', 'singledispatchmethod', 'no_type_check', 'runtime_checkable',
]);

/** Decorators that make a function a property's getter. */
export const PROPERTIES = new Set(['property', 'cached_property', 'getter']);

export interface Code {
  module: ProgramModule;
  index: number;
  facts: CodeFacts;
}

export function decoratorName(e: Expr): string | undefined {
  if (e.k === 'call') return shortName(e.callee);
  return shortName(e);
}

export function where(c: Code): string {
  return `${path.basename(c.module.file ?? c.module.name)}:${c.facts.line}`;
}

export function codeOf(m: ProgramModule, i: number): Code | undefined {
  const f = m.summary?.facts[i];
  return f ? { module: m, index: i, facts: f } : undefined;
}

export function codesOf(m: ProgramModule): Code[] {
  return (m.summary?.facts ?? []).flatMap((f, i) => (f ? [{ module: m, index: i, facts: f }] : []));
}

export function parentRole(c: Code): CodeFacts['role'] | undefined {
  return c.module.summary!.facts[c.facts.parent]?.role;
}

/**
 * String constants of a code object that hand no name to a lookup: the name of each class it defines (given to
 * __build_class__, which looks nothing up) and a class body's own (its __qualname__). Else every class would be
 * named by its own statement. `children`: the indexes of the code objects nested in it.
 */
export function inertStrings(c: Code, children: number[]): Set<string> {
  const out = new Set<string>();
  const s = c.module.summary!;
  if (c.facts.role === 'class') out.add(c.facts.name);
  for (const i of children) if (s.facts[i]?.role === 'class') out.add(s.facts[i]!.name);
  return out;
}

/** The fallback's reason: the first three reflection sites, how many more, and where they were looked for. */
export function reflectionReason(sites: string[], where: string): string {
  return `reflection defeats names: ${sites.slice(0, 3).join('; ')}${sites.length > 3 ? ` and ${sites.length - 3} more` : ''} (${where})`;
}
