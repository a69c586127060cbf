// Bytecode tracking end to end on the fixture package (test/fixtures/python/bytecode/fixpkg) under every CPython
// 3.8-3.13 on the machine: each call site's callee must match the `# expect:` comment written next to it.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FIXTURE_SRC } from '../helpers/fixtures';
import { bytecodeTracking, BytecodeSession, reachableNative } from '../../server/src/bytecode';
import { findPython, pyenvVersionsDir } from '../helpers/pyenv';
import { hostSkipUnless, skipUnless } from '../helpers/skip';
import type { BytecodeTrackingResult, Callee, CallSite } from '../../server/src/bytecode';

const FIXTURES = path.join(FIXTURE_SRC, 'python', 'bytecode');
const PKG = path.join(FIXTURES, 'fixpkg');

/** Every CPython 3.8-3.13 present: pyenv's and Debian's. */
function pythons(): { path: string; version: string }[] {
  const candidates = ['/usr/bin/python3'];
  const root = pyenvVersionsDir() ?? '';
  if (root) for (const v of fs.readdirSync(root).sort()) candidates.push(path.join(root, v, 'bin', 'python3'));
  const out: { path: string; version: string }[] = [];
  for (const p of candidates) {
    if (!fs.existsSync(p)) continue;
    let version: string;
    try {
      version = execFileSync(p, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' }).trim();
    } catch {
      continue;
    }
    const minor = Number(version.split('.')[1]);
    if (version.startsWith('3.') && minor >= 8 && minor <= 13) out.push({ path: p, version });
  }
  return out;
}

interface Expectation {
  kind: string;
  name?: string;
  names?: string[];
}

/** `# expect:` comments of a file, by line. */
function expectations(file: string): Map<number, Expectation[]> {
  const out = new Map<number, Expectation[]>();
  fs.readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, k) => {
      const m = /# expect: (.*)$/.exec(text);
      if (!m) return;
      const list: Expectation[] = [];
      for (const part of m[1].split(';').map((x) => x.trim())) {
        if (part === 'none') continue;
        const [kind, ...rest] = part.split(/\s+/);
        const arg = rest.join(' ');
        if (kind === 'candidates') list.push({ kind, names: arg.split('|').map((x) => x.trim()).sort() });
        else list.push({ kind, name: arg || undefined });
      }
      out.set(k + 1, list);
    });
  return out;
}

function name(c: Callee): string {
  if (c.kind === 'ctypes' && c.ctypes) return `${c.ctypes.findLibrary ? 'find:' : ''}${c.ctypes.library}:${c.ctypes.symbol}`;
  return c.qualifiedName ?? c.reference;
}

function describeSite(s: CallSite): string {
  const alts = s.callee.candidates ?? [s.callee];
  return `${s.kind} ${alts.map((c) => `${c.kind} ${name(c)}${c.reason ? ` (${c.reason})` : ''}`).join(' | ')}`;
}

function matches(s: CallSite, e: Expectation): boolean {
  const c = s.callee;
  const known = (c.candidates ?? [c]).filter((x) => x.kind !== 'unknown');
  if (e.kind === 'decorator') return s.kind === 'decorator' && (!e.name || c.qualifiedName === e.name);
  if (s.kind === 'decorator') return false;
  if (e.kind === 'candidates') return JSON.stringify(known.map(name).sort()) === JSON.stringify(e.names);
  if (e.kind === 'unknown') return c.kind === 'unknown' && (!e.name || (c.reason ?? '').includes(e.name));
  // One definite callee: the primary one matches and no other known candidate competes.
  return c.kind === e.kind && name(c) === e.name && known.length <= 1;
}

/** Assigns sites to expectations one to one (any order). */
function assign(sites: CallSite[], exps: Expectation[]): boolean {
  if (sites.length !== exps.length) return false;
  const used = new Array<boolean>(sites.length).fill(false);
  const go = (k: number): boolean => {
    if (k === exps.length) return true;
    for (let j = 0; j < sites.length; j++) {
      if (used[j] || !matches(sites[j], exps[k])) continue;
      used[j] = true;
      if (go(k + 1)) return true;
      used[j] = false;
    }
    return false;
  };
  return go(0);
}

/**
 * CPython 3.8-3.10 attribute the call that applies a decorator to the `def`/`class` line (3.11+ to the
 * decorator's own line): under those versions the expectation moves to the statement it decorates.
 */
