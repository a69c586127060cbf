// Result types from the PEP 561 stubs installed packages ship (numpy's .pyi files, or a `<pkg>-stubs` package):
// what a function, method or operator returns when the bytecode does not say, so that methods and operators on the
// result resolve (`rng.random((4, 4)) @ x`). Overloads are chosen by the call's shape; Any stays unknown.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseStub, splitTop, type StubDef, type StubModuleText } from './stubFile';

/** A stub's answer for one result: a class by qualified name, the receiver's own type, None, or unknown. */
export type StubType = { kind: 'class'; name: string } | { kind: 'self' } | { kind: 'none' } | { kind: 'unknown'; reason: string };

/** The call's shape, for choosing among @overload definitions. */
export interface StubCall {
  /** Positional arguments, then keyword arguments (named by `keywords`, the last ones); `none` when the constant None. */
  args: { none: boolean; constant: boolean }[];
  keywords: string[];
  /** *args or **kwargs at the call: any overload may match. */
  star: boolean;
}

/** Where a module's source is: its file (`.py`, an extension's `.so`) and whether it is a package. */
export type ModuleLocator = (module: string) => { file: string; isPackage: boolean } | undefined;

const BUILTIN_CLASSES = new Set(['int', 'float', 'complex', 'bool', 'str', 'bytes', 'bytearray', 'list', 'dict', 'tuple', 'set', 'frozenset', 'memoryview', 'range', 'slice']);
const UNKNOWN_NAMES = new Set(['Any', 'object', 'NoReturn', 'Never', 'Incomplete', 'Callable', 'TypeGuard', 'TypeIs', 'LiteralString']);
const MAX_DEPTH = 12;

/** Parsed files, shared by every index of this process (a language server makes one per analysis), by identity. */
const parsed = new Map<string, { mtimeMs: number; size: number; text: StubModuleText }>();
const MAX_PARSED = 2000;

/** Files larger than this are not read (a generated module of megabytes declares no types worth its parse). */
const MAX_STUB_BYTES = 4 << 20;

function parseFile(file: string, module: string, isPackage: boolean): StubModuleText {
  const st = fs.statSync(file);
  if (st.size > MAX_STUB_BYTES) throw new Error(`${file} is larger than ${MAX_STUB_BYTES} bytes`);
  const key = `${file}\0${module}`;
  const hit = parsed.get(key);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.text;
  const text = parseStub(fs.readFileSync(file, 'utf8'), module, isPackage);
  if (parsed.size >= MAX_PARSED) parsed.clear();
  parsed.set(key, { mtimeMs: st.mtimeMs, size: st.size, text });
  return text;
}

interface Text {
  text: StubModuleText;
  /**
   * A .pyi, or a .py of a package that declares its inline annotations (PEP 561's `py.typed`): its functions'
   * return annotations count. Other .py files are read for their type aliases only.
   */
  declares: boolean;
}

export class StubIndex {
  private readonly texts = new Map<string, Text | null>();

  constructor(private readonly locate: ModuleLocator) {}

  /** The definitions of `qualname` (`default_rng`, `Generator.random`) in `module`'s stub, or undefined. */
  functionDefs(module: string, qualname: string): { module: string; defs: StubDef[]; cls?: string } | undefined {
    const t = this.textOf(module);
    const defs = t?.declares ? t.text.defs.get(qualname) : undefined;
    if (defs) return { module, defs, cls: qualname.includes('.') ? qualname.slice(0, qualname.lastIndexOf('.')) : undefined };
    // A name the stub imports from elsewhere (numpy/__init__.pyi: `from numpy.core.multiarray import (… zeros …)`).
    if (!qualname.includes('.') && t?.text.imports.has(qualname)) {
      const q = t.text.imports.get(qualname)!;
      const cut = q.lastIndexOf('.');
      if (cut > 0 && q.slice(0, cut) !== module) return this.functionDefs(q.slice(0, cut), q.slice(cut + 1));
    }
    return undefined;
  }

