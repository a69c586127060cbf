// Roots for the C functions Python code can call in a live interpreter: every method-table entry (ml_meth), every
// static type's slot functions, methods and getters/setters, of every loaded extension module and of the interpreter.
// CPython reaches them through heap objects (`cfunction_call` calls `r8`), an edge no static walk can follow; bytecode
// tracking resolves the calls the program's files make, and these roots keep the analysis safe for the rest (attribute
// calls such as `np.add.reduce`, callbacks, later calls). cffi modules publish their functions through their own table:
// for them every code pointer in their data is a root. A PythonGate (the names reachable Python code uses) narrows the
// method-table entries and getsets of extension modules to those names; slots and the interpreter's tables stay.

import * as C from '../elf/elfConstants';
import { NativeError } from '../errors';
import { type CodeRef, type PythonTables, type TablesStore, cachedTables } from '../cpython/tables';
import type { Root } from './ept';
import type { AddressSpace, ModuleImage } from '../space/space';
import type { ElfSymbol } from '../elf/elfTypes';
import type { ElfFile } from '../elf/elfFile';
import { BulkWords } from './bulkWords';
import { moduleLookupNames, referencedBeyond } from './codeStrings';
import { dlsymBridge } from './dlsymBridge';

/**
 * Python-level reachability, as data: a method-table entry or getset of an extension module is a root only when its
 * name is in `names` (with the reason it is there) or has one of the `namePrefixes`, or is in the names C code can
 * call (`cNames`), or its module is in `modules` (or `prefixes`: reflection confined to that module). Type slots stay
 * roots (operators, protocols, GC and deallocation reach them on objects of any type at any time).
 */
export interface PythonGate {
  /** Names reachable Python code uses (attribute, method, global names), each with why. */
  names: ReadonlyMap<string, string>;
  /** Extension module files (paths) whose every entry stays a root, with why (reflection confined to them). */
  modules?: ReadonlyMap<string, string>;
  /** Extension module files whose entries with one of these name prefixes stay roots; name prefixes whose entries stay
   *  roots in any module (`getattr(self, 'repr_' + name)`); `setters` (`getters`): every getset's setter (getter) stays,
   *  set by `setattr`/`delattr` (`hasattr`) by computed names in reachable code; each with why. */
  prefixes?: ReadonlyMap<string, ReadonlyArray<{ prefix: string; reason: string }>>;
  namePrefixes?: ReadonlyMap<string, string>;
  setters?: string; getters?: string;
  /** Names C code can look up on objects (see cCallableNames); computed from the space when absent. */
  cNames?: ReadonlyMap<string, string>;
}

export interface PythonEntryRoots {
  roots: Root[];
  /** With a gate: method-table entries and getsets of extension modules that were not made roots. */
  gatedOut: number;
  /** With a gate: where those entries' functions are held (ml_meth, get, set; runtime): heldRoots.ts says why. */
  gatedWords: ReadonlySet<number>;
  /** Extension modules (and the interpreter) whose tables were read; those that could not be, with the reason. */
  modules: number;
  skipped: Array<{ module: string; reason: string }>;
  /** With a dlsym bridge loaded (`_ctypes`, `_cffi_backend`, an extension calling dlsym): it, and the exports rooted. */
  exports?: { bridge: string; roots: number; objects: number };
}

/** True for an object Python code can call into: an extension module (PyInit_*) or the interpreter. */
export function isPythonCallable(m: ModuleImage): boolean {
  const name = m.path.split('/').pop() ?? '';
  if (/^(lib)?python\d/.test(name)) return true;
  return m.elf.dynamicSymbols().some((s) => s.defined && s.type === C.STT_FUNC && (s.name.startsWith('PyInit_') || s.name.startsWith('PyModExport_')));
}

function isCffiModule(m: ModuleImage): boolean {
  return m.elf.dynamicSymbols().some((s) => !s.defined && s.name.startsWith('_cffi_')) || hasCffiMarker(m);
}

const CFFI_MARKER = Buffer.from('_cffi_backend', 'latin1');

