// The size ratchet: no product file over 500 lines and no function over 80 (issue 15). Known offenders are listed
// below with their size; the check fails when one grows or a new one appears, and names the entries to lower.
//
// Product files: the .ts sources under native/src, server/src, client/src and webview/src, and server/python/*.py.
// A file whose first three lines say it is generated is exempt. A function's size is its lines from its first
// token to its closing brace (the TypeScript compiler API for .ts, Python's ast for .py); a function nested in
// another counts inside its parent too. Usage: node scripts/check-size.mjs [--list] [--root DIR] [--known JSON]
// (--list prints the current offenders as a KNOWN list to paste here; --root and --known measure another tree
// against another list, for test/unit/check-size.test.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const MAX_FILE_LINES = 500;
const MAX_FUNCTION_LINES = 80;
const args = process.argv.slice(2);
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const ROOT = path.resolve(option('--root') ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
const TS_DIRS = ['native/src', 'server/src', 'client/src', 'webview/src'];
const PY_DIR = 'server/python';

// The offenders that remain until their splits are done: 'file' for a file's lines, 'file#function' for a
// function's. Each figure may only go down; when an entry drops to the limit or below, remove it.
const KNOWN = {
};

/** Every file under `dir` (relative to ROOT) whose name ends with `ext`, as repository-relative paths. */
function filesUnder(dir, ext) {
  const out = [];
  const walk = (rel) => {
    const abs = path.join(ROOT, rel);
    if (!fs.existsSync(abs)) return;
    for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
      const child = path.posix.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith(ext) && !entry.name.endsWith('.d.ts')) out.push(child);
    }
  };
  walk(dir);
  return out.sort();
}

function isGenerated(text) {
  return /\bgenerated\b/i.test(text.split('\n', 3).join('\n'));
}

function lineCount(text) {
  return text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

/** The name a function is known by: Class.method, the variable or property it is assigned to, or (for a callback)
 * the function that holds it, so that the key does not move when lines above it change. */
function functionName(node, enclosing) {
  const own = node.name && (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name) || ts.isPrivateIdentifier(node.name)) ? node.name.text : undefined;
  if (ts.isConstructorDeclaration(node)) return `${className(node.parent)}.constructor`;
  if (ts.isMethodDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node)) {
    return ts.isClassLike(node.parent) ? `${className(node.parent)}.${own}` : own ?? '<method>';
  }
  if (own) return own;
  const p = node.parent;
  if (p && ts.isVariableDeclaration(p) && ts.isIdentifier(p.name)) return p.name.text;
  if (p && (ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) && p.name && ts.isIdentifier(p.name)) return p.name.text;
  return `<callback in ${enclosing ?? 'the module'}>`;
}

function className(node) {
  return node.name ? node.name.text : '<class>';
}

/** The functions of a TypeScript source with their line counts. */
function tsFunctions(rel, text) {
  const sf = ts.createSourceFile(rel, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out = [];
  const visit = (node, enclosing) => {
    let inner = enclosing;
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      inner = functionName(node, enclosing);
      out.push({ name: inner, lines: last - first + 1 });
    }
    ts.forEachChild(node, (child) => visit(child, inner));
  };
  visit(sf, undefined);
  return out;
}

/** The functions of the Python sources, measured by Python's own ast (end_lineno needs 3.8+). */
function pyFunctions(rels) {
  if (rels.length === 0) return new Map();
  const program = [
    'import ast, json, sys',
    'out = {}',
    'for p in sys.argv[1:]:',
    '    tree = ast.parse(open(p, encoding="utf-8").read())',
    '    fns = []',
    '    def walk(node, prefix):',
    '        for child in ast.iter_child_nodes(node):',
    '            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):',
    '                first = min([child.lineno] + [d.lineno for d in child.decorator_list])',
    '                fns.append({"name": prefix + child.name, "lines": child.end_lineno - first + 1})',
    '                walk(child, prefix + child.name + ".")',
    '            elif isinstance(child, ast.ClassDef):',
    '                walk(child, prefix + child.name + ".")',
    '            else:',
    '                walk(child, prefix)',
    '    walk(tree, "")',
    '    out[p] = fns',
    'print(json.dumps(out))',
  ].join('\n');
  const run = spawnSync(process.env.PYTHON ?? 'python3', ['-c', program, ...rels], { cwd: ROOT, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`check-size: python3 could not measure ${rels.join(' ')}: ${run.stderr || run.error}`);
  return new Map(Object.entries(JSON.parse(run.stdout)));
}

/** Every offender now: key ('file' or 'file#function') -> lines. */
function measure() {
  const offenders = new Map();
  const note = (key, lines, limit) => {
    if (lines > limit && lines > (offenders.get(key) ?? 0)) offenders.set(key, lines);
  };
  const pyFiles = [];
  for (const rel of [...TS_DIRS.flatMap((d) => filesUnder(d, '.ts')), ...filesUnder(PY_DIR, '.py')]) {
    const text = fs.readFileSync(path.join(ROOT, rel), 'utf8');
    if (isGenerated(text)) continue;
    note(rel, lineCount(text), MAX_FILE_LINES);
    if (rel.endsWith('.ts')) for (const fn of tsFunctions(rel, text)) note(`${rel}#${fn.name}`, fn.lines, MAX_FUNCTION_LINES);
    else pyFiles.push(rel);
  }
  for (const [rel, fns] of pyFunctions(pyFiles)) for (const fn of fns) note(`${rel}#${fn.name}`, fn.lines, MAX_FUNCTION_LINES);
  return offenders;
}

function main() {
  const known = option('--known') !== undefined ? JSON.parse(option('--known')) : KNOWN;
  const offenders = measure();
  const sorted = [...offenders].sort((a, b) => a[0].localeCompare(b[0]));
  if (args.includes('--list')) {
    console.log('const KNOWN = {');
    for (const [key, lines] of sorted) console.log(`  '${key}': ${lines},`);
    console.log('};');
    return;
  }
  // Growth and new offenders fail; an entry larger than its file or function now only asks to be lowered (a
  // split elsewhere must not break the build), so the list is tightened by whoever runs --list next.
  const problems = [];
  const notes = [];
  for (const [key, lines] of sorted) {
    const listed = known[key];
    if (listed === undefined) problems.push(`new offender: ${key} has ${lines} lines (limit ${key.includes('#') ? MAX_FUNCTION_LINES : MAX_FILE_LINES})`);
    else if (lines > listed) problems.push(`grew: ${key} has ${lines} lines, listed at ${listed}`);
    else if (lines < listed) notes.push(`tighten: ${key} has ${lines} lines, listed at ${listed}: lower its entry in scripts/check-size.mjs`);
  }
  for (const key of Object.keys(known)) {
    if (!offenders.has(key)) notes.push(`done: ${key} is within the limit now (or gone): remove its entry from scripts/check-size.mjs`);
  }
  const files = sorted.filter(([k]) => !k.includes('#'));
  console.log(`check-size: ${files.length} file(s) over ${MAX_FILE_LINES} lines and ${sorted.length - files.length} function(s) over ${MAX_FUNCTION_LINES} lines remain (the known offenders):`);
  for (const [key, lines] of sorted) console.log(`  ${String(lines).padStart(5)}  ${key}`);
  for (const n of notes) console.log(`check-size: ${n}`);
  if (problems.length > 0) {
    for (const p of problems) console.error(`check-size: ${p}`);
    process.exitCode = 1;
  }
}

main();