  /**
   * A method's definitions for a class named `cls` in `module`, or in the stubs of its enclosing packages (a C
   * type's stub lives where the package exports it: numpy's `ndarray` in numpy/__init__.pyi), searching the stub
   * class's bases.
   */
  methodDefs(module: string, cls: string, method: string): { module: string; defs: StubDef[]; cls: string } | undefined {
    const parts = module.split('.');
    for (let n = parts.length; n >= 1; n--) {
      const at = this.classDef(parts.slice(0, n).join('.'), cls, 0);
      if (!at) continue;
      return this.inMro(at.module, at.cls, method, new Set(), 0);
    }
    return undefined;
  }

  private inMro(module: string, cls: string, method: string, seen: Set<string>, depth: number): { module: string; defs: StubDef[]; cls: string } | undefined {
    const key = `${module}:${cls}`;
    if (seen.has(key) || depth > MAX_DEPTH) return undefined;
    seen.add(key);
    const t = this.textOf(module);
    const c = t?.text.classes.get(cls);
    if (!t || !c || !t.declares) return undefined;
    const defs = t.text.defs.get(`${cls}.${method}`);
    if (defs) return { module, defs, cls };
    for (const base of c.bases) {
      const name = base.split('[')[0].trim();
      const at = t.text.classes.has(name) ? { module, cls: name } : this.classDef(module, name, depth + 1);
      const found = at && this.inMro(at.module, at.cls, method, seen, depth + 1);
      if (found) return found;
    }
    return undefined;
  }

  /** Where the class a name in `module` stands for is defined (following imports). */
  private classDef(module: string, name: string, depth: number): { module: string; cls: string } | undefined {
    const t = this.textOf(module);
    if (!t || depth > MAX_DEPTH) return undefined;
    if (t.text.classes.has(name)) return { module, cls: name };
    const q = this.qualify(t.text, module, name);
    if (!q || q === `${module}.${name}`) return undefined;
    const cut = q.lastIndexOf('.');
    return cut > 0 ? this.classDef(q.slice(0, cut), q.slice(cut + 1), depth + 1) : undefined;
  }

  /**
   * The result types of a call of these definitions: the overloads the call's shape can match (all of them when
   * none does), each return annotation read in the stub's namespace. `bound`: the call passes no self or cls.
   */
  resultTypes(at: { module: string; defs: StubDef[]; cls?: string }, call: StubCall | undefined, bound: boolean): StubType[] {
    const t = this.textOf(at.module);
    if (!t) return [];
    const matching = call ? at.defs.filter((d) => matches(d, call, bound && at.cls !== undefined)) : at.defs;
    const out: StubType[] = [];
    for (const d of matching.length ? matching : at.defs) {
      if (d.returns === undefined) {
        out.push({ kind: 'unknown', reason: 'the stub gives no return type' });
        continue;
      }
      const selfVar = d.params[0]?.annotation?.trim();
      for (const r of this.typeOf(at.module, d.returns, selfVar, 0)) if (!out.some((o) => sameType(o, r))) out.push(r);
    }
    return out;
  }

