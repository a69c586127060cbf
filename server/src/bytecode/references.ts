// How the code names a value, aliases expanded (`np.linalg.norm` → `numpy.linalg.norm`): the reference a call
// site shows, read from the expressions alone (no resolution), memoised per resolver.

import type { Program } from './targets';
import type { Expr } from './values';

/** The references of one program's expressions. */
export class References {
  private readonly memo = new Map<Expr, string | undefined>();

  constructor(
    private readonly program: Program,
    private readonly builtins: Set<string>,
  ) {}

  /**
   * How the code names a value, aliases expanded: `np.linalg.norm` → `numpy.linalg.norm`, `self.run` →
   * `pkg.mod.Class.run`, `helper` → `pkg.mod.helper`. Undefined for values without a name.
   */
  of(e: Expr, depth = 0): string | undefined {
    if (depth > 16) return undefined;
    if (this.memo.has(e)) return this.memo.get(e);
    const out = this.uncached(e, depth);
    this.memo.set(e, out);
    return out;
  }

  private uncached(e: Expr, depth: number): string | undefined {
    switch (e.k) {
      case 'module':
        return e.name;
      case 'attr': {
        const base = this.of(e.base, depth + 1);
        return base === undefined ? undefined : `${base}.${e.name}`;
      }
      case 'global': {
        const m = this.program.modules.get(e.module)?.summary;
        const b = m?.namespace.get(e.name);
        if (b !== undefined && b.k !== 'union' && b.k !== 'unknown' && b.k !== 'call' && b.k !== 'binop') {
          const r = this.of(b, depth + 1);
          if (r !== undefined) return r;
        }
        if (b === undefined && this.builtins.has(e.name)) return `builtins.${e.name}`;
        return `${e.module}.${e.name}`;
      }
      case 'builtin':
        return `builtins.${e.name}`;
      case 'func':
        return `${e.def.module}.${e.def.qualname}`;
      case 'class':
        return `${e.def.module}.${e.def.qualname}`;
      case 'instance':
        return this.of(e.cls, depth + 1);
      case 'self':
        return this.of(e.obj, depth + 1);
      case 'super':
        return `super(${e.cls.module}.${e.cls.qualname})`;
      default:
        return undefined;
    }
  }
}
