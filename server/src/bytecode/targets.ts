// The vocabulary of name resolution: the program (an import closure) it runs over, the targets a value may
// resolve to, and the pure operations on them (keys, qualified names, bounding the alternatives).

import type { InterpreterInfo, ModuleKind, PyConst } from './helperRecords';
import type { ModuleSummary, PendingBodies } from './simulate';
import type { StdlibExports } from './stdlibExports';
import type { ClassDef, FunctionDef } from './values';

export interface ProgramModule {
  name: string;
  kind: ModuleKind;
  file?: string;
  isPackage: boolean;
  summary?: ModuleSummary;
  /** Function bodies not simulated yet: resolution completes the summary before it reads what they add. */
  pending?: PendingBodies;
  /** kind 'alias': the module the name stands for (os.path → posixpath). */
  target?: string;
  reason?: string;
}

export interface Program {
  python: InterpreterInfo;
  modules: Map<string, ProgramModule>;
  /**
   * The standard library's real exports, as the helper introspected them: consulted for names a stdlib
   * module's bytecode does not bind (hashlib.sha256), and noting the names still to ask.
   */
  stdlib?: StdlibExports;
}

export type TypeRef = { kind: 'class'; def: ClassDef } | { kind: 'native'; module: string; path: string[] } | { kind: 'builtin'; name: string };

/** What a value resolves to. `via` lists the qualified names the resolution passed through. */
export type Target = (
  | { kind: 'module'; module: string }
  | { kind: 'function'; def: FunctionDef; boundTo?: TypeRef }
  | { kind: 'class'; def: ClassDef }
  | { kind: 'instance'; type: TypeRef }
  | { kind: 'native'; module: string; path: string[]; member?: boolean }
  | { kind: 'builtin'; name: string }
  | { kind: 'ctypes-library'; library: string | null; findLibrary?: boolean }
  | { kind: 'ctypes-function'; library: string | null; findLibrary?: boolean; symbol: string }
  | { kind: 'const'; value: PyConst }
  | { kind: 'super'; cls: ClassDef }
  | { kind: 'unresolved'; name: string; reason: string }
  | { kind: 'unknown'; reason: string }
) & { via?: string[] };

const MAX_ALTERNATIVES = 8;

/** Qualified name of a target: `numpy.linalg.linalg.svd`, `numpy.core._multiarray_umath.dot`, `builtins.len`. */
export function qualifiedName(t: Target): string | undefined {
  switch (t.kind) {
    case 'module':
      return t.module;
    case 'function':
      return `${t.def.module}.${t.def.qualname}`;
    case 'class':
      return `${t.def.module}.${t.def.qualname}`;
    case 'native':
      return `${t.module}.${t.path.join('.')}`;
    case 'builtin':
      return `builtins.${t.name}`;
    case 'instance':
      return t.type.kind === 'class' ? `${t.type.def.module}.${t.type.def.qualname}` : t.type.kind === 'native' ? `${t.type.module}.${t.type.path.join('.')}` : `builtins.${t.type.name}`;
    case 'ctypes-function':
      return `${t.library ?? '<library>'}:${t.symbol}`;
    case 'unresolved':
      return t.name;
    default:
      return undefined;
  }
}

/** The instance a call of the class (or C type) `t` makes. */
export function instanceOf(t: Target): Target {
  switch (t.kind) {
    case 'class':
      return { kind: 'instance', type: { kind: 'class', def: t.def } };
    case 'native':
      return { kind: 'instance', type: { kind: 'native', module: t.module, path: t.path } };
    case 'builtin':
      return { kind: 'instance', type: { kind: 'builtin', name: t.name } };
    default:
      return { kind: 'unknown', reason: 'instance of an unknown class' };
  }
}

/** Notes that the targets were reached through `name` (unless they already say so first). */
export function prefix(name: string, targets: Target[]): Target[] {
  return targets.map((t) => (t.via && t.via[0] === name ? t : { ...t, via: [name, ...(t.via ?? [])] }));
}

export function flat(lists: Target[][]): Target[] {
  if (lists.length === 1) return lists[0];
  const out: Target[] = [];
  for (const l of lists) out.push(...l);
  return out;
}

/** Deduplicates and bounds alternatives (known ones first). */
export function cap(ts: Target[]): Target[] {
  if (ts.length <= 1) return ts;
  if (ts.length === 2 && ts[0] === ts[1]) return [ts[0]];
  const seen = new Set<string>();
  const out: Target[] = [];
  for (const t of ts) {
    const key = targetKey(t);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(t);
  }
  if (out.length > 1) {
    const known: Target[] = out.filter((t) => t.kind !== 'unknown');
    const unknowns: Target[] = out.filter((t) => t.kind === 'unknown');
    if (known.length && unknowns.length) return known.slice(0, MAX_ALTERNATIVES).concat(unknowns.slice(0, 1));
  }
  return out.slice(0, MAX_ALTERNATIVES);
}

export function targetKey(t: Target): string {
  switch (t.kind) {
    case 'module':
      return `m:${t.module}`;
    case 'function':
      return `f:${t.def.module}.${t.def.qualname}`;
    case 'class':
      return `c:${t.def.module}.${t.def.qualname}`;
    case 'instance':
      return `i:${t.type.kind === 'class' ? `${t.type.def.module}.${t.type.def.qualname}` : t.type.kind === 'native' ? `${t.type.module}.${t.type.path.join('.')}` : t.type.name}`;
    case 'native':
      return `n:${t.module}.${t.path.join('.')}`;
    case 'builtin':
      return `b:${t.name}`;
    case 'ctypes-library':
      return `l:${t.library}`;
    case 'ctypes-function':
      return `s:${t.library}:${t.symbol}`;
    case 'const':
      return `k:${JSON.stringify(t.value)}`;
    case 'super':
      return `S:${t.cls.module}.${t.cls.qualname}`;
    case 'unresolved':
      return `u:${t.name}`;
    case 'unknown':
      return `?:${t.reason}`;
  }
}