/** A quick look for cffi's marker string, as a whole word (`\b_cffi_backend\b`), in the read-only data. */
function hasCffiMarker(m: ModuleImage): boolean {
  const sec = m.elf.section('.rodata');
  if (!sec || sec.size > 16 * 1024 * 1024) return false;
  let bytes: Buffer;
  try {
    const data = m.elf.sectionData(sec);
    bytes = Buffer.from(data.buffer, data.byteOffset, data.length);
  } catch {
    return false;
  }
  const word = (i: number) => {
    if (i < 0 || i >= bytes.length) return false;
    const c = bytes[i];
    return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
  };
  for (let i = bytes.indexOf(CFFI_MARKER); i >= 0; i = bytes.indexOf(CFFI_MARKER, i + 1)) {
    if (!word(i - 1) && !word(i + CFFI_MARKER.length)) return true;
  }
  return false;
}

/**
 * The objects whose exports Python code can reach by dlsym without opening anything new: the global scope
 * (the executable and its DT_NEEDED closure: `ctypes.pythonapi` and `CDLL(None)` exist once ctypes is
 * imported), and every object no loaded object needs, which something opened with dlopen itself (a library
 * `CDLL(path)` opened, an extension module, a plugin). A dependency of a dlopened object is left out: reaching
 * it needs a new `CDLL` of that very library, which docs/analysis.md lists as a limit.
 */
function dlsymScope(space: AddressSpace): Set<ModuleImage> {
  const names = (m: ModuleImage): string[] => {
    const out = [m.path.split('/').pop() ?? m.path];
    try {
      const soname = m.elf.dynamic().soname;
      if (soname) out.push(soname);
    } catch (e) {
      if (!(e instanceof NativeError)) throw e;
    }
    return out;
  };
  const needs = (m: ModuleImage): string[] => {
    try {
      // A DT_NEEDED entry may be a path (a library linked by path without a soname): its file name matches.
      return m.elf.dynamic().needed.map((n) => n.split('/').pop() ?? n);
    } catch (e) {
      if (e instanceof NativeError) return [];
      throw e;
    }
  };
  const byName = new Map<string, ModuleImage>();
  for (const m of space.modules()) for (const n of names(m)) if (!byName.has(n)) byName.set(n, m);
  const needed = new Set<ModuleImage>();
  for (const m of space.modules()) {
    for (const n of needs(m)) {
      const d = byName.get(n);
      if (d && d !== m) needed.add(d);
    }
  }
  const scope = new Set<ModuleImage>(space.modules().filter((m) => !needed.has(m)));
  const main = space.mainModule();
  const queue = main ? [main] : [];
  for (let i = 0; i < queue.length; i++) {
    scope.add(queue[i]);
    for (const n of needs(queue[i])) {
      const d = byName.get(n);
      if (d && !queue.includes(d)) queue.push(d);
    }
  }
  return scope;
}

/** A function dlsym can return: defined, global or weak, not hidden. */
function isExportedFunction(s: ElfSymbol): boolean {
  if (!s.defined || (s.type !== C.STT_FUNC && s.type !== C.STT_GNU_IFUNC) || s.bind === C.STB_LOCAL || s.value === 0) return false;
  return s.visibility !== C.STV_HIDDEN && s.visibility !== C.STV_INTERNAL;
}

/**
 * Live values of the GOT slots bound by name (JUMP_SLOT, GLOB_DAT) to one of `names`, by name: for an exported
 * IFUNC, the variant its resolver chose in this process. Slots still pointing into their own module (its PLT,
 * under lazy binding) or outside code are left out.
 */
