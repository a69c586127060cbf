// What the reachability gate (pythonGate.ts) knows of standard-library code whose reflection is bounded by its own
// code (namedtuple, update_wrapper, cached_property, os, ast, warnings, ctypes, enum, copyreg, ssl, subprocess, typing,
// inspect, tarfile, total_ordering, UserDict) or is the import statement's own work (the import machinery):
// no reflection that defeats names, in the standard library's own file of that module; and the calls from other code
// that leave such a model, which are reflection where they are.

import type { CodeFacts } from './bytecode/simulate';
import { BENIGN_DECORATORS, type Code, decoratorName } from './gateCodes';
import type { ProgramModule } from './bytecode/naming';
import type { Expr } from './bytecode/values';

type Reflection = CodeFacts['reflections'][number];

/**
 * The reflection sites of code `c` as the gate judges them: the modelled ones left out, reads of data fields by names
 * the data gives turned into accessor reads (they may run a getter), and the sites where other code leaves a model
 * (entryReflection) added.
 */
export function judgedReflections(c: Code, isStdlib: (file: string | undefined) => boolean): Reflection[] {
  const key = `${c.module.name}:${c.facts.qualname}`;
  const stdlib = isStdlib(c.module.file);
  const out: Reflection[] = [];
  for (const r of c.facts.reflections) {
    if (stdlib && MODELLED.get(key)?.includes(r.what)) continue;
    out.push(stdlib && FIELD_READS.get(key)?.includes(r.what) ? { ...r, accessor: 'get' } : r);
  }
  return [...out, ...entryReflection(c, stdlib)];
}

