// Symbol resolution of extension types: methods and getters (tp_methods, tp_getset, dunder slots) and operator
// or protocol slots, read from the live type object when memory can be read, else from the file, up tp_base.

import * as path from 'node:path';
import type { ModuleImage } from '../space/space';
import { DUNDER_SLOTS, SUITE_FIELD, TYPE, describeMethodFlags, slotLocation } from '../cpython/abi';
import { Unresolved, type Found, type NativeRequest, type ResolverContext } from './resolution';
import type { TypeInfo } from '../cpython/tables';

const MAX_BASE_DEPTH = 16;

/**
 * The slots a number operation falls back to, in order, when the left operand's type lacks its number slot: the
 * sequence's for `+` and `*`, and for every in-place operator its binary slot (abstract.c's binary_iop: `x ^= y` on an
 * int, which has no nb_inplace_xor, runs nb_xor).
 */
const SEQUENCE_FALLBACK: Readonly<Record<string, readonly string[]>> = {
  nb_add: ['sq_concat'],
  nb_multiply: ['sq_repeat'],
  nb_inplace_add: ['nb_add', 'sq_inplace_concat', 'sq_concat'],
  nb_inplace_multiply: ['nb_multiply', 'sq_inplace_repeat', 'sq_repeat'],
  ...Object.fromEntries(
    ['subtract', 'remainder', 'power', 'lshift', 'rshift', 'and', 'xor', 'or', 'floor_divide', 'true_divide', 'matrix_multiply'].map((op) => [`nb_inplace_${op}`, [`nb_${op}`]]),
  ),
};

/** Static types and specs named `name`: in the given file, else in the interpreter and the loaded extensions. */
function findTypes(rs: ResolverContext, name: string, file: string | undefined): Array<{ module: ModuleImage; type: TypeInfo }> {
  // Where to look, cheapest first: the given file; else the objects the name points at (the extensions
  // under the package its dotted prefix names, or the interpreter for an undotted builtin); then all.
  const stages: ModuleImage[][] = [];
  if (file) stages.push([rs.moduleByFile(file)]);
  else {
    const python = rs.space.modules().filter((m) => rs.isPythonModule(m));
    const dot = name.lastIndexOf('.');
    if (dot > 0) {
      const parts = name.slice(0, dot).split('.');
      const under = python.filter((m) => m.path.includes(`/${parts[0]}/`) || m.path.includes(`/${parts.join('/')}.`) || path.basename(m.path).startsWith(`${parts[0]}.`));
      if (under.length > 0) stages.push(under);
    } else stages.push(rs.interpreterModules());
    stages.push(python);
  }
  for (const mods of stages) {
    const out: Array<{ module: ModuleImage; type: TypeInfo }> = [];
    for (const m of mods) for (const t of rs.tablesOf(m).typesNamed(name)) out.push({ module: m, type: t });
    // A static type wins over a spec of the same name (a spec names the heap type made from it).
    const statics = out.filter((x) => x.type.source === 'static');
    if (out.length > 0) return statics.length > 0 ? statics : out;
  }
  return [];
}

export function resolveMethod(rs: ResolverContext, r: Extract<NativeRequest, { kind: 'method' }>, notes: string[]): Found[] {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(r.name)) throw new Unresolved('bad-request', `'${r.name}' is not a method name.`);
  const types = findTypes(rs, r.type, r.file);
  if (types.length === 0) throw new Unresolved('type-not-found', `No static type or type spec named '${r.type}' in ${r.file ?? rs.space.description}.`);
  if (types.length > 1) notes.push(`${types.length} candidates: types named ${r.type} in ${types.map((t) => path.basename(t.module.path)).join(', ')}.`);
  const out: Found[] = [];
  let lastError: Unresolved | undefined;
  for (const { module, type } of types) {
    try {
      out.push(...methodOf(rs, module, type, r.name, r.type, notes, 0));
    } catch (e) {
      if (!(e instanceof Unresolved)) throw e;
      lastError = e;
    }
  }
  if (out.length === 0 && lastError) throw lastError;
  return out;
}

