// The migration planner's arithmetic against hand computations: pre-copy rounds, the best stop-and-copy
// round, downtime and total time; post-copy downtime, total and expected remote faults; the predictor's
// window curve and models; the recommendation and the CRIU command lines it leads to.

import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { estimatePostCopy, simulatePreCopy } from '../../native/src/plan/simulator';
import { forecastRate, predictPages, predictSeries, windowPages } from '../../native/src/plan/predictor';
import { windowCurve } from '../../native/src/plan/sampler';
import { estimateStrategy } from '../../native/src/plan/plan';
import { criuCommands } from '../../native/src/plan/criu';

const P = 4096;
/** 1000 pages per second. */
const B = 1000 * P;

function close(actual: number, expected: number, eps = 1e-9, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= eps * Math.max(1, Math.abs(expected)), `${what} ${actual} ≈ ${expected}`);
}

describe('pre-copy simulator', () => {
  test('a constant dirty rate below the bandwidth converges geometrically', () => {
    // M = 1000 pages at 1000 pages/s, the process dirties 200 pages/s, no state:
    //   round 0: 1000 pages, 1 s      → dirties 200
    //   round 1:  200 pages, 0.2 s    → 40
    //   round 2:   40 pages, 0.04 s   → 8
    //   round 3:    8 pages, 0.008 s  → 1.6, rounded up to 2
    //   round 4:    2 pages, 0.002 s  → 0.4 → 1
    //   round 5:    1 page,  0.001 s  → 0.2 → 1: no fewer than the 1 it sent, so the rounds end.
    // Pages left when stopping after k rounds: 200, 40, 8, 2, 1, 1 → the fewest (1) first after 5 rounds:
    //   downtime = 1 page / 1000 pages/s = 0.001 s, total = 1 + 0.2 + 0.04 + 0.008 + 0.002 + 0.001 = 1.251 s.
    const r = simulatePreCopy({ memoryPages: 1000, pageSize: P, bandwidth: B, stateBytes: 0, dirtied: (_s, t) => 200 * t });
    assert.deepEqual(r.rounds.map((x) => x.pages), [1000, 200, 40, 8, 2, 1]);
    assert.deepEqual(r.rounds.map((x) => x.dirtied), [200, 40, 8, 2, 1, 1]);
    [1, 0.2, 0.04, 0.008, 0.002, 0.001].forEach((s, i) => close(r.rounds[i].seconds, s, 1e-12, `round ${i} seconds`));
    [0, 1, 1.2, 1.24, 1.248, 1.25].forEach((s, i) => close(r.rounds[i].start, s, 1e-12, `round ${i} start`));
    assert.deepEqual(r.stops.map((s) => s.pagesLeft), [1000, 200, 40, 8, 2, 1, 1]);
    assert.equal(r.best.afterRounds, 5);
    assert.equal(r.best.pagesLeft, 1);
    close(r.best.downtimeSeconds, 0.001);
    close(r.best.totalSeconds, 1.251);
    assert.equal(r.end, 'converged');
    assert.equal(r.diverges, false);
    // Stopping at once (k = 0) is the plain stop-and-copy: 1000 pages, 1 s down.
    close(r.stops[0].downtimeSeconds, 1);
    close(r.stops[0].totalSeconds, 1);
  });

  test('state and a fixed stop overhead add to every stop', () => {
    // Same process, 8192 bytes of state (2 pages' worth = 0.002 s) and 0.05 s overhead per stop:
    // after 2 rounds 40 pages are left: downtime = (40·4096 + 8192)/B + 0.05 = 0.042 + 0.05 = 0.092 s,
    // total = 1 + 0.2 + 0.092 = 1.292 s.
    const r = simulatePreCopy({ memoryPages: 1000, pageSize: P, bandwidth: B, stateBytes: 8192, stopOverheadSeconds: 0.05, dirtied: (_s, t) => 200 * t });
    close(r.stops[2].downtimeSeconds, 0.092);
    close(r.stops[2].totalSeconds, 1.292);
    close(r.stops[0].downtimeSeconds, 1.052);
  });

  test('a dirty rate above the bandwidth diverges: the best stop copies everything again', () => {
    // 1500 pages/s against 1000 pages/s: round 0 (1 s) dirties 1500, capped at the 1000 pages there are;
    // round 1 sends 1000 again and leaves 1000: no progress, the rounds end. Best: after 1 round, 1000
    // pages (1 s down), total 2 s — worse than not pre-copying at all, which the flag says.
    const r = simulatePreCopy({ memoryPages: 1000, pageSize: P, bandwidth: B, stateBytes: 0, dirtied: (_s, t) => 1500 * t });
    assert.deepEqual(r.rounds.map((x) => [x.pages, x.dirtied]), [[1000, 1000], [1000, 1000]]);
    assert.equal(r.best.afterRounds, 1);
    assert.equal(r.best.pagesLeft, 1000);
    close(r.best.totalSeconds, 2);
    assert.equal(r.diverges, true);
  });

  test('a saturating hot set converges to it, not to zero', () => {
    // The process rewrites a hot set of 50 pages at 500 pages/s: dirtied(T) = min(50, 500·T).
    //   round 0: 1000 pages, 1 s     → 50
    //   round 1:   50 pages, 0.05 s  → 25
    //   round 2:   25, 0.025 s       → 12.5 → 13
    //   round 3:   13, 0.013 s       → 6.5 → 7
    //   round 4:    7, 0.007 s       → 3.5 → 4
    //   round 5:    4, 0.004 s       → 2
    //   round 6:    2, 0.002 s       → 1
    //   round 7:    1, 0.001 s       → 0.5 → 1: the rounds end; best after 7 rounds with 1 page.
    const r = simulatePreCopy({ memoryPages: 1000, pageSize: P, bandwidth: B, stateBytes: 0, dirtied: (_s, t) => Math.min(50, 500 * t) });
    assert.deepEqual(r.rounds.map((x) => x.dirtied), [50, 25, 13, 7, 4, 2, 1, 1]);
    assert.equal(r.best.afterRounds, 7);
    close(r.best.totalSeconds, 1 + 0.05 + 0.025 + 0.013 + 0.007 + 0.004 + 0.002 + 0.001);
  });

  test('a process that dirties nothing ends clean after one round; the round cap is honoured', () => {
    const clean = simulatePreCopy({ memoryPages: 10, pageSize: P, bandwidth: B, stateBytes: 0, dirtied: () => 0 });
    assert.equal(clean.end, 'clean');
    assert.equal(clean.rounds.length, 1);
    assert.equal(clean.best.pagesLeft, 0);
    // dirtied = 0.9 × pages sent: 1000 → 900 → 810 → 729 ... never stalls within 3 rounds.
    const capped = simulatePreCopy({ memoryPages: 1000, pageSize: P, bandwidth: B, stateBytes: 0, maxRounds: 3, dirtied: (_s, t) => 900 * t });
    assert.deepEqual(capped.rounds.map((x) => x.dirtied), [900, 810, 729]);
    assert.equal(capped.end, 'max-rounds');
    assert.equal(capped.best.afterRounds, 3);
  });

  test('time-varying predictions are asked for the right windows', () => {
    const asked: Array<[number, number]> = [];
    simulatePreCopy({ memoryPages: 100, pageSize: P, bandwidth: B, stateBytes: 0, maxRounds: 3, dirtied: (s, t) => (asked.push([s, t]), 50) });
    // Round 0: [0, 0.1); round 1 sends 50 pages: [0.1, 0.15); it left 50 again, so the rounds end.
    assert.deepEqual(asked.map(([s, t]) => [Number(s.toFixed(6)), Number(t.toFixed(6))]), [[0, 0.1], [0.1, 0.05]]);
  });

  test('bad inputs are refused', () => {
    assert.throws(() => simulatePreCopy({ memoryPages: 10, pageSize: P, bandwidth: 0, stateBytes: 0, dirtied: () => 0 }), RangeError);
    assert.throws(() => estimatePostCopy({ memoryPages: -1, pageSize: P, bandwidth: B, stateBytes: 0, dirtied: () => 0 }), RangeError);
  });
});

