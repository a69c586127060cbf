// Symbol resolution of C-API module functions: the module's PyModuleDef (by name, or the one its PyInit or
// _inittab entry references), its method table; a type of the module (tp_new, tp_init); objects made at import.

import * as path from 'node:path';
import * as C from '../elf/elfConstants';
import { NativeError } from '../errors';
import { isGotSlot, type ModuleImage } from '../space/space';
import { describeMethodFlags } from '../cpython/abi';
import { Unresolved, type Found, type NativeRequest, type ResolverContext } from './resolution';
import { slotTargets } from './resolveTypes';
import { resolveCython } from './resolveCython';
import { staticLoops } from './staticLoops';
import { loopTables } from './ufuncLoops';
import type { CodeRef, PythonTables } from '../cpython/tables';

export function resolveModuleFunction(rs: ResolverContext, r: Extract<NativeRequest, { kind: 'module-function' }>, notes: string[]): Found[] {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(r.module) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(r.name)) {
    throw new Unresolved('bad-request', `'${r.module}.${r.name}' is not a module and function name.`);
  }
  const last = r.module.split('.').pop()!;
  let mods: ModuleImage[];
  let isExtension = false;
  if (r.file) {
    mods = [rs.moduleByFile(r.file)];
    isExtension = true;
  } else {
    // In a live process, a loaded extension whose path spells the module wins without reading the
    // interpreter's tables; otherwise built-in modules come first.
    const loaded = rs.isProcess ? rs.loadedExtension(r.module) : undefined;
    mods = loaded ? [loaded] : rs.interpreterModules();
    isExtension = loaded !== undefined;
  }
  let defs = moduleDefs(rs, mods, r.module, last, isExtension);
  if (defs.length === 0 && !r.file) {
    const ext = rs.findExtension(r.module);
    if (ext) {
      mods = [ext];
      defs = moduleDefs(rs, mods, r.module, last, true);
    }
  }
  if (defs.length === 0) {
    const where = mods.map((m) => path.basename(m.path)).join(', ') || 'the interpreter';
    const why = rs.isProcess && !r.file ? ' (not built into the interpreter, and no loaded extension exports PyInit_' + last + ')' : '';
    throw new Unresolved('no-module-def', `No PyModuleDef named '${r.module}' in ${where}${why}.`);
  }
  const out: Found[] = [];
  for (const { module: m, def } of defs) {
    for (const e of def.methods?.entries ?? []) {
      if (e.name !== r.name) continue;
      out.push(...rs.entryTargets(m, e, `${r.module}.${r.name}`, `${describeMethodFlags(e.flags)} in the method table of module ${def.name}`, 'methoddef', notes));
    }
  }
  if (out.length > 0) return out;
  out.push(...cythonDefs(rs, defs, r.module, r.name, notes));
  if (out.length > 0) return out;
  // Calling a type of the module: type_call runs its tp_new and tp_init.
  for (const { module: m } of defs) {
    const tables = rs.tablesOf(m);
    const top = r.module.split('.')[0];
    const types = [
      ...tables.typesNamed(`${r.module}.${r.name}`),
      ...(r.module !== last ? tables.typesNamed(`${last}.${r.name}`) : []),
      // A type named after the package that exports it (`numpy.dtype`, defined by numpy.core._multiarray_umath).
      ...(top !== r.module && top !== last ? tables.typesNamed(`${top}.${r.name}`) : []),
      // Builtin types have undotted names: builtins.str is the type 'str'.
      ...(r.module === 'builtins' ? tables.typesNamed(r.name) : []),
    ];
    for (const t of types) {
      notes.push(`${r.module}.${r.name} is the type ${t.name}: calling it runs its tp_new and tp_init.`);
      for (const slot of ['tp_new', 'tp_init']) {
        const got = slotTargets(rs, m, t, slot, notes, 0);
        if (got) out.push(...got);
      }
    }
  }
  if (out.length > 0) return out;
  out.push(...importLoops(rs, defs, r, notes));
  if (out.length > 0) return out;
  // An object the extension creates at import time (a NumPy ufunc, a cffi function, a callable instance):
  // its C code is one of the functions the module's data points to. Count them all, so the answer is safe.
  for (const { module: m } of defs) {
    // Only a name the module really defines: the C string it registers the object under must be there.
    if (rs.interpreterModules().includes(m) || !rs.hasCString(m, r.name)) continue;
    const fns = rs.dataCodePointers(m);
    if (fns.length === 0) continue;
    notes.push(
      `'${r.name}' is not in the method table of ${r.module} (an object it creates at import, such as a ufunc): every one of the ${fns.length} function(s) the module's data points to is counted.`,
    );
    for (const address of fns) out.push({ address, module: m, how: 'datatable', label: `${r.module}.${r.name}`, detail: `a function ${path.basename(m.path)}'s data points to`, exact: false });
  }
  if (out.length > 0) return out;
  const count = defs.reduce((n, d) => n + (d.def.methods?.entries.length ?? 0), 0);
  throw new Unresolved('not-in-table', `'${r.name}' is not in the method table of module ${r.module} (${count} functions there), nor a static type of it.`);
}

