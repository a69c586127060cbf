// The dirty-page sampler on real processes: a C fixture dirties a known number of pages per second on an
// absolute CLOCK_MONOTONIC schedule (steady, bursty, a small hot set), and the sampler must measure the rate
// within 10 %, follow the bursts interval by interval, see the hot set saturate, keep to its scan budget,
// and fail clearly on a vanished process, on EPERM, and when the kernel has no soft-dirty tracking.

import { before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { isNativeError } from '../../native/src/errors';
import { sampleDirtyPages, type DirtySampling, type RegionSeries } from '../../native/src/plan/sampler';
import { softDirtySupport } from '../../native/src/space/procfs';
import { dirtyModel } from '../../native/src/plan/predictor';
import { buildC, haveCommand, REPO_ROOT, startProcess, type StartedProcess } from '../helpers/fixtures';
import { hostSkip } from '../helpers/skip';

const FIXTURE = 'c/dirty_pages.c';

interface Fixture {
  proc: StartedProcess;
  /** CLOCK_MONOTONIC seconds at which the schedule started. */
  t0: number;
  base: string;
  /** Pages the fixture has written `t` (CLOCK_MONOTONIC seconds) into its schedule. */
  scheduled(t: number): number;
}

async function startFixture(args: string[]): Promise<Fixture> {
  const proc = await startProcess(buildC(FIXTURE), args);
  const m = /READY t0=(\d+) page=(\d+) base=(0x[0-9a-f]+) pages=(\d+)/.exec(proc.stdout());
  assert.ok(m, `ready line: ${proc.stdout()}`);
  const t0 = Number(m[1]) / 1e9;
  const rate = Number(args[2]);
  const bursty = args[0] === 'bursty';
  const on = bursty ? Number(args[3]) / 1000 : 0;
  const period = bursty ? on + Number(args[4]) / 1000 : 0;
  // The same arithmetic as the fixture's scheduled() (in seconds instead of nanoseconds).
  const scheduled = (t: number): number => {
    const e = Math.max(0, t - t0);
    if (!bursty) return Math.floor(e * rate);
    const full = Math.floor(e / period);
    return Math.floor((full * on + Math.min(e - full * period, on)) * ((rate * period) / on));
  };
  return { proc, t0, base: m[3], scheduled };
}

function fixtureRegion(s: DirtySampling, f: Fixture): RegionSeries {
  const r = s.regions.find((x) => x.key === `anon@${f.base}`);
  assert.ok(r, `a region for the fixture's buffer at ${f.base}: ${s.regions.map((x) => x.key).join(', ')}`);
  return r;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/**
 * What the fixture wrote between the first and the last scan. A page is observed at some moment of its
 * scan, so the exact count lies between the pages written from the end of the first scan to the start of
 * the last one and those written from the start of the first to the end of the last.
 */
function expectedContent(s: DirtySampling, f: Fixture): { mid: number; lo: number; hi: number; perInterval: number[] } {
  const n = s.times.length - 1;
  const half = (i: number) => s.cost.scanSeconds[i] / 2;
  const start = (i: number) => s.times[i] - half(i);
  const end = (i: number) => s.times[i] + half(i);
  return {
    mid: f.scheduled(s.times[n]) - f.scheduled(s.times[0]),
    lo: f.scheduled(start(n)) - f.scheduled(end(0)),
    hi: f.scheduled(end(n)) - f.scheduled(start(0)),
    perInterval: s.times.slice(1).map((t, i) => f.scheduled(t) - f.scheduled(s.times[i])),
  };
}

/** Soft-dirty: interval k runs from the clear before it (times[k-1]) to the end of its pagemap read. */
function expectedSoftDirty(s: DirtySampling, f: Fixture): { mid: number; lo: number; hi: number; perInterval: number[] } {
  const perInterval = s.durations.map((d, i) => f.scheduled(s.times[i] + d) - f.scheduled(s.times[i]));
  const total = sum(perInterval);
  return { mid: total, lo: total, hi: total, perInterval };
}

/**
 * The fixture writes at or after its scheduled time, never before: when it was kept off the CPU at the
 * first scan, its catch-up writes land inside the window. Allow 50 ms of such lag at its fastest rate
 * (plus 2 pages of floating-point rounding between its schedule and ours) on either bound.
 */
function assertWithinScans(measured: number, e: { lo: number; hi: number }, peakRate: number): void {
  const slack = 0.05 * peakRate + 2;
  assert.ok(measured >= e.lo - slack && measured <= e.hi + slack, `measured ${measured} within [${e.lo}, ${e.hi}] ± ${slack}`);
}

function pearson(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  const ma = sum(a) / n;
  const mb = sum(b) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** The C oracle: the fixture clears its own soft-dirty bits, writes a page and reads bit 55 back. */
function kernelTracksSoftDirty(): boolean {
  const out = execFileSync(buildC(FIXTURE), ['probe'], { encoding: 'utf8' });
  return /SOFT_DIRTY 1/.test(out);
}

const methods = [
  { method: 'content' as const, expected: expectedContent },
  { method: 'soft-dirty' as const, expected: expectedSoftDirty },
];

describe('dirty-page sampler', { timeout: 120_000 }, () => {
  let softDirty = false;
  before(() => {
    softDirty = kernelTracksSoftDirty();
  });

  test('the soft-dirty probe (reads our own stack, writes nothing) agrees with the C oracle (clears and writes)', () => {
    const probe = softDirtySupport();
    assert.equal(probe.supported, softDirty, probe.reason);
  });

  for (const { method, expected } of methods) {
    describe(`${method} method`, () => {
      // The kernel must track soft-dirty bits for that method; this machine's may not (CONFIG_MEM_SOFT_DIRTY).
      const skip = () => method === 'soft-dirty' && !softDirty;

      test('steady: 1000 pages/s measured within 10 %, classified steady, distinct pages growing linearly', async (t) => {
        if (skip()) return hostSkip(t, 'this kernel does not track soft-dirty bits (checked by the C oracle)');
        // 4096 pages written cyclically at 1000 pages/s: no page is written twice within 4 s, so every
        // interval's pages are new and the distinct count over k intervals grows as k.
        const f = await startFixture(['steady', '4096', '1000']);
        try {
          const s = await sampleDirtyPages(f.proc.pid, { method, seconds: 3, intervalSeconds: 0.25 });
          const r = fixtureRegion(s, f);
          const e = expected(s, f);
          const measured = sum(r.dirty);
          // The 10 % criterion against the schedule at the scans' midpoints; and the count must lie in
          // the interval the scan durations allow, widened by how far the fixture may lag its schedule.
          assert.ok(Math.abs(measured - e.mid) <= 0.1 * e.mid, `measured ${measured} pages, expected ${e.mid} (±10 %)`);
          assertWithinScans(measured, e, 1000);
          const rate = measured / sum(s.durations);
          assert.ok(Math.abs(rate - 1000) <= 100, `rate ${rate.toFixed(0)} pages/s`);
          assert.equal(dirtyModel(s).regions.find((x) => x.key === r.key)!.model, 'trend');
          const K = r.window.length;
          assert.ok(K >= 8, `window curve over ${K} intervals`);
          assert.ok(Math.abs(r.window[K - 1] / r.window[0] - K) <= 0.1 * K, `distinct over ${K} intervals = ${r.window[K - 1]}, one interval ${r.window[0]}`);
          // The whole process: the fixture's pages plus a few of its stack and libc's.
          assert.ok(sum(s.total) >= measured && sum(s.total) <= measured + 5 * s.total.length, `process total ${sum(s.total)} vs buffer ${measured}`);
        } finally {
          await f.proc.stop();
        }
      });

      test('bursty: the same mean in 500 ms bursts every second, within 10 % overall and followed interval by interval', async (t) => {
        if (skip()) return hostSkip(t, 'this kernel does not track soft-dirty bits (checked by the C oracle)');
        const f = await startFixture(['bursty', '4096', '1000', '500', '500']);
        try {
          const s = await sampleDirtyPages(f.proc.pid, { method, seconds: 4, intervalSeconds: 0.25 });
          const r = fixtureRegion(s, f);
          const e = expected(s, f);
          const measured = sum(r.dirty);
          assert.ok(Math.abs(measured - e.mid) <= 0.1 * e.mid, `measured ${measured} pages, expected ${e.mid} (±10 %)`);
          assertWithinScans(measured, e, 2000);
          const c = pearson(r.dirty, e.perInterval);
          assert.ok(c >= 0.9, `per-interval correlation ${c.toFixed(3)}: measured ${r.dirty.join(' ')} / expected ${e.perInterval.join(' ')}`);
          const peak = Math.max(...r.dirty.map((d, i) => d / s.durations[i]));
          assert.ok(peak >= 1500, `peak ${peak.toFixed(0)} pages/s (bursts run at 2000)`);
          assert.equal(dirtyModel(s).regions.find((x) => x.key === r.key)!.model, 'ewma');
        } finally {
          await f.proc.stop();
        }
      });

      test('a hot set: 1000 writes/s over 256 pages dirty ~250 pages per interval but never more than 256 distinct', async (t) => {
        if (skip()) return hostSkip(t, 'this kernel does not track soft-dirty bits (checked by the C oracle)');
        const f = await startFixture(['steady', '256', '1000']);
        try {
          const s = await sampleDirtyPages(f.proc.pid, { method, seconds: 1.5, intervalSeconds: 0.25 });
          const region = s.regions.find((x) => x.kind === 'anon' && x.sizeBytes >= 256 * 4096 && x.distinct > 200);
          assert.ok(region, `a region with the hot set: ${s.regions.map((x) => `${x.label}:${x.distinct}`).join(', ')}`);
          // 1000 writes/s over 256 pages: each page is rewritten every 0.256 s, so a 0.25 s interval sees
          // ~250 distinct pages and any longer window at most the 256 (plus the few of a neighbouring small mapping).
          const w = region.window;
          assert.ok(w[0] >= 180 && w[0] <= 262, `one interval: ${w[0]}`);
          assert.ok(w[w.length - 1] <= 262, `distinct over ${w.length} intervals: ${w[w.length - 1]}`);
          const model = dirtyModel(s);
          const p = model.regions.find((x) => x.key === region.key)!;
          // The prediction for a 10 s round saturates at the hot set instead of 10 000 pages.
          assert.ok(model.dirtied(0, 10) < 400, `10 s window predicted ${model.dirtied(0, 10)} pages (hot set ${p.window.at(-1)})`);
        } finally {
          await f.proc.stop();
        }
      });
    });
  }

  test('the soft-dirty loop (clear, wait, read bit 55, clear) runs its intervals; without kernel support it finds nothing', async (t) => {
    if (softDirty) return hostSkip(t, 'this kernel tracks soft-dirty bits: the method is measured by the tests above');
    // Real clears of the fixture's soft-dirty bits; this kernel never sets bit 55, so every count is 0.
    const f = await startFixture(['steady', '4096', '1000']);
    try {
      const s = await sampleDirtyPages(f.proc.pid, { method: 'soft-dirty', seconds: 1, intervalSeconds: 0.25, checkSupport: false });
      assert.equal(s.durations.length, 4);
      assert.equal(s.cost.clears, s.durations.length + 1, 'one clear at the start and one after every scan');
      assert.equal(s.times.length, s.durations.length + 1);
      for (const d of s.durations) assert.ok(d > 0.1 && d < 0.6, `interval ${d} s`);
      assert.deepEqual(s.total, [0, 0, 0, 0]);
      assert.equal(s.cost.bytesRead, 0, 'the soft-dirty method reads no page content');
      assert.ok(s.cost.pagemapBytes >= 5 * 4096 * 8, 'the buffer\'s pagemap is read every scan');
      assert.ok(fixtureRegion(s, f).residentPages >= 4096);
    } finally {
      await f.proc.stop();
    }
  });

  test('the content method keeps to its scan budget by comparing a fixed subset, with a standard error', async () => {
    const f = await startFixture(['steady', '4096', '1000']);
    try {
      const budget = 4 << 20; // a quarter of the 16 MiB buffer
      const s = await sampleDirtyPages(f.proc.pid, { method: 'content', seconds: 2, intervalSeconds: 0.25, maxScanBytes: budget });
      assert.ok(s.sampledFraction < 0.5 && s.sampledFraction > 0.1, `fraction ${s.sampledFraction}`);
      const perScan = s.cost.bytesRead / s.cost.scans;
      assert.ok(perScan <= 1.5 * budget + (1 << 20), `read ${(perScan / 1048576).toFixed(1)} MiB per scan, budget ${budget / 1048576} MiB`);
      // Scaled estimate: within 10 % plus three standard errors of the subset (blocks of 16 pages).
      const e = expectedContent(s, f);
      const measured = sum(fixtureRegion(s, f).dirty);
      const se = Math.sqrt(sum(s.totalError.map((x) => x * x)));
      assert.ok(se > 0, 'a standard error is reported');
      assert.ok(Math.abs(measured - e.mid) <= 0.1 * e.mid + 3 * se, `estimated ${measured.toFixed(0)}, expected ${e.mid}, SE ${se.toFixed(0)}`);
      assert.ok(s.notes.some((n) => /standard error/.test(n)));
    } finally {
      await f.proc.stop();
    }
  });

  test('bad inputs: a vanished pid, EPERM, a kernel without soft-dirty tracking', async (t) => {
    const gone = Number(spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim());
    await assert.rejects(sampleDirtyPages(gone, { method: 'content', seconds: 1, intervalSeconds: 0.5 }), (e: unknown) => isNativeError(e) && e.kind === 'gone' && /does not exist/.test(e.message));
    await assert.rejects(sampleDirtyPages(gone, { method: 'content', seconds: 1, intervalSeconds: 2 }), (e: unknown) => isNativeError(e) && e.kind === 'malformed');
    // A process that exits while it is sampled.
    const dying = await startFixture(['steady', '64', '10']);
    const sampling = sampleDirtyPages(dying.proc.pid, { method: 'content', seconds: 3, intervalSeconds: 0.25 });
    setTimeout(() => void dying.proc.stop(), 600);
    await assert.rejects(sampling, (e: unknown) => isNativeError(e) && e.kind === 'gone' && new RegExp(String(dying.proc.pid)).test(e.message));
    if (!softDirty) {
      const f = await startFixture(['steady', '64', '10']);
      try {
        await assert.rejects(
          sampleDirtyPages(f.proc.pid, { method: 'soft-dirty', seconds: 1, intervalSeconds: 0.5 }),
          (e: unknown) => isNativeError(e) && e.kind === 'unsupported' && /CONFIG_MEM_SOFT_DIRTY/.test(e.message) && /without --clear-soft-dirty/.test(e.hint ?? ''),
        );
      } finally {
        await f.proc.stop();
      }
    }
    if (process.getuid?.() !== 0 || !haveCommand('setpriv')) return hostSkip(t, 'EPERM needs root and setpriv to act as another user');
    const f = await startFixture(['steady', '64', '10']);
    try {
      const script = `
        const { sampleDirtyPages } = require(${JSON.stringify(path.join(REPO_ROOT, 'out/native/src/plan/sampler.js'))});
        const { clearSoftDirty } = require(${JSON.stringify(path.join(REPO_ROOT, 'out/native/src/space/procfs.js'))});
        (async () => {
          const out = {};
          try { await sampleDirtyPages(${f.proc.pid}, { method: 'content', seconds: 1, intervalSeconds: 0.5 }); out.sample = 'ok'; } catch (e) { out.sample = { kind: e.kind, message: e.message, hint: e.hint }; }
          try { clearSoftDirty(${f.proc.pid}); out.clear = 'ok'; } catch (e) { out.clear = { kind: e.kind, message: e.message, hint: e.hint }; }
          console.log(JSON.stringify(out));
        })();`;
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.sample.kind, 'permission', JSON.stringify(out.sample));
      assert.match(out.sample.hint, /ptrace/);
      assert.equal(out.clear.kind, 'permission', JSON.stringify(out.clear));
      assert.match(out.clear.message, /clear_refs/);
    } finally {
      await f.proc.stop();
    }
  });
});
