// Tests of "Plan Migration of Running Process…" without VS Code (client/src/logic/planMigration.ts and the
// plan settings), and of the planner step the CLI and the server share (native/src/plan/attach.ts) on a
// synthetic steady sampling with the engine-generated fixture report: per-type estimates for exactly its
// compatible types, the report's fingerprint changing with the plan, the request's parameters from the
// settings, the pinned processes of the quick pick, the result line and the error messages.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Ids } from '../../client/src/logic/ids';
import { analysisErrorMessage } from '../../client/src/logic/messages';
import { PAUSED_WARNING, planParams, planResultText, preferredProcesses } from '../../client/src/logic/planMigration';
import { reportFingerprint } from '../../client/src/logic/report';
import { DEFAULT_CLIENT_SETTINGS, readSettings } from '../../client/src/logic/settings';
import { defaultCatalog } from '../../native/src/catalog/catalog';
import { PLAN_DEFAULTS, attachMigrationPlan } from '../../native/src/plan/attach';
import type { DirtySampling } from '../../native/src/plan/sampler';
import type { AnalysisReport } from '../../native/src/report';
import { planRunOptions } from '../../server/src/planMigration';
import { isAnalysisReport } from '../../webview/src/messages';
import { FIXTURE_SRC } from '../helpers/fixtures';

const report = JSON.parse(fs.readFileSync(path.join(FIXTURE_SRC, 'report', 'numpy-matmul.live.json'), 'utf8')) as AnalysisReport;
const MiB = 1048576;

/** 2 s sampled every 0.5 s: one 64 MiB region written at a steady 1000 pages/s (500 distinct pages per interval). */
function steadySampling(pid: number): DirtySampling {
  const per = 500;
  const memory = { rss: 80 * MiB, anonymous: 64 * MiB, swap: 0, pssShmem: 0, anonHugePages: 0 };
  return {
    pid,
    method: 'content',
    pageSize: 4096,
    intervalSeconds: 0.5,
    times: [0, 0.5, 1, 1.5, 2],
    durations: [0.5, 0.5, 0.5, 0.5],
    total: [per, per, per, per],
    totalError: [0, 0, 0, 0],
    window: [per, 2 * per, 3 * per, 4 * per],
    distinct: 4 * per,
    regions: [{ key: 'anon@1', label: 'anon@0x7f0000000000', kind: 'anon', sizeBytes: 64 * MiB, residentPages: 16384, dirty: [per, per, per, per], window: [per, 2 * per, 3 * per, 4 * per], distinct: 4 * per }],
    sampledFraction: 1,
    memory: { start: memory, end: memory },
    threads: 1,
    openFiles: 4,
    mappings: 60,
    cost: { scans: 5, scanSeconds: [0.01, 0.01, 0.01, 0.01, 0.01], cpuSeconds: 0.05, bytesRead: 5 * 64 * MiB, pagemapBytes: 5 * 131072, clears: 0 },
    notes: [],
  };
}

test('attachMigrationPlan: per-type estimates for exactly the compatible types, attached to the report', () => {
  const r = structuredClone(report);
  delete r.migration;
  const { estimate } = attachMigrationPlan(steadySampling(r.target.pid ?? 1), r, { catalog: defaultCatalog(), downtimeTarget: 0.3, notes: ['extra note'] });
  assert.equal(r.migration, estimate);
  assert.deepEqual(Object.keys(estimate.perInstance).sort(), [...r.instances.compatible].sort());
  assert.ok(Math.abs(estimate.dirty.pagesPerSecond - 1000) < 1e-9);
  assert.equal(estimate.memory.transferBytes, 64 * MiB);
  assert.equal(estimate.notes.at(-1), 'extra note');
  assert.ok(isAnalysisReport(r), 'the view accepts the planned report');
  // The view takes it as a new report, not as the analysis it already shows.
  assert.notEqual(reportFingerprint(r), reportFingerprint(report));
  // Without a report: every catalog type.
  const alone = attachMigrationPlan(steadySampling(7), undefined, { catalog: defaultCatalog() });
  assert.equal(Object.keys(alone.estimate.perInstance).length, defaultCatalog().instances.length);
  assert.equal(alone.advice, undefined);
});

test('plan settings: defaults, values, clamping, and a bandwidth that is not a rate', () => {
  assert.deepEqual(readSettings(() => undefined).client.plan, { seconds: PLAN_DEFAULTS.seconds, bandwidth: '', maxDowntimeMs: PLAN_DEFAULTS.maxDowntimeMs });
  const ok = readSettings((k) => ({ [Ids.setting.planSeconds]: 2.5, [Ids.setting.planBandwidth]: ' 10Gbit ', [Ids.setting.planMaxDowntimeMs]: 50 })[k]);
  assert.deepEqual(ok.client.plan, { seconds: 2.5, bandwidth: '10Gbit', maxDowntimeMs: 50 });
  assert.deepEqual(ok.problems, []);
  const bad = readSettings((k) => ({ [Ids.setting.planSeconds]: 5000, [Ids.setting.planBandwidth]: '10', [Ids.setting.planMaxDowntimeMs]: 'fast' })[k]);
  assert.equal(bad.client.plan.seconds, 600);
  assert.equal(bad.client.plan.bandwidth, '');
  assert.equal(bad.client.plan.maxDowntimeMs, DEFAULT_CLIENT_SETTINGS.plan.maxDowntimeMs);
  assert.equal(bad.problems.length, 3);
  assert.ok(bad.problems.some((p) => p.startsWith(Ids.setting.planBandwidth) && /not a rate/.test(p)), bad.problems.join('\n'));
});