/**
 * Reflection whose every effect the gate knows, by module:qualname.
 *
 * collections.namedtuple evaluates (3.8: executes) the source of its `__new__`, `lambda _cls, <fields>:
 * _tuple_new(_cls, (<fields>))`, whose field names it checked are identifiers and no keywords: that code reads its
 * parameters and tuple.__new__ only. functools.update_wrapper's getattr by the names of `assigned` and `updated`
 * copies those attributes from the wrapped function to the wrapper under the same names (the `__dict__` merged into
 * the wrapper's): with the default names, dunder data; a call that passes other names, or passes update_wrapper or
 * wraps on as a value, is a reflection site where it is (simulation/stdlibCalls.ts).
 *
 * os's body hands its namespace (`_globals = globals()`) to `_add(str, fn)`, whose every call gives constant names of
 * posix functions, and tests names against it (`_exists`). ast.parse compiles with PyCF_ONLY_AST always set: an AST,
 * no code. warnings' `_getcategory` resolves a `-W` option's category: it imports the module the option names and
 * fetches a class it checks is a Warning subclass, which only issubclass tests read (warnings.filters); nothing but
 * warnings' own `_setoption` and `_processoptions` call it, which its body runs on sys.warnoptions at start-up (other
 * code calling them is a reflection site there: entryReflection). ctypes' LibraryLoader.__getitem__ (`cdll['libc.so.6']`)
 * fetches the loader's own attributes by the key: a library it loaded, else one its `__getattr__` loads (the hook, a
 * protocol method, reachable with the class), else its own method, whose only effect, LoadLibrary's, is that hook's.
 * ctypes._endian's `_other_endian` tests and fetches the swapped type of a ctypes type under `_OTHER_ENDIAN`, its
 * private global, `__ctype_be__` or `__ctype_le__` by the byte order (no code rebinds it): a class attribute ctypes'
 * own types set to a type.
 *
 * enum's class creation copies namespaces under the same names: EnumType.__new__ merges the new class's `__dict__`
 * into its class dict, which it then reads and writes by constant names only; `_simple_enum`'s convert_class copies
 * the decorated class's `__dict__` into the body of the enum class it builds (descriptors and dunders) or makes members
 * of the rest (values a member holds: a function is a descriptor, so no member holds one, and any other value came by
 * a name the class body uses); `_proto_member.__set_name__` (3.11, 3.12) and `EnumType._add_member_` (3.13) fetch a
 * base's descriptor by the member's own name and copy its accessors into a property bound under that name. A member's
 * `__reduce_ex__` (Enum's and Flag's, 3.11.2; `pickle_by_enum_name` later) hands pickle and copy `getattr` with the
 * member's class and own name: that call returns the member, an instance of the class, never a function. copyreg's
 * `_reduce_ex` (pickle and copy protocol < 2) returns an instance's `__dict__` as the state its reconstruction puts back
 * under the same names (code that reads that state by computed names is a site of its own). `EnumType._convert_`
 * (`EnumMeta._convert_` before 3.11; signal, socket, ssl and others build their IntEnums with it at import) reads a
 * module's namespace (`__dict__`, `vars()` in 3.8) for the names its caller's filter passes, makes an enum class of those
 * (name, value) pairs through the class creation above, and writes the members and the class back under their own
 * names: namespaces copied under the same names; the filter is the caller's code, judged where it is.
 *
 * functools.cached_property's `__get__` reads and writes the instance's own `__dict__` under `self.attrname` only, the
 * name `__set_name__` gave it (the name its class body binds the decorated function to): it hands out what it stored
 * there (what that function returned) or what an attribute store of that very name did, to an attribute load of that
 * name; never a value fetched by a name no code shows. ssl's `_sslcopydoc` decorator reads the `__doc__` of the attribute
 * of class SSLObject named as the function it decorates: a docstring, nothing called (a class attribute lookup on that
 * Python class runs no getter). subprocess's `Popen._execute_child` fetches from builtins, by the name the child's
 * exec error report gives (`OSError`), the exception class it raises: `issubclass` tests the value first (it raises
 * for anything not a class), so only a class is called: a built-in type, whose slots are the interpreter's, or one code
 * stored there under its own name. traceback's `StackSummary` (`extract`, 3.8–3.10; `_extract_from_extended_frame_gen`)
 * hands each frame's `f_globals` to `linecache.lazycache`, which reads it by the constant keys `__name__`, `__spec__`
 * and `__loader__` only (the loader's `get_source`, import machinery, is a name of its code): nothing of the module is
 * fetched by a computed key; with `capture_locals` it hands a frame's `f_locals` to `FrameSummary`, which keeps only
 * the `repr` of each value (a protocol method). Its `_compute_suggestion_error` (3.12+, a NameError's "Did you mean")
 * lists a frame's `f_locals` and `f_globals` keys, strings it compares with the missing name, and reads `self` from
 * `f_locals` by that constant key; no value is read by a computed key.
 *
 * typing: `_GenericAlias.__reduce__` (pickle and copy of `List[int]`) fetches from typing's namespace, by the alias's
 * `_name`, the alias to subscript again. `_name` is what typing's own alias constructors were given: its constant
 * `name=` arguments (`name='List'`), an origin class's `__name__` under which typing binds that alias (`Hashable`), or
 * `self._name` handed on by `copy_with` and `__getitem__`; never a function's name, so the value is one of typing's alias
 * objects, never a function (`globals()` there hands out no other binding of the module). Not seen (a limit): code that
 * rebinds a private alias's `_name`, or builds one with a computed `name=`, and pickles it. `ForwardRef.__init__`
 * compiles a forward reference's string in 'eval' mode and stores the code object as `__forward_code__`: compiling runs
 * nothing; `ForwardRef._evaluate` evaluates it (its eval is a reflection site of its own, reached with
 * `get_type_hints`), and any other code that runs it names `__forward_code__` and calls exec, eval or a function
 * constructor on it, a reflection site where it is. `_get_protocol_attrs` (3.8–3.11) reads only the keys of a protocol
 * class's `__dict__`, strings, which it returns as the protocol's member names; no value is fetched through it.
 * inspect's body binds `CO_<flag>` names to the compiler flags' integers through `mod_dict = globals()` (stores by the
 * prefixed names dis's flag table gives, then `del mod_dict`): the namespace is written, never read by a computed name.
 * functools' `total_ordering` tests and sets a class's comparison methods by the names of its private table `_convert`
 * (`__lt__`, `__le__`, `__gt__`, `__ge__`: protocol methods, which come with their class), setting functools' own
 * `_gt_from_lt` and friends (named in that table). Not seen (a limit): code that rebinds or fills `functools._convert`.
 * tarfile's `TarFile.open` fetches its per-compression constructor by the names in the class constant `OPEN_METH`
 * (`'taropen'`, `'gzopen'`, ...: strings of reachable code, so names; a subclass's own table is a class body's constant
 * too). Not seen (a limit): code that writes a computed name into `OPEN_METH`.
 * collections' `UserDict.__copy__` and `UserList.__copy__` (copy.copy of any object reaches every `__copy__`) copy an
 * instance's `__dict__` into a new instance's under the same names: a namespace copied under the same names.
 *
 * The import machinery's is what an import does, which the gate models by the import's target (a reachable
 * `import m` reaches m's body; an import of a computed name is a reflection site where it is): the code it compiles,
 * unmarshals and executes in a module's namespace is the code of the module being imported (FrozenImporter,
 * _LoaderBasics and zipimporter's exec, _compile_bytecode's marshal.loads, source_to_code's compile, NamespaceLoader's
 * empty code); it binds a submodule on its parent under the submodule's name (_find_and_load_unlocked); it tests a
 * package for the names an import statement lists (_handle_fromlist); it reads a package's `__path__`, or sys's
 * `path` (_get_parent_path); it copies a function's metadata to its wrapper (_wrap); it fixes a frozen module's spec
 * attributes by their own names (_fix_up_module, load_module); it formats its own constant messages; a lazy module
 * (importlib.util.LazyLoader) runs its loader at the first attribute access, by the name the access gives;
 * importlib.util.find_spec imports the parent package of the name it is given (a call with a computed name is a
 * reflection site where it is: simulation/gateFacts.ts). Where other code runs a module's code through a loader, or
 * gives the machinery code to run, the site is reflection there (entryReflection).
 */
