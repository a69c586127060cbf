// What a module's namespace can bind by a name, for the global loads of Python-level reachability (pythonGate.ts):
// the names its `from … import` statements bind, and whether it star-imports (then any name may hold anything).

import type { ProgramModule } from './bytecode/naming';
import { codesOf } from './gateCodes';

export interface Namespace {
  /** Bound name → the names it was imported under (`from X import a as b`: b → [a]). */
  imports: Map<string, string[]>;
  star: boolean;
}

/** Each module's Namespace, computed once from its code objects' facts. */
export class Namespaces {
  private readonly byModule = new Map<ProgramModule, Namespace>();

  of(m: ProgramModule): Namespace {
    let ns = this.byModule.get(m);
    if (ns) return ns;
    ns = { imports: new Map(), star: false };
    for (const c of codesOf(m)) {
      if (c.facts.starImport) ns.star = true;
      for (const [src, bound] of c.facts.importsFrom ?? []) {
        let l = ns.imports.get(bound);
        if (!l) ns.imports.set(bound, (l = []));
        l.push(src);
      }
    }
    this.byModule.set(m, ns);
    return ns;
  }
}
