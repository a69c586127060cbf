// native/src/cpython/abi.ts against the real headers: test/fixtures/c/pyext_abi.c is compiled against every
// CPython 3.8–3.13 on the machine (pyenv) and Debian's 3.11 and prints offsetof()/sizeof()/flag values; each
// must equal the table, both ways (no field missing, none extra). Also the METH_* validity rules.

import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import {
  type AbiLayout,
  DUNDER_SLOTS,
  PY_VERSIONS,
  type PyVersion,
  TYPE,
  TYPESLOT_NAMES,
  abiLayout,
  isValidMethodFlags,
  slotLocation,
  versionFromFileName,
} from '../../native/src/cpython/abi';
import { buildC } from '../helpers/fixtures';
import { DEBIAN_INCLUDE, pyenvInterpreters } from './python-helpers';
import { hostSkipUnless, skipUnless } from '../helpers/skip';

type Oracle = Record<string, Record<string, number>> & { version: string };

function oracle(include: string, tag: string): Oracle {
  const exe = buildC('c/pyext_abi.c', { flags: [`-I${include}`], outName: `pyext_abi-${tag}` });
  return JSON.parse(execFileSync(exe, { encoding: 'utf8' })) as Oracle;
}

const STRUCTS = [
  'PyObject', 'PyMethodDef', 'PyModuleDef', 'PyModuleDef_Base', 'PyModuleDef_Slot', 'PyTypeObject', 'PyNumberMethods',
  'PySequenceMethods', 'PyMappingMethods', 'PyAsyncMethods', 'PyBufferProcs', 'PyGetSetDef', 'PyMemberDef', 'PyType_Spec',
  'PyType_Slot', 'PyCFunctionObject', 'PyMethodDescrObject',
] as const;

function compare(o: Oracle, layout: AbiLayout): void {
  for (const s of STRUCTS) {
    const expected = { ...o[s] };
    assert.ok(expected, `the oracle printed ${s}`);
    const size = expected.size;
    delete expected.size;
    assert.deepEqual({ ...layout[s].fields }, expected, `${layout.version} ${s} field offsets`);
    assert.equal(layout[s].size, size, `${layout.version} sizeof(${s})`);
  }
  assert.deepEqual({ ...layout.METH }, o.METH, `${layout.version} METH_* values`);
  assert.deepEqual({ ...layout.Py_mod }, o.Py_mod, `${layout.version} Py_mod_* ids`);
  assert.deepEqual({ ...layout.typeslots }, o.typeslots, `${layout.version} typeslots.h ids`);
}

describe('CPython ABI layouts against offsetof() from the real headers', () => {
  const interpreters = pyenvInterpreters();
  for (const v of PY_VERSIONS) {
    const it = interpreters.find((i) => i.version === v);
    test(`CPython ${v} (pyenv headers)`, { skip: hostSkipUnless(it, `no pyenv CPython ${v} with headers on this machine`) }, () => {
      const o = oracle(it!.include, `pyenv-${v}`);
      assert.equal(o.version, v);
      compare(o, abiLayout(v));
    });
  }

  test("Debian's CPython 3.11 headers (python3-dev)", { skip: skipUnless(fs.existsSync(`${DEBIAN_INCLUDE}/Python.h`), 'python3-dev is not installed') }, () => {
    const o = oracle(DEBIAN_INCLUDE, 'debian-3.11');
    assert.equal(o.version, '3.11');
    compare(o, abiLayout('3.11'));
  });

  test('the version-independent offsets the readers use agree with every version', () => {
    for (const v of PY_VERSIONS) {
      const l = abiLayout(v);
      for (const [k, off] of Object.entries(TYPE)) assert.equal(l.PyTypeObject.fields[k], off, `${v} ${k}`);
    }
    assert.equal(TYPE.tp_as_number, 96);
    assert.equal(abiLayout('3.12').PyNumberMethods.fields.nb_matrix_multiply, 272);
  });
});

describe('METH_* flag validity (Objects/methodobject.c rules)', () => {
  const M = { VARARGS: 1, KEYWORDS: 2, NOARGS: 4, O: 8, CLASS: 0x10, STATIC: 0x20, COEXIST: 0x40, FASTCALL: 0x80, METHOD: 0x200 };
  test('every calling convention CPython accepts is valid, with CLASS/STATIC/COEXIST', () => {
    const conventions = [M.VARARGS, M.VARARGS | M.KEYWORDS, M.FASTCALL, M.FASTCALL | M.KEYWORDS, M.NOARGS, M.O];
    for (const c of conventions) {
      for (const extra of [0, M.CLASS, M.STATIC, M.COEXIST, M.CLASS | M.COEXIST]) assert.ok(isValidMethodFlags(c | extra), `0x${(c | extra).toString(16)}`);
    }
    assert.ok(isValidMethodFlags(M.METHOD | M.FASTCALL | M.KEYWORDS));
    assert.ok(isValidMethodFlags(M.METHOD | M.FASTCALL | M.KEYWORDS, '3.9'));
  });
  test('invalid combinations are rejected', () => {
    for (const f of [0, M.KEYWORDS, M.NOARGS | M.O, M.VARARGS | M.NOARGS, M.O | M.KEYWORDS, M.NOARGS | M.KEYWORDS, M.VARARGS | M.FASTCALL, M.CLASS, M.O | M.CLASS | M.STATIC, M.METHOD | M.FASTCALL, M.METHOD | M.VARARGS | M.KEYWORDS, 0x100 | M.O, 0x400 | M.O, 0x10000 | M.O, -1, 1.5]) {
      assert.equal(isValidMethodFlags(f), false, `0x${f.toString(16)}`);
    }
    assert.equal(isValidMethodFlags(M.METHOD | M.FASTCALL | M.KEYWORDS, '3.8'), false, 'METH_METHOD is new in 3.9');
  });
});

describe('slot names', () => {
  test('every dunder maps to real slots, and every typeslots.h id to a slot or a data field', () => {
    for (const [dunder, slots] of Object.entries(DUNDER_SLOTS)) for (const s of slots) assert.ok(slotLocation(s), `${dunder} → ${s}`);
    const data = new Set(['tp_doc', 'tp_methods', 'tp_members', 'tp_getset', 'tp_base', 'tp_bases']);
    for (const name of TYPESLOT_NAMES.values()) assert.ok(data.has(name) || slotLocation(name), name);
    assert.deepEqual(slotLocation('nb_matrix_multiply'), { suite: 'number', offset: 272 });
    assert.deepEqual(slotLocation('tp_call'), { suite: 'type', offset: 128 });
    assert.deepEqual(slotLocation('mp_subscript'), { suite: 'mapping', offset: 8 });
    assert.equal(slotLocation('nb_reserved'), undefined);
    assert.equal(slotLocation('tp_name'), undefined);
  });
  test('versions from file names', () => {
    const cases: Array<[string, PyVersion | undefined]> = [
      ['/usr/bin/python3.11', '3.11'],
      ['/x/lib/libpython3.12.so.1.0', '3.12'],
      ['_multiarray_umath.cpython-311-x86_64-linux-gnu.so', '3.11'],
      ['m.cpython-313t-x86_64-linux-gnu.so', undefined],
      ['python3.13t', undefined],
      ['m.cpython-38-x86_64-linux-gnu.so', '3.8'],
      ['libfoo.so', undefined],
      ['python3.7', undefined],
    ];
    for (const [name, v] of cases) assert.equal(versionFromFileName(name), v, name);
  });
});
