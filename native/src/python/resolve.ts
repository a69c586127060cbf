// Symbol resolution (paper §III-C): from a Python-level name — a ctypes function, a C-API module function, a
// method or operator slot of an extension type, a Cython function — to the native function(s) implementing it,
// at runtime addresses of an address space (a live process: exact; files at rest: static). Never guesses:
// anything it cannot prove is an explicit 'unresolved' result with a reason.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as C from '../elf/elfConstants';
import type { ElfSymbol } from '../elf/elfFile';
import { NativeError } from '../errors';
import type { Root } from '../analysis/ept';
import { ProcessAddressSpace } from '../analysis/processSpace';
import { type AddressSpace, type ModuleImage, isInPlt } from '../analysis/space';
import { findLibrary } from '../analysis/staticSpace';
import { Summarizer } from '../analysis/summary';
import { DUNDER_SLOTS, SUITE_FIELD, TYPE, describeMethodFlags, slotLocation, versionFromFileName } from './abi';
import { cythonSymbolPattern, qualnameParts } from './cython';
import { OverlaySpace, realPath } from './overlay';
import { type CodeRef, type MethodEntry, type PythonTables, type TypeInfo, cachedTables } from './tables';

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

export type ResolutionHow = 'symbol' | 'methoddef' | 'typeslot' | 'cython' | 'ctypes' | 'datatable';

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

const MAX_BASE_DEPTH = 16;
/** At most this many functions stand for an object the resolver cannot pin down. */
const MAX_DATA_TARGETS = 5000;

