// Which modules of a program's import closure ran at start-up, for Python-level reachability (pythonGate.ts): those
// the process's sys.modules names when it was read, else the program files' imports at module and class level; and the
// reflection their module and class bodies did.

import * as path from 'node:path';
import type { ProgramModule } from './bytecode/naming';
import type { CodeFacts } from './bytecode/simulate';
import { FROZEN_SOURCES, IMPORT_MACHINERY, inMainBlock } from './gateModels';

/**
 * The modules the program imported at start-up: those in the process's sys.modules (`live`) when it was read, else
 * its files' (`startup`) import closure through module and class level imports.
 */
export function startupImports(closure: ProgramModule[], byName: ReadonlyMap<string, ProgramModule>, startup: ReadonlySet<string>, live: ReadonlySet<string> | undefined): Set<string> {
  if (live) return new Set(closure.filter((m) => live.has(m.name)).map((m) => m.name));
  const imported = new Set<string>();
  // The import machinery ran in every process (it imported the program).
  const toVisit = [...closure.filter((m) => m.file && startup.has(path.resolve(m.file))).map((m) => m.name), ...IMPORT_MACHINERY];
  while (toVisit.length) {
    const n = toVisit.pop()!;
    if (imported.has(n)) continue;
    imported.add(n);
    const m = byName.get(n);
    if (m?.kind === 'alias' && m.target) toVisit.push(m.target);
    for (const im of m?.summary?.imports ?? []) if (im.scope !== 'function') toVisit.push(...im.targets, ...im.probes);
  }
  return imported;
}

/** The process's sys.modules, with its frozen import machinery under the names of its source modules (the same code). */
export function liveModuleNames(live: ReadonlySet<string> | undefined): Set<string> | undefined {
  if (!live) return undefined;
  const out = new Set(live);
  for (const [frozen, source] of FROZEN_SOURCES) if (live.has(frozen)) out.add(source);
  return out;
}

/**
 * Reflection sites in the module and class bodies of the modules imported at start-up (`startup`; simulated already,
 * unlike function bodies) that neither a known extension module nor the module's own namespace confines
 * (`confinable`): each forces the fallback, as the full closure reaches these bodies (pythonGate.ts takeImportTime).
 * Empty when there are none.
 */
export function bodyReflection(startup: Iterable<string>, byName: ReadonlyMap<string, ProgramModule>, confinable: (r: CodeFacts['reflections'][number], m: ProgramModule) => boolean, isProgram: (m: ProgramModule) => boolean): string[] {
  const sites: string[] = [];
  for (const n of startup) {
    const m = byName.get(n);
    if (m?.kind !== 'python' || !m.summary) continue;
    for (const f of m.summary.facts) {
      if (!f || f.role === 'function') continue;
      for (const r of f.reflections) if (!confinable(r, m) && !inMainBlock(m, r.line, isProgram(m))) sites.push(`${r.what} at ${path.basename(m.file ?? m.name)}:${r.line}`);
    }
  }
  return sites;
}