function boundSlots(space: AddressSpace, names: ReadonlySet<string>): Map<string, number> {
  const out = new Map<string, number>();
  if (!space.liveMemory || names.size === 0) return out;
  const wanted: Array<{ m: ModuleImage; slot: number; name: string }> = [];
  for (const m of space.modules()) {
    let slots: ReadonlyArray<{ slot: number; name: string }>;
    try {
      slots = namedGotSlots(m.elf);
    } catch (e) {
      if (e instanceof NativeError) continue;
      throw e;
    }
    for (const { slot, name } of slots) if (names.has(name)) wanted.push({ m, slot: slot + m.bias, name });
  }
  // The slots are read together, in a few large reads.
  const bulk = new BulkWords(space, wanted.map((w) => w.slot));
  for (const { m, slot, name } of wanted) {
    if (out.has(name)) continue;
    const v = bulk.readPointer(slot);
    const r = v ? space.regionAt(v) : undefined;
    if (v === undefined || !r?.exec || !r.module || r.module === m) continue;
    out.set(name, v);
  }
  return out;
}

/** The GOT slots (link-time) a file's JUMP_SLOT and GLOB_DAT relocations bind by name, with the name; once per file. */
const gotSlotsByName = new WeakMap<ElfFile, ReadonlyArray<{ slot: number; name: string }>>();
function namedGotSlots(elf: ElfFile): ReadonlyArray<{ slot: number; name: string }> {
  let out = gotSlotsByName.get(elf);
  if (!out) {
    const list: Array<{ slot: number; name: string }> = [];
    for (const [slot, rel] of elf.gotSlotRelocations()) {
      const name = rel.symbol?.name;
      if ((rel.type === C.R_X86_64_JUMP_SLOT || rel.type === C.R_X86_64_GLOB_DAT) && name) list.push({ slot, name });
    }
    gotSlotsByName.set(elf, (out = list));
  }
  return out;
}

/**
 * The functions a file exports that dlsym can return and Python code may call (not a module's PyInit_*, which only
 * the import machinery calls, and it ran when the module was; not gcc's `f.resolver`, exported at its target_clones
 * IFUNC's address, for which the IFUNC stands); once per file.
 */
const exportsByFile = new WeakMap<ElfFile, readonly ElfSymbol[]>();
function callableExports(elf: ElfFile): readonly ElfSymbol[] {
  let out = exportsByFile.get(elf);
  if (!out) {
    const symbols = elf.dynamicSymbols().filter((s) => isExportedFunction(s) && !s.name.startsWith('PyInit_') && !s.name.startsWith('PyModExport_'));
    const resolvers = new Set(symbols.filter((s) => s.type === C.STT_GNU_IFUNC).map((s) => s.value));
    exportsByFile.set(elf, (out = symbols.filter((s) => s.type === C.STT_GNU_IFUNC || !resolvers.has(s.value))));
  }
  return out;
}

function isInterpreter(m: ModuleImage): boolean {
  return /^(lib)?python\d/.test(m.path.split('/').pop() ?? '');
}

/** The modules Python code can call into (extension modules and the interpreter); unreadable ones are skipped. */
function* pythonCallableModules(space: AddressSpace): Generator<ModuleImage> {
  for (const m of space.modules()) {
    let callable: boolean;
    try {
      callable = isPythonCallable(m);
    } catch (e) {
      if (e instanceof NativeError) continue;
      throw e;
    }
    if (callable) yield m;
  }
}

/**
 * Names C code can look up on objects by string (PyObject_CallMethod(f, "write"), _Py_ID(write),
 * npy_cache_import("numpy.core._methods", "_mean")): the identifier strings of the read-only data of every
 * Python-callable object, and of the interpreter's data too (3.11+ keeps its identifiers, _Py_ID, as static
 * string objects there). An object's own method and getset names are not counted for it (its tables hold them
 * as ml_name): only strings its code may pass to a lookup — except in interpreters before 3.11, whose
 * _Py_IDENTIFIER strings may be the very bytes of an ml_name. Each name maps to the first module holding it.
 */
export function cCallableNames(space: AddressSpace, tablesStore?: TablesStore): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of pythonCallableModules(space)) {
    const base = m.path.split('/').pop() ?? m.path;
    for (const n of lookupNamesOf(m, tablesStore)) if (!out.has(n)) out.set(n, base);
  }
  return out;
}

/**
 * The names of cCallableNames one module's C code may look up: a property of its file, kept with its tables (in memory
 * and in `tablesStore`) once worked out; worked out each time for a file whose tables cannot be read.
 */
