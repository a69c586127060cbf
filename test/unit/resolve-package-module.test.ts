// Which loaded extension a module name means in a live process (native/src/resolve/resolve.ts spellsModule): an extension
// of a package that exports PyInit_time (test/fixtures/c/pyext_pkgtime.c as shadowpkg/time.<tag>.so, as Cython compiles
// falcon/util/time.py) is `shadowpkg.time`; `time.monotonic` still resolves in the interpreter's built-in `time`.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolverFor } from '../../native/src/resolve/resolve';
import { ProcessAddressSpace } from '../../native/src/space/processSpace';
import { ProcessView } from '../../native/src/space/processView';
import { DEBIAN_PYTHON, FIXTURE_OUT, buildC } from '../helpers/fixtures';
import { skipUnless } from '../helpers/skip';
import { DEBIAN_INCLUDE, startPython } from './python-helpers';

const canRun = fs.existsSync(DEBIAN_PYTHON) && fs.existsSync(`${DEBIAN_INCLUDE}/Python.h`);

test('a package\'s extension named time is not the built-in time: both resolve, each to its own module', { skip: skipUnless(canRun, 'Debian python3 and its headers are needed') }, async () => {
  const root = path.join(FIXTURE_OUT, 'pkgtime');
  const so = buildC('c/pyext_pkgtime.c', { shared: true, flags: [`-I${DEBIAN_INCLUDE}`], outName: 'pkgtime/shadowpkg/time.cpython-311-x86_64-linux-gnu.so' });
  fs.writeFileSync(path.join(root, 'shadowpkg', '__init__.py'), '');
  const { proc, report } = await startPython(DEBIAN_PYTHON, 'import shadowpkg.time, time\nprint(json.dumps({"tick": shadowpkg.time.tick(), "builtin": "time" in sys.builtin_module_names}))', [root]);
  const view = new ProcessView(proc.pid);
  const space = new ProcessAddressSpace(view);
  try {
    assert.equal(report.tick, 7, 'the package module is loaded and runs');
    assert.ok(space.modules().some((m) => m.path === fs.realpathSync(so)), 'its file is mapped in the process');
    const resolver = resolverFor(space);
    const builtin = resolver.resolve({ kind: 'module-function', module: 'time', name: 'monotonic' });
    assert.equal(builtin.status, 'resolved', builtin.status === 'unresolved' ? builtin.reason : '');
    if (builtin.status === 'resolved') {
      // The built-in module lives in the interpreter (Debian's python3.11 links it in).
      assert.ok(builtin.targets.every((t) => !t.module.includes('shadowpkg')), builtin.targets.map((t) => t.module).join(', '));
      if (report.builtin) assert.ok(builtin.targets.every((t) => t.module === space.mainModule()?.path || /libpython/.test(t.module)), builtin.targets.map((t) => t.module).join(', '));
    }
    const own = resolver.resolve({ kind: 'module-function', module: 'shadowpkg.time', name: 'tick' });
    assert.equal(own.status, 'resolved', own.status === 'unresolved' ? own.reason : '');
    if (own.status === 'resolved') assert.deepEqual(own.targets.map((t) => path.basename(t.module)), ['time.cpython-311-x86_64-linux-gnu.so']);
    resolver.close();
  } finally {
    view.close();
    await proc.stop();
  }
});