class Unresolved extends Error {
  constructor(
    readonly code: UnresolvedCode,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** A candidate before it becomes a target: where, and how it was found. */
interface Found {
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

/**
 * Resolves Python-level names to native functions in one address space. In a live process it finds the
 * loaded objects by path from the maps and reads slots from memory; over files at rest it loads missing
 * extensions and libraries from disk into an overlay (`space`), whose addresses the targets use.
 */
export class NativeResolver {
  /** The space the targets' addresses belong to: the given one, or an overlay of it for files at rest. */
  readonly space: AddressSpace;
  /** True for a live process (objects come from its maps; nothing is loaded from disk). */
  readonly isProcess: boolean;
  private readonly overlay?: OverlaySpace;
  private readonly byReal = new Map<string, ModuleImage>();
  private readonly pythonModuleCache = new Map<ModuleImage, boolean>();
  private summarizer?: Summarizer;

  constructor(
    base: AddressSpace,
    private readonly options: { env?: NodeJS.ProcessEnv } = {},
  ) {
    this.isProcess = base instanceof ProcessAddressSpace;
    if (this.isProcess) this.space = base;
    else this.space = this.overlay = base instanceof OverlaySpace ? base : new OverlaySpace(base);
  }

  /** Resolves one request. Errors reading files become 'unresolved' results (code 'unreadable'). */
  resolve(request: NativeRequest): NativeResolution {
    try {
      const notes: string[] = [];
      const found = this.dispatch(request, notes);
      if (found.length === 0) throw new Unresolved('symbol-not-found', `${describeRequest(request)}: nothing was found.`);
      const unique = new Map<number, Found>();
      for (const f of found) if (!unique.has(f.address)) unique.set(f.address, f);
      const several = unique.size > 1;
      if (several && !notes.some((n) => n.includes('candidates'))) notes.push(`${unique.size} candidates: every one is a possible target.`);
      const targets = [...unique.values()].map((f) => this.target(f, several));
      return { status: 'resolved', request, targets, exact: targets.every((t) => t.exact), notes };
    } catch (e) {
      if (e instanceof Unresolved) return { status: 'unresolved', request, code: e.code, reason: e.reason };
      if (e instanceof NativeError) return { status: 'unresolved', request, code: 'unreadable', reason: e.describe() };
      throw e;
    }
  }

  /** EPT roots for a resolution: one per target. */
  roots(resolution: NativeResolution): Root[] {
    if (resolution.status !== 'resolved') return [];
    const what = describeRequest(resolution.request);
    return resolution.targets.map((t) => ({ address: t.address, reason: `${what} → ${t.name}` }));
  }

  /** The discovered tables of a module of the space (cached by file identity). */
  /** True when `name` is a NUL-terminated string of the module's read-only data. */
  private hasCString(m: ModuleImage, name: string): boolean {
    const sec = m.elf.section('.rodata');
    if (!sec || sec.size === 0) return false;
    try {
      return Buffer.from(m.elf.sectionData(sec)).includes(Buffer.from(`\0${name}\0`, 'latin1'));
    } catch {
      return false;
    }
  }

  /** Runtime addresses of the functions a module's data points to (through RELATIVE relocations), capped. */
  private dataCodePointers(m: ModuleImage): number[] {
    const out = new Set<number>();
    for (const rel of m.elf.relocations()) {
      if (rel.type !== C.R_X86_64_RELATIVE) continue;
      const ext = m.elf.functionAt(rel.addend);
      if (ext && ext.start === rel.addend) out.add(rel.addend + m.bias);
      if (out.size >= MAX_DATA_TARGETS) break;
    }
    return [...out];
  }

  tablesOf(m: ModuleImage): PythonTables {
    return cachedTables(m.elf, m.identity, m.path);
  }

  /** Frees the decoder used to enumerate IFUNC variants, and closes objects loaded from disk. */
  close(): void {
    this.summarizer?.free();
    this.summarizer = undefined;
    this.overlay?.close();
  }

  // ------------------------------------------------------------------------------------------ dispatch

  private dispatch(r: NativeRequest, notes: string[]): Found[] {
    switch (r.kind) {
      case 'ctypes':
        return this.resolveCtypes(r, notes);
      case 'module-function':
        return this.resolveModuleFunction(r, notes);
      case 'method':
        return this.resolveMethod(r, notes);
      case 'slot':
        return this.resolveSlot(r, notes);
      case 'cython':
        return this.resolveCython(r, notes);
      default:
        throw new Unresolved('bad-request', `Unknown request kind ${(r as { kind: string }).kind}.`);
    }
  }

  private target(f: Found, several: boolean): NativeTarget {
    const link = f.address - f.module.bias;
    const ext = f.module.elf.functionAt(link);
    const symbol = ext && ext.start === link && ext.name ? ext.name : undefined;
    return {
      address: f.address,
      module: f.module.path,
      name: symbol ?? f.label,
      symbol,
      how: f.how,
      exact: f.exact && !several,
      detail: f.detail,
    };
  }

  // ------------------------------------------------------------------------------------------ modules

  private realOf(m: ModuleImage): string | undefined {
    return realPath(m.path.replace(/ \(deleted\)$/, ''));
  }

  /** The module of the space whose file is `file`; over files at rest it is loaded if missing. */
  private moduleByFile(file: string): ModuleImage {
    const real = realPath(file);
    if (!real) throw new Unresolved('file-not-found', `${file} does not exist.`);
    if (this.byReal.size === 0 || !this.byReal.has(real)) {
      for (const m of this.space.modules()) {
        const r = this.realOf(m);
        if (r && !this.byReal.has(r)) this.byReal.set(r, m);
      }
    }
    const hit = this.byReal.get(real);
    if (hit) return hit;
    if (this.isProcess) throw new Unresolved('not-loaded', `${file} is not loaded in ${this.space.description}.`);
    const m = this.overlay!.load(file);
    this.byReal.set(real, m);
    return m;
  }

  /** The interpreter's own objects: the main executable and a libpython it links. */
  private interpreterModules(): ModuleImage[] {
    const main = this.space.mainModule();
    const out = main ? [main] : [];
    for (const m of this.space.modules()) if (m !== main && /^libpython3\.\d+/.test(path.basename(m.path))) out.push(m);
    return out;
  }

  /** True for an object that can hold Python tables: the interpreter, libpython, or an extension (PyInit_*). */
  private isPythonModule(m: ModuleImage): boolean {
    let v = this.pythonModuleCache.get(m);
    if (v === undefined) {
      v = m.isMain || /^libpython3\.\d+/.test(path.basename(m.path)) || m.elf.dynamicSymbols().some((s) => s.defined && s.name.startsWith('PyInit_'));
      this.pythonModuleCache.set(m, v);
    }
    return v;
  }

  /** A loaded object exporting PyInit_<last part> whose path spells the dotted module name, if exactly one. */
  private loadedExtension(module: string): ModuleImage | undefined {
    const init = `PyInit_${module.split('.').pop()!}`;
    const tail = module.split('.').join('/');
    const hits = this.space
      .modules()
      .filter((m) => (m.path.includes(`/${tail}.`) || m.path.includes(`/${tail}/__init__.`)) && m.elf.lookupSymbol(init)?.defined);
    return hits.length === 1 ? hits[0] : undefined;
  }

  /**
   * The extension object of a module that is not built into the interpreter: in a live process, the loaded
   * object exporting PyInit_<last part> (preferring one whose path matches the dotted name); over files at
   * rest, the interpreter's lib-dynload directory.
   */
  private findExtension(module: string): ModuleImage | undefined {
    const last = module.split('.').pop()!;
    const init = `PyInit_${last}`;
    const candidates = this.space.modules().filter((m) => m.elf.lookupSymbol(init)?.defined);
    if (candidates.length > 0) {
      const tail = module.split('.').join('/');
      const matching = candidates.filter((m) => m.path.includes(`/${tail}.`) || m.path.includes(`/${tail}/__init__.`));
      if (matching.length === 1) return matching[0];
      if (candidates.length === 1) return candidates[0];
      throw new Unresolved(
        'no-module-def',
        `${candidates.length} loaded objects export ${init} (${candidates.map((m) => m.path).join(', ')}): give the extension's file.`,
      );
    }
    if (this.isProcess || module.includes('.')) return undefined;
    const main = this.space.mainModule();
    if (!main) return undefined;
    const exeReal = realPath(main.path) ?? main.path;
    const version =
      versionFromFileName(main.path) ??
      versionFromFileName(exeReal) ??
      this.interpreterModules()
        .map((m) => versionFromFileName(realPath(m.path) ?? m.path))
        .find((v) => v);
    if (!version) return undefined;
    const dirs = [...new Set([path.dirname(path.dirname(exeReal)), path.dirname(path.dirname(main.path))])].map((p) =>
      path.join(p, 'lib', `python${version}`, 'lib-dynload'),
    );
    const tag = version.replace('.', '');
    for (const dir of dirs) {
      let names: string[] = [];
      try {
        names = fs.readdirSync(dir);
      } catch {
        continue;
      }
      const hit = names.find((n) => n === `${last}.cpython-${tag}-x86_64-linux-gnu.so`) ?? names.find((n) => n === `${last}.abi3.so` || n === `${last}.so`);
      if (hit) return this.moduleByFile(path.join(dir, hit));
    }
    return undefined;
  }

  // ------------------------------------------------------------------------------------------ code refs

  /** The runtime address(es) a table's code pointer stands for. */
  private codeTargets(m: ModuleImage, ref: CodeRef, notes: string[]): Array<{ address: number; module: ModuleImage; exact: boolean }> {
    if (ref.kind === 'local') return [{ address: ref.address + m.bias, module: m, exact: true }];
    const sym = this.globalSymbol(ref.symbol);
    if (!sym) throw new Unresolved('symbol-not-found', `${ref.symbol} (imported by ${path.basename(m.path)}) is defined by no object of ${this.space.description}.`);
    return this.functionAddresses(sym.module, sym.symbol, notes);
  }

  /** A defined symbol by the dynamic linker's global search order (main executable, then load order). */
  private globalSymbol(name: string, order: readonly ModuleImage[] = this.space.modules()): { module: ModuleImage; symbol: ElfSymbol } | undefined {
    for (const m of order) {
      const s = m.elf.lookupSymbol(name);
      if (s?.defined) return { module: m, symbol: s };
    }
    return undefined;
  }

  /** A function symbol's runtime address; for an IFUNC, the bound value from a live GOT slot, else every variant. */
  private functionAddresses(m: ModuleImage, s: ElfSymbol, notes: string[]): Array<{ address: number; module: ModuleImage; exact: boolean }> {
    if (s.type !== C.STT_GNU_IFUNC) return [{ address: s.value + m.bias, module: m, exact: true }];
    if (this.space.liveMemory) {
      const bound = this.boundIfunc(m, s);
      if (bound) {
        notes.push(`${s.name} is an IFUNC: the variant was read from the bound GOT slot in ${path.basename(bound.from.path)}.`);
        return [{ address: bound.address, module: bound.module, exact: true }];
      }
    }
    const variants = this.ifuncVariants(m, s.value);
    if (variants.length === 0) throw new Unresolved('symbol-not-found', `${s.name} is an IFUNC whose variants could not be found in its resolver.`);
    notes.push(`${s.name} is an IFUNC: without a bound slot to read, all ${variants.length} variants its resolver can return are candidates.`);
    return variants.map((address) => ({ address, module: m, exact: false }));
  }

  /**
   * A live GOT slot bound to the IFUNC `s` of `owner` in any object — a JUMP_SLOT/GLOB_DAT naming it, or an
   * IRELATIVE of `owner` whose resolver is its: the slot's value is the variant the resolver chose.
   */
  private boundIfunc(owner: ModuleImage, s: ElfSymbol): { address: number; module: ModuleImage; from: ModuleImage } | undefined {
    for (const m of this.space.modules()) {
      for (const [slot, rel] of m.elf.gotSlotRelocations()) {
        const named = (rel.type === C.R_X86_64_JUMP_SLOT || rel.type === C.R_X86_64_GLOB_DAT) && rel.symbol?.name === s.name;
        const local = m === owner && rel.type === C.R_X86_64_IRELATIVE && rel.addend === s.value;
        if (!named && !local) continue;
        const v = this.space.readPointer(slot + m.bias);
        if (v === undefined || v === 0) continue;
        const r = this.space.regionAt(v);
        if (!r?.exec || !r.module) continue;
        // A lazy slot still points into the caller's own PLT: not bound yet.
        if (r.module === m && isInPlt(m.elf, v - m.bias)) continue;
        return { address: v, module: r.module, from: m };
      }
    }
    return undefined;
  }

  /** Every code address an IFUNC resolver takes (lea/mov imm): the variants it can return. */
  private ifuncVariants(m: ModuleImage, resolverLink: number): number[] {
    this.summarizer ??= new Summarizer();
    const ext = m.elf.functionAt(resolverLink);
    const s = ext
      ? this.summarizer.summarizeExtent(m.elf.readVirtual(ext.start, ext.end - ext.start), ext.start, ext.end)
      : this.summarizer.summarizeDescent((a, n) => m.elf.tryReadVirtual(a, n), resolverLink);
    const pic = m.elf.header.type === C.ET_DYN;
    const out = new Set<number>();
    for (const ref of s.refs) {
      if (ref.kind === 'mem' || (ref.kind === 'imm' && pic)) continue;
      const link = ref.address;
      if (link === resolverLink) continue;
      const f = m.elf.functionAt(link);
      if (f && f.start === link) out.add(link + m.bias);
    }
    return [...out];
  }

  // ------------------------------------------------------------------------------------------ ctypes

  private resolveCtypes(r: Extract<NativeRequest, { kind: 'ctypes' }>, notes: string[]): Found[] {
    if (!/^[A-Za-z_][A-Za-z0-9_@.]*$/.test(r.symbol)) throw new Unresolved('bad-request', `'${r.symbol}' is not a symbol name.`);
    let order: ModuleImage[];
    let lib: ModuleImage | undefined;
    if (r.library === null) {
      order = [...this.space.modules()];
    } else {
      lib = this.ctypesLibrary(r.library);
      order = this.dependencyOrder(lib);
    }
    const hit = this.globalSymbol(r.symbol, order);
    if (!hit) {
      throw new Unresolved('symbol-not-found', `${r.symbol} is not exported by ${lib ? path.basename(lib.path) : 'any loaded object'}${lib ? ' or its dependencies' : ''}.`);
    }
    const t = hit.symbol.type;
    if (t !== C.STT_FUNC && t !== C.STT_GNU_IFUNC && t !== C.STT_NOTYPE) {
      throw new Unresolved('not-a-function', `${r.symbol} in ${path.basename(hit.module.path)} is data, not a function.`);
    }
    const exec = this.space.regionAt(hit.symbol.value + hit.module.bias)?.exec;
    if (t === C.STT_NOTYPE && !exec) throw new Unresolved('not-a-function', `${r.symbol} in ${path.basename(hit.module.path)} is not in code.`);
    if (lib && hit.module !== lib) notes.push(`${r.symbol} is not in ${path.basename(lib.path)}; dlsym found it in its dependency ${path.basename(hit.module.path)}.`);
    return this.functionAddresses(hit.module, hit.symbol, notes).map((a) => ({
      address: a.address,
      module: a.module,
      how: 'ctypes' as const,
      label: r.symbol,
      detail: `dlsym(${r.library === null ? 'RTLD_DEFAULT' : r.library}, "${r.symbol}")${hit.symbol.type === C.STT_GNU_IFUNC ? ' (IFUNC)' : ''}`,
      exact: this.isProcess && a.exact,
    }));
  }

  /** The object CDLL(library) names: a path, or a name found like dlopen does (and matched by soname). */
  private ctypesLibrary(library: string): ModuleImage {
    if (library.includes('/')) return this.moduleByFile(library);
    for (const m of this.space.modules()) {
      if (path.basename(m.path) === library) return m;
      try {
        if (m.elf.dynamic().soname === library) return m;
      } catch {
        // An object whose dynamic section cannot be read is not the one.
      }
    }
    const main = this.space.mainModule();
    const found = main ? findLibrary(library, main.elf, realPath(main.path) ?? main.path, this.options.env) : undefined;
    if (found) {
      try {
        return this.moduleByFile(found);
      } catch (e) {
        if (!(e instanceof Unresolved) || e.code !== 'not-loaded') throw e;
      }
    }
    if (this.isProcess) throw new Unresolved('not-loaded', `CDLL('${library}') is not loaded in ${this.space.description}.`);
    throw new Unresolved('library-not-found', `${library} is not found in the library search path.`);
  }

  /** dlsym(handle) order: the object, then its DT_NEEDED dependencies breadth first (those in the space). */
  private dependencyOrder(lib: ModuleImage): ModuleImage[] {
    const out = [lib];
    const seen = new Set([lib]);
    for (let i = 0; i < out.length; i++) {
      let needed: string[] = [];
      try {
        needed = out[i].elf.dynamic().needed;
      } catch {
        needed = [];
      }
      for (const n of needed) {
        const m = this.space.modules().find((x) => !seen.has(x) && (path.basename(x.path) === n || safeSoname(x) === n));
        if (m) {
          seen.add(m);
          out.push(m);
        }
      }
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------ module functions

  private resolveModuleFunction(r: Extract<NativeRequest, { kind: 'module-function' }>, notes: string[]): Found[] {
    if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(r.module) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(r.name)) {
      throw new Unresolved('bad-request', `'${r.module}.${r.name}' is not a module and function name.`);
    }
    const last = r.module.split('.').pop()!;
    let mods: ModuleImage[];
    let isExtension = false;
    if (r.file) {
      mods = [this.moduleByFile(r.file)];
      isExtension = true;
    } else {
      // In a live process, a loaded extension whose path spells the module wins without reading the
      // interpreter's tables; otherwise built-in modules come first.
      const loaded = this.isProcess ? this.loadedExtension(r.module) : undefined;
      mods = loaded ? [loaded] : this.interpreterModules();
      isExtension = loaded !== undefined;
    }
    let defs = this.moduleDefs(mods, r.module, last, isExtension);
    if (defs.length === 0 && !r.file) {
      const ext = this.findExtension(r.module);
      if (ext) {
        mods = [ext];
        defs = this.moduleDefs(mods, r.module, last, true);
      }
    }
    if (defs.length === 0) {
      const where = mods.map((m) => path.basename(m.path)).join(', ') || 'the interpreter';
      const why = this.isProcess && !r.file ? ' (not built into the interpreter, and no loaded extension exports PyInit_' + last + ')' : '';
      throw new Unresolved('no-module-def', `No PyModuleDef named '${r.module}' in ${where}${why}.`);
    }
    const out: Found[] = [];
    for (const { module: m, def } of defs) {
      for (const e of def.methods?.entries ?? []) {
        if (e.name !== r.name) continue;
        out.push(...this.entryTargets(m, e, `${r.module}.${r.name}`, `${describeMethodFlags(e.flags)} in the method table of module ${def.name}`, 'methoddef', notes));
      }
    }
    if (out.length > 0) return out;
    // Calling a type of the module: type_call runs its tp_new and tp_init.
    for (const { module: m } of defs) {
      const tables = this.tablesOf(m);
      const types = [
        ...tables.typesNamed(`${r.module}.${r.name}`),
        ...(r.module !== last ? tables.typesNamed(`${last}.${r.name}`) : []),
        // Builtin types have undotted names: builtins.str is the type 'str'.
        ...(r.module === 'builtins' ? tables.typesNamed(r.name) : []),
      ];
      for (const t of types) {
        notes.push(`${r.module}.${r.name} is the type ${t.name}: calling it runs its tp_new and tp_init.`);
        for (const slot of ['tp_new', 'tp_init']) {
          const got = this.slotTargets(m, t, slot, notes, 0);
          if (got) out.push(...got);
        }
      }
    }
    if (out.length > 0) return out;
    // An object the extension creates at import time (a NumPy ufunc, a cffi function, a callable instance):
    // its C code is one of the functions the module's data points to. Count them all, so the answer is safe.
    for (const { module: m } of defs) {
      // Only a name the module really defines: the C string it registers the object under must be there.
      if (this.interpreterModules().includes(m) || !this.hasCString(m, r.name)) continue;
      const fns = this.dataCodePointers(m);
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
  private moduleDefs(mods: ModuleImage[], module: string, last: string, isExtension: boolean) {
    const out: Array<{ module: ModuleImage; def: PythonTables['moduleDefs'][number] }> = [];
    for (const m of mods) {
      const t = this.tablesOf(m);
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
          for (const ref of this.referencedData(m, init.address)) {
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

  /** Link-time data addresses a function takes (lea, or absolute immediates in non-PIC code). */
  private referencedData(m: ModuleImage, link: number): number[] {
    this.summarizer ??= new Summarizer();
    const ext = m.elf.functionAt(link);
    try {
      const s = ext
        ? this.summarizer.summarizeExtent(m.elf.readVirtual(ext.start, ext.end - ext.start), ext.start, ext.end)
        : this.summarizer.summarizeDescent((a, n) => m.elf.tryReadVirtual(a, n), link);
      const pic = m.elf.header.type === C.ET_DYN;
      return s.refs.filter((r) => r.kind === 'lea' || (r.kind === 'imm' && !pic)).map((r) => r.address);
    } catch (e) {
      if (e instanceof NativeError) return [];
      throw e;
    }
  }

  private entryTargets(m: ModuleImage, e: MethodEntry, label: string, detail: string, how: ResolutionHow, notes: string[]): Found[] {
    return this.codeTargets(m, e.meth, notes).map((a) => ({
      address: a.address,
      module: a.module,
      how,
      label,
      detail,
      exact: this.isProcess && a.exact,
    }));
  }

  // ------------------------------------------------------------------------------------------ types

  /** Static types and specs named `name`: in the given file, else in the interpreter and the loaded extensions. */
  private findTypes(name: string, file: string | undefined): Array<{ module: ModuleImage; type: TypeInfo }> {
    // Where to look, cheapest first: the given file; else the objects the name points at (the extensions
    // under the package its dotted prefix names, or the interpreter for an undotted builtin); then all.
    const stages: ModuleImage[][] = [];
    if (file) stages.push([this.moduleByFile(file)]);
    else {
      const python = this.space.modules().filter((m) => this.isPythonModule(m));
      const dot = name.lastIndexOf('.');
      if (dot > 0) {
        const parts = name.slice(0, dot).split('.');
        const under = python.filter((m) => m.path.includes(`/${parts[0]}/`) || m.path.includes(`/${parts.join('/')}.`) || path.basename(m.path).startsWith(`${parts[0]}.`));
        if (under.length > 0) stages.push(under);
      } else stages.push(this.interpreterModules());
      stages.push(python);
    }
    for (const mods of stages) {
      const out: Array<{ module: ModuleImage; type: TypeInfo }> = [];
      for (const m of mods) for (const t of this.tablesOf(m).typesNamed(name)) out.push({ module: m, type: t });
      // A static type wins over a spec of the same name (a spec names the heap type made from it).
      const statics = out.filter((x) => x.type.source === 'static');
      if (out.length > 0) return statics.length > 0 ? statics : out;
    }
    return [];
  }

  private resolveMethod(r: Extract<NativeRequest, { kind: 'method' }>, notes: string[]): Found[] {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(r.name)) throw new Unresolved('bad-request', `'${r.name}' is not a method name.`);
    const types = this.findTypes(r.type, r.file);
    if (types.length === 0) throw new Unresolved('type-not-found', `No static type or type spec named '${r.type}' in ${r.file ?? this.space.description}.`);
    if (types.length > 1) notes.push(`${types.length} candidates: types named ${r.type} in ${types.map((t) => path.basename(t.module.path)).join(', ')}.`);
    const out: Found[] = [];
    let lastError: Unresolved | undefined;
    for (const { module, type } of types) {
      try {
        out.push(...this.methodOf(module, type, r.name, r.type, notes, 0));
      } catch (e) {
        if (!(e instanceof Unresolved)) throw e;
        lastError = e;
      }
    }
    if (out.length === 0 && lastError) throw lastError;
    return out;
  }

  private methodOf(m: ModuleImage, t: TypeInfo, name: string, asked: string, notes: string[], depth: number): Found[] {
    const label = `${asked}.${name}`;
    const e = t.methods?.entries.find((x) => x.name === name);
    if (e) {
      if (depth > 0) notes.push(`${name} is inherited from ${t.name}.`);
      return this.entryTargets(m, e, label, `${describeMethodFlags(e.flags)} in tp_methods of ${t.name}`, 'methoddef', notes);
    }
    const g = t.getset.find((x) => x.name === name);
    if (g) {
      if (!g.get) throw new Unresolved('not-in-table', `${t.name}.${name} is a write-only attribute.`);
      notes.push(`${asked}.${name} is an attribute: reading it runs its getter.`);
      return this.codeTargets(m, g.get, notes).map((a) => ({
        address: a.address,
        module: a.module,
        how: 'methoddef' as const,
        label: `${label} (getter)`,
        detail: `getter in tp_getset of ${t.name}`,
        exact: this.isProcess && a.exact,
      }));
    }
    const slots = DUNDER_SLOTS[name];
    if (slots) {
      for (const s of slots) {
        const got = this.slotTargets(m, t, s, notes, depth);
        if (got) return got.map((f) => ({ ...f, label }));
      }
    }
    const base = this.baseOf(m, t);
    if (base && depth < MAX_BASE_DEPTH) return this.methodOf(base.module, base.type, name, asked, notes, depth + 1);
    throw new Unresolved('not-in-table', `'${name}' is not in tp_methods or tp_getset of ${t.name}${depth > 0 ? ' or its bases' : ''}${base === undefined && t.name !== 'object' ? ' (its base type is not known)' : ''}.`);
  }

  private resolveSlot(r: Extract<NativeRequest, { kind: 'slot' }>, notes: string[]): Found[] {
    const loc = slotLocation(r.slot);
    if (!loc) throw new Unresolved('bad-request', `'${r.slot}' is not a type slot (expected e.g. nb_add, nb_matrix_multiply, tp_call, sq_item).`);
    const types = this.findTypes(r.type, r.file);
    if (types.length === 0) throw new Unresolved('type-not-found', `No static type or type spec named '${r.type}' in ${r.file ?? this.space.description}.`);
    if (types.length > 1) notes.push(`${types.length} candidates: types named ${r.type} in ${types.map((t) => path.basename(t.module.path)).join(', ')}.`);
    const out: Found[] = [];
    for (const { module, type } of types) {
      const got = this.slotTargets(module, type, r.slot, notes, 0);
      if (got) out.push(...got);
    }
    if (out.length === 0) throw new Unresolved('no-slot', `${r.type} has no ${r.slot} (the operation is not supported by the type, or is inherited from a base that is not known).`);
    return out;
  }

  /**
   * The function in slot `slot` of type `t`: read from the live type object when the process's memory can be
   * read (exact, inherited slots included), else from the file, following tp_base for slots left NULL.
   * Undefined when the type (and its known bases) has no such slot.
   */
  private slotTargets(m: ModuleImage, t: TypeInfo, slot: string, notes: string[], depth: number): Found[] | undefined {
    const loc = slotLocation(slot);
    if (!loc) return undefined;
    const label = `${t.name}.${slot}`;
    if (t.source === 'static' && this.space.liveMemory) {
      const typeAddr = t.address + m.bias;
      let holder: number | undefined = typeAddr;
      if (loc.suite !== 'type') holder = this.space.readPointer(typeAddr + TYPE[SUITE_FIELD[loc.suite] as keyof typeof TYPE]);
      if (holder === 0) return undefined;
      const v = holder === undefined ? undefined : this.space.readPointer(holder + loc.offset);
      if (v === 0) return undefined;
      if (v !== undefined) {
        const region = this.space.regionAt(v);
        if (!region?.exec || !region.module) throw new Unresolved('unreadable', `${label} holds 0x${v.toString(16)}, which is not in a loaded object's code.`);
        return [{ address: v, module: region.module, how: 'typeslot', label, detail: `${slot} of ${t.name}, read from the process`, exact: true }];
      }
    }
    const c = t.slots.get(slot);
    if (c) {
      if (depth > 0) notes.push(`${slot} is inherited from ${t.name}.`);
      return this.codeTargets(m, c, notes).map((a) => ({
        address: a.address,
        module: a.module,
        how: 'typeslot' as const,
        label,
        detail: `${slot} of ${t.name}${t.source === 'spec' ? ' (PyType_Spec)' : ''}`,
        exact: this.isProcess && a.exact && depth === 0,
      }));
    }
    const base = this.baseOf(m, t);
    if (base && depth < MAX_BASE_DEPTH) return this.slotTargets(base.module, base.type, slot, notes, depth + 1);
    return undefined;
  }

  /** tp_base of a type: read live, else from the file; NULL means `object`. Undefined when unknown. */
  private baseOf(m: ModuleImage, t: TypeInfo): { module: ModuleImage; type: TypeInfo } | undefined {
    if (t.name === 'object') return undefined;
    if (t.source === 'static' && this.space.liveMemory) {
      const v = this.space.readPointer(t.address + m.bias + TYPE.tp_base);
      if (v !== undefined && v !== 0) return this.typeAtRuntime(v);
    }
    if (t.base?.kind === 'local') {
      const bt = this.tablesOf(m).typeAt(t.base.address);
      return bt ? { module: m, type: bt } : undefined;
    }
    if (t.base?.kind === 'external') {
      const s = this.globalSymbol(t.base.symbol);
      if (!s) return undefined;
      const bt = this.tablesOf(s.module).typeAt(s.symbol.value);
      return bt ? { module: s.module, type: bt } : undefined;
    }
    // NULL tp_base: PyType_Ready makes `object` the base.
    for (const im of this.interpreterModules()) {
      const obj = this.tablesOf(im).typesNamed('object').find((x) => x.source === 'static');
      if (obj) return { module: im, type: obj };
    }
    return undefined;
  }

  private typeAtRuntime(address: number): { module: ModuleImage; type: TypeInfo } | undefined {
    const r = this.space.regionAt(address);
    if (!r?.module) return undefined;
    const t = this.tablesOf(r.module).typeAt(address - r.module.bias);
    return t ? { module: r.module, type: t } : undefined;
  }

  // ------------------------------------------------------------------------------------------ Cython

  private resolveCython(r: Extract<NativeRequest, { kind: 'cython' }>, notes: string[]): Found[] {
    const q = qualnameParts(r.qualname);
    const pattern = cythonSymbolPattern(r.module, r.qualname, 'pw');
    if (!q || !pattern) throw new Unresolved('bad-request', `'${r.module}' / '${r.qualname}' is not a module and qualname.`);
    const m = r.file ? this.moduleByFile(r.file) : this.findExtension(r.module);
    if (!m) throw new Unresolved(this.isProcess ? 'not-loaded' : 'file-not-found', `No extension object for Cython module ${r.module} in ${this.space.description}: give its file.`);
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
            exact: this.isProcess,
          }));
        }
      }
    }
    // Without one (or when the name is not there): the PyMethodDefs Cython generates.
    const tables = this.tablesOf(m);
    const out: Found[] = [];
    if (q.scopes.length > 0) {
      for (const t of tables.typesNamed(`${r.module}.${q.scopes.join('.')}`)) {
        const e = t.methods?.entries.find((x) => x.name === q.name);
        if (e) out.push(...this.entryTargets(m, e, label, `${describeMethodFlags(e.flags)} in tp_methods of ${t.name}`, 'cython', notes));
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
    for (const e of entries) out.push(...this.entryTargets(m, e, label, `${describeMethodFlags(e.flags)} PyMethodDef '${e.name}' (Cython)`, 'cython', notes));
    return out;
  }
}

function safeSoname(m: ModuleImage): string | undefined {
  try {
    return m.elf.dynamic().soname;
  } catch {
    return undefined;
  }
}

const resolvers = new WeakMap<AddressSpace, NativeResolver>();

/** The resolver of a space (one per space, so discovery, loaded overlays and caches are shared). */
export function resolverFor(space: AddressSpace): NativeResolver {
  let r = resolvers.get(space);
  if (!r) resolvers.set(space, (r = new NativeResolver(space)));
  return r;
}

/**
 * Resolves a Python-level name to native functions in `space`. Target addresses are runtime addresses of
 * `resolverFor(space).space` — the space itself for a live process; for files at rest an overlay of it that
 * may hold extensions loaded from disk (pass that space to executionPathTracking).
 */
export function resolveNative(space: AddressSpace, request: NativeRequest): NativeResolution {
  return resolverFor(space).resolve(request);
}
