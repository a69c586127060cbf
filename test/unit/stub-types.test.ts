// Result types from installed packages' type stubs (server/src/bytecode/stubTypes.ts, stubResults.ts), at rest: a
// real C extension (built with gcc) whose make() returns its own C type, with a stub beside it, in a separate
// `-stubs` package, or none; and Debian's NumPy with the .pyi files it ships. The stub's types make methods,
// operators and items on results resolve; overloads are chosen by the call's shape; Any, abstract classes and
// missing stubs stay unknown. The parser is also checked on text (multi-line defs, decorators, relative imports).

import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeCallSites } from '../../server/src/callSites';
import type { CallSiteAnalysis } from '../../server/src/model';
import { parseStub } from '../../server/src/bytecode/stubFile';
import { StubIndex } from '../../server/src/bytecode/stubTypes';
import { DEBIAN_PYTHON, FIXTURE_OUT, FIXTURE_SRC, buildC, hostFlags } from '../helpers/fixtures';
import { skipUnless } from '../helpers/skip';
import { DEBIAN_INCLUDE } from './python-helpers';

const SRC = path.join(FIXTURE_SRC, 'python', 'stubs');
const NUMPY = '/usr/lib/python3/dist-packages/numpy';
let dir: string;

before(() => {
  dir = path.join(FIXTURE_OUT, 'stub-types');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.cpSync(SRC, dir, { recursive: true });
  for (const pkg of ['stubpkg', 'stubpkg2', 'nostub']) {
    const so = buildC('python/stubs/kern.c', { shared: true, flags: [`-I${DEBIAN_INCLUDE}`, `-DPKG="${pkg}"`], outName: `stub-types-kern-${pkg}.so` });
    fs.copyFileSync(so, path.join(dir, pkg, '_kern.cpython-311-x86_64-linux-gnu.so'));
  }
});

async function sitesOf(file: string): Promise<CallSiteAnalysis[]> {
  const r = await analyzeCallSites({ python: DEBIAN_PYTHON, files: [file] });
  try {
    return r.byFile.get(file) ?? [];
  } finally {
    r.close();
  }
}

function at(sites: CallSiteAnalysis[], line: number, column?: number): CallSiteAnalysis {
  const s = sites.find((x) => x.range.line === line - 1 && (column === undefined || x.range.character === column));
  assert.ok(s, `a call site on line ${line}: ${sites.map((x) => `${x.range.line + 1}:${x.range.character}:${x.qualifiedName ?? x.callee}`).join(', ')}`);
  return s;
}

test('a C type named by a stub beside the extension, by a -stubs package, or by none', { timeout: 120_000 }, async () => {
  const program = path.join(dir, 'program.py');
  const sites = await sitesOf(program);
  const flags = hostFlags();
  // k = stubpkg.make(): the overload without a size returns a Kernel, so k.run() is Kernel.run (GFNI).
  const run = at(sites, 7);
  assert.match(run.qualifiedName ?? '', /Kernel\.run$/, run.reason);
  assert.equal(run.origin, 'static');
  if (flags.has('gfni')) assert.ok(run.features.includes('gfni'), run.features.join(' '));
  // (k @ k) is a Kernel through the stub's __matmul__, whose return type is an alias a plain module defines.
  const spin = sites.find((x) => x.range.line === 7 && /spin$/.test(x.qualifiedName ?? x.callee));
  assert.ok(spin, sites.map((x) => `${x.range.line + 1}:${x.qualifiedName ?? x.callee}`).join(', '));
  assert.match(spin.qualifiedName ?? '', /Kernel\.spin$/, spin.reason);
  if (flags.has('avx512_bitalg')) assert.ok(spin.features.includes('avx512_bitalg'), spin.features.join(' '));
  // stubpkg.make(4): the overload with an int size returns an int, so n.run is not Kernel.run.
  const nrun = at(sites, 10);
  assert.doesNotMatch(nrun.qualifiedName ?? '', /Kernel/, `${nrun.qualifiedName}: ${nrun.reason}`);
  assert.match(nrun.reason ?? '', /'run' is not in tp_methods or tp_getset of int or its bases/);
  // stubpkg2's stub is a separate stubpkg2-stubs directory (PEP 561).
  const j = at(sites, 12);
  assert.match(j.qualifiedName ?? '', /Kernel\.spin$/, j.reason);
  // nostub has no stub: what make() returns is not known, so u.run() is not resolved.
  const u = at(sites, 14);
  assert.equal(u.origin, 'unknown');
  assert.doesNotMatch(u.qualifiedName ?? '', /Kernel/);
  // make_iface()'s stub names an abstract Python class: its methods are not what runs, so i.run() stays unknown.
  const i = at(sites, 16);
  assert.equal(i.origin, 'unknown');
  assert.match(i.reason ?? '', /abstract/);
});

