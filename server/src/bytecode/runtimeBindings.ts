// Names the standard library binds at import time where its bytecode does not show them (hashlib.sha256), as
// the helper introspected them (stdlibExports.ts): what resolution makes of such a runtime binding.

import type { RuntimeBinding } from './helperRecords';
import type { Resolver } from './naming';
import { instanceOf, type Program, type ProgramModule, type Target, type TypeRef } from './targets';

/** The `via` note of a name resolved through the standard library's real exports. */
export const RUNTIME_NOTE = 'bound at import time (the standard library module, imported by the helper)';

/**
 * A name a standard-library module binds at import time where its bytecode does not show it (hashlib's
 * globals() loop): what the helper saw the imported module bind it to. Undefined when not a stdlib module,
 * not bound, not describable, or not asked yet (then noted, and the run asks and resolves again).
 */
export function runtimeAttr(r: Resolver, m: ProgramModule, name: string): Target[] | undefined {
  const stdlib = r.program.stdlib;
  if (!stdlib || m.kind !== 'python' || !stdlib.mayBeStdlib(m.file)) return undefined;
  const b = stdlib.lookup(m.name, m.file, name);
  if (!b) return undefined;
  const out = fromBinding(r, b, 0);
  return out?.map((t) => ({ ...t, via: [...(t.via ?? []), RUNTIME_NOTE] }));
}

/**
 * A C type of a stdlib extension module (`_io.BytesIO`, `_blake2.blake2b`, `_struct.Struct`), as the helper
 * saw the imported module bind it: calling it makes an instance of it. Undefined for C functions, for other
 * modules, and while not asked yet (then noted).
 */
export function stdlibCType(program: Program, t: Target & { kind: 'native' }): TypeRef | undefined {
  const stdlib = program.stdlib;
  if (!stdlib || t.member || t.path.length !== 1) return undefined;
  const m = program.modules.get(t.module);
  if (!m || !(m.kind === 'builtin' || (m.kind === 'native' && stdlib.mayBeStdlib(m.file)))) return undefined;
  const b = stdlib.lookup(t.module, m.file, t.path[0]);
  // The type's own module must be this one: its C methods are looked up by that name (tp_name).
  if (!b || b.kind !== 'native-type' || b.module !== t.module || b.type !== t.path[0]) return undefined;
  return { kind: 'native', module: t.module, path: t.path };
}

/** The targets a runtime binding stands for in the program (undefined: unknown there). */
function fromBinding(r: Resolver, b: RuntimeBinding, depth: number): Target[] | undefined {
  if (b.kind === 'native-function' || b.kind === 'native-method' || b.kind === 'native-type') {
    // The program would import another module of that name (a file of the user's shadows the stdlib's
    // extension): what the stdlib module binds in the program is then unknown.
    const m = r.program.modules.get(b.module);
    if (m && (b.builtin ? m.kind !== 'builtin' : m.kind !== 'native' || (b.file !== undefined && m.file !== b.file))) return undefined;
  }
  switch (b.kind) {
    case 'native-function':
      return [{ kind: 'native', module: b.module, path: [b.name] }];
    case 'native-method':
      return [{ kind: 'native', module: b.module, path: [...b.type.split('.'), b.name] }];
    case 'native-type':
      return [{ kind: 'native', module: b.module, path: b.type.split('.') }];
    case 'function':
    case 'class': {
      const found = r.resolveDotted(`${b.module}.${b.qualname}`).filter((t) => t.kind === b.kind);
      return found.length ? found : undefined;
    }
    case 'module':
      return r.isModule(b.module) ? [r.moduleTarget(b.module)] : undefined;
    case 'instance': {
      if (depth > 2) return undefined;
      const of = fromBinding(r, b.of, depth + 1);
      const out = of?.map((t) => instanceOf(t)).filter((t) => t.kind === 'instance');
      return out && out.length ? out : undefined;
    }
    default:
      return undefined;
  }
}
