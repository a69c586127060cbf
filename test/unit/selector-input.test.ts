// A CPU-dispatch selector that chooses by its argument as well as by the CPU (native/src/trace/argumentReads.ts):
// a real /usr/bin/python3 imports an extension whose selector stores one of three same-sized kernel tables in a
// variable, and calls it again through set_level(), alternating levels 1 and 2. The variable mostly points to the
// GFNI table; the AVX512_BITALG table is chosen by level 1 for a moment each round. Before, the selector's other
// tables were left out as "not chosen", and AVX512_BITALG was missing although it runs every 50 ms. Built without
// the argument, the selector always chooses the same table, and the table it never chooses stays left out.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { analyzeExtensionProgram } from '../helpers/analyzeFixture';
import { hostFlags } from '../helpers/fixtures';
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

async function analyze(byInput: boolean): Promise<{ required: Set<string>; notes: string[] }> {
  const r = await analyzeExtensionProgram('c/pyext_selector.c', 'pyext_selector', `pyext-selector-${byInput ? 'input' : 'cpu'}`, [`-I${DEBIAN_INCLUDE}`, `-DSELECT_BY_INPUT=${byInput ? 1 : 0}`], PROGRAM);
  return { required: new Set(r.required), notes: r.notes };
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