function moveDecorators(file: string, exps: Map<number, Expectation[]>): Map<number, Expectation[]> {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const out = new Map<number, Expectation[]>();
  for (const [line, list] of exps) {
    for (const e of list) {
      let at = line;
      if (e.kind === 'decorator') while (at <= lines.length && !/^\s*(async\s+def|def|class)\s/.test(lines[at - 1])) at++;
      if (!out.has(at)) out.set(at, []);
      out.get(at)!.push(e);
    }
    if (!out.has(line)) out.set(line, []);
  }
  return out;
}

function checkFile(result: BytecodeTrackingResult, file: string, label: string, minor: number): number {
  const exps = minor <= 10 ? moveDecorators(file, expectations(file)) : expectations(file);
  const sites = result.callSites.filter((s) => s.file === file);
  let checked = 0;
  const problems: string[] = [];
  for (const [line, list] of exps) {
    const here = sites.filter((s) => s.line === line);
    // A `candidates` line may hold several copies of the call: compilers duplicate small exit and loop
    // blocks (3.10+), each copy then seeing one of the values. Together they must cover the set exactly.
    const union = list.length === 1 && list[0].kind === 'candidates' && here.length > 1 && here.every((x) => x.kind !== 'decorator');
    const ok = union ? JSON.stringify([...new Set(here.flatMap((x) => (x.callee.candidates ?? [x.callee]).filter((c) => c.kind !== 'unknown').map(name)))].sort()) === JSON.stringify(list[0].names) : assign(here, list);
    if (!ok) {
      problems.push(`${path.basename(file)}:${line}: expected [${list.map((e) => `${e.kind} ${e.name ?? e.names?.join(' | ') ?? ''}`).join('; ')}] got [${here.map(describeSite).join('; ')}]`);
    }
    checked++;
  }
  assert.deepEqual(problems, [], `${label}: call sites differ from the expectations`);
  return checked;
}

const FILES = ['app.py', 'core.py', 'natives.py', 'shapes.py', 'stars.py', 'scalars.py', 'steps.py'].map((f) => path.join(PKG, f));

for (const py of pythons()) {
  test(`bytecode tracking of the fixture package under Python ${py.version} (${py.path})`, async () => {
    const result = await bytecodeTracking({ python: py.path, files: [path.join(PKG, 'app.py'), path.join(PKG, 'broken.py')], followImports: true });
    let checked = 0;
    const minor = Number(py.version.split('.')[1]);
    for (const f of FILES) checked += checkFile(result, f, `Python ${py.version}`, minor);
    const written = FILES.reduce((n, f) => n + expectations(f).size, 0);
    assert.ok(written >= 55 && checked >= written, `only ${checked} of ${written} expectation lines were checked`);
    // The simulation stays in step with the interpreter's own stack effects.
    assert.equal(result.stats.desync, 0);
    assert.equal(result.stats.effectMismatches, 0);
    // Roots, modules found through the interpreter, and the ones that never run.
    const mods = new Map(result.modules.map((m) => [m.name, m]));
    assert.equal(mods.get('fixpkg.app')?.root, true);
    assert.equal(mods.get('fixpkg.core')?.kind, 'python');
    assert.equal(mods.get('fixpkg.core')?.root, false);
    assert.equal(mods.get('json')?.kind, 'python');
    assert.equal(mods.get('os.path')?.kind, 'alias');
    assert.equal(mods.get('os.path')?.target, 'posixpath');
    assert.equal(mods.get('simplejson_not_installed_here')?.kind, 'missing');
    assert.ok(!mods.has('this_module_does_not_exist_anywhere'), 'an import under TYPE_CHECKING was followed');
    assert.ok(['native', 'builtin'].includes(mods.get('_ctypes')?.kind ?? ''), 'the _ctypes extension is a native module');
    assert.deepEqual(mods.get('fixpkg.stars')?.starImports, ['math', 'json', 'module_that_is_not_installed', 'fixpkg.grown', 'fixpkg.extended']);
    // The syntax error is a diagnostic on the right line, not a failure.
    const syntax = result.diagnostics.filter((d) => d.code === 'syntax-error');
    assert.equal(syntax.length, 1);
    assert.equal(syntax[0].file, path.join(PKG, 'broken.py'));
    assert.equal(syntax[0].line, 6);
    assert.ok(syntax[0].message.length > 0);
    assert.equal(mods.get('fixpkg.broken')?.root, true);
    // The ambiguity of a name that may come from a star import of a native module is recorded.
    const mystery = result.callSites.find((s) => s.file.endsWith('stars.py') && s.callee.reference.includes('mystery_function'));
    assert.ok(mystery?.callee.via?.some((v) => v.includes('ambiguous')), 'star-import ambiguity not recorded');
    // Columns exist from 3.11 on (co_positions), and point at the callee expression.
    const main = result.callSites.find((s) => s.file.endsWith('app.py') && s.callee.qualifiedName === 'posixpath.join');
    assert.ok(main);
    if (minor >= 11) {
      const text = fs.readFileSync(path.join(PKG, 'app.py'), 'utf8').split('\n')[main.line! - 1];
      assert.equal(main.column, text.indexOf('osp.join'));
      assert.equal(main.endColumn, text.indexOf("'x')") + 4);
    } else assert.equal(main.column, null);
    // Edges: the method reaches json through the module attribute assigned at import time.
    assert.ok(result.edges.some((e) => e.caller === 'fixpkg.core.helper' && e.callee === 'json.dumps'));
    assert.ok(result.functions.some((f) => f.qualifiedName === 'fixpkg.core.Engine.run' && f.decorators.includes('fixpkg.core.traced')));
  });
}

