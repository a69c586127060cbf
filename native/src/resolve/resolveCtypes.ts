// Symbol resolution of ctypes functions: `CDLL(library).symbol` found as dlsym finds it, the library by path or
// as dlopen finds it (matched by soname), then its DT_NEEDED dependencies breadth first.

import * as path from 'node:path';
import * as C from '../elf/elfConstants';
import type { ModuleImage } from '../space/space';
import { findLibrary } from '../space/staticSpace';
import { realPath } from '../space/overlay';
import { Unresolved, type Found, type NativeRequest, type ResolverContext } from './resolution';

export function resolveCtypes(rs: ResolverContext, r: Extract<NativeRequest, { kind: 'ctypes' }>, notes: string[]): Found[] {
  if (!/^[A-Za-z_][A-Za-z0-9_@.]*$/.test(r.symbol)) throw new Unresolved('bad-request', `'${r.symbol}' is not a symbol name.`);
  let order: ModuleImage[];
  let lib: ModuleImage | undefined;
  if (r.library === null) {
    order = [...rs.space.modules()];
  } else {
    lib = ctypesLibrary(rs, r.library);
    order = dependencyOrder(rs, lib);
  }
  const hit = rs.globalSymbol(r.symbol, order);
  if (!hit) {
    throw new Unresolved('symbol-not-found', `${r.symbol} is not exported by ${lib ? path.basename(lib.path) : 'any loaded object'}${lib ? ' or its dependencies' : ''}.`);
  }
  const t = hit.symbol.type;
  if (t !== C.STT_FUNC && t !== C.STT_GNU_IFUNC && t !== C.STT_NOTYPE) {
    throw new Unresolved('not-a-function', `${r.symbol} in ${path.basename(hit.module.path)} is data, not a function.`);
  }
  const exec = rs.space.regionAt(hit.symbol.value + hit.module.bias)?.exec;
  if (t === C.STT_NOTYPE && !exec) throw new Unresolved('not-a-function', `${r.symbol} in ${path.basename(hit.module.path)} is not in code.`);
  if (lib && hit.module !== lib) notes.push(`${r.symbol} is not in ${path.basename(lib.path)}; dlsym found it in its dependency ${path.basename(hit.module.path)}.`);
  return rs.functionAddresses(hit.module, hit.symbol, notes).map((a) => ({
    address: a.address,
    module: a.module,
    how: 'ctypes' as const,
    label: r.symbol,
    detail: `dlsym(${r.library === null ? 'RTLD_DEFAULT' : r.library}, "${r.symbol}")${hit.symbol.type === C.STT_GNU_IFUNC ? ' (IFUNC)' : ''}`,
    exact: rs.isProcess && a.exact,
  }));
}

/** The object CDLL(library) names: a path, or a name found like dlopen does (and matched by soname). */
function ctypesLibrary(rs: ResolverContext, library: string): ModuleImage {
  if (library.includes('/')) return rs.moduleByFile(library);
  for (const m of rs.space.modules()) {
    if (path.basename(m.path) === library) return m;
    try {
      if (m.elf.dynamic().soname === library) return m;
    } catch {
      // An object whose dynamic section cannot be read is not the one.
    }
  }
  const main = rs.space.mainModule();
  const found = main ? findLibrary(library, main.elf, realPath(main.path) ?? main.path, rs.options.env) : undefined;
  if (found) {
    try {
      return rs.moduleByFile(found);
    } catch (e) {
      if (!(e instanceof Unresolved) || e.code !== 'not-loaded') throw e;
    }
  }
  if (rs.isProcess) throw new Unresolved('not-loaded', `CDLL('${library}') is not loaded in ${rs.space.description}.`);
  throw new Unresolved('library-not-found', `${library} is not found in the library search path.`);
}

/** dlsym(handle) order: the object, then its DT_NEEDED dependencies breadth first (those in the space). */
function dependencyOrder(rs: ResolverContext, lib: ModuleImage): ModuleImage[] {
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
      const m = rs.space.modules().find((x) => !seen.has(x) && (path.basename(x.path) === n || safeSoname(x) === n));
      if (m) {
        seen.add(m);
        out.push(m);
      }
    }
  }
  return out;
}

function safeSoname(m: ModuleImage): string | undefined {
  try {
    return m.elf.dynamic().soname;
  } catch {
    return undefined;
  }
}