function lookupNamesOf(m: ModuleImage, tablesStore: TablesStore | undefined): readonly string[] {
  let tables: PythonTables | undefined;
  try {
    tables = cachedTables(m.elf, m.identity, m.path, tablesStore);
  } catch (e) {
    if (!(e instanceof NativeError)) throw e;
  }
  if (tables?.lookupNames) return tables.lookupNames;
  const names = [...moduleLookupNames(m.elf, m.path, isInterpreter(m), tables)];
  if (tables) {
    tables.lookupNames = names;
    tablesStore?.discovered(m.identity, m.path, tables);
  }
  return names;
}

/** Offsets of the function words: PyMethodDef's ml_meth; PyGetSetDef's get and set. */
const [ML_METH, GETSET_GET, GETSET_SET] = [8, 8, 16];

/** Dunder names (`__enter__`, `__reduce__`, `__array_function__`): the interpreter and C code call them by protocol. */
export function isDunder(name: string): boolean {
  return name.length > 4 && name.startsWith('__') && name.endsWith('__');
}

export function pythonEntryRoots(space: AddressSpace, gate?: PythonGate, tablesStore?: TablesStore): PythonEntryRoots {
  const cNames = gate ? (gate.cNames ?? cCallableNames(space, tablesStore)) : undefined;
  const builder = new EntryRootBuilder(space, gate, cNames, tablesStore);
  const skipped: PythonEntryRoots['skipped'] = [];
  const callable = [...pythonCallableModules(space)];
  const modules = callable.length;
  for (const m of callable) {
    try {
      builder.addModule(m);
    } catch (e) {
      if (!(e instanceof NativeError)) throw e;
      skipped.push({ module: m.path, reason: e.message });
    }
  }
  const bridge = dlsymBridge(callable, isInterpreter);
  const exports = bridge !== undefined ? { bridge: bridge.name, ...builder.addExports(bridge.name, bridge.byName) } : undefined;
  return { roots: builder.roots, modules, skipped, gatedOut: builder.gatedOut, gatedWords: builder.gatedWords, exports };
}

/** Collects the roots of pythonEntryRoots, one module's tables at a time, each address once, counting the
 * named entries the gate leaves out. */
class EntryRootBuilder {
  readonly roots: Root[] = [];
  gatedOut = 0;
  readonly gatedWords = new Set<number>();
  private readonly seen = new Set<number>();
  private readonly gatedKeys = new Set<string>();

  constructor(
    private readonly space: AddressSpace,
    private readonly gate: PythonGate | undefined,
    private readonly cNames: ReadonlyMap<string, string> | undefined,
    private readonly tablesStore: TablesStore | undefined,
  ) {}