test('NumPy: results of Generator.random, @, comparisons, indexing and properties are arrays by numpy\'s stubs', { timeout: 120_000, skip: skipUnless(fs.existsSync(path.join(NUMPY, '__init__.pyi')), 'python3-numpy (with its .pyi stubs) is missing') }, async () => {
  const file = path.join(dir, 'numpy_results.py');
  fs.writeFileSync(
    file,
    [
      'import numpy as np',
      'a = np.random.default_rng(0).random((4, 4))',
      'b = (a @ a) / np.linalg.norm(a)',
      'c = a[:, 0] * 2',
      's = a.sum()',
      'm = (a > 0.5).astype(float)',
      'p = a.T @ a',
      '',
    ].join('\n'),
  );
  const sites = await sitesOf(file);
  const name = (s: CallSiteAnalysis) => s.qualifiedName ?? s.callee;
  const on = (line: number, what: RegExp) => sites.find((x) => x.range.line === line - 1 && what.test(name(x)));
  assert.ok(on(3, /ndarray\.__matmul__$/), sites.map((x) => `${x.range.line + 1}:${name(x)}:${x.reason ?? ''}`).join('\n'));
  // The @ result's type is the stub's union (ndarray, and Any for object arrays): its / still resolves on ndarray.
  assert.ok(on(3, /ndarray\.__truediv__$/), sites.map((x) => `${x.range.line + 1}:${name(x)}:${x.reason ?? ''}`).join('\n'));
  assert.ok(on(4, /ndarray\.__mul__$/), sites.map((x) => `${x.range.line + 1}:${name(x)}:${x.reason ?? ''}`).join('\n'));
  assert.ok(on(5, /ndarray\.sum$/));
  // A comparison is its left operand's __gt__: an array, whose astype resolves.
  assert.ok(on(6, /ndarray\.astype$/), sites.map((x) => `${x.range.line + 1}:${name(x)}:${x.reason ?? ''}`).join('\n'));
  // A property the stub declares (`@property def T(self: _ArraySelf) -> _ArraySelf`) is what its getter returns.
  assert.ok(on(7, /ndarray\.__matmul__$/), sites.map((x) => `${x.range.line + 1}:${name(x)}:${x.reason ?? ''}`).join('\n'));
});

