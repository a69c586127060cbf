// The precise root policy end to end (analyzePythonProcess) on test/fixtures/c/pyext_alias.c: a module function no
// reachable Python code names stays out of the requirement, though the heap points into its method table (every
// function object does); kernels bound under other names by the module's C code, or named in Python only by a string
// handed to C code, stay in.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyzePythonProcess } from '../../server/src/processAnalysis';
import { DEBIAN_PYTHON, buildC, hostFlags, startProcess } from '../helpers/fixtures';
import { DEBIAN_INCLUDE } from './python-helpers';

/**
 * The program: it calls `digest` to `digest5` in threads it starts in its loop, and k_vbmi2 through call_named with
 * the name in a string; it never names k_unused.
 */
const MAIN = `import time, _thread
import pyext_alias as pa
print("READY", flush=True)
while True:
    _thread.start_new_thread(pa.digest, ())
    _thread.start_new_thread(pa.digest2, ())
    _thread.start_new_thread(pa.digest3, ())
    _thread.start_new_thread(pa.digest4, ())
    _thread.start_new_thread(pa.digest5, ())
    _thread.start_new_thread(pa.call_named, (pa, "k_vbmi2"))
    time.sleep(0.01)
`;

let once: Promise<{ precise: string[]; strict: string[]; policy: string | undefined }> | undefined;

/** The requirement of the program under both policies (one process, analysed once each). */
function requirements(): Promise<{ precise: string[]; strict: string[]; policy: string | undefined }> {
  once ??= (async () => {
    const ext = buildC('c/pyext_alias.c', { shared: true, flags: [`-I${DEBIAN_INCLUDE}`], outName: 'pyext-alias/pyext_alias.cpython-311-x86_64-linux-gnu.so' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyg-gate-held-'));
    fs.writeFileSync(path.join(dir, 'main.py'), MAIN);
    const env = { ...process.env, LD_BIND_NOW: '1', PYTHONPATH: path.dirname(ext), PYTHONDONTWRITEBYTECODE: '1' };
    const p = await startProcess(DEBIAN_PYTHON, [path.join(dir, 'main.py')], { cwd: dir, env, timeoutMs: 60_000 });
    try {
      // The default policy is the precise one.
      const precise = await analyzePythonProcess(p.pid, { withFullScan: false });
      const strict = await analyzePythonProcess(p.pid, { withFullScan: false, strict: true });
      return { precise: precise.report.required, strict: strict.report.required, policy: precise.report.rootPolicy };
    } finally {
      await p.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  })();
  return once;
}

const lacks = (f: string) => !hostFlags().has(f) && `this host has no ${f}`;

// Before, heldFunctionRoots took every code pointer of a module data object the heap points into (an ops table of a
// live object), and k_unused's function object points into the module's PyMethodDef table: precise required GFNI
// like strict.
test('precise: a module function no reachable code names is not required, though its function object points into the method table', { skip: lacks('gfni') }, async () => {
  const r = await requirements();
  assert.equal(r.policy, 'precise');
  assert.ok(r.strict.includes('gfni'), `strict roots every entry of the table: ${r.strict.join(' ')}`);
  assert.ok(!r.precise.includes('gfni'), `precise leaves k_unused out: ${r.precise.join(' ')}`);
});

// The gate admits entries by name. k_sha is reached as `digest` only: the module's C code looked it up by its name
// (a string its code points at, so a name C code can look up). Without that, leaving the table's words to the gate
// missed it.
test('precise: a module function the C code fetches by its name and binds under another name stays required', { skip: lacks('sha_ni') }, async () => {
  const r = await requirements();
  assert.ok(r.precise.includes('sha_ni'), `k_sha, called as digest: ${r.precise.join(' ')}`);
});

// k_bitalg's PyMethodDef is in no module or type table: C code may bind its function object under any name, so its
// word is no gate's to leave out (the heap's pointer into it keeps it a root).
test('precise: a PyMethodDef of its own that C code binds under another name stays required', { skip: lacks('avx512_bitalg') }, async () => {
  const r = await requirements();
  assert.ok(r.precise.includes('avx512_bitalg'), `k_bitalg, called as digest2: ${r.precise.join(' ')}`);
});

// k_vbmi's PyMethodDef is in Box's method table, which the interpreter binds under `k_vbmi`; but the module's code takes
// the entry's address (PyCFunction_New(&box_methods[0], …)) and binds the function as `digest3`. A table whose address
// code takes is not left to the gate.
test("precise: an entry of a type's method table that C code makes a function of and binds under another name stays required", { skip: lacks('avx512vbmi') }, async () => {
  const r = await requirements();
  assert.ok(r.precise.includes('avx512vbmi'), `k_vbmi, called as digest3: ${r.precise.join(' ')}`);
});

// k_vpop is bound as `digest4` by the module's C code through a name object it makes with PyUnicode_InternFromString
// (the string is in rdi, not rsi, so the rule for names given to a lookup missed it).
test('precise: a module function the C code fetches through a name object it makes stays required', { skip: lacks('avx512_vpopcntdq') }, async () => {
  const r = await requirements();
  assert.ok(r.precise.includes('avx512_vpopcntdq'), `k_vpop, called as digest4: ${r.precise.join(' ')}`);
});

// k_vbmi2 is named in Python only by the string given to call_named, whose C code calls that method: a string constant
// that spells an identifier counts as a name.
test('precise: a method Python code names only in a string handed to C code stays required', { skip: lacks('avx512_vbmi2') }, async () => {
  const r = await requirements();
  assert.ok(r.precise.includes('avx512_vbmi2'), `k_vbmi2, called through call_named: ${r.precise.join(' ')}`);
});

// k_kept's PyMethodDef is in Keep's method table, which the interpreter binds under `k_kept`; but a pointer in the
// module's data holds the entry (no code takes its address), and the exec slot binds it as `digest5`. A table its
// module's data points into, other than from its module definition and types, is not left to the gate.
test('precise: an entry of a method table that data points to, bound under another name by C code, stays required', { skip: lacks('avx512ifma') }, async () => {
  const r = await requirements();
  assert.ok(r.precise.includes('avx512ifma'), `k_kept, called as digest5: ${r.precise.join(' ')}`);
});
