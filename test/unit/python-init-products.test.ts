// What a Python extension module's initialisers stored is a possible target: a real /usr/bin/python3 imports an
// extension whose Py_mod_exec puts a table holding a GFNI kernel in the module's state and whose PyInit puts an
// AVX512_BITALG kernel in a struct it allocates, then calls both from Python. Only the heap holds the choice, and
// the initialisers ran at import, never to be walked. The table (static data the heap points to) is found only as
// a product of Py_mod_exec; the struct's kernel is a function the heap holds (heldFunctionRoots), and the live
// chain `ops->k` reaches it too. Both features must be required; when the initialisers chose the plain kernel,
// neither may be. The initialisers themselves ran and never run again, though the module's definition names them:
// the AVX512_VPOPCNTDQ kernel only Py_mod_exec calls must not be charged.

import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeProcess } from '../../native/src/analyze';
import { collectHost, type HostInfo } from '../../native/src/features/host';
import { DEBIAN_PYTHON, FIXTURE_OUT, buildC, hostFlags, startProcess } from '../helpers/fixtures';
import { DEBIAN_INCLUDE } from './python-helpers';

const PROGRAM = `import sys, time
sys.path.insert(0, sys.argv[1])
import pyext_state
print("READY", flush=True)
i = 0
while True:
    i = (pyext_state.run_state(i) + pyext_state.run_ops(i)) & 0xffff
    time.sleep(0.05)
`;

const flags = hostFlags();
const skip = ['gfni', 'avx512_bitalg', 'avx512_vpopcntdq'].every((f) => flags.has(f)) ? false : 'the host lacks GFNI, AVX512_BITALG or AVX512_VPOPCNTDQ, so no report can name them';
let dir: string;
let program: string;
let host: HostInfo;

before(async () => {
  dir = path.join(FIXTURE_OUT, 'pyext-state');
  buildC('c/pyext_state.c', { shared: true, flags: [`-I${DEBIAN_INCLUDE}`, '-fno-stack-protector'], outName: 'pyext-state/pyext_state.cpython-311-x86_64-linux-gnu.so' });
  program = path.join(dir, 'program.py');
  fs.writeFileSync(program, PROGRAM);
  host = await collectHost();
});

async function required(env: NodeJS.ProcessEnv): Promise<Set<string>> {
  const proc = await startProcess(DEBIAN_PYTHON, [program, dir], { env: { ...process.env, ...env } });
  try {
    const r = await analyzeProcess(proc.pid, { host, withFullScan: false });
    return new Set(r.report.required);
  } finally {
    await proc.stop();
  }
}

test('kernels a module initialiser stored on the heap are required', { timeout: 120_000, skip }, async () => {
  const r = await required({});
  assert.ok(r.has('gfni'), `Py_mod_exec's table (module state): ${[...r].join(' ')}`);
  assert.ok(r.has('avx512_bitalg'), `PyInit's kernel (a struct it allocated): ${[...r].join(' ')}`);
  assert.ok(!r.has('avx512_vpopcntdq'), `what only the import ran: ${[...r].join(' ')}`);
});

test('kernels a module initialiser named but did not store are not', { timeout: 120_000, skip }, async () => {
  const r = await required({ PYEXT_STATE_PLAIN: '1' });
  assert.ok(!r.has('gfni') && !r.has('avx512_bitalg') && !r.has('avx512_vpopcntdq'), [...r].join(' '));
});
