// cffi's API mode, the binding style of bcrypt, argon2-cffi or PyNaCl: a real /usr/bin/python3 loops on a cffi-built
// extension (compiled by cffi with gcc at test time) whose functions are no PyMethodDef entries; `lib.gf_kernel` is
// fetched from the module's `_cffi_globals` table. The kernel the program calls must be required under both root
// policies (strict, the default, and precise, which gates Python-callable functions by name).

import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzePythonProcess } from '../../server/src/processAnalysis';
import { DEBIAN_PYTHON, FIXTURE_OUT, FIXTURE_SRC, hostFlags, pythonImports, startProcess } from '../helpers/fixtures';

const PROGRAM = `import sys
sys.path.insert(0, sys.argv[1])
from _cffikern import lib
print("READY", flush=True)
s = 0
while True:
    s = (s + lib.gf_kernel(5, 3)) & 0xffff
`;

// cffi compiles the fixture through setuptools (distutils' successor): both must be there.
const skip = !pythonImports('cffi, setuptools') ? 'python3-cffi or python3-setuptools is not installed (scripts/setup.sh installs them)' : hostFlags().has('gfni') ? false : 'the host lacks GFNI, so no report can name it';
let dir: string;
let program: string;

before(() => {
  if (skip) return;
  dir = path.join(FIXTURE_OUT, 'cffi-api');
  fs.mkdirSync(dir, { recursive: true });
  const builder = path.join(FIXTURE_SRC, 'python', 'cffi', 'build_cffikern.py');
  const built = fs.readdirSync(dir).some((f) => f.startsWith('_cffikern.') && f.endsWith('.so'));
  const stamp = path.join(dir, 'builder.txt');
  const source = fs.readFileSync(builder, 'utf8');
  if (!built || !fs.existsSync(stamp) || fs.readFileSync(stamp, 'utf8') !== source) {
    execFileSync(DEBIAN_PYTHON, [builder, dir], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
    fs.writeFileSync(stamp, source);
  }
  program = path.join(dir, 'program.py');
  fs.writeFileSync(program, PROGRAM);
});

for (const strict of [true, false]) {
  test(`cffi API mode: the kernel a program calls through lib is required (${strict ? 'strict' : 'precise'})`, { timeout: 180_000, skip }, async () => {
    const proc = await startProcess(DEBIAN_PYTHON, [program, dir], { env: { ...process.env, LD_BIND_NOW: '1' }, timeoutMs: 60_000 });
    try {
      const r = await analyzePythonProcess(proc.pid, { withFullScan: false, strict });
      const required = new Set(r.report.required);
      assert.ok(required.has('gfni'), `lib.gf_kernel's GFNI (${r.report.rootPolicy}): ${[...required].join(' ')}`);
    } finally {
      await proc.stop();
    }
  });
}