describe('post-copy estimate', () => {
  test('downtime is the state, total is everything, faults follow the first writes', () => {
    // M = 1000 pages, 4096 bytes of state at 1000 pages/s: downtime 0.001 s; pages take T = 1 s more.
    // Writes at 200 distinct pages/s: D(t) = 200 t; a page first written at t is still remote with
    // probability 1 - t/T, so faults = ∫₀¹ 200 (1 - t) dt = 100 (half the 200 pages written meanwhile).
    const r = estimatePostCopy({ memoryPages: 1000, pageSize: P, bandwidth: B, stateBytes: 4096, dirtied: (_s, t) => 200 * t });
    close(r.downtimeSeconds, 0.001);
    close(r.totalSeconds, 1.001);
    close(r.pagesSeconds, 1);
    close(r.remoteFaults, 100, 1e-9, 'faults');
    close(r.writtenPages, 200);
  });

  test('a hot set written early faults almost entirely', () => {
    // D(t) = min(50, 500 t): all 50 pages are first written in the first 0.1 s:
    // faults = ∫₀^0.1 500 (1 - t) dt = 500 (0.1 - 0.005) = 47.5.
    const r = estimatePostCopy({ memoryPages: 1000, pageSize: P, bandwidth: B, stateBytes: 0, dirtied: (_s, t) => Math.min(50, 500 * t) });
    close(r.remoteFaults, 47.5, 1e-3, 'faults');
  });
});

