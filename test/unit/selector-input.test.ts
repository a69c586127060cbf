// A CPU-dispatch selector that chooses by its argument as well as by the CPU (native/src/trace/argumentReads.ts):
// a real /usr/bin/python3 imports an extension whose selector stores one of three same-sized kernel tables in a
// variable, and calls it again through set_level(), alternating levels 1 and 2. The variable mostly points to the
// GFNI table; the AVX512_BITALG table is chosen by level 1 for a moment each round. Before, the selector's other
// tables were left out as "not chosen", and AVX512_BITALG was missing although it runs every 50 ms. Built without
// the argument, the selector always chooses the same table, and the table it never chooses stays left out.

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
import pyext_selector as sel
sel.run()
print("READY", flush=True)
while True:
    sel.set_level(1)
    sel.run()
    sel.set_level(2)
    sel.run()
    time.sleep(0.05)
`;

const skip = ['gfni', 'avx512_bitalg'].every((f) => hostFlags().has(f)) ? false : 'the host lacks GFNI or AVX512_BITALG, so no report can name them';
let host: HostInfo;

before(async () => {
  host = await collectHost();
});

async function analyze(byInput: boolean): Promise<{ required: Set<string>; notes: string[] }> {
  const dir = path.join(FIXTURE_OUT, `pyext-selector-${byInput ? 'input' : 'cpu'}`);
  buildC('c/pyext_selector.c', { shared: true, flags: [`-I${DEBIAN_INCLUDE}`, `-DSELECT_BY_INPUT=${byInput ? 1 : 0}`], outName: `${path.basename(dir)}/pyext_selector.cpython-311-x86_64-linux-gnu.so` });
  const program = path.join(dir, 'program.py');
  fs.writeFileSync(program, PROGRAM);
  const proc = await startProcess(DEBIAN_PYTHON, [program, dir], { env: { ...process.env, LD_BIND_NOW: '1' } });
  try {
    const r = await analyzeProcess(proc.pid, { host, withFullScan: false });
    return { required: new Set(r.report.required), notes: r.report.notes };
  } finally {
    await proc.stop();
  }
}

test('a selector that also chooses by its argument: every table it can choose is taken', { timeout: 120_000, skip }, async () => {
  const r = await analyze(true);
  assert.ok(r.required.has('gfni'), [...r.required].join(' '));
  assert.ok(r.required.has('avx512_bitalg'), `the table level 1 chooses: ${[...r.required].join(' ')}`);
});

test('a selector that chooses by the CPU alone: the table it never chooses stays left out', { timeout: 120_000, skip }, async () => {
  const r = await analyze(false);
  assert.ok(r.required.has('gfni'), [...r.required].join(' '));
  assert.ok(!r.required.has('avx512_bitalg'), `only in a table the CPU never chooses: ${[...r.required].join(' ')}`);
  assert.ok(r.notes.some((n) => /left out of that set because the code referring to them is a CPU-dispatch selector/.test(n)), r.notes.join('\n'));
});