  /** Adds the slots, methods and getsets of the tables of `m` (and, for a cffi module, its function pointers). */
  addModule(m: ModuleImage): void {
    const base = m.path.split('/').pop();
    const interp = isInterpreter(m);
    const slotWhy = this.gate && !interp ? 'slot' : undefined;
    // `word`: the link-time address of the word holding the function (ml_meth, get, set), when the interpreter binds
    // the entry under its own name (a module's m_methods, a type's tp_methods and tp_getset): only then does the gate
    // know every name it is reached by. A PyMethodDef of its own, which C code makes a function object of
    // (PyCFunction_New, Cython's `def`s), may be bound under any name: its word is left to the other rules.
    const named = (name: string, ref: CodeRef | undefined, what: string, word: number | undefined, accessor?: 'get' | 'set') => {
      if (!ref) return;
      const why = (accessor && !interp ? (accessor === 'get' ? this.gate?.getters : this.gate?.setters) : undefined) ?? this.admit(m, interp, name, `${m.path}\0${ref.kind === 'local' ? ref.address : ref.symbol}`);
      if (why !== undefined) this.add(m, ref, what, why ?? undefined);
      else if (word !== undefined) this.gatedWords.add(word + m.bias);
    };
    const tables = cachedTables(m.elf, m.identity, m.path, this.tablesStore);
    // A table the module's code takes the address of (or of an entry in it), or its data points into other than from
    // its module definitions and types, may be bound under other names too. Only a gate leaves words out: without one
    // (the strict policy) the module is not scanned for it.
    const holders = (a: number) => tables.moduleDefs.filter((d) => d.methods?.address === a).length + tables.types.filter((t) => t.methods?.address === a || t.getset[0]?.address === a).length;
    const alone = (start: number | undefined, end: number) => this.gate !== undefined && start !== undefined && !referencedBeyond(m.elf, start, end, holders(start));
    const tableAlone = (t: { address: number; entries: unknown[] } | undefined) => t !== undefined && alone(t.address, t.address + (t.entries.length + 1) * 32);
    // A type's method table is also listed among the method tables: the type's own entries come first.
    for (const t of tables.types) {
      for (const [slot, ref] of t.slots) this.add(m, ref, `${t.name}.${slot}`, slotWhy);
      const mAlone = tableAlone(t.methods);
      for (const e of t.methods?.entries ?? []) named(e.name, e.meth, `${t.name}.${e.name}`, mAlone ? e.address + ML_METH : undefined);
      const gAlone = alone(t.getset[0]?.address, (t.getset.at(-1)?.address ?? 0) + 40);
      for (const g of t.getset) {
        named(g.name, g.get, `${t.name}.${g.name} (get)`, gAlone ? g.address + GETSET_GET : undefined, 'get');
        named(g.name, g.set, `${t.name}.${g.name} (set)`, gAlone ? g.address + GETSET_SET : undefined, 'set');
      }
    }
    const bound = new Set(tables.moduleDefs.flatMap((d) => (d.methods && tableAlone(d.methods) ? [d.methods.address] : [])));
    for (const t of tables.methodTables) for (const e of t.entries) named(e.name, e.meth, `${base} ${e.name}`, bound.has(t.address) ? e.address + ML_METH : undefined);
    for (const e of tables.standaloneMethods) named(e.name, e.meth, `${base} ${e.name}`, undefined);
    if (isCffiModule(m)) this.addCffiFunctions(m, base);
  }

  /**
   * With a dlsym bridge loaded, every function the objects of dlsymScope export: Python code may fetch one
   * later by a name that need appear nowhere (a computed `getattr` on a CDLL). Gated by name like a method when `byName`
   * (`lib.name` uses the name); an exported IFUNC is the variant a live GOT slot is bound to, else what its
   * resolver can return. A function fetched already is on the heap, which heldFunctionRoots (pvm.ts) covers,
   * whatever object exports it.
   */
  addExports(bridge: string, byName: boolean): { roots: number; objects: number } {
    const before = this.roots.length;
    const exported: Array<{ m: ModuleImage; symbols: readonly ElfSymbol[] }> = [];
    const scope = dlsymScope(this.space);
    for (const m of this.space.modules()) {
      if (!scope.has(m)) continue;
      try {
        exported.push({ m, symbols: callableExports(m.elf) });
      } catch (e) {
        if (!(e instanceof NativeError)) throw e;
      }
    }
    const ifuncs = new Set(exported.flatMap((x) => x.symbols.filter((s) => s.type === C.STT_GNU_IFUNC).map((s) => s.name)));
    const bound = boundSlots(this.space, ifuncs);
    for (const { m, symbols } of exported) {
      const base = m.path.split('/').pop() ?? m.path;
      for (const s of symbols) {
        const chosen = s.type === C.STT_GNU_IFUNC ? bound.get(s.name) : s.value + m.bias;
        const why = byName ? this.admit(m, false, s.name, `${m.path}\0export ${s.value}`) : '';
        if (why === undefined) continue;
        const reason = `Python-callable: ${base} ${s.name}, exported (dlsym through ${bridge})${why ? ` (${why})` : ''}`;
        const address = chosen ?? s.value + m.bias;
        const key = chosen === undefined ? -address : address;
        if (this.seen.has(key)) continue;
        this.seen.add(key);
        this.roots.push(chosen === undefined ? { address, reason, ifunc: true } : { address, reason });
      }
    }
    return { roots: this.roots.length - before, objects: exported.length };
  }

