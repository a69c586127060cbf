// Symbol resolution of Cython functions: the mangled wrapper or implementation symbol when the object has a
// symbol table, else the PyMethodDefs Cython generates (of the qualname's class, or of the module).

import * as path from 'node:path';
import * as C from '../elf/elfConstants';
import { describeMethodFlags } from '../cpython/abi';
import { cythonSymbolPattern, qualnameParts } from '../cpython/cython';
import { Unresolved, type Found, type NativeRequest, type ResolverContext } from './resolution';

export function resolveCython(rs: ResolverContext, r: Extract<NativeRequest, { kind: 'cython' }>, notes: string[]): Found[] {
  const q = qualnameParts(r.qualname);
  const pattern = cythonSymbolPattern(r.module, r.qualname, 'pw');
  if (!q || !pattern) throw new Unresolved('bad-request', `'${r.module}' / '${r.qualname}' is not a module and qualname.`);
  const m = r.file ? rs.moduleByFile(r.file) : rs.findExtension(r.module);
  if (!m) throw new Unresolved(rs.isProcess ? 'not-loaded' : 'file-not-found', `No extension object for Cython module ${r.module} in ${rs.space.description}: give its file.`);
  const label = `${r.module}.${r.qualname}`;
  // With a symbol table: the mangled wrapper (what the PyMethodDef points at), else the implementation.
  if (m.elf.hasSymtab) {
    for (const kind of ['pw', 'pf'] as const) {
      const re = kind === 'pw' ? pattern : cythonSymbolPattern(r.module, r.qualname, 'pf')!;
      const syms = m.elf.symtabSymbols().filter((s) => s.defined && s.type === C.STT_FUNC && re.test(s.name));
      if (syms.length > 0) {
        return syms.map((s) => ({
          address: s.value + m.bias,
          module: m,
          how: 'cython' as const,
          label,
          detail: `Cython ${kind === 'pw' ? 'wrapper' : 'implementation'} ${s.name}`,
          exact: rs.isProcess,
        }));
      }
    }
  }
  // Without one (or when the name is not there): the PyMethodDefs Cython generates.
  const tables = rs.tablesOf(m);
  const out: Found[] = [];
  if (q.scopes.length > 0) {
    for (const t of tables.typesNamed(`${r.module}.${q.scopes.join('.')}`)) {
      const e = t.methods?.entries.find((x) => x.name === q.name);
      if (e) out.push(...rs.entryTargets(m, e, label, `${describeMethodFlags(e.flags)} in tp_methods of ${t.name}`, 'cython', notes));
    }
    if (out.length > 0) return out;
  }
  // Module functions and methods of plain Python classes: every PyMethodDef of that name except the
  // methods of extension types (those were matched by their type above).
  const ofTypes = new Set<number>();
  for (const t of tables.types) for (const e of t.methods?.entries ?? []) ofTypes.add(e.address);
  const entries = tables.entriesNamed(q.name).filter((e) => !ofTypes.has(e.address));
  if (entries.length === 0) {
    throw new Unresolved('not-in-table', `${label}: no ${m.elf.hasSymtab ? 'symbol matching ' + pattern.source + ' and no ' : ''}PyMethodDef named '${q.name}' in ${path.basename(m.path)}.`);
  }
  if (entries.length > 1) notes.push(`${entries.length} candidates: PyMethodDefs named '${q.name}' in ${path.basename(m.path)} (without a symbol table the qualname cannot tell them apart).`);
  for (const e of entries) out.push(...rs.entryTargets(m, e, label, `${describeMethodFlags(e.flags)} PyMethodDef '${e.name}' (Cython)`, 'cython', notes));
  return out;
}
