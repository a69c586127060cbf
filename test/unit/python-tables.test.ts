// Table discovery in ELF files at rest: the C-API fixture built for Debian's 3.11 and for every pyenv CPython
// 3.8–3.13 (unstripped and stripped must give the same name → address, and .symtab must name the function at
// each address), single- and multi-phase init, the Cython fixture, real python3.11 / libpython / numpy, a
// non-Python library (no false positives), corrupted inputs (no crash) and the discovery cache.

import { before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { openFileSource } from '../../native/src/elf/byteSource';
import { ElfFile } from '../../native/src/elf/elfFile';
import { BufferByteSource } from '../../native/src/elf/byteSource';
import { NativeError } from '../../native/src/errors';
import { type CodeRef, type PythonTables, cachedTables, clearTablesCache, discoverFile, discoverTables } from '../../native/src/cpython/tables';
import { DEBIAN_INCLUDE, buildCython, buildPyext, pyenvInterpreters, type PyextBuild } from './python-helpers';
import { hostSkipUnless, skipUnless } from '../helpers/skip';

const NUMPY = '/usr/lib/python3/dist-packages/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so';
const DEBIAN_PYTHON311 = '/usr/bin/python3.11';

/** The C function each Python-visible name of pyext_kernels.c is implemented by. */
const PYEXT_FUNCTIONS: Record<string, string> = {
  k_avx2: 'k_avx2',
  k_sha: 'k_sha',
  k_bmi2: 'k_bmi2',
  k_plain: 'k_plain',
  _addresses: 'addresses',
  'Matrix.dot': 'matrix_dot',
  'Matrix.zeros': 'matrix_zeros',
  'Matrix.T': 'matrix_get_T',
  'Matrix.nb_add': 'matrix_add',
  'Matrix.nb_matrix_multiply': 'matrix_matmul',
  'Vec.nb_add': 'vec_add',
  'Vec.scale': 'vec_scale',
};

function local(c: CodeRef | undefined): number {
  assert.ok(c && c.kind === 'local', `a local code pointer: ${JSON.stringify(c)}`);
  return c.address;
}

/** Python name → link-time address of the implementing function, as discovery sees the fixture. */
function pyextMap(t: PythonTables): Record<string, number> {
  const out: Record<string, number> = {};
  const defs = t.moduleDefsNamed('pyext_kernels');
  assert.equal(defs.length, 1, 'one PyModuleDef named pyext_kernels');
  for (const e of defs[0].methods!.entries) out[e.name] = local(e.meth);
  const matrix = t.typesNamed('pyext_kernels.Matrix');
  assert.equal(matrix.length, 1);
  assert.equal(matrix[0].source, 'static');
  for (const e of matrix[0].methods!.entries) out[`Matrix.${e.name}`] = local(e.meth);
  for (const g of matrix[0].getset) out[`Matrix.${g.name}`] = local(g.get);
  for (const s of ['nb_add', 'nb_matrix_multiply']) out[`Matrix.${s}`] = local(matrix[0].slots.get(s));
  const vec = t.typesNamed('pyext_kernels.Vec');
  assert.equal(vec.length, 1);
  assert.equal(vec[0].source, 'spec');
  out['Vec.nb_add'] = local(vec[0].slots.get('nb_add'));
  for (const e of vec[0].methods!.entries) out[`Vec.${e.name}`] = local(e.meth);
  return out;
}

/** Checks one build: discovery on the unstripped and the stripped file agree, and .symtab names each address. */
function checkPyext(build: PyextBuild, multiPhase: boolean): void {
  const full = discoverFile(build.file);
  const stripped = discoverFile(build.stripped);
  const elf = ElfFile.open(openFileSource(build.file));
  try {
    assert.ok(elf.hasSymtab);
    const map = pyextMap(full);
    assert.deepEqual(Object.keys(map).sort(), Object.keys(PYEXT_FUNCTIONS).sort());
    for (const [py, c] of Object.entries(PYEXT_FUNCTIONS)) {
      const sym = elf.findSymbol(c);
      assert.ok(sym, `symbol ${c}`);
      assert.equal(map[py], sym.value, `${py} → ${c} at 0x${sym.value.toString(16)}`);
    }
    assert.deepEqual(pyextMap(stripped), map, 'the stripped build gives the same name → address');
    const def = full.moduleDefsNamed('pyext_kernels')[0];
    assert.equal(def.multiPhase, multiPhase);
    if (multiPhase) {
      assert.equal(def.slots.length, 1);
      assert.equal(def.slots[0].slot, 2, 'Py_mod_exec');
      assert.equal(local(def.slots[0].func), elf.findSymbol('module_exec')!.value);
    }
    const flags = Object.fromEntries(def.methods!.entries.map((e) => [e.name, e.flags]));
    assert.deepEqual(flags, { k_avx2: 0x8, k_sha: 0x4, k_bmi2: 0x82, k_plain: 0x1, _addresses: 0x4 });
    const matrix = full.typesNamed('pyext_kernels.Matrix')[0];
    assert.deepEqual(matrix.slots.get('tp_new'), { kind: 'external', symbol: 'PyType_GenericNew' });
    assert.equal(matrix.methods!.entries.find((e) => e.name === 'zeros')!.flags, 0x14, 'METH_NOARGS|METH_CLASS');
    // Nothing else looks like a Python table in this small object.
    assert.equal(full.moduleDefs.length, 1);
    assert.equal(full.types.length, 2);
    assert.equal(full.standaloneMethods.length, 0);
  } finally {
    elf.close();
  }
}

describe('table discovery: the C-API fixture', () => {
  test("built with Debian's 3.11 headers, multi-phase init", { skip: skipUnless(fs.existsSync(`${DEBIAN_INCLUDE}/Python.h`), 'python3-dev missing') }, () => {
    checkPyext(buildPyext(DEBIAN_INCLUDE, 'debian'), true);
  });
  test("built with Debian's 3.11 headers, single-phase init (PyModule_Create)", { skip: skipUnless(fs.existsSync(`${DEBIAN_INCLUDE}/Python.h`), 'python3-dev missing') }, () => {
    checkPyext(buildPyext(DEBIAN_INCLUDE, 'debian-single', true), false);
  });
  const interpreters = pyenvInterpreters();
  for (const minor of [8, 9, 10, 11, 12, 13]) {
    const it = interpreters.find((i) => i.version === `3.${minor}`);
    test(`built with pyenv CPython 3.${minor} headers`, { skip: hostSkipUnless(it, `no pyenv CPython 3.${minor}`) }, () => {
      checkPyext(buildPyext(it!.include, `pyenv-${it!.version}`, minor % 2 === 1), minor % 2 === 0);
    });
  }
});

describe('table discovery: the Cython fixture', () => {
  let build: ReturnType<typeof buildCython>;
  before(() => {
    build = buildCython();
  });
  test("Cython's per-function PyMethodDefs, the cdef class and the module definition", () => {
    const full = discoverFile(build.file);
    const stripped = discoverFile(build.stripped);
    const elf = ElfFile.open(openFileSource(build.file));
    try {
      // Cython's per-function PyMethodDefs may sit next to each other (then they look like one array).
      const lone = (t: PythonTables) =>
        Object.fromEntries(['k_avx2', 'k_sha', 'meth'].map((n) => {
          const es = t.entriesNamed(n);
          assert.equal(es.length, 1, `one PyMethodDef named ${n}`);
          return [n, local(es[0].meth)];
        }));
      const names = lone(full);
      for (const [py, sym] of [
        ['k_avx2', '__pyx_pw_5cypkg_4kern_1k_avx2'],
        ['k_sha', '__pyx_pw_5cypkg_4kern_3k_sha'],
        ['meth', '__pyx_pw_5cypkg_4kern_5Plain_1meth'],
      ]) {
        assert.equal(names[py], elf.findSymbol(sym)!.value, `${py} → ${sym}`);
      }
      assert.deepEqual(lone(stripped), names);
      const kern = full.typesNamed('cypkg.kern.Kern');
      assert.equal(kern.length, 1);
      assert.equal(local(kern[0].methods!.entries.find((e) => e.name === 'fma')!.meth), elf.findSymbol('__pyx_pw_5cypkg_4kern_4Kern_1fma')!.value);
      assert.equal(local(kern[0].slots.get('tp_new')), elf.findSymbol('__pyx_tp_new_5cypkg_4kern_Kern')!.value);
      const def = full.moduleDefsNamed('kern');
      assert.equal(def.length, 1, "Cython's module definition is named by the module's last part");
      assert.deepEqual(stripped.typesNamed('cypkg.kern.Kern').map((t) => t.address), kern.map((t) => t.address));
    } finally {
      elf.close();
    }
  });
});

describe('table discovery: real interpreters and numpy', () => {
  test("Debian's python3.11 (non-PIE, stripped): builtin modules and types through link-time pointers", { skip: skipUnless(fs.existsSync(DEBIAN_PYTHON311), 'no /usr/bin/python3.11') }, () => {
    const t = discoverFile(DEBIAN_PYTHON311);
    const names = new Set(t.moduleDefs.map((m) => m.name));
    for (const m of ['time', 'builtins', 'sys', 'posix', 'io', 'math', 'itertools']) assert.ok(names.has(m), `module ${m} found`);
    assert.ok(t.moduleDefsNamed('time')[0].methods!.entries.some((e) => e.name === 'sleep'));
    assert.ok(t.moduleDefsNamed('builtins')[0].methods!.entries.some((e) => e.name === 'len'));
    const list = t.typesNamed('list');
    assert.equal(list.length, 1);
    assert.ok(list[0].methods!.entries.some((e) => e.name === 'append'));
    assert.ok(list[0].slots.has('sq_item') && list[0].slots.has('tp_iter'));
    assert.ok(t.types.some((x) => x.source === 'spec'), 'heap types from PyType_Spec');
    assert.ok(t.inittabNamed('_io').some((e) => e.init), "_io's PyInit in the interpreter's _inittab");
    for (const ty of t.types) for (const c of ty.slots.values()) if (c.kind === 'local') assert.ok(t.stats.ms >= 0 && c.address >= 0x400000);
  });

  const pyenv311 = pyenvInterpreters().find((i) => i.version === '3.11');
  test('pyenv libpython3.11 (with .symtab): every discovered function pointer is a function start with the expected name', { skip: hostSkipUnless(pyenv311, 'no pyenv 3.11') }, () => {
    const lib = pyenv311!.python.replace(/bin\/python3\.11$/, 'lib/libpython3.11.so.1.0');
    const t = discoverFile(lib);
    const elf = ElfFile.open(openFileSource(lib));
    try {
      const nameAt = (c: CodeRef) => {
        const f = elf.functionAt(local(c));
        assert.ok(f && f.start === local(c), `function start at 0x${local(c).toString(16)}`);
        return [f.name, ...(f.aliases ?? [])];
      };
      let checked = 0;
      for (const table of t.methodTables) for (const e of table.entries) if (e.meth.kind === 'local') (nameAt(e.meth), checked++);
      for (const ty of t.types) for (const c of ty.slots.values()) if (c.kind === 'local') (nameAt(c), checked++);
      assert.ok(checked > 1000, `${checked} pointers checked`);
      const entry = (mod: string, fn: string) => t.moduleDefsNamed(mod)[0].methods!.entries.find((e) => e.name === fn)!;
      assert.ok(nameAt(entry('time', 'sleep').meth).includes('time_sleep'));
      assert.ok(nameAt(entry('builtins', 'len').meth).includes('builtin_len'));
      assert.ok(nameAt(t.typesNamed('list')[0].methods!.entries.find((e) => e.name === 'append')!.meth).includes('list_append'));
      assert.ok(nameAt(t.typesNamed('float')[0].slots.get('nb_add')!).includes('float_add'));
    } finally {
      elf.close();
    }
  });

  test("Debian numpy's _multiarray_umath: the module table (dot) and ndarray's slots, methods and getters", { skip: skipUnless(fs.existsSync(NUMPY), 'python3-numpy missing') }, () => {
    const t = discoverFile(NUMPY);
    const defs = t.moduleDefs;
    assert.equal(defs.length, 1);
    assert.equal(defs[0].name, '_multiarray_umath');
    assert.ok(defs[0].methods!.entries.some((e) => e.name === 'dot'));
    const nd = t.typesNamed('numpy.ndarray');
    assert.equal(nd.length, 1);
    for (const s of ['nb_matrix_multiply', 'nb_add', 'mp_subscript', 'tp_new', 'tp_richcompare']) assert.ok(nd[0].slots.has(s), s);
    for (const m of ['sum', 'dot', 'reshape', 'astype']) assert.ok(nd[0].methods!.entries.some((e) => e.name === m), m);
    assert.ok(nd[0].getset.some((g) => g.name === 'T' && g.get));
    assert.ok(t.typesNamed('numpy.dtype').length === 1);
  });

  test('a non-Python library yields no module definitions and no types', () => {
    for (const lib of ['/lib/x86_64-linux-gnu/libc.so.6', '/lib/x86_64-linux-gnu/libm.so.6', '/lib/x86_64-linux-gnu/libz.so.1']) {
      if (!fs.existsSync(lib)) continue;
      const t = discoverFile(lib);
      assert.equal(t.moduleDefs.length, 0, lib);
      assert.equal(t.types.length, 0, lib);
      assert.equal(t.entryCount, 0, `${lib}: no PyMethodDef-shaped data`);
    }
  });
});

describe('table discovery: robustness and cache', () => {
  test('corrupted data sections never crash discovery (results or NativeError only)', { skip: skipUnless(fs.existsSync(`${DEBIAN_INCLUDE}/Python.h`), 'python3-dev missing') }, () => {
    const file = buildPyext(DEBIAN_INCLUDE, 'debian').file;
    const original = fs.readFileSync(file);
    const elf = ElfFile.open(new BufferByteSource(file, new Uint8Array(original)));
    const data = elf.sections.filter((s) => s.name === '.data' || s.name === '.data.rel.ro' || s.name === '.rodata' || s.name === '.rela.dyn');
    elf.close();
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let round = 0; round < 60; round++) {
      const bytes = new Uint8Array(original);
      for (let k = 0; k < 24; k++) {
        const s = data[rand() % data.length];
        bytes[s.offset + (rand() % s.size)] = rand() & 0xff;
      }
      try {
        const e = ElfFile.open(new BufferByteSource(`mutant ${round}`, bytes));
        const t = discoverTables(e);
        assert.ok(t.moduleDefs.length <= 1 && t.types.length <= 2, 'corruption never invents tables');
      } catch (e) {
        assert.ok(e instanceof NativeError, `only NativeError: ${String(e)}`);
      }
    }
  });

  test('the cache holds more files than a process loads: asked again in the same order, none is discovered again', { skip: skipUnless(fs.existsSync(`${DEBIAN_INCLUDE}/Python.h`), 'python3-dev missing') }, () => {
    // Resolution asks every loaded extension in load order, again and again: a bound below their number (it was
    // 128; the xgboost workload loads 162) dropped each file just before it was asked for again.
    clearTablesCache();
    const elf = ElfFile.open(openFileSource(buildPyext(DEBIAN_INCLUDE, 'cache').stripped));
    try {
      const ids = Array.from({ length: 400 }, (_, i) => `identity-${i}`);
      const first = ids.map((id) => cachedTables(elf, id));
      const again = ids.map((id) => cachedTables(elf, id));
      assert.equal(again.filter((t, i) => t !== first[i]).length, 0, 'every file from the cache');
    } finally {
      elf.close();
      clearTablesCache();
    }
  });

  test('discovery is cached per file identity and reports its time', { skip: skipUnless(fs.existsSync(NUMPY), 'python3-numpy missing') }, (t) => {
    clearTablesCache();
    const elf = ElfFile.open(openFileSource(NUMPY));
    try {
      const first = cachedTables(elf, 'numpy-identity');
      const t0 = performance.now();
      const again = cachedTables(elf, 'numpy-identity');
      assert.equal(again, first, 'the same object from the cache');
      assert.ok(performance.now() - t0 < 5);
      t.diagnostic(`numpy _multiarray_umath: ${first.stats.ms.toFixed(1)} ms cold, ${first.stats.scannedBytes} bytes scanned, ${first.entryCount} PyMethodDefs, ${first.types.length} types`);
    } finally {
      elf.close();
    }
    if (fs.existsSync(DEBIAN_PYTHON311)) {
      const p = discoverFile(DEBIAN_PYTHON311);
      t.diagnostic(`python3.11: ${p.stats.ms.toFixed(1)} ms cold, ${p.stats.scannedBytes} bytes scanned, ${p.entryCount} PyMethodDefs, ${p.moduleDefs.length} modules, ${p.types.length} types`);
    }
  });
});
