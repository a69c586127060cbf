// Symbol resolution in a live /usr/bin/python3 process that imported the C-API fixture, the Cython fixture, a
// ctypes library and numpy: every resolved address must equal what the process itself reports (the fixture's
// &func hook, ctypes' function pointers, ml_meth behind builtin functions and method descriptors, slots read
// through ctypes), and execution path tracking from each must find exactly that function's features.

import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { executionPathTracking } from '../../native/src/trace/ept';
import { ProcessAddressSpace } from '../../native/src/space/processSpace';
import type { ModuleImage } from '../../native/src/space/space';
import { StaticAddressSpace } from '../../native/src/space/staticSpace';
import { ProcessView } from '../../native/src/space/processView';
import { cythonSymbolPattern } from '../../native/src/cpython/cython';
import { NativeResolver, type NativeRequest, type NativeResolution, resolveNative, resolverFor } from '../../native/src/resolve/resolve';
import { DEBIAN_PYTHON, debianPythonHas } from '../helpers/fixtures';
import { skipUnless } from '../helpers/skip';
import {
  DEBIAN_INCLUDE,
  PY_ML_METH,
  buildCtypesLib,
  buildCython,
  buildPyext,
  featuresOf,
  nonBaseline,
  startPython,
  type CythonBuild,
  type PythonProcess,
  type PyextBuild,
} from './python-helpers';

const HAVE_NUMPY = debianPythonHas('numpy');
const canRun = fs.existsSync(DEBIAN_PYTHON) && fs.existsSync(`${DEBIAN_INCLUDE}/Python.h`);

let py: PythonProcess;
let space: ProcessAddressSpace;
let resolver: NativeResolver;
let pyext: PyextBuild;
let cy: CythonBuild;
let ctlib: string;

function resolved(r: NativeResolution): Extract<NativeResolution, { status: 'resolved' }> {
  assert.equal(r.status, 'resolved', r.status === 'unresolved' ? `${r.code}: ${r.reason}` : '');
  return r as Extract<NativeResolution, { status: 'resolved' }>;
}

/** Resolves and checks: one exact target at the address the process reported. */
function exactly(req: NativeRequest, reported: number | undefined, how: string): Extract<NativeResolution, { status: 'resolved' }> {
  assert.ok(reported, `the process reported an address for ${JSON.stringify(req)}`);
  const r = resolved(resolver.resolve(req));
  assert.equal(r.targets.length, 1, JSON.stringify(r.targets));
  const t = r.targets[0];
  assert.equal(t.address, reported, `${JSON.stringify(req)}: 0x${t.address.toString(16)} vs reported 0x${reported.toString(16)}`);
  assert.equal(t.exact, true);
  assert.equal(r.exact, true);
  assert.equal(t.how, how);
  return r;
}

function moduleOf(file: string): ModuleImage {
  const real = fs.realpathSync(file);
  const m = space.modules().find((x) => fs.realpathSync(x.path) === real);
  assert.ok(m, `${file} is loaded`);
  return m;
}

/** EPT from a resolution's targets; its features must be exactly those of the named functions. */
function eptMatches(r: NativeResolution, m: ModuleImage, functions: string[], mustHave: string): void {
  const ept = executionPathTracking(resolver.space, resolver.roots(r), { recordVisited: true });
  const got = [...ept.features.keys()].sort();
  const expected = [...new Set(functions.flatMap((f) => [...featuresOf(m, f)]))].sort();
  assert.deepEqual(got, expected, `features from ${functions.join(' + ')}`);
  assert.ok(got.includes(mustHave), `${mustHave} in ${got.join(' ')}`);
}

