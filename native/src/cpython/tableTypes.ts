// The Python tables found in one ELF file (PyMethodDef arrays, PyModuleDef, static and heap types, the
// built-in module table) and PythonTables, their indexes by name and address.

import type { CodeRef } from '../elf/linkImage';
import type { PyVersion, SlotSuite } from './abi';

/** One PyMethodDef. */
export interface MethodEntry {
  /** Link-time address of the PyMethodDef itself. */
  address: number;
  /** ml_name. */
  name: string;
  /** ml_meth. */
  meth: CodeRef;
  /** ml_flags (METH_*). */
  flags: number;
  /** True when ml_doc is not NULL. */
  hasDoc: boolean;
}

/** A PyMethodDef array ended by a zero entry. */
export interface MethodTable {
  /** Link-time address of the first entry. */
  address: number;
  entries: MethodEntry[];
}

export interface ModuleSlot {
  /** Py_mod_* id (1 create, 2 exec, 3 multiple_interpreters, 4 gil). */
  slot: number;
  /** For create/exec: the function; otherwise undefined (the value is a flag). */
  func?: CodeRef;
  /** The raw value for flag slots. */
  value?: number;
}

/** One PyModuleDef. */
export interface ModuleDefInfo {
  /** Link-time address of the PyModuleDef. */
  address: number;
  /** m_name, e.g. 'time' or 'numpy.core._multiarray_umath'. */
  name: string;
  /** m_size. */
  size: number;
  /** m_methods, when not NULL. */
  methods?: MethodTable;
  /** m_slots (multi-phase initialisation, PEP 489). */
  slots: ModuleSlot[];
  /** True when the module uses multi-phase initialisation (m_slots is not NULL). */
  multiPhase: boolean;
}

/** One PyGetSetDef: attribute access `obj.name` runs `get`, assignment runs `set`. */
export interface GetSetEntry {
  address: number;
  name: string;
  get?: CodeRef;
  set?: CodeRef;
}

/** One entry of an interpreter's table of built-in modules (`struct _inittab`: name, PyInit function). */
export interface InittabEntry {
  address: number;
  /** The import name, e.g. '_io' (the module's m_name may differ: 'io'). */
  name: string;
  /** Its PyInit function; undefined for modules initialised by the interpreter itself (builtins, sys). */
  init?: CodeRef;
}

/** A type found statically: a PyTypeObject in the file, or a PyType_Spec from which a heap type is made. */
export interface TypeInfo {
  /** Link-time address of the PyTypeObject or PyType_Spec. */
  address: number;
  source: 'static' | 'spec';
  /** tp_name (or the spec's name), e.g. 'numpy.ndarray'. */
  name: string;
  basicsize: number;
  itemsize: number;
  flags: number;
  /** Non-NULL function slots by C field name (tp_call, nb_add, sq_item, am_send, ...). */
  slots: Map<string, CodeRef>;
  /** Link-time addresses of the slot suites (static types only). */
  suites: Partial<Record<Exclude<SlotSuite, 'type'>, number>>;
  /** tp_methods. */
  methods?: MethodTable;
  /** tp_getset. */
  getset: GetSetEntry[];
  /** tp_base (or the spec's Py_tp_base), when set statically. */
  base?: CodeRef;
}

export interface DiscoveryStats {
  /** Wall time of the discovery, in milliseconds. */
  ms: number;
  /** Bytes of data sections scanned. */
  scannedBytes: number;
  /** Pointer slots that point at an identifier-like string (the candidates examined). */
  nameSlots: number;
}

/** Everything discovered in one file. Addresses are link-time; add the module's load bias for runtime. */
export class PythonTables {
  private byTypeName?: Map<string, TypeInfo[]>;
  private byModuleName?: Map<string, ModuleDefInfo[]>;
  private byEntryName?: Map<string, MethodEntry[]>;
  private typeByAddress?: Map<number, TypeInfo>;

  constructor(
    readonly file: string,
    /** The CPython version this file was built for, when its name tells (python3.11, x.cpython-312-...so). */
    readonly version: PyVersion | undefined,
    readonly methodTables: readonly MethodTable[],
    /** Valid PyMethodDef entries that are not part of a zero-terminated array (Cython's per-function defs). */
    readonly standaloneMethods: readonly MethodEntry[],
    readonly moduleDefs: readonly ModuleDefInfo[],
    readonly types: readonly TypeInfo[],
    /** Arrays shaped like `struct _inittab` (built-in module name → PyInit function), in the interpreter. */
    readonly inittab: readonly InittabEntry[],
    readonly stats: DiscoveryStats,
  ) {}

  /**
   * The names C code of this file may look up by string (trace/pythonRoots.ts cCallableNames): a property of the file
   * alone, worked out once (a scan of its read-only strings and of its code's references to them) and kept with the
   * tables, in memory and in their store on disk.
   */
  lookupNames?: readonly string[];

  /** The _inittab entries named `name`. */
  inittabNamed(name: string): readonly InittabEntry[] {
    return this.inittab.filter((e) => e.name === name);
  }

  /** The module definition at a link-time address. */
  moduleDefAt(address: number): ModuleDefInfo | undefined {
    return this.moduleDefs.find((m) => m.address === address);
  }

  /** Types whose tp_name is `name`. */
  typesNamed(name: string): readonly TypeInfo[] {
    if (!this.byTypeName) {
      this.byTypeName = new Map();
      for (const t of this.types) push(this.byTypeName, t.name, t);
    }
    return this.byTypeName.get(name) ?? [];
  }

  /** The static type object (or spec) at a link-time address. */
  typeAt(address: number): TypeInfo | undefined {
    if (!this.typeByAddress) this.typeByAddress = new Map(this.types.map((t) => [t.address, t]));
    return this.typeByAddress.get(address);
  }

  /** Module definitions whose m_name is `name`. */
  moduleDefsNamed(name: string): readonly ModuleDefInfo[] {
    if (!this.byModuleName) {
      this.byModuleName = new Map();
      for (const m of this.moduleDefs) push(this.byModuleName, m.name, m);
    }
    return this.byModuleName.get(name) ?? [];
  }

  /** Every PyMethodDef entry (in tables and standalone) with this ml_name. */
  entriesNamed(name: string): readonly MethodEntry[] {
    if (!this.byEntryName) {
      this.byEntryName = new Map();
      for (const t of this.methodTables) for (const e of t.entries) push(this.byEntryName, e.name, e);
      for (const e of this.standaloneMethods) push(this.byEntryName, e.name, e);
    }
    return this.byEntryName.get(name) ?? [];
  }

  /** Total number of PyMethodDef entries found. */
  get entryCount(): number {
    return this.methodTables.reduce((n, t) => n + t.entries.length, 0) + this.standaloneMethods.length;
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}