describe('predictor', () => {
  test('the distinct-pages curve counts a page once per window, however often it was dirtied', () => {
    // Intervals: {1,2}, {2,3}, {3}, {}.
    //   k=1: sizes 2,2,1,0 → mean 5/4
    //   k=2: {1,2,3}, {2,3}, {3} → 3,2,1 → mean 2
    //   k=3: {1,2,3}, {2,3} → 3,2 → mean 2.5
    //   k=4: {1,2,3} → 3
    assert.deepEqual(windowCurve([[1, 2], [2, 3], [3], []], 4), [5 / 4, 2, 2.5, 3]);
    assert.deepEqual(windowCurve([[1, 2], [2, 3], [3], []], 2), [5 / 4, 2]);
  });

  test('a steady region follows its trend and its window curve; the trend is held after one sampled span', () => {
    // Four 0.5 s intervals with 100, 110, 120, 130 pages: rates 200, 220, 240, 260 pages/s at interval
    // midpoints 0.25, 0.75, 1.25, 1.75 s → slope 40 pages/s², intercept 190; mean rate 920 / 2 = 230.
    const p = predictSeries('r', 'r', 1 << 30, { dirty: [100, 110, 120, 130], durations: [0.5, 0.5, 0.5, 0.5], window: [115, 200, 260, 300], capPages: 1 << 18 });
    assert.equal(p.model, 'trend');
    close(p.slope, 40);
    close(p.intercept, 190);
    close(p.meanRate, 230);
    // Forecast right after sampling (t = 2 s): 190 + 40·2 = 270; 1 s later 310; after 5 s held at t = 4: 350.
    close(forecastRate(p, 0), 270);
    close(forecastRate(p, 1), 310);
    close(forecastRate(p, 5), 350);
    // Window curve: 0.25 s → 115/2; 0.75 s → 115 + (200 - 115)/2; 2 s → 300; 3 s → 300 + 40·2 (last slope per interval).
    close(windowPages(p, 0.25), 57.5);
    close(windowPages(p, 0.75), 157.5);
    close(windowPages(p, 2), 300);
    close(windowPages(p, 3), 380);
    // A 1 s window starting now: the curve (200) scaled by the rate at its middle (290) over the mean (230).
    close(predictPages(p, 0, 1), (200 * 290) / 230);
  });

  test('a bursty region is predicted by its recent level plus one deviation; an idle one is zero', () => {
    const p = predictSeries('b', 'b', 1 << 20, { dirty: [500, 0, 0, 500, 0, 0, 500, 0], durations: Array(8).fill(0.25), window: [187.5], capPages: 256 });
    assert.equal(p.model, 'ewma');
    assert.ok(p.variation > 1, `variation ${p.variation}`);
    // The EWMA over the rates 2000, 0, 0, 2000, 0, 0, 2000, 0 with α = 1 - 2^(-1/2), computed step by step.
    const a = 1 - Math.SQRT1_2;
    let level = 2000;
    let v = 0;
    for (const x of [0, 0, 2000, 0, 0, 2000, 0]) {
      const d = x - level;
      level += a * d;
      v = (1 - a) * (v + a * d * d);
    }
    close(forecastRate(p, 0), level + Math.sqrt(v));
    // Capped at the region's 256 pages however long the window.
    assert.equal(predictPages(p, 0, 100), 256);
    const idle = predictSeries('i', 'i', 4096, { dirty: [0, 0, 0], durations: [1, 1, 1], window: [0, 0, 0], capPages: 1 });
    assert.equal(idle.model, 'idle');
    assert.equal(predictPages(idle, 0, 10), 0);
  });
});

