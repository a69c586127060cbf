// pybind11, the binding generator of many C++ libraries, under both root policies: a real /usr/bin/python3
// loops on a pybind11 extension whose kernels are reached from a bound class method, a bound lambda and a catch block
// (entered only through the unwinder's landing pad). Every call goes through pybind11's one generic dispatcher and a
// function record on the heap, so no method table names the kernels. Each kernel's feature must be required.

import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzePythonProcess } from '../../server/src/processAnalysis';
import { DEBIAN_PYTHON, FIXTURE_OUT, buildC, hostFlags, startProcess } from '../helpers/fixtures';
import { DEBIAN_INCLUDE } from './python-helpers';

const PROGRAM = `import sys
sys.path.insert(0, sys.argv[1])
import pyb_kernels
mixer = pyb_kernels.Mixer(3)
print("READY", flush=True)
s = 0
while True:
    s = (s + mixer.mix(5) + pyb_kernels.bits(7) + pyb_kernels.guarded(9)) & 0xffff
`;

const flags = hostFlags();
const skip = !fs.existsSync('/usr/include/pybind11/pybind11.h')
  ? 'pybind11-dev is not installed (scripts/setup.sh installs it)'
  : ['gfni', 'avx512_bitalg', 'avx512_vpopcntdq'].every((f) => flags.has(f))
    ? false
    : 'the host lacks GFNI, AVX512_BITALG or AVX512_VPOPCNTDQ, so no report can name them';
let dir: string;
let program: string;

before(() => {
  if (skip) return;
  dir = path.join(FIXTURE_OUT, 'pybind11');
  buildC('cpp/pyb_kernels.cpp', {
    shared: true,
    flags: [`-I${DEBIAN_INCLUDE}`, '-std=c++17', '-fvisibility=hidden'],
    link: ['-lstdc++'],
    outName: 'pybind11/pyb_kernels.cpython-311-x86_64-linux-gnu.so',
  });
  program = path.join(dir, 'program.py');
  fs.writeFileSync(program, PROGRAM);
});

test('pybind11: kernels of a bound method, a bound lambda and a catch block are required', { timeout: 180_000, skip }, async () => {
  const proc = await startProcess(DEBIAN_PYTHON, [program, dir], { env: { ...process.env, LD_BIND_NOW: '1' }, timeoutMs: 60_000 });
  try {
    // The default (precise) policy stays precise on this small program: its gate must not cost a kernel; strict neither.
    for (const [strict, policy] of [[false, 'precise'], [true, 'strict']] as const) {
      const r = await analyzePythonProcess(proc.pid, { withFullScan: false, strict });
      const required = new Set(r.report.required);
      assert.ok(required.has('gfni'), `${policy}: Mixer.mix's kernel: ${[...required].join(' ')}`);
      assert.ok(required.has('avx512_bitalg'), `${policy}: the lambda's kernel: ${[...required].join(' ')}`);
      assert.ok(required.has('avx512_vpopcntdq'), `${policy}: the catch block's kernel: ${[...required].join(' ')}`);
      assert.equal(r.report.rootPolicy, policy);
    }
  } finally {
    await proc.stop();
  }
});