  /** What an annotation written in `module` names. */
  typeOf(module: string, annotation: string, selfVar: string | undefined, depth: number): StubType[] {
    const t = this.textOf(module);
    let a = annotation.trim();
    if (/^(['"]).*\1$/.test(a)) a = a.slice(1, -1).trim();
    if (!t || depth > MAX_DEPTH) return [{ kind: 'unknown', reason: `${a} (too deep)` }];
    const members = splitTop(a, '|');
    if (members.length > 1) return members.flatMap((m) => this.typeOf(module, m, selfVar, depth + 1));
    const open = a.indexOf('[');
    const base = (open >= 0 ? a.slice(0, open) : a).trim();
    const inner = open >= 0 && a.endsWith(']') ? a.slice(open + 1, -1) : '';
    const last = base.split('.').pop()!;
    if (last === 'Optional') return [...this.typeOf(module, inner, selfVar, depth + 1), { kind: 'none' }];
    if (last === 'Union') return splitTop(inner, ',').flatMap((m) => this.typeOf(module, m, selfVar, depth + 1));
    if (last === 'Annotated') return this.typeOf(module, splitTop(inner, ',')[0] ?? 'Any', selfVar, depth + 1);
    if (base === 'None') return [{ kind: 'none' }];
    if (last === 'Self' || (selfVar !== undefined && base === selfVar && t.text.typeVars.has(base))) return [{ kind: 'self' }];
    if (UNKNOWN_NAMES.has(last) || t.text.typeVars.has(base)) return [{ kind: 'unknown', reason: `the stub says ${a}` }];
    const head = base.split('.')[0];
    if (BUILTIN_CLASSES.has(base) && !t.text.imports.has(head) && !t.text.classes.has(base) && !t.text.aliases.has(base)) return [{ kind: 'class', name: `builtins.${base}` }];
    if (!base.includes('.') && t.text.aliases.has(base)) return this.alias(module, t.text.aliases.get(base)!, selfVar, depth);
    if (!base.includes('.') && t.text.classes.has(base)) return [{ kind: 'class', name: `${module}.${base}` }];
    const q = this.qualify(t.text, module, base);
    if (!q) return [{ kind: 'unknown', reason: `${base} is not defined in the stub of ${module}` }];
    const cut = q.lastIndexOf('.');
    const owner = cut > 0 ? this.textOf(q.slice(0, cut)) : undefined;
    const name = q.slice(cut + 1);
    if (owner && owner.text.aliases.has(name) && !owner.text.classes.has(name)) return this.alias(q.slice(0, cut), owner.text.aliases.get(name)!, selfVar, depth);
    if (owner && !owner.text.classes.has(name) && owner.text.imports.has(name)) return this.typeOf(q.slice(0, cut), name, selfVar, depth + 1);
    if (owner?.text.typeVars.has(name)) return [{ kind: 'unknown', reason: `the stub says ${a}` }];
    return [{ kind: 'class', name: q }];
  }

  /** A type alias: the first of its assignments that names a type (version branches assign it twice). */
  private alias(module: string, values: string[], selfVar: string | undefined, depth: number): StubType[] {
    let first: StubType[] | undefined;
    for (const v of values) {
      const r = this.typeOf(module, v, selfVar, depth + 1);
      if (r.length && r.every((x) => x.kind !== 'unknown')) return r;
      first ??= r;
    }
    return first ?? [{ kind: 'unknown', reason: 'an alias without a value' }];
  }

  /** A (dotted) name of `module`'s namespace as a qualified name, through its imports. */
  private qualify(text: StubModuleText, module: string, name: string): string | undefined {
    const [head, ...rest] = name.split('.');
    const imported = text.imports.get(head);
    if (imported) return [imported, ...rest].join('.');
    if (text.classes.has(head) || text.aliases.has(head)) return [module, head, ...rest].join('.');
    return undefined;
  }

  private textOf(module: string): Text | undefined {
    const hit = this.texts.get(module);
    if (hit !== undefined) return hit ?? undefined;
    let found: Text | null = null;
    for (const { file, stub, isPackage } of this.candidates(module)) {
      try {
        found = { text: parseFile(file, module, isPackage), declares: stub || this.typed(module) };
        break;
      } catch {
        // Not there (or unreadable): the next candidate.
      }
    }
    this.texts.set(module, found);
    return found ?? undefined;
  }

  /** Whether the module's top-level package ships PEP 561's `py.typed` marker (its inline annotations are its API). */
  private typed(module: string): boolean {
    const top = this.locate(module.split('.')[0]);
    return top?.isPackage === true && fs.existsSync(path.join(path.dirname(top.file), 'py.typed'));
  }

  /** Stub files first (`<pkg>-stubs`, then beside the module), then the module's own source if it is Python. */
  private candidates(module: string): { file: string; stub: boolean; isPackage: boolean }[] {
    const parts = module.split('.');
    const out: { file: string; stub: boolean; isPackage: boolean }[] = [];
    const top = this.locate(parts[0]);
    if (top?.isPackage) {
      const stubs = path.join(path.dirname(path.dirname(top.file)), `${parts[0]}-stubs`, ...parts.slice(1));
      out.push({ file: `${stubs}.pyi`, stub: true, isPackage: false }, { file: path.join(stubs, '__init__.pyi'), stub: true, isPackage: true });
    }
    const own = this.locate(module);
    if (own) {
      const dir = path.dirname(own.file);
      const stem = own.isPackage ? path.join(dir, '__init__') : path.join(dir, path.basename(own.file).split('.')[0]);
      out.push({ file: `${stem}.pyi`, stub: true, isPackage: own.isPackage });
      if (own.file.endsWith('.py')) out.push({ file: own.file, stub: false, isPackage: own.isPackage });
      return out;
    }
    // A module the program does not hold: under its nearest enclosing package's directory.
    for (let n = parts.length - 1; n >= 1; n--) {
      const pkg = this.locate(parts.slice(0, n).join('.'));
      if (!pkg?.isPackage) continue;
      const base = path.join(path.dirname(pkg.file), ...parts.slice(n));
      out.push(
        { file: `${base}.pyi`, stub: true, isPackage: false },
        { file: path.join(base, '__init__.pyi'), stub: true, isPackage: true },
        { file: `${base}.py`, stub: false, isPackage: false },
        { file: path.join(base, '__init__.py'), stub: false, isPackage: true },
      );
      break;
    }
    return out;
  }
}

/** Whether a call of this shape can bind to the definition's parameters (`skipFirst`: a bound method's self). */
function matches(d: StubDef, call: StubCall, skipFirst: boolean): boolean {
  if (call.star) return true;
  const staticMethod = d.decorators.includes('staticmethod');
  const params = skipFirst && !staticMethod ? d.params.slice(1) : d.params;
  const positional = params.filter((p) => p.kind === 'pos' || p.kind === 'normal');
  const npos = call.args.length - call.keywords.length;
  if (npos > positional.length && !params.some((p) => p.kind === 'var')) return false;
  const bound = new Set<string>();
  for (let i = 0; i < npos; i++) {
    const p = positional[i];
    if (!p) break;
    if (!acceptsArg(p.annotation, call.args[i])) return false;
    bound.add(p.name);
  }
  for (let k = 0; k < call.keywords.length; k++) {
    const name = call.keywords[k];
    const p = params.find((x) => x.name === name && (x.kind === 'normal' || x.kind === 'kw'));
    if (!p) {
      if (!params.some((x) => x.kind === 'varkw')) return false;
      continue;
    }
    if (bound.has(name) || !acceptsArg(p.annotation, call.args[npos + k])) return false;
    bound.add(name);
  }
  return params.every((p) => p.hasDefault || p.kind === 'var' || p.kind === 'varkw' || bound.has(p.name));
}

/**
 * A parameter annotated exactly `None` takes only the constant None (and any value not known to be another
 * constant); one annotated with a plain built-in class (`int`) does not take the constant None.
 */
function acceptsArg(annotation: string | undefined, arg: { none: boolean; constant: boolean } | undefined): boolean {
  const a = annotation?.trim();
  if (!arg || a === undefined) return true;
  if (a === 'None') return arg.none || !arg.constant;
  return !(arg.none && BUILTIN_CLASSES.has(a));
}

function sameType(a: StubType, b: StubType): boolean {
  if (a.kind !== b.kind) return false;
  return a.kind !== 'class' || a.name === (b as { name: string }).name;
}
