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
 * Python module its own needs every C module the body imports so. The body imports no Python module after the
 * definition (a circular import could take it before it is bound over). Nothing could have kept the
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
  const bodyImportRecords = s.imports.filter((im) => im.scope !== 'function');
  const bodyImports = bodyImportRecords.flatMap((im) => im.targets);
  // The last line where the body imports a Python module: a definition above it exists when that import runs, which
  // could take it (a circular import running code that reads it) before it is bound over; one below it does not yet.
  const lastPythonImport = Math.max(-1, ...bodyImportRecords.filter((im) => im.targets.some((n) => modules.get(n)?.kind === 'python')).map((im) => im.line));
  // A C module the process imported: compiled into the interpreter, or in its sys.modules.
  const loaded = (n: string) => modules.get(n)?.kind === 'builtin' || (live?.has(n) ?? false);
  const importsLoaded = [...s.stars.map((st) => st.module), ...bodyImports.filter((n) => modules.get(n)?.kind !== 'python')];
  for (const c of codes) {
    const f = c.facts;
    if (f.parent !== 0 || f.role === 'module' || f.name.startsWith('<') || f.qualname !== f.name || f.line <= lastPythonImport) continue;
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

/**
 * Whether code of the module that may run while its body runs, outside `c` (and the code nested in it), uses `c`'s
 * name. That code is the body, its class bodies, and the functions the body can call or apply as decorators: those
 * whose names (or whose class's) such code uses, closed over what they use in turn, with the code nested in them.
 * Code of other modules that runs meanwhile reads the module's namespace only through its module object, and a
 * Python import after the definition is excluded (shadowedDefinitions). A function that runs
 * only later reads the name when it is already bound over (operator's `__add__ = add` still keeps `add`).
 */
function usedElsewhere(codes: Code[], c: Code): boolean {
  const facts = c.module.summary!.facts;
  const within = (i: number, root: number): boolean => {
    for (let p = i; p >= 0; p = facts[p]?.parent ?? -1) if (p === root) return true;
    return false;
  };
  const runs = bodyTimeCode(codes);
  return codes.some((o) => runs.has(o.index) && !within(o.index, c.index) && (o.facts.names.includes(c.facts.name) || o.facts.free.includes(c.facts.name)));
}

const bodyTime = new WeakMap<object, Set<number>>();

/** The code of a module that may run while its body runs (see usedElsewhere), by index; once per module summary. */
function bodyTimeCode(codes: Code[]): Set<number> {
  const facts = codes[0]?.module.summary!.facts ?? [];
  let out = bodyTime.get(facts);
  if (out) return out;
  out = new Set<number>();
  const topLevel = (i: number): boolean => {
    for (let p = facts[i]?.parent ?? -1; p >= 0; p = facts[p]?.parent ?? -1) if (facts[p]?.role === 'function') return false;
    return true;
  };
  // The body and its class bodies run; what they (and what runs) use by name may run too, nested code with it.
  for (const c of codes) if (c.facts.role !== 'function' && topLevel(c.index)) out.add(c.index);
  for (let grown = true; grown; ) {
    grown = false;
    const used = new Set(codes.filter((c) => out!.has(c.index)).flatMap((c) => [...c.facts.names, ...c.facts.free]));
    for (const c of codes) {
      if (out.has(c.index)) continue;
      const parent = facts[c.facts.parent];
      // A method may run once its class is named (an instance made, a classmethod called).
      const named = used.has(c.facts.name) || (parent?.role === 'class' && used.has(parent.name));
      if ((c.facts.role === 'function' && topLevel(c.index) && named) || (parent && out.has(c.facts.parent) && parent.role === 'function')) {
        out.add(c.index);
        grown = true;
      }
    }
  }
  bodyTime.set(facts, out);
  return out;
}
