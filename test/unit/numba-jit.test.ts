// Numba under the default policy: a real /usr/bin/python3 loops on an @njit function that Numba compiled for this CPU
// into anonymous executable memory (no file backs it, no module's tables name it). The report must count that
// code's features under `[anon]`: the JIT's entry is reached from the heap (the dispatcher's compiled overload).

import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzePythonProcess } from '../../server/src/processAnalysis';
import { DEBIAN_PYTHON, FIXTURE_OUT, hostFlags, pythonImports, startProcess } from '../helpers/fixtures';

const PROGRAM = `import numpy as np
from numba import njit

@njit(fastmath=True)
def kernel(a, b):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * b[i]
    return s

a = np.random.rand(4096)
b = np.random.rand(4096)
kernel(a, b)
print("READY", flush=True)
t = 0.0
while True:
    t += kernel(a, b)
`;

// Numba compiles for the host: with AVX2 its vectorised loop uses features beyond the x86-64 baseline, which a report lists.
const skip = !pythonImports('numba') ? 'python3-numba is not installed (scripts/setup.sh installs it)' : hostFlags().has('avx2') ? false : 'the host lacks AVX2: the JIT code may use baseline features only, which no report lists';
let program: string;

before(() => {
  if (skip) return;
  const dir = path.join(FIXTURE_OUT, 'numba');
  fs.mkdirSync(dir, { recursive: true });
  program = path.join(dir, 'program.py');
  fs.writeFileSync(program, PROGRAM);
});

test('numba: the features of code the JIT generated are counted ([anon])', { timeout: 240_000, skip }, async () => {
  const proc = await startProcess(DEBIAN_PYTHON, [program], { env: { ...process.env, LD_BIND_NOW: '1' }, timeoutMs: 120_000 });
  try {
    const r = await analyzePythonProcess(proc.pid, { withFullScan: false });
    const jit = r.report.features.filter((f) => (f.modules ?? []).some((m) => m.module === '[anon]')).map((f) => f.feature);
    assert.ok(jit.length > 0, `no feature from JIT code; modules: ${[...new Set(r.report.features.flatMap((f) => (f.modules ?? []).map((m) => m.module)))].join(' ')}`);
  } finally {
    await proc.stop();
  }
});