function methodOf(rs: ResolverContext, m: ModuleImage, t: TypeInfo, name: string, asked: string, notes: string[], depth: number): Found[] {
  const label = `${asked}.${name}`;
  const e = t.methods?.entries.find((x) => x.name === name);
  if (e) {
    if (depth > 0) notes.push(`${name} is inherited from ${t.name}.`);
    return rs.entryTargets(m, e, label, `${describeMethodFlags(e.flags)} in tp_methods of ${t.name}`, 'methoddef', notes);
  }
  const g = t.getset.find((x) => x.name === name);
  if (g) {
    if (!g.get) throw new Unresolved('not-in-table', `${t.name}.${name} is a write-only attribute.`);
    notes.push(`${asked}.${name} is an attribute: reading it runs its getter.`);
    return rs.codeTargets(m, g.get, notes).map((a) => ({
      address: a.address,
      module: a.module,
      how: 'methoddef' as const,
      label: `${label} (getter)`,
      detail: `getter in tp_getset of ${t.name}`,
      exact: rs.isProcess && a.exact,
    }));
  }
  const slots = DUNDER_SLOTS[name];
  if (slots) {
    for (const s of slots) {
      const got = slotTargets(rs, m, t, s, notes, depth);
      if (got) return got.map((f) => ({ ...f, label }));
    }
  }
  const base = baseOf(rs, m, t);
  if (base && depth < MAX_BASE_DEPTH) return methodOf(rs, base.module, base.type, name, asked, notes, depth + 1);
  throw new Unresolved('not-in-table', `'${name}' is not in tp_methods or tp_getset of ${depth > 0 ? asked : t.name}${depth > 0 ? ' or its bases' : ''}${base === undefined && t.name !== 'object' ? ' (its base type is not known)' : ''}.`);
}

export function resolveSlot(rs: ResolverContext, r: Extract<NativeRequest, { kind: 'slot' }>, notes: string[]): Found[] {
  const loc = slotLocation(r.slot);
  if (!loc) throw new Unresolved('bad-request', `'${r.slot}' is not a type slot (expected e.g. nb_add, nb_matrix_multiply, tp_call, sq_item).`);
  const types = findTypes(rs, r.type, r.file);
  if (types.length === 0) throw new Unresolved('type-not-found', `No static type or type spec named '${r.type}' in ${r.file ?? rs.space.description}.`);
  if (types.length > 1) notes.push(`${types.length} candidates: types named ${r.type} in ${types.map((t) => path.basename(t.module.path)).join(', ')}.`);
  const out: Found[] = [];
  for (const { module, type } of types) {
    // What CPython's abstract operation falls back to when the type has no number slot: `str + s` and `b * 3`
    // run the sequence's sq_concat and sq_repeat (PyNumber_Add, PyNumber_Multiply, and their in-place forms).
    for (const slot of [r.slot, ...(SEQUENCE_FALLBACK[r.slot] ?? [])]) {
      const got = slotTargets(rs, module, type, slot, notes, 0);
      if (!got) continue;
      if (slot !== r.slot) notes.push(`${type.name} has no ${r.slot}: the operation runs its ${slot}.`);
      out.push(...got);
      break;
    }
  }
  if (out.length === 0) throw new Unresolved('no-slot', `${r.type} has no ${r.slot} (the operation is not supported by the type, or is inherited from a base that is not known).`);
  return out;
}

/**
 * The function in slot `slot` of type `t`: read from the live type object when the process's memory can be
 * read (exact, inherited slots included), else from the file, following tp_base for slots left NULL.
 * Undefined when the type (and its known bases) has no such slot.
 */