/**
 * The module definitions of `module` in `mods`: by m_name (the full name, then the last part); failing
 * that, the definition its PyInit function references — PyInit_<last> of an extension, or the interpreter's
 * _inittab entry for a built-in module (`_io`'s definition is named 'io').
 */
function moduleDefs(rs: ResolverContext, mods: ModuleImage[], module: string, last: string, isExtension: boolean) {
  const out: Array<{ module: ModuleImage; def: PythonTables['moduleDefs'][number] }> = [];
  for (const m of mods) {
    const t = rs.tablesOf(m);
    let defs = t.moduleDefsNamed(module);
    if (defs.length === 0 && last !== module) defs = t.moduleDefsNamed(last);
    if (defs.length === 0) {
      const inits: CodeRef[] = [];
      if (isExtension) {
        const s = m.elf.lookupSymbol(`PyInit_${last}`);
        if (s?.defined) inits.push({ kind: 'local', address: s.value });
      } else {
        for (const e of t.inittabNamed(module)) if (e.init) inits.push(e.init);
      }
      const found = new Map<number, PythonTables['moduleDefs'][number]>();
      for (const init of inits) {
        if (init.kind !== 'local') continue;
        for (const ref of referencedData(rs, m, init.address)) {
          const d = t.moduleDefAt(ref);
          if (d) found.set(d.address, d);
        }
      }
      defs = [...found.values()];
    }
    // An extension file is one module: its only definition is it, whatever name it gives itself.
    if (defs.length === 0 && isExtension && t.moduleDefs.length === 1) defs = t.moduleDefs;
    for (const d of defs) out.push({ module: m, def: d });
  }
  return out;
}

/**
 * Link-time data addresses a function takes: a lea, an absolute immediate in non-PIC code, or the load of a GOT slot
 * that holds a variable the module defines and exports (`mov rdi,[rip+GOT(_PyIO_Module)]`: PIC code reaches an
 * exported variable through the GOT, as libpython3.8's PyInit__io reaches its PyModuleDef).
 */
function referencedData(rs: ResolverContext, m: ModuleImage, link: number): number[] {
  const ext = m.elf.functionAt(link);
  try {
    const s = ext
      ? rs.summarizerFor().summarizeExtent(m.elf.readVirtual(ext.start, ext.end - ext.start), ext.start, ext.end)
      : rs.summarizerFor().summarizeDescent((a, n) => m.elf.tryReadVirtual(a, n), link);
    const pic = m.elf.isRelocatable;
    const out: number[] = [];
    for (const r of s.refs) {
      if (r.kind === 'lea' || (r.kind === 'imm' && !pic)) out.push(r.address);
      else if (r.kind === 'mem' && r.word && isGotSlot(m.elf, r.address)) {
        const rel = m.elf.relocationAt(r.address);
        if (rel?.type === C.R_X86_64_GLOB_DAT && rel.symbol?.defined && rel.symbol.type === C.STT_OBJECT) out.push(rel.symbol.value);
      }
    }
    return out;
  } catch (e) {
    if (e instanceof NativeError) return [];
    throw e;
  }
}

/**
 * A `def` function of a Cython module is no entry of its method table: Cython makes it a function object at import
 * from a PyMethodDef of its own (named by the function), which resolveCython finds (the mangled wrapper symbol, or
 * that PyMethodDef in a stripped file). Before, such a call fell through to every function the module's data points
 * to (a `kern.k_avx2()` lens showed the SHA-NI of `kern.k_sha`).
 */