test('planParams: the settings become the request, read-only, and the server accepts them', () => {
  const p = planParams(4242, { seconds: 3, bandwidth: '', maxDowntimeMs: 300 }, { label: 'python3 train.py', sessionId: 's1' });
  assert.deepEqual(p, { pid: 4242, seconds: 3, maxDowntimeMs: 300, label: 'python3 train.py', sessionId: 's1' });
  assert.ok(!('clearSoftDirty' in p) && !('method' in p), 'no way to ask for the soft-dirty write');
  const withBandwidth = planParams(1, { seconds: 5, bandwidth: '500Mbit', maxDowntimeMs: 100 });
  assert.equal(withBandwidth.bandwidth, '500Mbit');
  const checked = planRunOptions(withBandwidth, defaultCatalog());
  assert.ok(checked.ok);
  assert.deepEqual(checked.options, { seconds: 5, intervalSeconds: 0.5, maxScanBytes: 64 * MiB, bandwidth: 5e8, downtimeTarget: 0.1, target: undefined });
  // Short samplings get ten intervals; what the server refuses, it names.
  const short = planRunOptions({ pid: 1, seconds: 1 }, defaultCatalog());
  assert.ok(short.ok && short.options.intervalSeconds === 0.1);
  for (const bad of [{ seconds: 0 }, { seconds: 601 }, { seconds: 1, intervalMs: 5 }, { bandwidth: 'fast' }, { maxDowntimeMs: -1 }, { target: 'x9.huge' }]) {
    const r = planRunOptions({ pid: 1, ...bad }, defaultCatalog());
    assert.equal(r.ok, false, JSON.stringify(bad));
  }
});

test('preferredProcesses: the debuggee first, then the analysed process when it is another one', () => {
  assert.deepEqual(preferredProcesses(undefined, undefined), []);
  const both = preferredProcesses({ sessionId: 's1', name: 'Python: train', pid: 10, paused: true }, { pid: 20, label: 'python3 serve.py' });
  assert.deepEqual(both.map((p) => [p.pid, p.source, p.paused]), [[10, 'debug', true], [20, 'live', false]]);
  assert.match(both[0].label, /Python: train/);
  assert.match(both[0].detail, /paused/);
  assert.equal(both[0].sessionId, 's1');
  const same = preferredProcesses({ sessionId: 's1', name: 'Python: train', pid: 10, paused: false }, { pid: 10, label: 'x', sessionId: 's1' });
  assert.equal(same.length, 1, 'the debuggee whose stop made the live report is listed once');
  assert.match(same[0].detail, /running/);
  assert.match(PAUSED_WARNING, /paused/);
});

test('planResultText and plan error messages', () => {
  const r = structuredClone(report);
  const { estimate } = attachMigrationPlan(steadySampling(4242), r, { catalog: defaultCatalog(), bandwidth: 1e9 });
  const text = planResultText(4242, estimate, r.instances.compatible.length);
  assert.match(text, /^Process 4242: (stop-and-copy|pre-copy|post-copy)/);
  assert.match(text, /at 1 Gbit\/s/);
  assert.match(text, /1,000 pages\/s/);
  assert.match(text, new RegExp(`of ${r.instances.compatible.length} compatible instance types`));
  const gone = analysisErrorMessage({ kind: 'gone', message: 'Process 9 exited while it was being sampled.' }, 9, null, 'plan')!;
  assert.match(gone.text, /exited while its memory writes were being sampled/);
  assert.match(analysisErrorMessage({ kind: 'gone', message: 'Process 9 does not exist.' }, 9, null, 'plan')!.text, /nothing left to migrate/);
  const malformed = analysisErrorMessage({ kind: 'malformed', message: "The bandwidth \"10\" is not a rate." }, 9, null, 'plan')!;
  assert.deepEqual(malformed.actions, ['Open Settings']);
  assert.match(analysisErrorMessage({ kind: 'internal', message: 'boom' }, 9, null, 'plan')!.text, /^Planning the migration of process 9 failed: boom/);
  assert.equal(analysisErrorMessage({ kind: 'cancelled', message: '' }, 9, null, 'plan'), undefined);
  // The analysis's own messages are unchanged.
  assert.match(analysisErrorMessage({ kind: 'internal', message: 'boom' }, 9, null)!.text, /^The analysis of process 9 failed/);
});
