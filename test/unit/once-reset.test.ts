// A pthread_once initialiser whose once-control the code resets (native/src/trace/addressTaken.ts,
// completedOnceInits): a real /usr/bin/python3 imports an extension that runs a GFNI initialiser through pthread_once
// and calls again(), which sets the control back to PTHREAD_ONCE_INIT and calls pthread_once again, every 50 ms.
// The control's done bit said the initialiser had run and would not run again, so its GFNI was missing from the
// report. The same when another function resets it (onceControls.ts scans the module's code for such stores). Built
// without any reset, the initialiser never runs again and is still not charged.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { analyzeExtensionProgram } from '../helpers/analyzeFixture';
import { hostFlags } from '../helpers/fixtures';
import { DEBIAN_INCLUDE } from './python-helpers';

const PROGRAM = `import sys, time
sys.path.insert(0, sys.argv[1])
import pyext_once
print("READY", flush=True)
while True:
    pyext_once.reset()
    pyext_once.again()
    time.sleep(0.05)
`;

const skip = hostFlags().has('gfni') ? false : 'the host has no GFNI, so no report can name it';

async function analyze(reset: 0 | 1 | 2): Promise<{ required: Set<string>; notes: string[] }> {
  const r = await analyzeExtensionProgram('c/pyext_once.c', 'pyext_once', `pyext-once-${reset}`, [`-I${DEBIAN_INCLUDE}`, `-DRESET=${reset}`], PROGRAM);
  return { required: new Set(r.required), notes: r.notes };
}

test('an initialiser whose once-control the caller resets runs again: its feature is required', { timeout: 120_000, skip }, async () => {
  const r = await analyze(1);
  assert.ok(r.required.has('gfni'), [...r.required].join(' '));
});

test('an initialiser whose once-control another function resets runs again: its feature is required', { timeout: 120_000, skip }, async () => {
  const r = await analyze(2);
  assert.ok(r.required.has('gfni'), [...r.required].join(' '));
});

test('an initialiser behind a done once-control nobody resets is not charged', { timeout: 120_000, skip }, async () => {
  const r = await analyze(0);
  assert.ok(!r.required.has('gfni'), [...r.required].join(' '));
  assert.ok(r.notes.some((n) => /initialiser\(s\) passed to pthread_once/.test(n)), r.notes.join('\n'));
});
