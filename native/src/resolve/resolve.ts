// Symbol resolution (paper §III-C): from a Python-level name — a ctypes function, a C-API module function, a
// method or operator slot of an extension type, a Cython function — to the native function(s) implementing it,
// at runtime addresses of an address space (a live process: exact; files at rest: static). Never guesses:
// anything it cannot prove is an explicit 'unresolved' result with a reason.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as C from '../elf/elfConstants';
import type { ElfSymbol } from '../elf/elfFile';
import { NativeError } from '../errors';
import type { Root } from '../trace/ept';
import { ProcessAddressSpace } from '../space/processSpace';
import { type AddressSpace, type ModuleImage, isInPlt } from '../space/space';
import { Summarizer } from '../trace/summary';
import { codeLeaTargets, stringAddresses } from '../trace/codeStrings';
import { versionFromFileName } from '../cpython/abi';
import { OverlaySpace, realPath } from '../space/overlay';
import { describeRequest, Unresolved, type Found, type NativeRequest, type NativeResolution, type NativeTarget, type ResolutionHow, type ResolverContext } from './resolution';
import { resolveCtypes } from './resolveCtypes';
import { resolveCython } from './resolveCython';
import { resolveModuleFunction } from './resolveModule';
import { resolveMethod, resolveSlot } from './resolveTypes';
import { type CodeRef, type MethodEntry, type PythonTables, type TablesStore, cachedTables } from '../cpython/tables';

export { describeRequest, type NativeRequest, type NativeResolution, type NativeTarget, type ResolutionHow, type UnresolvedCode } from './resolution';

/** At most this many functions stand for an object the resolver cannot pin down. */
const MAX_DATA_TARGETS = 20000;

/**
 * Resolves Python-level names to native functions in one address space. In a live process it finds the
 * loaded objects by path from the maps and reads slots from memory; over files at rest it loads missing
 * extensions and libraries from disk into an overlay (`space`), whose addresses the targets use.
 */
export class NativeResolver implements ResolverContext {
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
    readonly options: { env?: NodeJS.ProcessEnv; tablesStore?: TablesStore } = {},
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

  /** True when `name` is a NUL-terminated string of the module's read-only data, or the end of one (stringAddresses). */
  hasCString(m: ModuleImage, name: string): boolean {
    try {
      return stringAddresses(m.elf, name).length > 0;
    } catch {
      return false;
    }
  }

  /**
   * Runtime addresses of the functions a module's data points to (through RELATIVE relocations) and of those its code
   * takes the address of with a `lea` (what an initialiser stores into a table at import: NumPy's CPU dispatch writes
   * the chosen loop, which no relocation names), capped.
   */
  dataCodePointers(m: ModuleImage): number[] {
    const out = new Set<number>();
    const add = (link: number) => {
      const ext = m.elf.functionAt(link);
      if (ext && ext.start === link) out.add(link + m.bias);
    };
    for (const rel of m.elf.relocations()) {
      if (rel.type === C.R_X86_64_RELATIVE) add(rel.addend);
      if (out.size >= MAX_DATA_TARGETS) return [...out];
    }
    for (const link of codeLeaTargets(m.elf)) {
      add(link);
      if (out.size >= MAX_DATA_TARGETS) break;
    }
    return [...out];
  }

  /** The discovered tables of a module of the space (cached by file identity). */
  tablesOf(m: ModuleImage): PythonTables {
    return cachedTables(m.elf, m.identity, m.path, this.options.tablesStore);
  }

