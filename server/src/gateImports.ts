// Imports by a computed name under a constant package prefix, for the reachability gate (pythonGate.ts): the codec
// search function's `__import__('encodings.' + name)` can import any module of that package, and no other.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProgramModule } from './bytecode/naming';

/** Subpackages deeper than this are not listed (the import is judged a reflection site instead). */
const MAX_DEPTH = 3;

/**
 * The modules an import of `pkg + '.' + <computed>` can find in the package's directory `dir` (its `__init__.py`'s):
 * its `.py` modules and subpackages, recursively. Undefined when the directory holds a module of another kind (an
 * extension module, bytecode only), is unreadable or too deep: such an import stays a reflection site. A package whose
 * `__path__` code extends at run time, or a finder of sys.meta_path that serves the package's names, is not seen.
 */
export function packageModules(pkg: string, dir: string, depth = 0): string[] | undefined {
  if (depth > MAX_DEPTH) return undefined;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  const out: string[] = [];
  for (const e of entries) {
    if (e.name === '__pycache__' || e.name === '__init__.py' || e.name.startsWith('.')) continue;
    if (e.isDirectory()) {
      if (!fs.existsSync(path.join(dir, e.name, '__init__.py'))) continue;
      const sub = packageModules(`${pkg}.${e.name}`, path.join(dir, e.name), depth + 1);
      if (!sub) return undefined;
      out.push(`${pkg}.${e.name}`, ...sub);
    } else if (e.name.endsWith('.py')) {
      out.push(`${pkg}.${e.name.slice(0, -3)}`);
    } else if (/\.(so|pyc|pyd|pyw)$/.test(e.name)) {
      return undefined;
    }
  }
  return out.sort();
}

/** The modules of package `pkg` (its `__init__.py` known in `byName`) that an import by a computed name under it can run. */
export function packageImports(pkg: string, byName: ReadonlyMap<string, ProgramModule>): string[] | undefined {
  const init = byName.get(pkg)?.file;
  return init && path.basename(init) === '__init__.py' ? packageModules(pkg, path.dirname(init)) : undefined;
}