  /** cffi's _cffi_globals table: every function pointer its data holds, put there by the loader. */
  private addCffiFunctions(m: ModuleImage, base: string | undefined): void {
    for (const r of m.elf.relocations()) {
      if (r.type !== C.R_X86_64_RELATIVE) continue;
      const target = r.addend + m.bias;
      const region = this.space.regionAt(target);
      if (region?.exec && region.module === m && !this.seen.has(target)) {
        this.seen.add(target);
        this.roots.push({ address: target, reason: `Python-callable: cffi function of ${base}` });
      }
    }
  }

  private add(m: ModuleImage, ref: CodeRef | undefined, what: string, why?: string): void {
    if (!ref) return;
    const address = ref.kind === 'local' ? ref.address + m.bias : this.resolveExternal(ref.symbol);
    if (address === undefined || this.seen.has(address)) return;
    this.seen.add(address);
    this.roots.push({ address, reason: `Python-callable: ${what}${why ? ` (${why})` : ''}` });
  }

  private resolveExternal(symbol: string): number | undefined {
    for (const mod of this.space.modules()) {
      const s = mod.elf.lookupSymbol(symbol);
      if (s?.defined && s.type === C.STT_FUNC) return s.value + mod.bias;
    }
    return undefined;
  }

  /**
   * Whether a named entry (method or getset) of module `m` passes the gate, and why; undefined when gated
   * out. Without a gate, or for the interpreter's own tables, everything passes (null).
   */
  private admit(m: ModuleImage, interp: boolean, name: string, key: string): string | undefined | null {
    const gate = this.gate;
    if (!gate || interp) return null;
    const byModule = gate.modules?.get(m.path) ?? gate.prefixes?.get(m.path)?.find((p) => name.startsWith(p.prefix))?.reason;
    if (byModule !== undefined) return byModule;
    if (isDunder(name)) return `protocol method \`${name}\``;
    const why = gate.names.get(name);
    if (why !== undefined) return why;
    for (const [prefix, reason] of gate.namePrefixes ?? []) if (name.startsWith(prefix)) return reason;
    const c = this.cNames!.get(name);
    if (c !== undefined) return `C code may look \`${name}\` up by name (a string of ${c})`;
    if (!this.gatedKeys.has(key)) {
      this.gatedKeys.add(key);
      this.gatedOut++;
    }
    return undefined;
  }
}

const initializers = new WeakMap<object, ReadonlySet<number>>();

/**
 * The link-time starts of a Python-callable module's initialisers, which ran when it was imported: its PyInit_*
 * functions, its module definitions' create and exec slots, and (in an interpreter) its built-in modules' PyInit.
 * Empty for other modules and for those whose tables cannot be read. Computed once per file.
 */
export function pythonInitializers(m: ModuleImage): ReadonlySet<number> {
  let out = initializers.get(m.elf);
  if (!out) initializers.set(m.elf, (out = findPythonInitializers(m)));
  return out;
}

function findPythonInitializers(m: ModuleImage): Set<number> {
  const out = new Set<number>();
  let callable: boolean;
  try {
    callable = isPythonCallable(m);
  } catch (e) {
    if (e instanceof NativeError) return out;
    throw e;
  }
  if (!callable) return out;
  for (const s of m.elf.dynamicSymbols()) {
    if (s.defined && s.type === C.STT_FUNC && s.value !== 0 && (s.name.startsWith('PyInit_') || s.name.startsWith('PyModExport_'))) out.add(s.value);
  }
  try {
    const tables = cachedTables(m.elf, m.identity, m.path);
    for (const d of tables.moduleDefs) for (const slot of d.slots) if (slot.func?.kind === 'local') out.add(slot.func.address);
    for (const e of tables.inittab) if (e.init?.kind === 'local') out.add(e.init.address);
  } catch (e) {
    if (!(e instanceof NativeError)) throw e;
  }
  return out;
}
