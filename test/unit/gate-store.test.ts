// The precise gate's fallbacks on disk (server/src/gateStore.ts): a second analysis of the same program falls back at
// once with the stored reason; a changed program file, module or interpreter is another key (or a stale entry), and
// the gate runs again.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DiskGateStore } from '../../server/src/gateStore';
import { analyzePythonProcess } from '../../server/src/processAnalysis';
import { DEBIAN_PYTHON, FIXTURE_SRC, startProcess } from '../helpers/fixtures';

const GATE = path.join(FIXTURE_SRC, 'python', 'gate');
const gateRan = (notes: string[]) => notes.some((n) => n.startsWith('Python-level reachability also starts from'));

test('a fallback of the precise gate is stored on disk; the next analysis of the unchanged program falls back at once', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyg-gate-store-'));
  // A copy of the program, so that changing it below changes no fixture.
  const program = path.join(dir, 'reflect_loop.py');
  fs.copyFileSync(path.join(GATE, 'reflect_loop.py'), program);
  const gateStore = new DiskGateStore(path.join(dir, 'cache'), 'test-stamp');
  const p = await startProcess(DEBIAN_PYTHON, [program], { cwd: dir, env: { ...process.env, LD_BIND_NOW: '1' }, timeoutMs: 60_000 });
  try {
    const first = await analyzePythonProcess(p.pid, { withFullScan: false, gateStore });
    assert.equal(first.report.rootPolicy, 'strict');
    assert.ok(gateRan(first.report.notes), 'the first analysis ran the gate');
    assert.equal(fs.readdirSync(path.join(dir, 'cache', 'gate', 'test-stamp')).length, 1, 'one fallback stored');

    const next = await analyzePythonProcess(p.pid, { withFullScan: false, gateStore });
    assert.equal(next.report.rootPolicy, 'strict');
    assert.ok(!gateRan(next.report.notes), 'the next analysis did not run the gate');
    assert.ok(next.report.notes.some((n) => /^Root policy strict \(reflection defeats names: getattr with a computed name at reflect_loop\.py:10.*found by an earlier analysis of the same program/.test(n)), next.report.notes.join('\n'));
    assert.deepEqual(next.report.required, first.report.required);

    // A debug session's memo that took its reason from the disk names one origin at its next stop, not both.
    const policyMemo = {};
    await analyzePythonProcess(p.pid, { withFullScan: false, gateStore, policyMemo });
    const stop = await analyzePythonProcess(p.pid, { withFullScan: false, gateStore, policyMemo });
    const note = stop.report.notes.find((n) => n.startsWith('Root policy strict')) ?? '';
    assert.match(note, /found at an earlier analysis of this process\)/);
    assert.doesNotMatch(note, /found by an earlier analysis/);

    // The program file changed (its identity: a new mtime): another key, the gate runs again.
    const later = new Date(Date.now() + 5_000);
    fs.utimesSync(program, later, later);
    const changed = await analyzePythonProcess(p.pid, { withFullScan: false, gateStore });
    assert.ok(gateRan(changed.report.notes), 'a changed program file runs the gate again');
    assert.equal(changed.report.rootPolicy, 'strict');
  } finally {
    await p.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the key covers the interpreter, the program files, the live frames and the modules; an unreadable program file has none', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyg-gate-key-'));
  try {
    const a = path.join(dir, 'a.py');
    const m = path.join(dir, 'm.py');
    fs.writeFileSync(a, 'x = 1\n');
    fs.writeFileSync(m, 'y = 2\n');
    const frames = [{ file: a, qualname: '<module>' }];
    const k = DiskGateStore.key(DEBIAN_PYTHON, [a], frames, [m]);
    assert.ok(k);
    assert.equal(DiskGateStore.key(DEBIAN_PYTHON, [a], frames, [m]), k, 'the same inputs, the same key');
    assert.notEqual(DiskGateStore.key(DEBIAN_PYTHON, [a], [], [m]), k, 'the live frames are part of it');
    assert.notEqual(DiskGateStore.key(DEBIAN_PYTHON, [a], frames, []), k, 'the modules are part of it');
    fs.writeFileSync(m, 'y = 22\n');
    assert.notEqual(DiskGateStore.key(DEBIAN_PYTHON, [a], frames, [m]), k, 'a changed module is another key');
    assert.equal(DiskGateStore.key(DEBIAN_PYTHON, [path.join(dir, 'gone.py')], frames, [m]), undefined);
    const store = new DiskGateStore(path.join(dir, 'cache'), 'stamp');
    assert.equal(store.get(k!), undefined);
    store.put(k!, 'why');
    assert.equal(store.get(k!), 'why');
    assert.equal(new DiskGateStore(path.join(dir, 'cache'), 'other-stamp').get(k!), undefined, 'another engine build reads none');
    // A module the gate tracked on demand (not in the key) is checked when read: changed, the entry is none.
    const lazy = path.join(dir, 'lazy.py');
    fs.writeFileSync(lazy, 'z = 3\n');
    store.put(k!, 'why, with a lazy import', [lazy]);
    assert.equal(store.get(k!), 'why, with a lazy import');
    fs.writeFileSync(lazy, 'z = 33\n');
    assert.equal(store.get(k!), undefined, 'a changed module tracked on demand');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
