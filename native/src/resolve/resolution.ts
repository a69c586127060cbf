// The requests and results of symbol resolution (Python-level name → native functions), and ResolverContext:
// what the resolvers of each kind (resolveCtypes, resolveModule, resolveTypes, resolveCython) use of NativeResolver.

import type { ElfSymbol } from '../elf/elfFile';
import type { CodeRef } from '../elf/linkImage';
import type { AddressSpace, ModuleImage } from '../space/space';
import type { Summarizer } from '../trace/summary';
import type { MethodEntry, PythonTables } from '../cpython/tableTypes';

export type NativeRequest =
  /** `CDLL(library).symbol`; library null stands for `CDLL(None)` / `ctypes.pythonapi` (the global scope). */
  | { kind: 'ctypes'; library: string | null; symbol: string }
  /** `module.name(...)` for a C-API module; file undefined for a module built into the interpreter. */
  | { kind: 'module-function'; module: string; file?: string; name: string }
  /** `obj.name(...)` (or a getter `obj.name`) where obj is an instance of the extension type `type` (its tp_name). */
  | { kind: 'method'; type: string; name: string; file?: string }
  /** An operator or protocol slot of an extension type: `a @ b` → nb_matrix_multiply of type(a). */
  | { kind: 'slot'; type: string; slot: string; file?: string }
  /** A function or method of a Cython module, by its qualname (`f`, `Kern.fma`). */
  | { kind: 'cython'; module: string; qualname: string; file?: string };

export type ResolutionHow = 'symbol' | 'methoddef' | 'typeslot' | 'cython' | 'ctypes' | 'loops' | 'datatable';

export interface NativeTarget {
  /** Runtime address in the resolver's space (resolver.space). */
  address: number;
  /** Path of the ELF object that holds the function. */
  module: string;
  /** The ELF symbol at the address when the file has one, else a name derived from the table (`time.sleep`). */
  name: string;
  /** The ELF symbol at the address, when there is one. */
  symbol?: string;
  how: ResolutionHow;
  /**
   * True when this is the function the process will run: resolved in a live process, from the process's
   * own loaded objects (slots read from its memory where they can change), and the only candidate.
   */
  exact: boolean;
  /** How it was found, for people: `METH_O in time's method table`, `nb_add of numpy.ndarray`, `IFUNC variant`. */
  detail: string;
}

export type UnresolvedCode =
  | 'bad-request'
  | 'not-loaded'
  | 'file-not-found'
  | 'library-not-found'
  | 'no-module-def'
  | 'not-in-table'
  | 'type-not-found'
  | 'no-slot'
  | 'symbol-not-found'
  | 'not-a-function'
  | 'unreadable';

export type NativeResolution =
  | {
      status: 'resolved';
      request: NativeRequest;
      targets: NativeTarget[];
      /** True when every target is exact (a live process and a unique answer). */
      exact: boolean;
      /** Caveats: several candidates, IFUNC variants, inherited slots... */
      notes: string[];
    }
  | { status: 'unresolved'; request: NativeRequest; code: UnresolvedCode; reason: string };


/** A request that cannot be resolved, and why: thrown by the resolvers, returned as an 'unresolved' result. */
export class Unresolved extends Error {
  constructor(
    readonly code: UnresolvedCode,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** A candidate before it becomes a target: where, and how it was found. */
export interface Found {
  address: number;
  module: ModuleImage;
  how: ResolutionHow;
  label: string;
  detail: string;
  exact: boolean;
}

/** A short human description of a request: `numpy.ndarray.__matmul__ (nb_matrix_multiply)`. */
export function describeRequest(r: NativeRequest): string {
  switch (r.kind) {
    case 'ctypes':
      return `CDLL(${r.library === null ? 'None' : `'${r.library}'`}).${r.symbol}`;
    case 'module-function':
      return `${r.module}.${r.name}`;
    case 'method':
      return `${r.type}.${r.name}`;
    case 'slot':
      return `${r.type} ${r.slot}`;
    case 'cython':
      return `${r.module}.${r.qualname}`;
  }
}

/** A runtime address a code reference stands for, in the object that holds it. */
export interface CodeAddress {
  address: number;
  module: ModuleImage;
  exact: boolean;
}

/** What the resolvers of each kind use of the resolver: its space, the objects in it, their tables and symbols. */
export interface ResolverContext {
  readonly space: AddressSpace;
  readonly isProcess: boolean;
  readonly options: { env?: NodeJS.ProcessEnv };
  moduleByFile(file: string): ModuleImage;
  interpreterModules(): ModuleImage[];
  isPythonModule(m: ModuleImage): boolean;
  loadedExtension(module: string): ModuleImage | undefined;
  findExtension(module: string): ModuleImage | undefined;
  tablesOf(m: ModuleImage): PythonTables;
  codeTargets(m: ModuleImage, ref: CodeRef, notes: string[]): CodeAddress[];
  globalSymbol(name: string, order?: readonly ModuleImage[]): { module: ModuleImage; symbol: ElfSymbol } | undefined;
  functionAddresses(m: ModuleImage, s: ElfSymbol, notes: string[]): CodeAddress[];
  entryTargets(m: ModuleImage, e: MethodEntry, label: string, detail: string, how: ResolutionHow, notes: string[]): Found[];
  hasCString(m: ModuleImage, name: string): boolean;
  dataCodePointers(m: ModuleImage): number[];
  /** The resolver's summarizer (lea and immediate references of a function), made on first use. */
  summarizerFor(): Summarizer;
}
