// Reads a PEP 561 stub (.pyi), or a plain module's top level (for type aliases), as text: the imports, classes,
// type aliases, TypeVars and each function's parameters and return annotation. Declarations only; nothing is run.

export interface StubParam {
  name: string;
  /** 'pos': before `/`; 'normal'; 'kw': after `*` or `*args`; 'var': `*args`; 'varkw': `**kwargs`. */
  kind: 'pos' | 'normal' | 'kw' | 'var' | 'varkw';
  hasDefault: boolean;
  annotation?: string;
}

export interface StubDef {
  params: StubParam[];
  /** The return annotation as written (undefined: none). */
  returns?: string;
  decorators: string[];
  line: number;
}

export interface StubClass {
  bases: string[];
}

export interface StubModuleText {
  /** Local name → qualified name it was imported as (`np` → `numpy`, `NDArray` → `numpy._typing.NDArray`). */
  imports: Map<string, string>;
  /** Qualified names (within the module: `Generator`, `ndarray`) of classes. */
  classes: Map<string, StubClass>;
  /** `qualname` (`Generator.random`, `default_rng`) → its definitions (several with @overload). */
  defs: Map<string, StubDef[]>;
  /** Module-level `Name = expr` or `Name: TypeAlias = expr`, each assignment's expression in order. */
  aliases: Map<string, string[]>;
  /** Module-level names assigned a TypeVar (or ParamSpec, TypeVarTuple). */
  typeVars: Set<string>;
}

interface LogicalLine {
  indent: number;
  text: string;
  line: number;
}

/** Physical lines joined while brackets are open; comments dropped; strings kept (they may be annotations). */
export function logicalLines(source: string): LogicalLine[] {
  const out: LogicalLine[] = [];
  let depth = 0;
  let cur = '';
  let indent = 0;
  let start = 1;
  let line = 1;
  let quote: string | null = null;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (quote) {
      cur += c;
      if (c === '\\') cur += source[++i] ?? '';
      else if (source.startsWith(quote, i)) {
        cur += quote.slice(1);
        i += quote.length - 1;
        quote = null;
      } else if (c === '\n') line++;
      continue;
    }
    if (c === '#') {
      while (i + 1 < source.length && source[i + 1] !== '\n') i++;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = source.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
      cur += quote;
      i += quote.length - 1;
      continue;
    }
    if (c === '\\' && source[i + 1] === '\n') {
      i++;
      line++;
      cur += ' ';
      continue;
    }
    if (c === '\n') {
      line++;
      if (depth > 0) {
        cur += ' ';
        continue;
      }
      if (cur.trim()) out.push({ indent, text: cur.trim(), line: start });
      cur = '';
      continue;
    }
    if (cur === '' && (c === ' ' || c === '\t')) {
      indent = 0;
      let j = i;
      while (source[j] === ' ' || source[j] === '\t') j++;
      indent = j - i;
      i = j - 1;
      start = line;
      continue;
    }
    if (cur === '') {
      if (i === 0 || source[i - 1] === '\n') indent = 0;
      start = line;
    }
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth = Math.max(0, depth - 1);
    cur += c;
  }
  if (cur.trim()) out.push({ indent, text: cur.trim(), line: start });
  return out;
}

/**
 * Walks `text` from `from`, skipping string literals, with the bracket depth: `each(i, depth)` is called at every
 * character outside strings (after an opening bracket counts, before a closing one uncounts); it returns a number to
 * stop there (that number is returned), or undefined to go on. Returns -1 at the end.
 */
function walkTop(text: string, from: number, each: (i: number, depth: number) => number | undefined): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    const stop = each(i, depth);
    if (stop !== undefined) return stop;
  }
  return -1;
}

/** Splits at top-level occurrences of `sep` (outside brackets and strings). */
export function splitTop(text: string, sep: string): string[] {
  const out: string[] = [];
  let from = 0;
  let skip = 0;
  walkTop(text, 0, (i, depth) => {
    if (i < skip || depth !== 0 || '([{)]}'.includes(text[i]) || !text.startsWith(sep, i)) return undefined;
    out.push(text.slice(from, i));
    from = i + sep.length;
    skip = from;
    return undefined;
  });
  out.push(text.slice(from));
  return out.map((s) => s.trim()).filter((s) => s !== '');
}

/** The index of the bracket closing the one at `open`, or -1. */
function closing(text: string, open: number): number {
  return walkTop(text, open, (i, depth) => (depth === 0 && ')]}'.includes(text[i]) ? i : undefined));
}

function parseParams(text: string): StubParam[] {
  const out: StubParam[] = [];
  let kind: StubParam['kind'] = 'normal';
  for (const raw of splitTop(text, ',')) {
    if (raw === '/') {
      for (const p of out) if (p.kind === 'normal') p.kind = 'pos';
      continue;
    }
    if (raw === '*') {
      kind = 'kw';
      continue;
    }
    const [head, ...defaults] = splitTop(raw, '=');
    const colon = splitTop(head, ':');
    let name = colon[0];
    let k: StubParam['kind'] = kind;
    if (name.startsWith('**')) {
      k = 'varkw';
      name = name.slice(2);
    } else if (name.startsWith('*')) {
      k = 'var';
      name = name.slice(1);
      kind = 'kw';
    }
    out.push({ name: name.trim(), kind: k, hasDefault: defaults.length > 0, annotation: colon.length > 1 ? colon.slice(1).join(':') : undefined });
  }
  return out;
}

