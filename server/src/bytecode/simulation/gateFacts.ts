// What the Python-level reachability gate (server/src/pythonGate.ts) learns from the simulation of a code object:
// the names it uses, reflection by computed names (getattr, operator.attrgetter, eval, pickle...), escaping callbacks.

import type { Decoder, DecodedCode } from '../decode';
import type { Expr } from '../values';
import { shortName } from './common';
import type { CodeFacts, CodeRole, Simulator } from './types';

/** The first line of an instruction of `code` whose name argument is `name` (the code's first line if none). */
export function firstLineUsing(decoder: Decoder, code: DecodedCode, name: string): number {
  const k = code.names.indexOf(name);
  const kinds = decoder.model.argKinds;
  for (let i = 0; i < code.n; i++) {
    const kind = kinds[code.op[i]];
    const a = code.arg[i];
    const nameIndex = kind === 'name' ? a : kind === 'name1' ? a >> 1 : kind === 'name2' ? a >> 2 : -1;
    if (nameIndex === k && code.line[i] > 0) return code.line[i];
  }
  return code.raw.firstlineno;
}

/**
 * co_names without the names only bound (STORE_NAME/STORE_GLOBAL/DELETE_*: a module body's definitions) or
 * imported (IMPORT_NAME, IMPORT_FROM): binding or importing a name calls nothing by it. Attribute stores
 * stay (they call setters).
 */
export function usedNames(decoder: Decoder, code: DecodedCode): string[] {
  const kinds = decoder.model.argKinds;
  const opnames = decoder.model.opnames;
  const used = new Uint8Array(code.names.length);
  for (let i = 0; i < code.n; i++) {
    const op = code.op[i];
    const kind = kinds[op];
    if (kind !== 'name' && kind !== 'name1' && kind !== 'name2') continue;
    const opname = opnames[op] ?? '';
    if (opname === 'STORE_NAME' || opname === 'STORE_GLOBAL' || opname === 'DELETE_NAME' || opname === 'DELETE_GLOBAL' || opname === 'IMPORT_NAME' || opname === 'IMPORT_FROM') continue;
    const a = code.arg[i];
    const k = kind === 'name' ? a : kind === 'name1' ? a >> 1 : a >> 2;
    if (k >= 0 && k < used.length) used[k] = 1;
  }
  return code.names.filter((_n, k) => used[k] === 1);
}

/** Records what a call tells the reachability gate: reflection by computed names, escaping callbacks. */
export function gateFacts(sim: Simulator, code: DecodedCode, i: number, role: CodeRole, callee: Expr, positional: Expr[], args: Expr[], star: boolean): void {
  const facts = sim.facts;
  if (!facts) return;
  const line = code.line[i] > 0 ? code.line[i] : code.raw.firstlineno;
  const reflect = (what: string, module?: string, prefix?: string) => {
    const key = `${i}:${what}`;
    if (sim.reflectedAt.has(key)) return;
    sim.reflectedAt.add(key);
    const r: CodeFacts['reflections'][number] = { line, what };
    if (module) r.module = module;
    if (module && prefix) r.prefix = prefix;
    facts.reflections.push(r);
  };
  const strings = (e: Expr | undefined): string[] | undefined => {
    if (!e) return undefined;
    const v = sim.settle(e);
    const items = v.k === 'union' ? v.items : [v];
    const out: string[] = [];
    for (const x of items) {
      if (x.k !== 'const' || typeof x.value !== 'string') return undefined;
      out.push(x.value);
    }
    return out;
  };
  if (role.role !== 'function') {
    for (const a of args) {
      const n = shortName(sim.settle(a));
      if (n && !facts.escapes.includes(n)) facts.escapes.push(n);
    }
  }
  for (const fn of ['getattr', 'hasattr', 'setattr', 'delattr']) {
    if (!sim.isBuiltinNamed(callee, fn)) continue;
    const names = star ? undefined : strings(positional[1]);
    if (names) {
      for (const n of names) if (!facts.reflectNames.includes(n)) facts.reflectNames.push(n);
    } else {
      // The receiver: a module (`import _hashlib` in a try whose except binds None is still that module).
      const baseValue = positional[0] ? sim.settle(positional[0]) : undefined;
      const expand = (x: Expr): Expr[] => {
        const q = sim.quick(x);
        if (q.k === 'union') return q.items.flatMap(expand);
        if (q.k === 'global' && q.module === sim.input.module) {
          const v = sim.summary.namespace.get(q.name);
          if (v && v.k === 'union') return v.items.map((y) => sim.quick(y));
        }
        return [q];
      };
      const alts = baseValue ? expand(baseValue) : [];
      const mods = alts.filter((x) => x.k === 'module');
      const base = mods.length === 1 && alts.every((x) => x.k === 'module' || (x.k === 'const' && x.value === null)) ? mods[0] : undefined;
      // 'openssl_' + name: only names with that prefix.
      const nameExpr = positional[1] ? sim.settle(positional[1]) : undefined;
      const prefix = nameExpr && nameExpr.k === 'binop' && nameExpr.op === '+' ? strings(nameExpr.left) : undefined;
      reflect(`${fn} with a computed name`, base && base.k === 'module' ? base.name : undefined, prefix && prefix.length === 1 && prefix[0] ? prefix[0] : undefined);
    }
    return;
  }
  for (const fn of ['attrgetter', 'methodcaller']) {
    if (!sim.isModuleAttr(callee, 'operator', fn) && !sim.isModuleAttr(callee, '_operator', fn)) continue;
    const given = fn === 'methodcaller' ? positional.slice(0, 1) : positional;
    const names = star ? undefined : given.map((p) => strings(p));
    if (names && names.every((n) => n !== undefined)) {
      for (const n of names.flatMap((x) => x!.flatMap((y) => y.split('.')))) if (!facts.reflectNames.includes(n)) facts.reflectNames.push(n);
    } else reflect(`operator.${fn} with a computed name`);
    return;
  }
  for (const fn of ['vars', 'globals', 'locals', 'eval', 'exec', 'compile']) {
    if (sim.isBuiltinNamed(callee, fn)) {
      reflect(`${fn}()`);
      return;
    }
  }
  if (sim.isBuiltinNamed(callee, '__import__') || sim.isModuleAttr(callee, 'importlib', 'import_module')) {
    if (star || !strings(positional[0])) reflect(`${sim.isBuiltinNamed(callee, '__import__') ? '__import__' : 'importlib.import_module'} of a computed name`);
    return;
  }
  for (const [mod, fns] of [['pickle', ['load', 'loads', 'Unpickler']], ['_pickle', ['load', 'loads', 'Unpickler']], ['marshal', ['load', 'loads']], ['copyreg', ['constructor', 'pickle']]] as const) {
    for (const fn of fns) if (sim.isModuleAttr(callee, mod, fn)) return reflect(`${mod}.${fn}`);
  }
}