const MODELLED = new Map<string, readonly string[]>([
  ['collections:namedtuple', ['eval()', 'exec()']],
  ['functools:update_wrapper', ['getattr with a computed name']],
  ['os:<module>', ['globals()']],
  ['inspect:<module>', ['globals()']],
  ['tarfile:TarFile.open', ['getattr with a computed name']],
  ['functools:total_ordering', ['getattr with a computed name', 'setattr with a computed name']],
  ['functools:total_ordering.<locals>.<setcomp>', ['getattr with a computed name']],
  ['ast:parse', ['compile()']],
  ['warnings:_getcategory', ['__import__ of a computed name', 'getattr with a computed name']],
  ['importlib.util:find_spec', ['__import__ of a computed name']],
  ['ctypes:LibraryLoader.__getitem__', ['getattr with a computed name']],
  ['ctypes._endian:_other_endian', ['hasattr with a computed name', 'getattr with a computed name']],
  ['enum:EnumType.__new__', ['`__dict__` access']],
  ['enum:_simple_enum.<locals>.convert_class', ['`__dict__` access']],
  ['enum:_proto_member.__set_name__', ['`__dict__` access']],
  ['enum:EnumType._add_member_', ['`__dict__` access']],
  ['enum:Enum.__reduce_ex__', ['getattr used as a value']],
  ['enum:Flag.__reduce_ex__', ['getattr used as a value']],
  ['enum:pickle_by_enum_name', ['getattr used as a value']],
  ['enum:EnumType._convert_', ['`__dict__` access', 'vars()']],
  ['enum:EnumMeta._convert_', ['`__dict__` access', 'vars()']],
  ['functools:cached_property.__get__', ['`__dict__` access']],
  ['typing:_GenericAlias.__reduce__', ['globals()']],
  ['typing:ForwardRef.__init__', ['compile()']],
  ['typing:_get_protocol_attrs', ['`__dict__` access']],
  ['collections:UserDict.__copy__', ['`__dict__` access']],
  ['collections:UserList.__copy__', ['`__dict__` access']],
  ['ssl:_sslcopydoc', ['getattr with a computed name']],
  ['subprocess:Popen._execute_child', ['the builtins namespace passed as a value']],
  ['traceback:StackSummary._extract_from_extended_frame_gen', ['`f_globals` access', '`f_locals` access']],
  ['traceback:StackSummary.extract', ['`f_globals` access', '`f_locals` access']],
  ['traceback:_compute_suggestion_error', ['`f_globals` access', '`f_locals` access']],
  ['copyreg:_reduce_ex', ['`__dict__` access']],
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

/**
 * Reads of a node's data fields by the names its class lists (`_fields`, `_attributes`): ast.iter_fields and
 * ast.dump. They hand on what they read, which code stored there; a getter may run (an accessor read).
 * logging's format styles (`PercentStyle`, `StrFormatStyle`, `StringTemplateStyle`: `_format`) read a log record's
 * `__dict__` by the names a format string gives (`%(message)s`, `{asctime}`, `$levelname`) and only format what they
 * read (`%`, `str.format`, `Template.substitute`: `__str__`, `__repr__`, `__format__`, protocol methods); `str.format`
 * may read attributes of it by names the format string gives (`{record.args.x}`), whose getters may run.
 */
const FIELD_READS = new Map<string, readonly string[]>([
  ['ast:iter_fields', ['getattr with a computed name']],
  ['ast:dump.<locals>._format', ['getattr with a computed name']],
  ['logging:PercentStyle._format', ['`__dict__` access']],
  ['logging:StrFormatStyle._format', ['`__dict__` access']],
  ['logging:StringTemplateStyle._format', ['`__dict__` access']],
]);


/** The modules of the import machinery: every process ran them (they imported the program). */
export const IMPORT_MACHINERY = ['importlib._bootstrap', 'importlib._bootstrap_external', 'zipimport'];

/**
 * The import machinery's method decorators (`_check_name`, `_requires_builtin`, `_requires_frozen`): each returns a
 * wrapper that checks the module name and calls the method, its metadata copied by `_wrap`; none keeps the method.
 */
const MACHINERY_DECORATORS = new Set(['_check_name', '_requires_builtin', '_requires_frozen']);

/**
 * Whether a decorator of a function of module `m` keeps it nowhere but in the name it binds (BENIGN_DECORATORS, and
 * the import machinery's own in its standard-library files): otherwise the function stays reachable (an import-time
 * leftover), as the decorator may have stored it.
 */
export function keepsNothing(d: Expr, m: ProgramModule, isStdlib: (file: string | undefined) => boolean): boolean {
  const n = decoratorName(d) ?? '';
  return BENIGN_DECORATORS.has(n) || (MACHINERY_DECORATORS.has(n) && IMPORT_MACHINERY.includes(m.name) && isStdlib(m.file));
}

/** The modules of the import machinery and their helper importlib.util (its LazyLoader, find_spec). */
const MACHINERY_MODULES = new Set([...IMPORT_MACHINERY, 'importlib.util']);

/**
 * Names by which code runs a module's code through a loader, outside an import statement; imp's load_source and
 * friends through the machinery's own `_exec` and `_load` (importlib.reload does too, but of a module that ran: its
 * body is reachable code already).
 */
const RUNS_LOADER = ['exec_module', 'load_module'];
const RUNS_LOADER_IMP = [...RUNS_LOADER, '_exec', '_load'];

/** Loader methods whose result the machinery compiles or executes as a module's code. */
const GIVES_CODE = new Set(['get_code', 'source_to_code']);

/** Private entries of a model (MODELLED) that only their own module calls, by that module. */
const PRIVATE_ENTRIES = new Map([['warnings', ['_processoptions', '_setoption', '_getcategory']]]);

/**
 * Reflection where code leaves a model: a function outside the import machinery that runs a module's code through a
 * loader (`spec.loader.exec_module(m)` after `spec_from_file_location`, `load_module()`, imp's load_source): a file no
 * import statement names; a method outside it that gives the machinery code to run (a loader's own `get_code` or
 * `source_to_code`: an import hook that rewrites source; not `get_data`, a name too common to tell a loader's, so a
 * loader that serves other bytes through it alone is not seen); and code outside warnings that names its option
 * parser. Each at the code's first line.
 */
function entryReflection(c: Code, stdlib: boolean): Reflection[] {
  const f = c.facts;
  if (f.role !== 'function') return [];
  const out: Reflection[] = [];
  if (!(MACHINERY_MODULES.has(c.module.name) && stdlib)) {
    const runs = (c.module.name === 'imp' ? RUNS_LOADER_IMP : RUNS_LOADER).find((n) => f.names.includes(n));
    if (runs) out.push({ line: f.line, what: `a module's code run through a loader (\`${runs}\`)` });
    if (GIVES_CODE.has(f.name) && f.qualname.includes('.')) out.push({ line: f.line, what: `code given to the import machinery by a loader (\`${f.name}\`)` });
  }
  for (const [owner, names] of PRIVATE_ENTRIES) {
    const used = c.module.name === owner && stdlib ? undefined : names.find((n) => f.names.includes(n));
    if (used) out.push({ line: f.line, what: `${owner}'s \`${used}\` called from outside it (it imports and fetches by the names it is given)` });
  }
  return out;
}

/** The interpreter's frozen import machinery (sys.modules names it so even when importlib was not imported): its sources. */
export const FROZEN_SOURCES = new Map([
  ['_frozen_importlib', 'importlib._bootstrap'],
  ['_frozen_importlib_external', 'importlib._bootstrap_external'],
]);


/**
 * Whether `line` of module `m` lies in an `if __name__ == '__main__':` block of its body (mainGuard.ts), which runs
 * only when the module is the program (`program`: its file is one of the program's).
 */
export function inMainBlock(m: ProgramModule, line: number, program: boolean): boolean {
  return !program && (m.summary?.facts[0]?.mainOnly?.lines.some(([a, b]) => line >= a && line <= b) ?? false);
}