/** `def name(params) -> ret: ...` (also async), or undefined. */
function parseDef(text: string): { name: string; params: StubParam[]; returns?: string } | undefined {
  const m = /^(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(/.exec(text);
  if (!m) return undefined;
  const open = m[0].length - 1;
  const close = closing(text, open);
  if (close < 0) return undefined;
  const params = parseParams(text.slice(open + 1, close));
  const rest = text.slice(close + 1).trim();
  const arrow = /^->\s*(.*)$/.exec(rest);
  let returns: string | undefined;
  if (arrow) {
    const parts = splitTop(arrow[1], ':');
    returns = parts[0]?.trim();
  }
  return { name: m[1], params, returns };
}

function parseImport(text: string, module: string, isPackage: boolean, imports: Map<string, string>): void {
  let m = /^import\s+(.+)$/.exec(text);
  if (m) {
    for (const part of splitTop(m[1], ',')) {
      const [name, alias] = part.split(/\s+as\s+/);
      if (alias) imports.set(alias.trim(), name.trim());
      else imports.set(name.trim().split('.')[0], name.trim().split('.')[0]);
    }
    return;
  }
  m = /^from\s+(\S+)\s+import\s+(.+)$/.exec(text);
  if (!m) return;
  let from = m[1];
  if (from.startsWith('.')) {
    const dots = /^\.+/.exec(from)![0].length;
    const parts = module.split('.');
    const base = parts.slice(0, parts.length - dots + (isPackage ? 1 : 0));
    from = [...base, from.slice(dots)].filter((s) => s !== '').join('.');
  }
  const names = m[2].replace(/^\(|\)$/g, '');
  for (const part of splitTop(names, ',')) {
    const [name, alias] = part.split(/\s+as\s+/);
    if (name.trim() === '*') continue;
    imports.set((alias ?? name).trim(), `${from}.${name.trim()}`);
  }
}

/** Parses a stub (or a module's top level) named `module`; `isPackage` for an `__init__` file. */
export function parseStub(source: string, module: string, isPackage: boolean): StubModuleText {
  const out: StubModuleText = { imports: new Map(), classes: new Map(), defs: new Map(), aliases: new Map(), typeVars: new Set() };
  const scopes: { indent: number; name: string }[] = [];
  let decorators: string[] = [];
  for (const l of logicalLines(source)) {
    while (scopes.length && l.indent <= scopes[scopes.length - 1].indent) scopes.pop();
    const prefix = scopes.map((s) => s.name).join('.');
    const text = l.text;
    if (text.startsWith('@')) {
      decorators.push(text.slice(1).trim());
      continue;
    }
    const cls = /^class\s+([A-Za-z_]\w*)\s*(\(|:)/.exec(text);
    if (cls) {
      const qual = prefix ? `${prefix}.${cls[1]}` : cls[1];
      const open = text.indexOf('(');
      const bases = cls[2] === '(' ? splitTop(text.slice(open + 1, closing(text, open)), ',').filter((b) => !b.includes('=')) : [];
      out.classes.set(qual, { bases });
      scopes.push({ indent: l.indent, name: cls[1] });
      decorators = [];
      continue;
    }
    const def = parseDef(text);
    if (def) {
      const qual = prefix ? `${prefix}.${def.name}` : def.name;
      const list = out.defs.get(qual) ?? [];
      list.push({ params: def.params, returns: def.returns, decorators, line: l.line });
      out.defs.set(qual, list);
      // A def's body (in a .py file) is not read: nested defs are not module API.
      scopes.push({ indent: l.indent, name: `<${def.name}>` });
      decorators = [];
      continue;
    }
    decorators = [];
    if (/^(import|from)\s/.test(text)) {
      // Imports inside `if TYPE_CHECKING:` or version tests bind too; inside a def or class they do not matter here.
      if (!scopes.length || scopes.every((s) => !s.name.startsWith('<'))) parseImport(text, module, isPackage, out.imports);
      continue;
    }
    if (prefix) continue;
    const assign = /^([A-Za-z_]\w*)\s*(?::\s*[\w.]+\s*)?=\s*(.+)$/.exec(text);
    if (assign && !assign[2].startsWith('=')) {
      const value = assign[2].trim();
      if (/^(typing\.|typing_extensions\.)?(TypeVar|ParamSpec|TypeVarTuple)\s*\(/.test(value)) out.typeVars.add(assign[1]);
      else out.aliases.set(assign[1], [...(out.aliases.get(assign[1]) ?? []), value]);
    }
  }
  return out;
}
