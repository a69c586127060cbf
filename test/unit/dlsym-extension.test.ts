// An extension module that calls dlsym itself is a dlsym bridge (native/src/trace/dlsymBridge.ts): a real
// /usr/bin/python3 (no ctypes loaded) imports an extension that opens a library of kernels and calls `k_gfni`, found
// by dlsym under a name Python builds at run time, every 50 ms, then scrubs its stack. No code names the kernel and
// no word holds its address, so its GFNI was missing from the report: only ctypes and cffi counted as bridges. Built
// without dlsym (the control), the same library's kernel is not charged.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { analyzeExtensionProgram } from '../helpers/analyzeFixture';
import { buildC, hostFlags } from '../helpers/fixtures';
import { DEBIAN_INCLUDE } from './python-helpers';

const skip = hostFlags().has('gfni') ? false : 'the host has no GFNI, so no report can name it';

async function analyze(lookup: 0 | 1): Promise<{ required: Set<string>; notes: string[] }> {
  const kernels = buildC('c/dlsym_kernels.c', { shared: true });
  const program = `import sys, time
sys.path.insert(0, sys.argv[1])
import pyext_dlsym
assert pyext_dlsym.load(${JSON.stringify(kernels)})
assert '_ctypes' not in sys.modules
name = "k_" + "".join(["g", "f", "n", "i"])
print("READY", flush=True)
while True:
    if hasattr(pyext_dlsym, "call_named"):
        pyext_dlsym.call_named(name)
    time.sleep(0.05)
`;
  const r = await analyzeExtensionProgram('c/pyext_dlsym.c', 'pyext_dlsym', `pyext-dlsym-${lookup}`, [`-I${DEBIAN_INCLUDE}`, `-DLOOKUP=${lookup}`], program);
  return { required: new Set(r.required), notes: r.notes };
}

test('a kernel an extension finds with dlsym by a computed name is required', { timeout: 120_000, skip }, async () => {
  const r = await analyze(1);
  assert.ok(r.required.has('gfni'), [...r.required].join(' '));
  assert.ok(r.notes.some((n) => /pyext_dlsym\.cpython-311-x86_64-linux-gnu\.so \(it calls dlsym\) is loaded/.test(n)), r.notes.join('\n'));
});

test('without an extension that calls dlsym (nor ctypes), a library kernel no code names is not charged', { timeout: 120_000, skip }, async () => {
  const r = await analyze(0);
  assert.ok(!r.required.has('gfni'), [...r.required].join(' '));
});
