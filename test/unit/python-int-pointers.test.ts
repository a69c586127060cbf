// Addresses only a Python int holds: a real /usr/bin/python3 imports an extension whose initialiser hands a GFNI
// kernel's address to Python as an int (PyLong_FromVoidPtr) and calls, in a loop, whatever address it is given back.
// An int keeps its value as 30-bit digits, so no 64-bit word of memory holds the pointer, and the initialiser ran
// at import, never to be walked: before the census read int objects (native/src/trace/pythonInts.ts), the kernel's
// feature was missing from the report although it runs every 20 ms. The same for a heap table whose address Python
// holds as an int, whose entry 1 (AVX512_BITALG) Python calls through the int while the module's own code reads only
// entry 0 through a module variable: an int's heap address is logged as a heap pointer, so heapTables reads such a
// table whole (defensive: in this process other words point to the chunk, and the entry is required without it).
// And the census reads ints of every CPython 3.8–3.13 here: one digit (Debian's non-PIE python3, code below 1 GiB)
// and two, `ob_size` (3.8–3.11) and `lv_tag` (3.12+).

import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeProcess } from '../../native/src/analyze';
import { collectHost, type HostInfo } from '../../native/src/features/host';
import { ProcessAddressSpace } from '../../native/src/space/processSpace';
import { ProcessView } from '../../native/src/space/processView';
import { liveValuesOf } from '../../native/src/trace/liveCensus';
import { DEBIAN_PYTHON, FIXTURE_OUT, buildC, hostFlags, startProcess } from '../helpers/fixtures';
import { DEBIAN_INCLUDE, pyenvInterpreters } from './python-helpers';

const PROGRAM = `import sys, time
sys.path.insert(0, sys.argv[1])
import pyint_addr
a = pyint_addr.addr
t = pyint_addr.table
print("ADDR", a, flush=True)
print("READY", flush=True)
while True:
    pyint_addr.call_addr(a)
    pyint_addr.run_first()
    pyint_addr.call_at(t, 1)
    time.sleep(0.02)
`;

let dir: string;
let program: string;
let host: HostInfo;

before(async () => {
  dir = path.join(FIXTURE_OUT, 'pyint-addr');
  buildC('c/pyint_addr.c', { shared: true, flags: [`-I${DEBIAN_INCLUDE}`], outName: 'pyint-addr/pyint_addr.cpython-311-x86_64-linux-gnu.so' });
  program = path.join(dir, 'program.py');
  fs.writeFileSync(program, PROGRAM);
  host = await collectHost();
});

const skip = ['gfni', 'avx512_bitalg'].every((f) => hostFlags().has(f)) ? false : 'the host lacks GFNI or AVX512_BITALG, so no report can name them';

test('kernels whose address, or whose table\'s, only a Python int holds are required', { timeout: 120_000, skip }, async () => {
  const proc = await startProcess(DEBIAN_PYTHON, [program, dir], { env: { ...process.env, LD_BIND_NOW: '1' } });
  try {
    const addr = Number(/ADDR (\d+)/.exec(proc.stdout())?.[1]);
    assert.ok(addr > 0, proc.stdout());
    // The census reads the int object's value as an address held in memory.
    const view = new ProcessView(proc.pid);
    try {
      assert.ok(liveValuesOf(new ProcessAddressSpace(view)).fromPythonInts?.has(addr), `0x${addr.toString(16)} found as an int's value`);
    } finally {
      view.close();
    }
    const r = await analyzeProcess(proc.pid, { host, withFullScan: false });
    assert.ok(r.report.required.includes('gfni'), `the kernel the int's address calls: ${r.report.required.join(' ')}`);
    assert.ok(r.report.required.includes('avx512_bitalg'), `the table entry called through the int: ${r.report.required.join(' ')}`);
  } finally {
    await proc.stop();
  }
});

const CTYPES_PROGRAM = `import ctypes, time
a = ctypes.cast(ctypes.pythonapi.Py_IsInitialized, ctypes.c_void_p).value
print("ADDR", a, flush=True)
print("READY", flush=True)
while True:
    time.sleep(1)
`;

for (const { python, version } of [{ python: DEBIAN_PYTHON, version: 'Debian' }, ...pyenvInterpreters()]) {
  test(`the census reads a code address an int holds (${version}: ${python})`, { timeout: 60_000 }, async () => {
    const proc = await startProcess(python, ['-c', CTYPES_PROGRAM]);
    try {
      const addr = Number(/ADDR (\d+)/.exec(proc.stdout())?.[1]);
      assert.ok(addr > 0, proc.stdout());
      const view = new ProcessView(proc.pid);
      try {
        assert.ok(liveValuesOf(new ProcessAddressSpace(view)).fromPythonInts?.has(addr), `0x${addr.toString(16)} (Py_IsInitialized) found as an int's value`);
      } finally {
        view.close();
      }
    } finally {
      await proc.stop();
    }
  });
}