// CPython 3.7 is optional (scripts/setup.sh does not install pyenv): a legitimately host-dependent skip.
const PYTHON37 = findPython('3.7');
test('bytecode tracking rejects interpreters older than 3.8 as unsupported', { skip: hostSkipUnless(PYTHON37, 'no CPython 3.7 (pyenv under $PYENV_ROOT or ~/.pyenv, or python3.7 on PATH)') }, async () => {
  await assert.rejects(bytecodeTracking({ python: PYTHON37!, modules: ['json'], followImports: false }), (e: Error & { kind?: string }) => e.kind === 'unsupported');
});

test('a missing interpreter is an io error', async () => {
  await assert.rejects(bytecodeTracking({ python: '/nonexistent/python3', modules: ['json'], followImports: false }), (e: Error & { kind?: string }) => e.kind === 'io');
});

test('the cache: a warm run reuses every module; an edit re-analyses only the edited file', async () => {
  const py = pythons().find((p) => p.path === '/usr/bin/python3') ?? pythons()[0];
  assert.ok(py, 'no Python 3.8-3.13 found');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyg-bytecode-'));
  try {
    fs.cpSync(PKG, path.join(dir, 'fixpkg'), { recursive: true });
    const app = path.join(dir, 'fixpkg', 'app.py');
    const session = new BytecodeSession({ python: py.path });
    try {
      const cold = await session.track({ python: py.path, files: [app], followImports: true });
      assert.equal(cold.stats.cachedModules, 0);
      const warm = await session.track({ python: py.path, files: [app], followImports: true });
      assert.equal(warm.stats.cachedModules, warm.stats.pythonModules);
      assert.equal(warm.callSites.length, cold.callSites.length);
      assert.deepEqual(
        warm.callSites.map((s) => `${s.file}:${s.line}:${s.callee.qualifiedName}`),
        cold.callSites.map((s) => `${s.file}:${s.line}:${s.callee.qualifiedName}`),
      );
      // Edit one module: a new function calling json.loads.
      const core = path.join(dir, 'fixpkg', 'core.py');
      fs.appendFileSync(core, '\n\ndef added(x):\n    return parse_json(x)\n');
      const edited = await session.track({ python: py.path, files: [app], followImports: true });
      assert.equal(edited.stats.cachedModules, edited.stats.pythonModules - 1);
      const core2 = edited.modules.find((m) => m.name === 'fixpkg.core');
      assert.equal(core2?.cached, false);
      const added = edited.callSites.find((s) => s.caller === 'fixpkg.core.added');
      assert.equal(added?.callee.qualifiedName, 'json.loads');
    } finally {
      session.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('cancellation: an aborted signal stops the run with an AbortError', async () => {
  const py = pythons()[0];
  assert.ok(py);
  const before = new AbortController();
  before.abort();
  await assert.rejects(bytecodeTracking({ python: py.path, modules: ['json'], followImports: true, cancel: before.signal }), { name: 'AbortError' });
  const during = new AbortController();
  let seen = 0;
  await assert.rejects(
    bytecodeTracking({
      python: py.path,
      modules: ['asyncio'],
      followImports: true,
      cancel: during.signal,
      onProgress: (p) => {
        seen = p.modules;
        if (p.phase === 'closure') during.abort();
      },
    }),
    { name: 'AbortError' },
  );
  assert.ok(seen >= 0);
});

/** Debian's numpy (1.2x layout) is what the numpy fixture's expectations describe. */
function debianNumpy(): string | null {
  try {
    return execFileSync('/usr/bin/python3', ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

const NUMPY = debianNumpy();

test('numpy under /usr/bin/python3: np.dot, np.linalg.svd and a @ b resolve to their defining modules', { skip: skipUnless(NUMPY !== null, 'python3-numpy is not installed') || hostSkipUnless(NUMPY!.startsWith('1.'), `numpy ${NUMPY} has another layout`) }, async () => {
  const file = path.join(FIXTURES, 'np_use.py');
  const result = await bytecodeTracking({ python: '/usr/bin/python3', files: [file], followImports: true });
  checkFile(result, file, `numpy ${NUMPY}`, 11);
  const site = (needle: string): CallSite => {
    const s = result.callSites.find((x) => x.file === file && x.callee.reference === needle);
    assert.ok(s, `no call of ${needle}`);
    return s;
  };
  // np.dot: the decorated Python stub in numpy.core.multiarray stands for the C function of _multiarray_umath.
  const dot = site('numpy.dot').callee;
  assert.equal(dot.native?.module, 'numpy.core._multiarray_umath');
  assert.deepEqual(dot.native?.path, ['dot']);
  assert.match(dot.native?.file ?? '', /_multiarray_umath\.cpython-.*\.so$/);
  assert.equal(dot.pythonStub?.qualifiedName, 'numpy.core.multiarray.dot');
  assert.ok(dot.via?.includes('numpy.core.numeric.dot'), `re-export chain: ${dot.via?.join(' → ')}`);
  // np.linalg.svd: a Python function whose body calls the gufuncs of _umath_linalg (one per branch).
  const svd = site('numpy.linalg.svd').callee;
  assert.equal(svd.file, '/usr/lib/python3/dist-packages/numpy/linalg/linalg.py');
  const inSvd = result.callSites.filter((s) => s.caller === 'numpy.linalg.linalg.svd');
  const gufuncs = new Set(inSvd.flatMap((s) => (s.callee.candidates ?? [s.callee]).filter((c) => c.native?.module === 'numpy.linalg._umath_linalg').map((c) => c.native!.path.join('.'))));
  for (const g of ['svd_n_s', 'svd_m_s', 'svd_n_f', 'svd_m_f', 'svd_n', 'svd_m']) assert.ok(gufuncs.has(g), `svd does not reach _umath_linalg.${g}: ${[...gufuncs].join(', ')}`);
  const reach = reachableNative(result.callSites, 'numpy.linalg.linalg.svd', 2).map((c) => c.qualifiedName);
  assert.ok(reach.includes('numpy.linalg._umath_linalg.svd_n_s'));
  // a @ b: the left operand comes from np.array(...), a numpy.ndarray: its nb_matrix_multiply slot.
  const mm = result.callSites.find((x) => x.file === file && x.kind === 'operator' && x.callee.operator?.symbol === '@');
  assert.equal(mm?.callee.operator?.slot, 'nb_matrix_multiply');
  assert.equal(mm?.callee.operator?.leftType, 'numpy.core._multiarray_umath.ndarray');
  assert.match(mm?.callee.native?.file ?? '', /_multiarray_umath/);
  assert.ok(result.stats.nativeSites > 1000);
});

test('a root file that does not exist is a load-error diagnostic, and followImports: false stays in the file', async () => {
  const py = pythons()[0];
  assert.ok(py);
  const missing = await bytecodeTracking({ python: py.path, files: ['/nonexistent/dir/x.py'], followImports: false });
  assert.equal(missing.modules.length, 1);
  assert.equal(missing.modules[0].kind, 'missing');
  assert.ok(missing.diagnostics.some((d) => d.code === 'load-error' && d.file === '/nonexistent/dir/x.py'));
  const alone = await bytecodeTracking({ python: py.path, files: [path.join(PKG, 'core.py')], followImports: false });
  assert.deepEqual(alone.modules.map((m) => m.name), ['fixpkg.core']);
  // Without the closure, json is not analysed: its names stay unresolved with the reason, never guessed.
  const helperSite = alone.callSites.find((s) => s.caller === 'fixpkg.core.helper');
  assert.equal(helperSite?.callee.kind, 'unknown');
  assert.match(helperSite?.callee.reason ?? '', /json.*not analysed/);
  assert.equal(helperSite?.callee.reference, 'json.dumps');
});