describe('recommendation and CRIU commands', () => {
  const base = { memoryPages: 1000, pageSize: P, stateBytes: 0, stopOverhead: 0, trackMemAvailable: true };
  const bits = B * 8;

  test('stop-and-copy when everything fits the target, pre-copy when its rounds do, else post-copy', () => {
    const slow = { dirtied: (_s: number, t: number) => 200 * t };
    assert.equal(estimateStrategy({ ...base, model: slow, downtimeTarget: 1.5 }, bits).recommendation, 'stop-and-copy');
    const pre = estimateStrategy({ ...base, model: slow, downtimeTarget: 0.3 }, bits);
    assert.equal(pre.recommendation, 'pre-copy');
    assert.equal(pre.preCopy.bestRounds, 5);
    // Without soft-dirty tracking CRIU cannot pre-dump: post-copy, and the reason says so.
    const noTrack = estimateStrategy({ ...base, model: slow, downtimeTarget: 0.3, trackMemAvailable: false }, bits);
    assert.equal(noTrack.recommendation, 'post-copy');
    assert.match(noTrack.why, /soft-dirty/);
    const fast = estimateStrategy({ ...base, model: { dirtied: (_s: number, t: number) => 1500 * t }, downtimeTarget: 0.3 }, bits);
    assert.equal(fast.recommendation, 'post-copy');
    assert.match(fast.why, /as fast as it can be sent/);
  });

  test('pre-copy commands: k pre-dumps with --track-mem chained by --prev-images-dir, the final dump, the restore flags', () => {
    const steps = criuCommands({ pid: 42, strategy: 'pre-copy', preCopyRounds: 3, restoreFlags: ['--cpu-cap=none'], imagesDir: '/img' });
    const src = steps.filter((s) => s.host === 'source').map((s) => s.command);
    assert.deepEqual(src.filter((c) => c.includes('criu pre-dump')).length, 3);
    assert.match(src.find((c) => c.includes('-D /img/1'))!, /criu pre-dump -t 42 -D \/img\/1 --track-mem --page-server --address \$DST --port 27000/);
    assert.match(src.find((c) => c.includes('-D /img/3'))!, /--prev-images-dir \.\.\/2 --track-mem/);
    assert.match(src.find((c) => c.includes('criu dump'))!, /criu dump -t 42 -D \/img\/4 --prev-images-dir \.\.\/3 --track-mem/);
    assert.equal(steps.filter((s) => s.command.includes('criu page-server')).length, 4, 'one page server per dump');
    assert.equal(steps.at(-1)!.command, 'criu restore -D /img/4 --cpu-cap=none');
  });

  test('post-copy commands use lazy pages on both sides; a terminal adds --shell-job', () => {
    const steps = criuCommands({ pid: 7, strategy: 'post-copy', shellJob: true, imagesDir: '/img' });
    const all = steps.map((s) => s.command).join('\n');
    assert.match(all, /criu dump -t 7 -D \/img\/1 --shell-job --lazy-pages --address 0\.0\.0\.0 --port 27000/);
    assert.match(all, /criu lazy-pages --page-server --address \$SRC --port 27000 -D \/img\/1 &/);
    assert.match(all, /criu restore -D \/img\/1 --shell-job --lazy-pages$/m);
    assert.doesNotMatch(all, /--track-mem|cpu-cap/);
  });
});
