// Kernels kept as 32-bit offsets from another function (native/src/trace/transformedProducts.ts): a real
// /usr/bin/python3 imports an extension whose initialiser stores `kernel - plain_kernel` for a GFNI and an
// AVX512_BITALG kernel and calls plain_kernel + offsets[i] every 50 ms. No word of memory holds a kernel's address, so
// the rule that an initialiser's products count only while memory holds them dropped both: they were missing from the
// report. The controls produce the same addresses in the same initialiser (or through the same helper) and keep none:
// they stay out. Whether code keeps an address transformed is a property of the file: the verdicts are kept per file for
// every walk and stored with the file's summaries, and a new process reading them finds the same answer.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyzeExtensionProgram } from '../helpers/analyzeFixture';
import { DEBIAN_PYTHON, FIXTURE_OUT, buildC, hostFlags, startProcess } from '../helpers/fixtures';
import { DEBIAN_INCLUDE } from './python-helpers';
import { analyzeProcess } from '../../native/src/analyze';
import { collectHost } from '../../native/src/features/host';
import { fileIdentityOf } from '../../native/src/space/space';
import { DiskSummaryStore } from '../../native/src/trace/summaryStore';
import { cachedSummaries, cachedVerdictsOf, clearSummaryCache } from '../../native/src/trace/summaryCache';

const PROGRAM = `import sys, time
sys.path.insert(0, sys.argv[1])
import pyext_offsets
print("READY", flush=True)
while True:
    pyext_offsets.call_index(1)
    pyext_offsets.call_index(2)
    time.sleep(0.05)
`;

const host = hostFlags();
const skip = host.has('gfni') ? false : 'the host has no GFNI, so no report can name it';
/** The kernels' features this host has (the report keeps only those). */
const KERNELS = ['gfni', 'avx512_bitalg'].filter((f) => host.has(f));

async function required(variant: number, extra: string[] = []): Promise<{ features: Set<string>; notes: string[] }> {
  const dir = `pyext-offsets-${variant}${extra.map((f) => f.replace(/^-+/, '-')).join('')}`;
  const r = await analyzeExtensionProgram('c/pyext_offsets.c', 'pyext_offsets', dir, [`-I${DEBIAN_INCLUDE}`, `-DOFFSETS=${variant}`, ...extra], PROGRAM);
  return { features: new Set(r.required), notes: r.notes };
}

test('kernels an initialiser keeps as offsets from another function are required (loaded through the GOT)', { timeout: 120_000, skip }, async () => {
  const r = await required(1);
  for (const f of KERNELS) assert.ok(r.features.has(f), `${f} missing: ${[...r.features].join(' ')}`);
  assert.ok(r.notes.some((n) => /may keep them transformed/.test(n)), r.notes.join('\n'));
});

test('kernels kept as offsets are required when the initialiser takes their addresses with lea (hidden symbols)', { timeout: 120_000, skip }, async () => {
  const r = await required(1, ['-fvisibility=hidden']);
  for (const f of KERNELS) assert.ok(r.features.has(f), `${f} missing: ${[...r.features].join(' ')}`);
});

test('kernels a helper returns and the initialiser keeps as offsets are required', { timeout: 120_000, skip }, async () => {
  const r = await required(2);
  for (const f of KERNELS) assert.ok(r.features.has(f), `${f} missing: ${[...r.features].join(' ')}`);
});

test('kernels the initialiser produces but keeps nowhere are not charged (directly, or through the helper)', { timeout: 240_000, skip }, async () => {
  for (const variant of [0, 3]) {
    const r = await required(variant);
    for (const f of KERNELS) assert.ok(!r.features.has(f), `variant ${variant} charged ${f}: ${[...r.features].join(' ')}`);
  }
});

test('at -O0 the addresses go through local variables on the stack: offsets of them required, copies kept nowhere not charged', { timeout: 240_000, skip }, async () => {
  const kept = await required(4, ['-O0']);
  for (const f of KERNELS) assert.ok(kept.features.has(f), `${f} missing: ${[...kept.features].join(' ')}`);
  const dropped = await required(5, ['-O0']);
  for (const f of KERNELS) assert.ok(!dropped.features.has(f), `charged ${f}: ${[...dropped.features].join(' ')}`);
});

test('the verdicts are kept per file and stored with its summaries: a new process reads them and finds the same kernels', { timeout: 240_000, skip }, async () => {
  const dir = path.join(FIXTURE_OUT, 'pyext-offsets-verdicts');
  const so = buildC('c/pyext_offsets.c', { shared: true, flags: [`-I${DEBIAN_INCLUDE}`, '-DOFFSETS=1'], outName: 'pyext-offsets-verdicts/pyext_offsets.cpython-311-x86_64-linux-gnu.so' });
  fs.writeFileSync(path.join(dir, 'program.py'), PROGRAM);
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-verdicts-'));
  const proc = await startProcess(DEBIAN_PYTHON, [path.join(dir, 'program.py'), dir], { env: { ...process.env, LD_BIND_NOW: '1' } });
  const identity = fileIdentityOf(fs.statSync(so));
  try {
    const host = await collectHost();
    const analyse = async (store: DiskSummaryStore) => new Set((await analyzeProcess(proc.pid, { host, withFullScan: false, stores: { summaries: store } })).report.required);
    clearSummaryCache();
    const first = new DiskSummaryStore(base, 'engine-v');
    const cold = await analyse(first);
    for (const f of KERNELS) assert.ok(cold.has(f), `${f} missing: ${[...cold].join(' ')}`);
    const made = new Map(cachedVerdictsOf(identity) ?? []);
    assert.ok([...made.values()].some((v) => v), `a verdict that the initialiser keeps an address transformed: ${JSON.stringify([...made])}`);
    first.save();
    // A new process: empty memory, the same disk. The file's verdicts come back with its summaries, and give the same answer.
    clearSummaryCache();
    const second = new DiskSummaryStore(base, 'engine-v');
    cachedSummaries(identity, fs.realpathSync(so), second);
    assert.deepEqual(new Map(cachedVerdictsOf(identity) ?? []), made, 'the extension\'s verdicts are read with its summaries');
    const warm = await analyse(second);
    assert.deepEqual([...warm].sort(), [...cold].sort());
    assert.ok(second.stats.loadedFiles > 0);
    assert.deepEqual(new Map(cachedVerdictsOf(identity) ?? []), made, 'the verdicts read back are those made, and none was added');
  } finally {
    await proc.stop();
    clearSummaryCache();
    fs.rmSync(base, { recursive: true, force: true });
  }
});