describe('symbol resolution in a live python3 process', { skip: skipUnless(canRun, 'needs /usr/bin/python3 and python3-dev') }, () => {
  before(async () => {
    pyext = buildPyext(DEBIAN_INCLUDE, 'debian');
    cy = buildCython();
    ctlib = buildCtypesLib();
    const code = `${PY_ML_METH}
import pyext_kernels as pk
from cypkg import kern
lib = ctypes.CDLL(${JSON.stringify(ctlib)})
lib.ct_call_clones()
r = {'pyext.' + k: v for k, v in pk._addresses().items()}
r['pyext.Matrix.tp_new'] = type_slot(pk.Matrix, None, 312)
r['pyext.Matrix.tp_getattro'] = type_slot(pk.Matrix, None, 144)
r['cy.k_avx2'] = ml_meth_of_function(kern.k_avx2)
r['cy.k_sha'] = ml_meth_of_function(kern.k_sha)
r['cy.Kern.fma'] = ml_meth_of_descriptor(kern.Kern.__dict__['fma'])
r['cy.Plain.meth'] = ml_meth_of_function(kern.Plain.__dict__['meth'])
for n in ['ct_avx2', 'ct_sha', 'ct_clones', 'ct_uncalled']:
    r['ct.' + n] = ctypes.cast(getattr(lib, n), ctypes.c_void_p).value
r['time.sleep'] = ml_meth_of_function(time.sleep)
r['builtins.len'] = ml_meth_of_function(len)
r['list.append'] = ml_meth_of_descriptor(list.__dict__['append'])
r['_io.open'] = ml_meth_of_function(__import__('_io').open)
r['_json.scanstring'] = ml_meth_of_function(__import__('_json').scanstring)
r['str.sq_concat'] = type_slot(str, 104, 8)
r['bytes.sq_repeat'] = type_slot(bytes, 104, 16)
r['list.sq_inplace_concat'] = type_slot(list, 104, 64)
r['int.nb_xor'] = type_slot(int, 96, 112)
r['float.nb_subtract'] = type_slot(float, 96, 8)
try:
    import numpy as np, numpy.core._multiarray_umath as mu
    r['np.dot'] = ml_meth_of_function(mu.dot)
    r['ndarray.sum'] = ml_meth_of_descriptor(np.ndarray.__dict__['sum'])
    r['ndarray.nb_matrix_multiply'] = type_slot(np.ndarray, 96, 272)
    r['ndarray.nb_add'] = type_slot(np.ndarray, 96, 0)
    import numpy.random._generator as gen
    r['np.random.default_rng'] = ml_meth_of_function(gen.default_rng)
except ImportError:
    pass
print(json.dumps(r))
`;
    py = await startPython(DEBIAN_PYTHON, code, [pyext.dir, cy.dir]);
    space = new ProcessAddressSpace(new ProcessView(py.proc.pid));
    resolver = new NativeResolver(space);
    assert.equal(resolver.space, space, 'a live process is its own space');
  });
  after(async () => {
    resolver?.close();
    space?.view.close();
    await py?.proc.stop();
  });

  describe('C-API extension (pyext_kernels)', () => {
    const cases: Array<[string, NativeRequest, string, string]> = [
      ['k_avx2', { kind: 'module-function', module: 'pyext_kernels', name: 'k_avx2' }, 'k_avx2', 'avx2'],
      ['k_sha', { kind: 'module-function', module: 'pyext_kernels', name: 'k_sha' }, 'k_sha', 'sha_ni'],
      ['k_bmi2', { kind: 'module-function', module: 'pyext_kernels', name: 'k_bmi2' }, 'k_bmi2', 'bmi2'],
      ['Matrix.dot', { kind: 'method', type: 'pyext_kernels.Matrix', name: 'dot' }, 'matrix_dot', 'fma'],
      ['Matrix.T', { kind: 'method', type: 'pyext_kernels.Matrix', name: 'T' }, 'matrix_get_T', 'pclmulqdq'],
      ['Matrix.nb_add', { kind: 'slot', type: 'pyext_kernels.Matrix', slot: 'nb_add' }, 'matrix_add', 'aes'],
      ['Matrix.nb_matrix_multiply', { kind: 'slot', type: 'pyext_kernels.Matrix', slot: 'nb_matrix_multiply' }, 'matrix_matmul', 'avx512f'],
      ['Matrix.nb_matrix_multiply', { kind: 'method', type: 'pyext_kernels.Matrix', name: '__matmul__' }, 'matrix_matmul', 'avx512f'],
      ['Vec.nb_add', { kind: 'slot', type: 'pyext_kernels.Vec', slot: 'nb_add' }, 'vec_add', 'f16c'],
      ['Vec.scale', { kind: 'method', type: 'pyext_kernels.Vec', name: 'scale' }, 'vec_scale', 'gfni'],
    ];
    for (const [key, req, fn, feature] of cases) {
      test(`${JSON.stringify(req)} → ${fn} (${feature})`, () => {
        const withFile = { ...req, file: pyext.file } as NativeRequest;
        const how = req.kind === 'slot' || (req.kind === 'method' && req.name.startsWith('__')) ? 'typeslot' : 'methoddef';
        const r = exactly(withFile, py.report[`pyext.${key}`], how);
        assert.equal(r.targets[0].symbol, fn);
        assert.equal(r.targets[0].name, fn);
        // Without the file hint the type is found among the loaded extensions.
        if (req.kind !== 'module-function') assert.equal(resolved(resolver.resolve(req)).targets[0].address, r.targets[0].address);
        eptMatches(r, moduleOf(pyext.file), [fn], feature);
      });
    }

    test('a module function without the file hint is found through the loaded PyInit_pyext_kernels', () => {
      exactly({ kind: 'module-function', module: 'pyext_kernels', name: 'k_plain' }, py.report['pyext.k_plain'], 'methoddef');
    });

    test('slots the type inherits or imports: tp_new (PyType_GenericNew in python3.11) and tp_getattro read from the live type', () => {
      const r = exactly({ kind: 'slot', type: 'pyext_kernels.Matrix', slot: 'tp_new' }, py.report['pyext.Matrix.tp_new'], 'typeslot');
      assert.equal(path.basename(r.targets[0].module), path.basename(fs.realpathSync(DEBIAN_PYTHON)));
      exactly({ kind: 'slot', type: 'pyext_kernels.Matrix', slot: 'tp_getattro' }, py.report['pyext.Matrix.tp_getattro'], 'typeslot');
    });

    test('unknown names are unresolved with a reason, never guessed', () => {
      const cases: Array<[NativeRequest, string]> = [
        [{ kind: 'module-function', module: 'pyext_kernels', file: pyext.file, name: 'nosuch' }, 'not-in-table'],
        [{ kind: 'method', type: 'pyext_kernels.Matrix', name: 'nosuch' }, 'not-in-table'],
        [{ kind: 'slot', type: 'pyext_kernels.Matrix', slot: 'nb_subtract' }, 'no-slot'],
        [{ kind: 'slot', type: 'pyext_kernels.Vec', slot: 'nb_matrix_multiply' }, 'no-slot'],
        [{ kind: 'slot', type: 'pyext_kernels.Matrix', slot: 'tp_name' }, 'bad-request'],
        [{ kind: 'method', type: 'pyext_kernels.Nope', name: 'x' }, 'type-not-found'],
        [{ kind: 'module-function', module: 'not_imported_anywhere', name: 'f' }, 'no-module-def'],
        [{ kind: 'module-function', module: 'pyext_kernels', file: '/nonexistent/x.so', name: 'f' }, 'file-not-found'],
        [{ kind: 'module-function', module: 'pyext_kernels', file: pyext.stripped, name: 'k_sha' }, 'not-loaded'],
      ];
      for (const [req, code] of cases) {
        const r = resolver.resolve(req);
        assert.equal(r.status, 'unresolved', JSON.stringify(req));
        if (r.status === 'unresolved') {
          assert.equal(r.code, code, `${JSON.stringify(req)}: ${r.reason}`);
          assert.ok(r.reason.length > 10);
        }
      }
    });
  });

  describe('Cython extension (cypkg.kern)', () => {
    const cases: Array<[string, string, string, string]> = [
      ['k_avx2', '__pyx_pw_5cypkg_4kern_1k_avx2', 'kern_avx2', 'avx2'],
      ['k_sha', '__pyx_pw_5cypkg_4kern_3k_sha', 'kern_sha', 'sha_ni'],
      ['Kern.fma', '__pyx_pw_5cypkg_4kern_4Kern_1fma', 'kern_fma', 'fma'],
      ['Plain.meth', '__pyx_pw_5cypkg_4kern_5Plain_1meth', 'kern_bmi2', 'bmi2'],
    ];
    for (const [qualname, pw, kernel, feature] of cases) {
      test(`cypkg.kern.${qualname} → ${pw} (${feature})`, () => {
        const r = exactly({ kind: 'cython', module: 'cypkg.kern', qualname }, py.report[`cy.${qualname}`], 'cython');
        assert.equal(r.targets[0].symbol, pw);
        const m = moduleOf(cy.file);
        // The implementation (__pyx_pf_...) is called by the wrapper unless gcc inlined it.
        const pfPattern = cythonSymbolPattern('cypkg.kern', qualname, 'pf')!;
        const pf = m.elf.symtabSymbols().filter((s) => pfPattern.test(s.name));
        eptMatches(r, m, [pw, kernel, ...pf.map((s) => s.name)], feature);
      });
    }

    // What the language server and `pygration calls` ask for `kern.k_avx2()`: a module function. Before, a Cython
    // `def` (no entry of the module's method table) fell back to every function the module's data points to, and
    // the lens of k_avx2 showed k_sha's SHA-NI.
    test('a module-function request for a Cython def is its wrapper, live and in the stripped file at rest', () => {
      const r = exactly({ kind: 'module-function', module: 'cypkg.kern', name: 'k_avx2' }, py.report['cy.k_avx2'], 'cython');
      eptMatches(r, moduleOf(cy.file), ['__pyx_pw_5cypkg_4kern_1k_avx2', 'kern_avx2'], 'avx2');
      const st = new StaticAddressSpace([DEBIAN_PYTHON]);
      const rs = resolverFor(st);
      try {
        const full = moduleOf(cy.file);
        for (const name of ['k_avx2', 'k_sha']) {
          const at = resolved(resolveNative(st, { kind: 'module-function', module: 'cypkg.kern', name, file: cy.stripped }));
          assert.deepEqual(
            at.targets.map((t) => t.address - rs.space.modules().find((x) => x.path === cy.stripped)!.bias),
            [full.elf.findSymbol(`__pyx_pw_5cypkg_4kern_${name === 'k_avx2' ? '1' : '3'}${name}`)!.value],
            name,
          );
        }
      } finally {
        rs.close();
        st.close();
      }
    });

    test('the stripped build resolves through its PyMethodDefs to the same functions (files at rest)', () => {
      const st = new StaticAddressSpace([DEBIAN_PYTHON]);
      try {
        const rs = resolverFor(st);
        const full = moduleOf(cy.file);
        for (const [qualname, pw] of cases) {
          const r = resolved(resolveNative(st, { kind: 'cython', module: 'cypkg.kern', qualname, file: cy.stripped }));
          assert.equal(r.targets.length, 1, qualname);
          const t = r.targets[0];
          assert.equal(t.exact, false, 'files at rest are never exact');
          assert.equal(t.symbol, undefined, 'a stripped file has no names');
          const m = rs.space.modules().find((x) => x.path === cy.stripped)!;
          assert.equal(t.address - m.bias, full.elf.findSymbol(pw)!.value, qualname);
        }
      } finally {
        resolverFor(st).close();
        st.close();
      }
    });
  });

  describe('ctypes library', () => {
    test('CDLL(path).ct_avx2 and .ct_sha are the exported symbols, with their features', () => {
      const m = moduleOf(ctlib);
      for (const [name, feature] of [
        ['ct_avx2', 'avx2'],
        ['ct_sha', 'sha_ni'],
      ]) {
        const r = exactly({ kind: 'ctypes', library: ctlib, symbol: name }, py.report[`ct.${name}`], 'ctypes');
        eptMatches(r, m, [name], feature);
      }
      // By soname, as CDLL('libctypes_kernels.so') after the path form loaded it.
      exactly({ kind: 'ctypes', library: 'libctypes_kernels.so', symbol: 'ct_avx2' }, py.report['ct.ct_avx2'], 'ctypes');
    });

    test('an IFUNC the library calls is exact through its bound GOT slot; one nobody calls lists every variant', () => {
      const r = exactly({ kind: 'ctypes', library: ctlib, symbol: 'ct_clones' }, py.report['ct.ct_clones'], 'ctypes');
      assert.ok(r.notes.some((n) => n.includes('bound GOT slot')));
      const u = resolved(resolver.resolve({ kind: 'ctypes', library: ctlib, symbol: 'ct_uncalled' }));
      assert.equal(u.exact, false);
      assert.equal(u.targets.length, 2, 'the avx2 and default clones');
      assert.ok(u.targets.some((t) => t.address === py.report['ct.ct_uncalled']), 'the variant ctypes got is a candidate');
      const names = u.targets.map((t) => t.symbol ?? '').sort();
      assert.ok(/^ct_uncalled\.avx2/.test(names[0]) && /^ct_uncalled\.default/.test(names[1]), names.join(', '));
    });

    test('data symbols, missing symbols and libraries that are not loaded are unresolved', () => {
      const cases: Array<[NativeRequest, string]> = [
        [{ kind: 'ctypes', library: ctlib, symbol: 'ct_data' }, 'not-a-function'],
        [{ kind: 'ctypes', library: ctlib, symbol: 'nosuch' }, 'symbol-not-found'],
        [{ kind: 'ctypes', library: 'libpygration_absent.so', symbol: 'f' }, 'not-loaded'],
        [{ kind: 'ctypes', library: pyext.stripped, symbol: 'PyInit_pyext_kernels' }, 'not-loaded'],
      ];
      for (const [req, code] of cases) {
        const r = resolver.resolve(req);
        assert.ok(r.status === 'unresolved' && r.code === code, `${JSON.stringify(req)} → ${JSON.stringify(r)}`);
      }
      // dlsym(handle) searches the library and its dependencies only: the fixture does not link libc (ctypes
      // raises AttributeError for strlen too), libm does.
      const own = resolver.resolve({ kind: 'ctypes', library: ctlib, symbol: 'strlen' });
      assert.ok(own.status === 'unresolved' && own.code === 'symbol-not-found');
      const s = resolved(resolver.resolve({ kind: 'ctypes', library: 'libm.so.6', symbol: 'strlen' }));
      assert.ok(s.targets.every((t) => /libc\.so/.test(t.module)));
      assert.ok(s.notes.some((n) => n.includes('dependency')));
    });
  });

  describe("the interpreter's built-in modules and numpy", () => {
    test('time.sleep, builtins.len, _io.open (m_name io) and list.append in the non-PIE python3.11', () => {
      exactly({ kind: 'module-function', module: 'time', name: 'sleep' }, py.report['time.sleep'], 'methoddef');
      exactly({ kind: 'module-function', module: 'builtins', name: 'len' }, py.report['builtins.len'], 'methoddef');
      exactly({ kind: 'module-function', module: '_io', name: 'open' }, py.report['_io.open'], 'methoddef');
      exactly({ kind: 'method', type: 'list', name: 'append' }, py.report['list.append'], 'methoddef');
    });

    test('a number operator on a type without the number slot runs its sequence slot: str + s, b * 3, l += m; an in-place one its binary slot: i ^= j, x -= y', () => {
      // PyNumber_Add falls back to sq_concat, PyNumber_Multiply to sq_repeat, PyNumber_InPlaceAdd to sq_inplace_concat;
      // every PyNumber_InPlace* to the binary slot (int has no nb_inplace_xor, float no nb_inplace_subtract).
      for (const [req, key] of [
        [{ kind: 'slot', type: 'str', slot: 'nb_add' }, 'str.sq_concat'],
        [{ kind: 'slot', type: 'bytes', slot: 'nb_multiply' }, 'bytes.sq_repeat'],
        [{ kind: 'slot', type: 'list', slot: 'nb_inplace_add' }, 'list.sq_inplace_concat'],
        [{ kind: 'slot', type: 'int', slot: 'nb_inplace_xor' }, 'int.nb_xor'],
        [{ kind: 'slot', type: 'float', slot: 'nb_inplace_subtract' }, 'float.nb_subtract'],
      ] as const) {
        const r = exactly(req, py.report[key], 'typeslot');
        assert.ok(r.notes.some((n) => /has no nb_.*: the operation runs its (sq_|nb_)/.test(n)), r.notes.join('\n'));
      }
      // A type with neither keeps its reason.
      const r = resolver.resolve({ kind: 'slot', type: 'str', slot: 'nb_subtract' });
      assert.equal(r.status, 'unresolved');
    });

    test("a stdlib extension in lib-dynload (_json): the loaded object live, the interpreter's lib-dynload at rest", () => {
      const r = exactly({ kind: 'module-function', module: '_json', name: 'scanstring' }, py.report['_json.scanstring'], 'methoddef');
      assert.match(r.targets[0].module, /lib-dynload\/_json\./);
      const st = new StaticAddressSpace([DEBIAN_PYTHON]);
      try {
        const s = resolved(resolveNative(st, { kind: 'module-function', module: '_json', name: 'scanstring' }));
        assert.match(s.targets[0].module, /lib-dynload\/_json\./);
        const sm = resolverFor(st).space.regionAt(s.targets[0].address)!.module!;
        const lm = space.regionAt(r.targets[0].address)!.module!;
        assert.equal(s.targets[0].address - sm.bias, r.targets[0].address - lm.bias);
      } finally {
        resolverFor(st).close();
        st.close();
      }
    });

    test('numpy: _multiarray_umath.dot, ndarray.sum, ndarray @ and + resolve to what the process holds', { skip: skipUnless(HAVE_NUMPY, 'python3-numpy missing') }, () => {
      const file = space.modules().find((m) => m.path.includes('_multiarray_umath'))!.path;
      exactly({ kind: 'module-function', module: 'numpy.core._multiarray_umath', file, name: 'dot' }, py.report['np.dot'], 'methoddef');
      exactly({ kind: 'module-function', module: 'numpy.core._multiarray_umath', name: 'dot' }, py.report['np.dot'], 'methoddef');
      exactly({ kind: 'method', type: 'numpy.ndarray', name: 'sum' }, py.report['ndarray.sum'], 'methoddef');
      const mm = exactly({ kind: 'slot', type: 'numpy.ndarray', slot: 'nb_matrix_multiply' }, py.report['ndarray.nb_matrix_multiply'], 'typeslot');
      exactly({ kind: 'slot', type: 'numpy.ndarray', slot: 'nb_add' }, py.report['ndarray.nb_add'], 'typeslot');
      // The paper's plain EPT keeps this quick (the sound mode's whole-numpy walk is ept-numpy.test.ts's subject).
      const ept = executionPathTracking(resolver.space, resolver.roots(mm), { mode: 'ept-plain', recordVisited: true });
      assert.ok(ept.functionsVisited > 10 && ept.features.size > 0, 'EPT runs from the resolved matmul slot');
      assert.ok(ept.visited!.some((v) => v.module.includes('_multiarray_umath') && v.start === mm.targets[0].address));
    });

    test('files at rest give the same link-time addresses as the live process', { skip: skipUnless(HAVE_NUMPY, 'python3-numpy missing') }, () => {
      const st = new StaticAddressSpace([DEBIAN_PYTHON]);
      try {
        const live = space.modules().find((m) => m.path.includes('_multiarray_umath'))!;
        const rs = resolverFor(st);
        const checks: Array<[NativeRequest, string]> = [
          [{ kind: 'module-function', module: 'numpy.core._multiarray_umath', file: live.path, name: 'dot' }, 'np.dot'],
          [{ kind: 'slot', type: 'numpy.ndarray', slot: 'nb_matrix_multiply', file: live.path }, 'ndarray.nb_matrix_multiply'],
          [{ kind: 'module-function', module: 'time', name: 'sleep' }, 'time.sleep'],
          [{ kind: 'module-function', module: 'pyext_kernels', file: pyext.stripped, name: 'k_sha' }, 'pyext.k_sha'],
          // A `def` of a module Cython 0.29 generated without binding=True: a built-in function made from a PyMethodDef
          // of its own, in a stripped file whose tables define no Cython function type (before: every function the
          // module's data points to).
          [{ kind: 'module-function', module: 'numpy.random._generator', file: space.modules().find((m) => m.path.includes('random/_generator'))!.path, name: 'default_rng' }, 'np.random.default_rng'],
        ];
        for (const [req, key] of checks) {
          const r = resolved(resolveNative(st, req));
          assert.equal(r.targets.length, 1);
          assert.equal(r.exact, false);
          const t = r.targets[0];
          const sm = rs.space.regionAt(t.address)!.module!;
          const lm = space.regionAt(py.report[key])!.module!;
          assert.equal(t.address - sm.bias, py.report[key] - lm.bias, `${key}: same link-time address`);
        }
        // The overlay's addresses are usable by EPT.
        const r = resolveNative(st, { kind: 'module-function', module: 'pyext_kernels', file: pyext.file, name: 'k_avx2' });
        const ept = executionPathTracking(rs.space, rs.roots(r));
        assert.ok(ept.features.has('avx2'));
      } finally {
        resolverFor(st).close();
        st.close();
      }
    });
  });
});