  summarizerFor(): Summarizer {
    return (this.summarizer ??= new Summarizer());
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
        return resolveCtypes(this, r, notes);
      case 'module-function':
        return resolveModuleFunction(this, r, notes);
      case 'method':
        return resolveMethod(this, r, notes);
      case 'slot':
        return resolveSlot(this, r, notes);
      case 'cython':
        return resolveCython(this, r, notes);
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
  moduleByFile(file: string): ModuleImage {
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
  interpreterModules(): ModuleImage[] {
    const main = this.space.mainModule();
    const out = main ? [main] : [];
    for (const m of this.space.modules()) if (m !== main && /^libpython3\.\d+/.test(path.basename(m.path))) out.push(m);
    return out;
  }

  /** True for an object that can hold Python tables: the interpreter, libpython, or an extension (PyInit_*). */
  isPythonModule(m: ModuleImage): boolean {
    let v = this.pythonModuleCache.get(m);
    if (v === undefined) {
      v = m.isMain || /^libpython3\.\d+/.test(path.basename(m.path)) || m.elf.dynamicSymbols().some((s) => s.defined && s.name.startsWith('PyInit_'));
      this.pythonModuleCache.set(m, v);
    }
    return v;
  }

  /** A loaded object exporting PyInit_<last part> whose path spells the dotted module name (spellsModule), if exactly one. */
  loadedExtension(module: string): ModuleImage | undefined {
    const init = `PyInit_${module.split('.').pop()!}`;
    const hits = this.space
      .modules()
      .filter((m) => spellsModule(m.path, module) && m.elf.lookupSymbol(init)?.defined);
    return hits.length === 1 ? hits[0] : undefined;
  }

  /**
   * The extension object of a module that is not built into the interpreter: in a live process, the loaded
   * object exporting PyInit_<last part> (preferring one whose path matches the dotted name); over files at
   * rest, the interpreter's lib-dynload directory.
   */
  findExtension(module: string): ModuleImage | undefined {
    const last = module.split('.').pop()!;
    const init = `PyInit_${last}`;
    const candidates = this.space.modules().filter((m) => m.elf.lookupSymbol(init)?.defined);
    if (candidates.length > 0) {
      const matching = candidates.filter((m) => spellsModule(m.path, module));
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
  codeTargets(m: ModuleImage, ref: CodeRef, notes: string[]): Array<{ address: number; module: ModuleImage; exact: boolean }> {
    if (ref.kind === 'local') return [{ address: ref.address + m.bias, module: m, exact: true }];
    const sym = this.globalSymbol(ref.symbol);
    if (!sym) throw new Unresolved('symbol-not-found', `${ref.symbol} (imported by ${path.basename(m.path)}) is defined by no object of ${this.space.description}.`);
    return this.functionAddresses(sym.module, sym.symbol, notes);
  }

  /** A defined symbol by the dynamic linker's global search order (main executable, then load order). */
  globalSymbol(name: string, order: readonly ModuleImage[] = this.space.modules()): { module: ModuleImage; symbol: ElfSymbol } | undefined {
    for (const m of order) {
      const s = m.elf.lookupSymbol(name);
      if (s?.defined) return { module: m, symbol: s };
    }
    return undefined;
  }

  /** A function symbol's runtime address; for an IFUNC, the bound value from a live GOT slot, else every variant. */
  functionAddresses(m: ModuleImage, s: ElfSymbol, notes: string[]): Array<{ address: number; module: ModuleImage; exact: boolean }> {
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

  /**
   * The variants an IFUNC resolver can return: the function starts it takes the address of (lea, and in a
   * non-PIC object absolute immediates; memory operands are loads, not addresses).
   */
  private ifuncVariants(m: ModuleImage, resolverLink: number): number[] {
    const ext = m.elf.functionAt(resolverLink);
    const s = ext
      ? this.summarizerFor().summarizeExtent(m.elf.readVirtual(ext.start, ext.end - ext.start), ext.start, ext.end)
      : this.summarizerFor().summarizeDescent((a, n) => m.elf.tryReadVirtual(a, n), resolverLink);
    const pic = m.elf.isRelocatable;
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









  entryTargets(m: ModuleImage, e: MethodEntry, label: string, detail: string, how: ResolutionHow, notes: string[]): Found[] {
    return this.codeTargets(m, e.meth, notes).map((a) => ({
      address: a.address,
      module: a.module,
      how,
      label,
      detail,
      exact: this.isProcess && a.exact,
    }));
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

/**
 * Whether an extension's file is the module `module` by its place: `…/a/b/c.<tag>.so` or `…/a/b/c/__init__.<tag>.so` for
 * `a.b.c`, in a directory that is no package (it has no `__init__`): a Cython-compiled `…/falcon/util/time.<tag>.so` exports
 * PyInit_time but is `falcon.util.time`, and the `time` a program imports is the interpreter's built-in module. A directory
 * that cannot be read counts as no package.
 */
export function spellsModule(file: string, module: string): boolean {
  const tail = `/${module.split('.').join('/')}`;
  for (const form of [`${tail}.`, `${tail}/__init__.`]) {
    const at = file.lastIndexOf(form);
    if (at < 0 || file.indexOf('/', at + form.length) >= 0) continue;
    if (!isPackageDir(file.slice(0, at) || '/')) return true;
  }
  return false;
}

/** Whether a directory holds an `__init__` (a package's, in any of its forms). */
function isPackageDir(dir: string): boolean {
  try {
    return fs.readdirSync(dir).some((n) => n.startsWith('__init__.'));
  } catch {
    return false;
  }
}
