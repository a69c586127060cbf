// Live frames resume where they stopped: on a real process built from test/fixtures/c/ept_resume.c, with every
// thread frozen and unwound, start-up code that already ran is not charged, while what can still run is: the loop
// and what follows it, a signal handler only the kernel knows, a setjmp point a longjmp returns to, a worker
// thread's loop, and a .fini_array destructor.

import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { executionPathTracking } from '../../native/src/trace/ept';
import { processRoots } from '../../native/src/analyze';
import { destructorRoots } from '../../native/src/trace/pvm';
import { FREEZE_HELPER_ENV } from '../../native/src/space/threadFreezer';
import type { ModuleImage } from '../../native/src/space/space';
import { capstoneFeaturesOf, loadCapstoneFeatures } from '../helpers/capstoneFeatures';
import { buildC } from '../helpers/fixtures';
import { type LiveFixture, startLiveFixture, visitedStarts } from '../helpers/liveFixture';

/** The freeze helper built from its source, so the suite does not depend on dist/ being built. */
const HELPER = buildC('../../native/ptrace/pygration-freeze.c', { outName: 'pygration-freeze' });

let fixture: LiveFixture;
let main: ModuleImage;
const at = (name: string) => fixture.at(name);

/** True when every thread of `pid` sleeps in the kernel (S), i.e. both threads reached their waits. */
function allSleeping(pid: number, threads: number): boolean {
  const tids = fs.readdirSync(`/proc/${pid}/task`);
  if (tids.length !== threads) return false;
  return tids.every((tid) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).startsWith('S');
    } catch {
      return false;
    }
  });
}

before(loadCapstoneFeatures);

describe('EPT from live frames on the resume fixture', () => {
  before(async () => {
    fixture = await startLiveFixture('c/ept_resume.c', ['-pthread'], async (pid) => {
      const deadline = Date.now() + 10_000;
      while (!allSleeping(pid, 2)) {
        assert.ok(Date.now() < deadline, 'both threads reach their waits');
        await new Promise((r) => setTimeout(r, 10));
      }
    });
    main = fixture.main;
  });
  after(() => fixture?.stop());

  function walkProcess() {
    process.env[FREEZE_HELPER_ENV] = HELPER;
    try {
      const { roots, notes } = processRoots(fixture.space.view, fixture.space, 'ept', false);
      const r = executionPathTracking(fixture.space, roots, { mode: 'ept', bindNow: true, recordVisited: true });
      return { r, notes, roots, visited: visitedStarts(r) };
    } finally {
      delete process.env[FREEZE_HELPER_ENV];
    }
  }

  test('start-up code that ran before the loop is not charged; what can still run is', () => {
    const { r, notes, roots, visited } = walkProcess();
    assert.ok(notes.some((n) => /frozen and unwound to its outermost frame, so the entry point and main are not walked whole/.test(n)), notes.join('\n'));
    assert.ok(!roots.some((x) => x.address === at('main')), 'main is no root of its own');
    assert.ok(!visited.has(at('k_startup')), 'k_startup ran at start-up only: not walked');
    for (const k of ['k_loop', 'k_after', 'k_signal', 'k_alarm', 'k_jump', 'k_worker_loop', 'k_fini']) {
      assert.ok(visited.has(at(k)), `${k} can still run: walked`);
      for (const f of capstoneFeaturesOf(main, k)) assert.ok(r.features.has(f as never), `${k}'s ${f} required`);
    }
    const others = ['k_loop', 'k_after', 'k_signal', 'k_alarm', 'k_jump', 'k_worker_loop', 'k_fini'];
    const onlyStartup = [...capstoneFeaturesOf(main, 'k_startup')].filter((f) => !others.some((k) => capstoneFeaturesOf(main, k).has(f)));
    assert.ok(onlyStartup.length > 0);
    // Another module could need the same feature on its own: compare with the walk that includes main whole.
    const whole = executionPathTracking(fixture.space, [...roots, { address: at('main'), reason: 'main' }], { mode: 'ept', bindNow: true });
    for (const f of onlyStartup) assert.ok(whole.features.has(f as never), `walking main whole charges ${f}`);
    for (const f of onlyStartup) assert.ok(!r.features.has(f as never), `k_startup's ${f} not required`);
  });

  test('the destructors of .fini_array are roots', () => {
    const roots = destructorRoots(fixture.space);
    assert.ok(roots.some((x) => x.address === at('fini_hook')), roots.map((x) => x.reason).join('\n'));
    const r = executionPathTracking(fixture.space, roots, { mode: 'ept', bindNow: true, recordVisited: true });
    assert.ok(visitedStarts(r).has(at('k_fini')));
  });
});

describe('a thread the freeze cannot unwind (test/fixtures/c/no_cfi_thread.c)', () => {
  let cfi: LiveFixture;
  before(async () => {
    cfi = await startLiveFixture('c/no_cfi_thread.c', ['-pthread']);
  });
  after(() => cfi?.stop());

  test('the entry point and main are walked whole, in the frames\' phase a debug session walks at every stop', () => {
    process.env[FREEZE_HELPER_ENV] = HELPER;
    try {
      const pvm = processRoots(cfi.space.view, cfi.space, 'ept', false);
      assert.ok(!pvm.notes.some((n) => /not walked whole/.test(n)), pvm.notes.join('\n'));
      const entry = cfi.main.elf.header.entry + cfi.main.bias;
      for (const [what, address] of [['main', cfi.at('main')], ['the entry point', entry]] as const) {
        assert.ok(pvm.roots.some((x) => x.address === address), `${what} is a root`);
        // Whether every thread unwinds changes from stop to stop: the first phase, kept across stops, must not hold it.
        assert.ok(pvm.frameRoots.some((x) => x.address === address), `${what} is walked with the live frames`);
      }
    } finally {
      delete process.env[FREEZE_HELPER_ENV];
    }
  });
});
