// What a module's namespace can bind by a name, for the global loads of Python-level reachability (pythonGate.ts):
// the names its `from … import` statements bind, and the modules its star imports copy bindings from.

import type { ProgramModule } from './bytecode/naming';
import { codesOf } from './gateCodes';

export interface Namespace {
  /** Bound name → the names it was imported under (`from X import a as b`: b → [a]). */
  imports: Map<string, string[]>;
  /**
   * The module itself and the modules its star imports copy bindings from, through theirs in turn (Python modules of
   * the closure; an extension's binds no Python code). Undefined when one is not known: any binding may come in.
   */
  owners?: ProgramModule[];
}

/** Each module's Namespace, computed once from its code objects' facts and its summary's imports. */
export class Namespaces {
  private readonly byModule = new Map<ProgramModule, Namespace>();

  constructor(private readonly byName: ReadonlyMap<string, ProgramModule>) {}

  of(m: ProgramModule): Namespace {
    let ns = this.byModule.get(m);
    if (ns) return ns;
    ns = { imports: new Map(), owners: this.owners(m) };
    for (const c of codesOf(m)) {
      for (const [src, bound] of c.facts.importsFrom ?? []) {
        let l = ns.imports.get(bound);
        if (!l) ns.imports.set(bound, (l = []));
        l.push(src);
      }
    }
    this.byModule.set(m, ns);
    return ns;
  }

  /** The module and its star imports' sources, transitively; undefined when a source is not a module the closure knows. */
  private owners(m: ProgramModule): ProgramModule[] | undefined {
    const out: ProgramModule[] = [];
    const todo = [m];
    while (todo.length) {
      let s = todo.pop()!;
      for (let hops = 0; s.kind === 'alias' && s.target && hops < 8; hops++) s = this.byName.get(s.target) ?? s;
      if (out.includes(s)) continue;
      if (s.kind === 'native') continue;
      if (s.kind !== 'python' || !s.summary) return undefined;
      // A star import that the facts saw but the summary does not name (a computed module) is unknown too.
      const stars = s.summary.imports.filter((im) => im.fromlist?.includes('*'));
      if (codesOf(s).some((c) => c.facts.starImport) && stars.length === 0) return undefined;
      out.push(s);
      for (const im of stars) {
        const src = im.error ? undefined : this.byName.get(im.module);
        if (!src) return undefined;
        todo.push(src);
      }
    }
    return out;
  }
}
