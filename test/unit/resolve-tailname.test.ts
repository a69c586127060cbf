// At-rest resolution of an object a C extension makes at import (NumPy's ufuncs) whose name the linker stored as the
// tail of a longer string (test/fixtures/c/pyext_tailname.c): the name still counts as the module's, so the call
// resolves to every function the module's data points to (the GFNI kernel among them); a name no string of the module
// ends with does not. The live process checks that the fixture really binds `k_tail`. A type whose method's doc
// string lies in writable data (as Cython 0.29 writes them) is still found, with that method.

import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { executionPathTracking } from '../../native/src/trace/ept';
import { StaticAddressSpace } from '../../native/src/space/staticSpace';
import { resolverFor } from '../../native/src/resolve/resolve';
import { DEBIAN_PYTHON, buildC } from '../helpers/fixtures';
import { skipUnless } from '../helpers/skip';
import { DEBIAN_INCLUDE } from './python-helpers';

const canRun = fs.existsSync(DEBIAN_PYTHON) && fs.existsSync(`${DEBIAN_INCLUDE}/Python.h`);

describe('a module object whose name is the tail of a longer string (at rest)', { skip: skipUnless(canRun, 'Debian python3 and its headers are needed') }, () => {
  let so: string;
  let st: StaticAddressSpace;

  before(() => {
    so = buildC('c/pyext_tailname.c', { shared: true, flags: [`-I${DEBIAN_INCLUDE}`], outName: 'pyext-tailname/pyext_tailname.cpython-311-x86_64-linux-gnu.so' });
    st = new StaticAddressSpace([DEBIAN_PYTHON]);
  });
  after(() => {
    resolverFor(st).close();
    st.close();
  });

  test('the fixture binds k_tail, and its only copy of the name is the end of the error message', () => {
    const out = execFileSync(DEBIAN_PYTHON, ['-c', 'import pyext_tailname as p; print(type(p.k_tail).__name__, p.k_tail(), p.Doc.run.__doc__.split()[0])'], { cwd: path.dirname(so), encoding: 'utf8' });
    assert.equal(out.trim(), 'Loop None run(self)');
    const bytes = fs.readFileSync(so);
    assert.ok(bytes.includes(Buffer.from('Out of memory in k_tail\0')), 'the error message is in the file');
    assert.ok(!bytes.includes(Buffer.from('\0k_tail\0')), 'the linker merged the name into the message (else this test proves nothing)');
  });

  test('k_tail resolves to the functions the module data points to, the GFNI kernel among them', () => {
    const r = resolverFor(st).resolve({ kind: 'module-function', module: 'pyext_tailname', file: so, name: 'k_tail' });
    assert.equal(r.status, 'resolved', r.status === 'unresolved' ? r.reason : '');
    if (r.status !== 'resolved') return;
    assert.ok(r.targets.every((t) => t.how === 'datatable' && !t.exact));
    assert.ok(r.targets.some((t) => t.name === 'tail_kernel'), r.targets.map((t) => t.name).join(', '));
    const ept = executionPathTracking(resolverFor(st).space, resolverFor(st).roots(r));
    assert.ok(ept.features.has('gfni'), [...ept.features.keys()].join(', '));
  });

  test('a method whose doc string is in .data (Cython 0.29) resolves, its type found', () => {
    const r = resolverFor(st).resolve({ kind: 'method', type: 'pyext_tailname.Doc', name: 'run', file: so });
    assert.equal(r.status, 'resolved', r.status === 'unresolved' ? r.reason : '');
    if (r.status === 'resolved') assert.deepEqual(r.targets.map((t) => t.name), ['doc_run']);
  });

  test('a name no string of the module ends with stays unresolved', () => {
    for (const name of ['k_nosuch', 'nosuch']) {
      const r = resolverFor(st).resolve({ kind: 'module-function', module: 'pyext_tailname', file: so, name });
      assert.equal(r.status, 'unresolved', name);
      if (r.status === 'unresolved') assert.equal(r.code, 'not-in-table', `${name}: ${r.reason}`);
    }
  });
});
