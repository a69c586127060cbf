// Dead top-level definitions for the reachability gate (pythonGate.ts): a standard-library module's function or class
// that its C accelerator bound over before the module's body ended. operator.py's attrgetter, whose getattr by a
// computed name would force the fallback, is _operator.attrgetter in every process that imported operator.

import type { RuntimeBinding } from './bytecode/helperRecords';
import type { ProgramModule } from './bytecode/naming';
import { shortName } from './bytecode/simulate';
import { BUILTIN_BASE } from './gateClasses';
import { type Code, codesOf } from './gateCodes';

export type BindingOf = (module: string, file: string | undefined, name: string) => RuntimeBinding | null | undefined;

/**
 * The code indexes of `m`'s top-level functions and classes that no name can reach, each with why. The real module
 * binds the name to a C object (as the helper's own import of it found, shadowed.ts), which the process bound too:
 * the C module is compiled into the interpreter, or in the process's sys.modules (`live`); a C type that names the
 * Python module its own needs every module the body imports so. The body imports no Python module. Nothing could have kept the
 * Python object before it was bound over: it has no decorator, no metaclass or keyword, no base but the interpreter's
 * (whose hooks could store it); no other code of the module uses its name (a load while the body ran could have
 * passed it on), and none hands out the module's namespace by computed names (globals(), vars()).
 */
export function shadowedDefinitions(m: ProgramModule, bindingOf: BindingOf, modules: ReadonlyMap<string, ProgramModule>, live: ReadonlySet<string> | undefined): Map<number, string> {
  const out = new Map<number, string>();
  const s = m.summary;
  if (m.kind !== 'python' || !s) return out;
  const codes = codesOf(m);
  if (codes.some((c) => c.facts.reflections.some((r) => r.own) || (c.facts.role === 'module' && c.facts.reflections.length))) return out;
  // Its body imports no Python module: none could run (a circular import) and take a definition before it is bound over.
  const bodyImports = s.imports.filter((im) => im.scope !== 'function').flatMap((im) => im.targets);
  if (bodyImports.some((n) => modules.get(n)?.kind === 'python')) return out;
  // A C module the process imported: compiled into the interpreter, or in its sys.modules.
  const loaded = (n: string) => modules.get(n)?.kind === 'builtin' || (live?.has(n) ?? false);
  const importsLoaded = [...s.stars.map((st) => st.module), ...bodyImports];
  for (const c of codes) {
    const f = c.facts;
    if (f.parent !== 0 || f.role === 'module' || f.name.startsWith('<') || f.qualname !== f.name) continue;
    const b = bindingOf(m.name, m.file, f.name);
    if (!b) continue;
    let by: string | undefined;
    if ((b.kind === 'native-function' || b.kind === 'native-type' || b.kind === 'native-method') && (b.builtin || loaded(b.module))) {
      by = `${b.module}.${b.kind === 'native-function' ? b.name : b.kind === 'native-type' ? b.type : `${b.type}.${b.name}`}`;
    } else if (b.kind === 'class' && b.python === false && b.module === m.name && importsLoaded.every((n) => loaded(n))) {
      by = `a C type of the same name`;
    }
    if (by === undefined || !unadorned(m, c) || usedElsewhere(codes, c)) continue;
    out.set(c.index, `${m.name}.${f.name} is bound over by ${by} when ${m.name} is imported`);
  }
  return out;
}

/** No decorator; for a class, no metaclass, keyword or base but the interpreter's own. */
function unadorned(m: ProgramModule, c: Code): boolean {
  const s = m.summary!;
  if (c.facts.role === 'function') return (s.defs[c.index]?.decorators.length ?? 1) === 0;
  const cls = s.classes.find((d) => d.code === c.index);
  return !!cls && !cls.decorators.length && !cls.metaclass && !cls.keywords && cls.bases.every((b) => BUILTIN_BASE.test(shortName(b) ?? ''));
}

/** Whether code of the module outside `c` (and the code nested in it) uses `c`'s name. */
function usedElsewhere(codes: Code[], c: Code): boolean {
  const facts = c.module.summary!.facts;
  const inside = (i: number): boolean => {
    for (let p = i; p >= 0; p = facts[p]?.parent ?? -1) if (p === c.index) return true;
    return false;
  };
  return codes.some((o) => !inside(o.index) && (o.facts.names.includes(c.facts.name) || o.facts.free.includes(c.facts.name)));
}