export function slotTargets(rs: ResolverContext, m: ModuleImage, t: TypeInfo, slot: string, notes: string[], depth: number): Found[] | undefined {
  const loc = slotLocation(slot);
  if (!loc) return undefined;
  const label = `${t.name}.${slot}`;
  if (t.source === 'static' && rs.space.liveMemory) {
    const typeAddr = t.address + m.bias;
    let holder: number | undefined = typeAddr;
    if (loc.suite !== 'type') holder = rs.space.readPointer(typeAddr + TYPE[SUITE_FIELD[loc.suite] as keyof typeof TYPE]);
    if (holder === 0) return undefined;
    const v = holder === undefined ? undefined : rs.space.readPointer(holder + loc.offset);
    if (v === 0) return undefined;
    if (v !== undefined) {
      const region = rs.space.regionAt(v);
      if (!region?.exec || !region.module) throw new Unresolved('unreadable', `${label} holds 0x${v.toString(16)}, which is not in a loaded object's code.`);
      return [{ address: v, module: region.module, how: 'typeslot', label, detail: `${slot} of ${t.name}, read from the process`, exact: true }];
    }
  }
  const c = t.slots.get(slot);
  if (c) {
    if (depth > 0) notes.push(`${slot} is inherited from ${t.name}.`);
    return rs.codeTargets(m, c, notes).map((a) => ({
      address: a.address,
      module: a.module,
      how: 'typeslot' as const,
      label,
      detail: `${slot} of ${t.name}${t.source === 'spec' ? ' (PyType_Spec)' : ''}`,
      exact: rs.isProcess && a.exact && depth === 0,
    }));
  }
  const base = baseOf(rs, m, t);
  if (base && depth < MAX_BASE_DEPTH) return slotTargets(rs, base.module, base.type, slot, notes, depth + 1);
  return undefined;
}

/**
 * Bases the interpreter sets when it initialises a module, not in the file: `_io`'s init does
 * `PyTextIOWrapper_Type.tp_base = &PyTextIOBase_Type` and so on (3.8–3.11), and 3.12+ pass the base to
 * PyType_FromModuleAndSpec. The same in CPython 3.8–3.13 (`test/unit/io-bases.test.ts` checks each interpreter's
 * `__base__`). Without them a file opened with `open` had no `__exit__`, `readlines` or `__iter__` at rest (they are
 * `_io._IOBase`'s).
 */
export const LINKED_BASES: Readonly<Record<string, string>> = {
  '_io.TextIOWrapper': '_io._TextIOBase',
  '_io.StringIO': '_io._TextIOBase',
  '_io._TextIOBase': '_io._IOBase',
  '_io.BufferedReader': '_io._BufferedIOBase',
  '_io.BufferedWriter': '_io._BufferedIOBase',
  '_io.BufferedRandom': '_io._BufferedIOBase',
  '_io.BufferedRWPair': '_io._BufferedIOBase',
  '_io.BytesIO': '_io._BufferedIOBase',
  '_io._BufferedIOBase': '_io._IOBase',
  '_io.FileIO': '_io._RawIOBase',
  '_io._RawIOBase': '_io._IOBase',
};

/** tp_base of a type: read live, else from the file (or LINKED_BASES); NULL means `object`. Undefined when unknown. */
function baseOf(rs: ResolverContext, m: ModuleImage, t: TypeInfo): { module: ModuleImage; type: TypeInfo } | undefined {
  if (t.name === 'object') return undefined;
  if (t.source === 'static' && rs.space.liveMemory) {
    const v = rs.space.readPointer(t.address + m.bias + TYPE.tp_base);
    if (v !== undefined && v !== 0) return typeAtRuntime(rs, v);
  }
  if (t.base?.kind === 'local') {
    const bt = rs.tablesOf(m).typeAt(t.base.address);
    return bt ? { module: m, type: bt } : undefined;
  }
  if (t.base?.kind === 'external') {
    const s = rs.globalSymbol(t.base.symbol);
    if (!s) return undefined;
    const bt = rs.tablesOf(s.module).typeAt(s.symbol.value);
    return bt ? { module: s.module, type: bt } : undefined;
  }
  // A base the interpreter links at start-up, where the file has NULL (or a spec type, none): the io classes.
  const linked = Object.prototype.hasOwnProperty.call(LINKED_BASES, t.name) ? rs.tablesOf(m).typesNamed(LINKED_BASES[t.name]) : [];
  if (linked.length) return { module: m, type: linked.find((x) => x.source === t.source) ?? linked[0] };
  // NULL tp_base: PyType_Ready makes `object` the base.
  for (const im of rs.interpreterModules()) {
    const obj = rs.tablesOf(im).typesNamed('object').find((x) => x.source === 'static');
    if (obj) return { module: im, type: obj };
  }
  return undefined;
}

function typeAtRuntime(rs: ResolverContext, address: number): { module: ModuleImage; type: TypeInfo } | undefined {
  const r = rs.space.regionAt(address);
  if (!r?.module) return undefined;
  const t = rs.tablesOf(r.module).typeAt(address - r.module.bias);
  return t ? { module: r.module, type: t } : undefined;
}
