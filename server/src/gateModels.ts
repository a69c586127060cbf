// What the reachability gate (pythonGate.ts) knows of standard-library code whose reflection is bounded by its own
// code (namedtuple, update_wrapper) or is the import statement's own work (the import machinery): it is no reflection
// that defeats names, in the standard library's own file of that module; and where code outside the import machinery
// runs a module's code through it, which is.

import type { CodeFacts } from './bytecode/simulate';
import type { Code } from './gateCodes';
import type { ProgramModule } from './bytecode/naming';

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
  const modelled =
    key === 'collections:namedtuple' ? r.what === 'eval()' || r.what === 'exec()' : key === 'functools:update_wrapper' ? r.what === 'getattr with a computed name' : (MACHINERY.get(key)?.includes(r.what) ?? false);
  return modelled && isStdlib(c.module.file);
}

/**
 * The import machinery's reflection, by module:qualname. It is what an import does, which the gate models by the
 * import's target (a reachable `import m` reaches m's body; an import of a computed name is a reflection site where
 * it is): the code it compiles, unmarshals and executes in a module's namespace is the code of the module being
 * imported (FrozenImporter, _LoaderBasics and zipimporter's exec, _compile_bytecode's marshal.loads, source_to_code's
 * compile, NamespaceLoader's empty code); it binds a submodule on its parent under the submodule's name
 * (_find_and_load_unlocked); it tests a package for the names an import statement lists (_handle_fromlist); it reads
 * a package's `__path__`, or sys's `path` (_get_parent_path); it copies a function's metadata to its wrapper (_wrap);
 * it fixes a frozen module's spec attributes by their own names (_fix_up_module, load_module); it formats its own
 * constant messages; a lazy module (importlib.util.LazyLoader) runs its loader at the first attribute access, by the
 * name the access gives. Where other code runs a module's code through a loader, or gives the machinery code to run,
 * the site is reflection there (loaderReflection).
 */
const MACHINERY = new Map<string, readonly string[]>([
  ['importlib._bootstrap:_wrap', ['`__dict__` access']],
  ['importlib._bootstrap:_verbose_message', ['str.format of a format string no code shows']],
  ['importlib._bootstrap:FrozenImporter._fix_up_module', ['vars()']],
  ['importlib._bootstrap:FrozenImporter.exec_module', ['`__dict__` access', 'exec()']],
  ['importlib._bootstrap:FrozenImporter.load_module', ['vars()']],
  ['importlib._bootstrap:_find_and_load_unlocked', ['str.format of a format string no code shows', 'setattr with a computed name']],
  ['importlib._bootstrap:_handle_fromlist', ['hasattr with a computed name']],
  ['importlib._bootstrap_external:_check_name.<locals>._wrap', ['`__dict__` access']],
  ['importlib._bootstrap_external:_compile_bytecode', ['marshal.loads']],
  ['importlib._bootstrap_external:_LoaderBasics.exec_module', ['`__dict__` access', 'exec passed as a value']],
  ['importlib._bootstrap_external:SourceLoader.source_to_code', ['compile passed as a value']],
  ['importlib._bootstrap_external:_NamespacePath._get_parent_path', ['getattr with a computed name']],
  ['importlib._bootstrap_external:NamespaceLoader.get_code', ['compile()']],
  ['importlib._bootstrap_external:_NamespaceLoader.get_code', ['compile()']],
  ['importlib._bootstrap_external:FileFinder._fill_cache', ['str.format used as a value']],
  ['zipimport:zipimporter.load_module', ['`__dict__` access', 'exec()', 'the builtins namespace (`__builtins__`) used']],
  ['zipimport:_unmarshal_code', ['marshal.loads']],
  ['zipimport:_compile_source', ['compile()']],
  ['importlib.util:_LazyModule.__getattribute__', ['`__dict__` access']],
  ['importlib.util:_LazyModule.__delattr__', ['__getattribute__ of the name an attribute hook is given', 'delattr of the name an attribute hook is given']],
  ['importlib.util:LazyLoader.exec_module', ['`__dict__` access']],
]);

/** The modules of the import machinery (their source names; the frozen ones run as _frozen_importlib…). */
const MACHINERY_MODULES = new Set([...MACHINERY.keys()].map((k) => k.slice(0, k.indexOf(':'))));

/**
 * Names by which code runs a module's code through a loader, outside an import statement; imp's load_source and
 * friends through the machinery's own `_exec` and `_load` (importlib.reload does too, but of a module that ran: its
 * body is reachable code already).
 */
const RUNS_LOADER = ['exec_module', 'load_module'];
const RUNS_LOADER_IMP = [...RUNS_LOADER, '_exec', '_load'];

/** Loader methods whose result the machinery compiles or executes as a module's code. */
const GIVES_CODE = new Set(['get_code', 'source_to_code']);

/**
 * Reflection the import machinery's model leaves where it is: a function outside the machinery that runs a module's
 * code through a loader (`spec.loader.exec_module(m)` after `spec_from_file_location`, `load_module()`, imp's
 * load_source): a file no import statement names; and a method outside it that gives the machinery code
 * to run (a loader's own `get_code` or `source_to_code`: an import hook that rewrites source; not `get_data`, a name
 * too common to tell a loader's, so a loader that serves other bytes through it alone is not seen). Each as
 * the reflection sites of the code's facts are, at the code's first line.
 */
export function loaderReflection(c: Code, isStdlib: (file: string | undefined) => boolean): CodeFacts['reflections'] {
  const f = c.facts;
  if (f.role !== 'function' || (MACHINERY_MODULES.has(c.module.name) && isStdlib(c.module.file))) return [];
  const out: CodeFacts['reflections'] = [];
  const runs = (c.module.name === 'imp' ? RUNS_LOADER_IMP : RUNS_LOADER).find((n) => f.names.includes(n));
  if (runs) out.push({ line: f.line, what: `a module's code run through a loader (\`${runs}\`)` });
  if (GIVES_CODE.has(f.name) && f.qualname.includes('.')) out.push({ line: f.line, what: `code given to the import machinery by a loader (\`${f.name}\`)` });
  return out;
}

/** The interpreter's frozen import machinery (sys.modules names it so even when importlib was not imported): its sources. */
export const FROZEN_SOURCES = new Map([
  ['_frozen_importlib', 'importlib._bootstrap'],
  ['_frozen_importlib_external', 'importlib._bootstrap_external'],
]);

/** The modules of the import machinery: every process ran them (they imported the program). */
export const IMPORT_MACHINERY = ['importlib._bootstrap', 'importlib._bootstrap_external', 'zipimport'];

/**
 * Whether `line` of module `m` lies in an `if __name__ == '__main__':` block of its body (mainGuard.ts), which runs
 * only when the module is the program (`program`: its file is one of the program's).
 */
export function inMainBlock(m: ProgramModule, line: number, program: boolean): boolean {
  return !program && (m.summary?.facts[0]?.mainOnly?.lines.some(([a, b]) => line >= a && line <= b) ?? false);
}
