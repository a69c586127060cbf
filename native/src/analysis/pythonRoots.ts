// Roots for the C functions Python code can call in a live interpreter: every method-table entry (ml_meth),
// every static type's slot functions, methods and getters/setters, of every loaded extension module and of
// the interpreter itself. CPython reaches them through heap objects (`cfunction_call` calls `r8`), an edge
// no static walk can follow; bytecode tracking resolves the calls the program's files make, and these roots
// keep the analysis safe for the rest (attribute calls such as `np.add.reduce`, callbacks, later calls).
// cffi modules publish their functions through their own table: for them every code pointer in their data
// is a root.

import * as C from '../elf/elfConstants';
import { NativeError } from '../errors';
import { type CodeRef, cachedTables } from '../python/tables';
import type { Root } from './ept';
import type { AddressSpace, ModuleImage } from './space';

export interface PythonEntryRoots {
  roots: Root[];
  /** Extension modules (and the interpreter) whose tables were read. */
  modules: number;
  /** Modules whose tables could not be read, with the reason. */
  skipped: Array<{ module: string; reason: string }>;
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

export function pythonEntryRoots(space: AddressSpace): PythonEntryRoots {
  const roots: Root[] = [];
  const seen = new Set<number>();
  const skipped: PythonEntryRoots['skipped'] = [];
  let modules = 0;
  const resolveExternal = (symbol: string): number | undefined => {
    for (const mod of space.modules()) {
      const s = mod.elf.lookupSymbol(symbol);
      if (s?.defined && s.type === C.STT_FUNC) return s.value + mod.bias;
    }
    return undefined;
  };
  const add = (m: ModuleImage, ref: CodeRef | undefined, what: string) => {
    if (!ref) return;
    const address = ref.kind === 'local' ? ref.address + m.bias : resolveExternal(ref.symbol);
    if (address === undefined || seen.has(address)) return;
    seen.add(address);
    roots.push({ address, reason: `Python-callable: ${what}` });
  };
  for (const m of space.modules()) {
    let callable: boolean;
    try {
      callable = isPythonCallable(m);
    } catch (e) {
      if (e instanceof NativeError) continue;
      throw e;
    }
    if (!callable) continue;
    modules++;
    const base = m.path.split('/').pop();
    try {
      const tables = cachedTables(m.elf, m.identity, m.path);
      for (const t of tables.methodTables) for (const e of t.entries) add(m, e.meth, `${base} ${e.name}`);
      for (const e of tables.standaloneMethods) add(m, e.meth, `${base} ${e.name}`);
      for (const t of tables.types) {
        for (const [slot, ref] of t.slots) add(m, ref, `${t.name}.${slot}`);
        for (const e of t.methods?.entries ?? []) add(m, e.meth, `${t.name}.${e.name}`);
        for (const g of t.getset) {
          add(m, g.get, `${t.name}.${g.name} (get)`);
          add(m, g.set, `${t.name}.${g.name} (set)`);
        }
      }
      if (isCffiModule(m)) {
        // cffi's _cffi_globals table: every function pointer its data holds, put there by the loader.
        for (const r of m.elf.relocations()) {
          if (r.type !== C.R_X86_64_RELATIVE) continue;
          const target = r.addend + m.bias;
          const region = space.regionAt(target);
          if (region?.exec && region.module === m && !seen.has(target)) {
            seen.add(target);
            roots.push({ address: target, reason: `Python-callable: cffi function of ${base}` });
          }
        }
      }
    } catch (e) {
      if (!(e instanceof NativeError)) throw e;
      skipped.push({ module: m.path, reason: e.message });
    }
  }
  return { roots, modules, skipped };
}