test('the stub parser: multi-line overloads, decorators, relative imports, aliases and TypeVars', () => {
  const text = parseStub(
    [
      'from typing import TypeVar, overload',
      'from .. import core as _core',
      'from ._typing import (',
      '    NDArray as NDArray,  # a comment',
      '    DTypeLike,',
      ')',
      '_T = TypeVar("_T", bound=int)',
      'Alias = NDArray[int]',
      'class Outer(Base[int], metaclass=Meta):',
      '    @overload',
      '    def f(',
      '        self, x: None = ...,',
      '        *, y: "str" = ...,',
      '    ) -> Outer: ...',
      '    @overload',
      '    def f(self, x: int, /, *args: int, **kw: int) -> _T: ...',
      '    class Inner:',
      '        def g(self) -> int: ...',
      'def top() -> "Outer | None": ...',
      '',
    ].join('\n'),
    'pkg.sub.mod',
    false,
  );
  assert.equal(text.imports.get('_core'), 'pkg.core');
  assert.equal(text.imports.get('NDArray'), 'pkg.sub._typing.NDArray');
  assert.equal(text.imports.get('DTypeLike'), 'pkg.sub._typing.DTypeLike');
  assert.ok(text.typeVars.has('_T'));
  assert.deepEqual(text.aliases.get('Alias'), ['NDArray[int]']);
  assert.deepEqual(text.classes.get('Outer')?.bases, ['Base[int]']);
  const f = text.defs.get('Outer.f') ?? [];
  assert.equal(f.length, 2);
  assert.deepEqual(f[0].decorators, ['overload']);
  assert.deepEqual(f[0].params.map((p) => [p.name, p.kind, p.hasDefault]), [['self', 'normal', false], ['x', 'normal', true], ['y', 'kw', true]]);
  assert.equal(f[0].returns, 'Outer');
  assert.deepEqual(f[1].params.map((p) => p.kind), ['pos', 'pos', 'var', 'varkw']);
  assert.equal(text.defs.get('Outer.Inner.g')?.[0].returns, 'int');
  assert.equal(text.defs.get('top')?.[0].returns, '"Outer | None"');
});

test('the stub index: overloads by shape, unions, None, the receiver\'s own type, and Any', () => {
  const root = path.join(FIXTURE_OUT, 'stub-index');
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(path.join(root, 'pkg'), { recursive: true });
  fs.writeFileSync(path.join(root, 'pkg', '__init__.py'), '');
  fs.writeFileSync(
    path.join(root, 'pkg', 'mod.pyi'),
    [
      'from typing import Any, Optional, TypeVar, overload',
      '_S = TypeVar("_S")',
      'class A:',
      '    def copy(self: _S) -> _S: ...',
      '    def any(self) -> Any: ...',
      '@overload',
      'def f(x: None = ...) -> A: ...',
      '@overload',
      'def f(x: int) -> float: ...',
      'def g() -> Optional[A]: ...',
      'def h() -> A | int: ...',
      '',
    ].join('\n'),
  );
  const index = new StubIndex((m) =>
    m === 'pkg' ? { file: path.join(root, 'pkg', '__init__.py'), isPackage: true } : m === 'pkg.mod' ? { file: path.join(root, 'pkg', 'mod.py'), isPackage: false } : undefined,
  );
  const f = index.functionDefs('pkg.mod', 'f');
  assert.ok(f);
  const none = { none: true, constant: true };
  const four = { none: false, constant: true };
  const unknownArg = { none: false, constant: false };
  assert.deepEqual(index.resultTypes(f, { args: [], keywords: [], star: false }, false), [{ kind: 'class', name: 'pkg.mod.A' }]);
  assert.deepEqual(index.resultTypes(f, { args: [none], keywords: [], star: false }, false), [{ kind: 'class', name: 'pkg.mod.A' }]);
  assert.deepEqual(index.resultTypes(f, { args: [four], keywords: [], star: false }, false), [{ kind: 'class', name: 'builtins.float' }]);
  // A value that may be None matches both overloads.
  assert.equal(index.resultTypes(f, { args: [unknownArg], keywords: [], star: false }, false).length, 2);
  assert.deepEqual(index.resultTypes(f, { args: [four], keywords: ['x'], star: false }, false), [{ kind: 'class', name: 'builtins.float' }]);
  assert.deepEqual(index.resultTypes(index.functionDefs('pkg.mod', 'g')!, undefined, false), [{ kind: 'class', name: 'pkg.mod.A' }, { kind: 'none' }]);
  assert.deepEqual(index.resultTypes(index.functionDefs('pkg.mod', 'h')!, undefined, false), [{ kind: 'class', name: 'pkg.mod.A' }, { kind: 'class', name: 'builtins.int' }]);
  assert.deepEqual(index.resultTypes(index.methodDefs('pkg.mod', 'A', 'copy')!, undefined, true), [{ kind: 'self' }]);
  assert.equal(index.resultTypes(index.methodDefs('pkg.mod', 'A', 'any')!, undefined, true)[0].kind, 'unknown');
  assert.equal(index.functionDefs('pkg.mod', 'missing'), undefined);
});
