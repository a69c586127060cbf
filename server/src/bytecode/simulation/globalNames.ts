// The names a code object uses, told apart by how it fetches them: a global load (LOAD_GLOBAL, LOAD_NAME) reads the
// module's own namespace, an attribute load any object's; and the bindings imports make (`from X import a as b`, `*`).

import type { Decoder, DecodedCode } from '../decode';
import { nameIndexOf } from './common';
import { usedNames } from './gateFacts';
import type { CodeFacts } from './types';

/** Loads that read the namespace of the code's module (a class body's namespace first, then the module's). */
const GLOBAL_LOADS = new Set(['LOAD_GLOBAL', 'LOAD_NAME', 'LOAD_FROM_DICT_OR_GLOBALS']);
/** Uses of a name that bind it or import it: they fetch nothing by it (usedNames leaves them out). */
const BINDINGS = new Set(['STORE_NAME', 'STORE_GLOBAL', 'DELETE_NAME', 'DELETE_GLOBAL', 'IMPORT_NAME', 'IMPORT_FROM']);
/** Stores that bind what IMPORT_FROM pushed. */
const STORES = new Set(['STORE_NAME', 'STORE_GLOBAL', 'STORE_FAST', 'STORE_DEREF']);

/**
 * The used names of a code object (usedNames), those of them only ever fetched by a global load, the names
 * `from … import` binds, and whether it star-imports.
 */
export function nameFacts(decoder: Decoder, code: DecodedCode): Pick<CodeFacts, 'names' | 'globalOnly' | 'importsFrom' | 'starImport'> {
  const opnames = decoder.model.opnames;
  const names = usedNames(decoder, code);
  // 1: fetched by a global load; 2: used any other way (an attribute, a method, a store to an attribute).
  const how = new Uint8Array(code.names.length);
  const importsFrom: [string, string][] = [];
  let starImport = false;
  for (let i = 0; i < code.n; i++) {
    const opname = opnames[code.op[i]] ?? '';
    if (opname === 'IMPORT_STAR' || (opname === 'CALL_INTRINSIC_1' && decoder.model.intrinsic1?.[code.arg[i]] === 'INTRINSIC_IMPORT_STAR')) starImport = true;
    const k = nameIndexOf(decoder, code, i);
    if (k < 0 || k >= how.length) continue;
    if (opname === 'IMPORT_FROM') {
      const next = i + 1 < code.n ? opnames[code.op[i + 1]] ?? '' : '';
      // The name the store binds: a global's or a class member's in co_names, a local's or a cell's in their tables.
      const bound = !STORES.has(next) ? undefined : next === 'STORE_FAST' ? code.localNames[code.arg[i + 1]] : next === 'STORE_DEREF' ? code.freeNames[code.arg[i + 1]] : code.names[nameIndexOf(decoder, code, i + 1)];
      // `import a.b as c` pushes the submodule through IMPORT_FROM and stores it later: a module, bound to no function.
      if (bound !== undefined) importsFrom.push([code.names[k]!, bound]);
      continue;
    }
    if (BINDINGS.has(opname)) continue;
    how[k] |= GLOBAL_LOADS.has(opname) ? 1 : 2;
  }
  const globalOnly = names.filter((n) => how[code.names.indexOf(n)] === 1);
  const out: Pick<CodeFacts, 'names' | 'globalOnly' | 'importsFrom' | 'starImport'> = { names };
  if (globalOnly.length) out.globalOnly = globalOnly;
  if (importsFrom.length) out.importsFrom = importsFrom;
  if (starImport) out.starImport = true;
  return out;
}
