// The precise root policy end to end (analyzePythonProcess): a kernel of an extension's method table that no
// reachable Python code names stays out of the requirement, though the heap points into that table (every function
// object does), and a kernel the loop calls through a name another module binds stays in.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyzePythonProcess } from '../../server/src/processAnalysis';
import { DEBIAN_PYTHON, hostFlags, startProcess } from '../helpers/fixtures';
import { DEBIAN_INCLUDE, buildPyext } from './python-helpers';

/** A program (main.py, and a helper module) in a fresh directory, next to a build of pyext_kernels. */
function program(main: string): { dir: string; env: NodeJS.ProcessEnv } {
  const ext = buildPyext(DEBIAN_INCLUDE, 'debian').dir;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyg-gate-held-'));
  // A re-export under another name: `kalias.digest` is pyext_kernels.k_sha.
  fs.writeFileSync(path.join(dir, 'kalias.py'), 'from pyext_kernels import k_sha as digest\n');
  fs.writeFileSync(path.join(dir, 'main.py'), `import time\nimport pyext_kernels\nimport kalias\nprint("READY", flush=True)\nwhile True:\n${main}\n    time.sleep(0.001)\n`);
  return { dir, env: { ...process.env, LD_BIND_NOW: '1', PYTHONPATH: `${ext}:${dir}`, PYTHONDONTWRITEBYTECODE: '1' } };
}

async function requirements(main: string): Promise<{ precise: string[]; strict: string[]; policy: string | undefined }> {
  const { dir, env } = program(main);
  const p = await startProcess(DEBIAN_PYTHON, [path.join(dir, 'main.py')], { cwd: dir, env, timeoutMs: 60_000 });
  try {
    const precise = await analyzePythonProcess(p.pid, { withFullScan: false, strict: false });
    const strict = await analyzePythonProcess(p.pid, { withFullScan: false });
    return { precise: precise.report.required, strict: strict.report.required, policy: precise.report.rootPolicy };
  } finally {
    await p.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// Before, heldFunctionRoots took every code pointer of a module data object the heap points into (an ops table of a
// live object), and the PyCFunction objects of pyext_kernels point into its PyMethodDef table: k_sha came back as a
// root and precise required SHA-NI like strict.
test('precise: an extension kernel no reachable code names is not required, though function objects point into its method table', { skip: !hostFlags().has('sha_ni') && 'this host has no SHA-NI (the kernel left out uses it)' }, async () => {
  const r = await requirements('    pyext_kernels.k_plain()');
  assert.equal(r.policy, 'precise');
  assert.ok(r.strict.includes('sha_ni'), `strict roots every entry of the table: ${r.strict.join(' ')}`);
  assert.ok(!r.precise.includes('sha_ni'), `precise leaves k_sha out: ${r.precise.join(' ')}`);
});

test('precise: a kernel the loop calls through a name another module binds to it stays required', { skip: !hostFlags().has('sha_ni') && 'this host has no SHA-NI (the kernel called uses it)' }, async () => {
  const r = await requirements('    kalias.digest()');
  assert.equal(r.policy, 'precise');
  assert.ok(r.precise.includes('sha_ni'), `k_sha, called as kalias.digest: ${r.precise.join(' ')}`);
});