function cythonDefs(rs: ResolverContext, defs: ReadonlyArray<{ module: ModuleImage }>, module: string, name: string, notes: string[]): Found[] {
  const out: Found[] = [];
  for (const { module: m } of defs) {
    if (!isCythonModule(rs, m)) continue;
    try {
      out.push(...resolveCython(rs, { kind: 'cython', module, qualname: name, file: m.path }, notes));
    } catch (e) {
      if (!(e instanceof Unresolved)) throw e;
    }
  }
  return out;
}

/** Strings only Cython's generated code holds (its C-API export, vtables, pickling helpers, shared-type module). */
const CYTHON_STRINGS = ['__pyx_capi__', '__pyx_vtable__', '__reduce_cython__', '__setstate_cython__', 'cython_function_or_method'];

/**
 * A module Cython generated: its tables define Cython's function type (`cython_function_or_method`, or
 * `_cython_3_x.…`), or its read-only data holds a string only Cython's code does. Cython 0.29 without `binding=True`
 * (Debian's NumPy 1.24: `numpy.random._generator.default_rng`) makes each `def` a built-in function from a PyMethodDef
 * of its own, and defines no function type.
 */
function isCythonModule(rs: ResolverContext, m: ModuleImage): boolean {
  let known = cythonModules.get(m);
  if (known === undefined) {
    const tables = rs.tablesOf(m);
    known = tables.types.some((t) => t.name === 'cython_function_or_method' || t.name.endsWith('.cython_function_or_method')) || CYTHON_STRINGS.some((s) => rs.hasCString(m, s));
    cythonModules.set(m, known);
  }
  return known;
}

/** isCythonModule's answers: asked for each request that names a module, it scans the module's .rodata once. */
const cythonModules = new WeakMap<ModuleImage, boolean>();

/**
 * An object the extension makes at import from a table of functions and its name (a NumPy ufunc): in a live process
 * the loops its table holds now (resolve/ufuncLoops.ts), which the CPU dispatch chose; at rest every function the module
 * can put there (resolve/staticLoops.ts). Not exact: the object's call machinery (NumPy's type resolution and casts)
 * runs too. When neither answers, the module-wide fallback below does.
 */
function importLoops(rs: ResolverContext, defs: ReadonlyArray<{ module: ModuleImage }>, r: Extract<NativeRequest, { kind: 'module-function' }>, notes: string[]): Found[] {
  const out: Found[] = [];
  for (const { module: m } of defs) {
    if (rs.interpreterModules().includes(m)) continue;
    for (const t of loopTables(m.elf, r.name)) {
      let loops: number[];
      if (rs.isProcess) {
        loops = liveLoops(rs, m, t.table, t.count);
        if (loops.length === 0) continue;
        notes.push(`'${r.name}' is an object ${r.module} made at import from a table of ${t.count} loop(s) (such as a ufunc): the ${loops.length} function(s) the table holds now are counted.`);
      } else {
        // At rest: what the loader puts in the table and every value the module's code can store there (each CPU
        // variant a dispatch may choose), or, when a write cannot be followed, the module-wide fallback below.
        const candidates = staticLoops(m.elf, t);
        if (!candidates?.length) continue;
        loops = candidates.map((link) => link + m.bias);
        notes.push(`'${r.name}' is an object ${r.module} makes at import from a table of ${t.count} loop(s) (such as a ufunc): the ${loops.length} function(s) the module can put in it (every CPU variant) are counted.`);
      }
      for (const address of loops) out.push({ address, module: m, how: 'loops', label: `${r.module}.${r.name}`, detail: `a loop in ${r.name}'s table (0x${t.table.toString(16)})`, exact: false });
    }
  }
  return out;
}

/** The code addresses the table's words hold in live memory. */
function liveLoops(rs: ResolverContext, m: ModuleImage, table: number, count: number): number[] {
  const out = new Set<number>();
  for (let k = 0; k < count; k++) {
    const v = rs.space.readPointer(table + m.bias + 8 * k);
    if (v && rs.space.regionAt(v)?.exec) out.add(v);
  }
  return [...out];
}
