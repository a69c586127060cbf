// Symbol resolution across CPython 3.8–3.13: the C-API fixture built against each pyenv version's headers is
// imported by that version's interpreter (libpython3.X.so, PIE), and every module function, method, getter
// and slot resolves in the live process to the address the fixture's hook reports; time.sleep resolves
// inside libpython to what the process's own builtin function object points at.

import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ProcessAddressSpace } from '../../native/src/space/processSpace';
import { ProcessView } from '../../native/src/space/processView';
import { NativeResolver, type NativeRequest } from '../../native/src/resolve/resolve';
import { PY_ML_METH, buildPyext, pyenvInterpreters, startPython } from './python-helpers';
import { hostSkipUnless } from '../helpers/skip';

const REQUESTS: Array<[string, NativeRequest]> = [
  ['k_avx2', { kind: 'module-function', module: 'pyext_kernels', name: 'k_avx2' }],
  ['k_sha', { kind: 'module-function', module: 'pyext_kernels', name: 'k_sha' }],
  ['k_bmi2', { kind: 'module-function', module: 'pyext_kernels', name: 'k_bmi2' }],
  ['k_plain', { kind: 'module-function', module: 'pyext_kernels', name: 'k_plain' }],
  ['Matrix.dot', { kind: 'method', type: 'pyext_kernels.Matrix', name: 'dot' }],
  ['Matrix.zeros', { kind: 'method', type: 'pyext_kernels.Matrix', name: 'zeros' }],
  ['Matrix.T', { kind: 'method', type: 'pyext_kernels.Matrix', name: 'T' }],
  ['Matrix.nb_add', { kind: 'slot', type: 'pyext_kernels.Matrix', slot: 'nb_add' }],
  ['Matrix.nb_matrix_multiply', { kind: 'method', type: 'pyext_kernels.Matrix', name: '__matmul__' }],
  ['Vec.nb_add', { kind: 'slot', type: 'pyext_kernels.Vec', slot: 'nb_add' }],
  ['Vec.scale', { kind: 'method', type: 'pyext_kernels.Vec', name: 'scale' }],
];

describe('symbol resolution on every pyenv CPython 3.8–3.13', () => {
  const interpreters = pyenvInterpreters();
  for (const minor of [8, 9, 10, 11, 12, 13]) {
    const it = interpreters.find((i) => i.version === `3.${minor}`);
    test(`CPython 3.${minor}`, { skip: hostSkipUnless(it, `no pyenv CPython 3.${minor} on this machine`) }, async () => {
      // Odd versions use single-phase init (PyModule_Create), even ones multi-phase (PyModuleDef_Init).
      const build = buildPyext(it!.include, `pyenv-${it!.version}`, minor % 2 === 1);
      const code = `${PY_ML_METH}
import pyext_kernels as pk
r = dict(pk._addresses())
r['time.sleep'] = ml_meth_of_function(time.sleep)
r['list.append'] = ml_meth_of_descriptor(list.__dict__['append'])
r['float.nb_add'] = type_slot(float, 96, 0)
print(json.dumps(r))
`;
      const py = await startPython(it!.python, code, [build.dir]);
      const space = new ProcessAddressSpace(new ProcessView(py.proc.pid));
      const resolver = new NativeResolver(space);
      try {
        const check = (key: string, req: NativeRequest) => {
          const r = resolver.resolve(req);
          assert.equal(r.status, 'resolved', `${it!.version} ${key}: ${r.status === 'unresolved' ? r.reason : ''}`);
          if (r.status !== 'resolved') return;
          assert.equal(r.targets.length, 1, `${key}: one target`);
          assert.equal(r.targets[0].address, py.report[key], `${it!.version} ${key}`);
          assert.equal(r.targets[0].exact, true);
        };
        for (const [key, req] of REQUESTS) check(key, req);
        check('time.sleep', { kind: 'module-function', module: 'time', name: 'sleep' });
        check('list.append', { kind: 'method', type: 'list', name: 'append' });
        check('float.nb_add', { kind: 'slot', type: 'float', slot: 'nb_add' });
        const sleep = resolver.resolve({ kind: 'module-function', module: 'time', name: 'sleep' });
        assert.ok(sleep.status === 'resolved' && sleep.targets[0].symbol === 'time_sleep' && /libpython3\.\d+\.so/.test(sleep.targets[0].module));
      } finally {
        resolver.close();
        space.view.close();
        await py.proc.stop();
      }
    });
  }
});
