// `pygration plan` as a user runs it (the built dist/cli.js): a text plan and a --json report with the
// migration estimate on the dirty-page fixture, usage errors, a vanished pid, EPERM, and --clear-soft-dirty
// on a kernel without soft-dirty tracking (refused before anything is written).

import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AnalysisReport } from '../../native/src/report';
import { defaultCatalog } from '../../native/src/catalog/catalog';
import { softDirtySupport } from '../../native/src/space/procfs';
import { buildC, haveCommand, REPO_ROOT, startProcess } from '../helpers/fixtures';
import { hostSkip } from '../helpers/skip';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');

function cli(args: string[], uid?: number): Promise<{ code: number; stdout: string; stderr: string }> {
  const cmd = uid === undefined ? process.execPath : 'setpriv';
  const argv = uid === undefined ? [CLI, ...args] : [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, CLI, ...args];
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: os.tmpdir() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('pygration plan', { timeout: 120_000 }, () => {
  test('help documents plan and its opt-in write', async () => {
    assert.ok(fs.existsSync(CLI), `${CLI} exists (npm test builds it first)`);
    const r = await cli(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /pygration plan --pid N/);
    assert.match(r.stdout, /--clear-soft-dirty/);
    assert.match(r.stdout, /clear_refs/);
  });

  test('text plan of the steady fixture: memory, rate, strategies, recommendation, CRIU commands, per-type downtime', async () => {
    const fx = await startProcess(buildC('c/dirty_pages.c'), ['steady', '4096', '1000']);
    try {
      const r = await cli(['plan', '--pid', String(fx.pid), '--seconds', '1.5', '--interval', '250', '--bandwidth', '1Gbit']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /Measuring read-only/);
      const rate = Number(/Dirty pages: ([\d,]+) pages\/s/.exec(r.stdout)?.[1].replace(/,/g, ''));
      assert.ok(Math.abs(rate - 1000) <= 100, `rate ${rate}`);
      assert.match(r.stdout, /At 1 Gbit\/s \(--bandwidth 1 Gbit\/s\)/);
      for (const s of ['stop-and-copy  downtime', 'pre-copy       rounds', 'post-copy      downtime', 'Recommendation: ', 'CRIU commands', 'criu restore -D', 'Estimated downtime per type']) {
        assert.ok(r.stdout.includes(s), s);
      }
      assert.match(r.stdout, new RegExp(`criu (dump|pre-dump) -t ${fx.pid} `));
      assert.match(r.stdout, new RegExp(`Compatible with \\d+ of ${defaultCatalog().instances.length} instance types`));
    } finally {
      await fx.stop();
    }
  });

  test('--json: the analysis report with its migration estimate, per compatible type', async () => {
    const fx = await startProcess(buildC('c/dirty_pages.c'), ['steady', '4096', '1000']);
    try {
      const r = await cli(['plan', '--pid', String(fx.pid), '--seconds', '1.5', '--interval', '250', '--json', '--quiet']);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as AnalysisReport;
      const m = report.migration!;
      assert.ok(m, 'migration estimate');
      assert.equal(m.pid, fx.pid);
      assert.equal(m.method, 'content');
      assert.ok(Math.abs(m.dirty.pagesPerSecond - 1000) <= 100, `rate ${m.dirty.pagesPerSecond}`);
      // The 16 MiB buffer is anonymous memory to transfer.
      assert.ok(m.memory.transferBytes >= 16 << 20, `transfer ${m.memory.transferBytes}`);
      assert.deepEqual(Object.keys(m.perInstance).sort(), [...report.instances.compatible].sort());
      assert.ok(m.regions.some((x) => x.label.startsWith('anon@') && x.model === 'trend'));
      assert.ok(['stop-and-copy', 'pre-copy', 'post-copy'].includes(m.plan.recommendation));
      assert.ok(m.cost.scans >= 6 && m.cost.bytesRead > 0);
    } finally {
      await fx.stop();
    }
  });

  test('usage errors exit 2', async () => {
    for (const [args, re] of [
      [['plan'], /needs --pid/],
      [['plan', '--pid', '1', '--bandwidth', '10'], /--bandwidth: '10' is not a rate/],
      [['plan', '--pid', '1', '--target', 'm9.huge'], /not in the catalog/],
      [['plan', '--pid', '1', '--seconds', '1', '--interval', '2000'], /must not exceed/],
    ] as const) {
      const r = await cli([...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
  });

  test('a vanished pid exits 1 saying so', async () => {
    const pid = Number(spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim());
    const r = await cli(['plan', '--pid', String(pid), '--seconds', '1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Process \d+ does not exist/);
  });

  test('--clear-soft-dirty on a kernel without soft-dirty tracking is refused before any write is announced', async (t) => {
    if (softDirtySupport().supported) return hostSkip(t, 'this kernel tracks soft-dirty bits');
    const fx = await startProcess(buildC('c/dirty_pages.c'), ['steady', '64', '10']);
    try {
      const r = await cli(['plan', '--pid', String(fx.pid), '--seconds', '1', '--clear-soft-dirty']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /does not track soft-dirty bits/);
      assert.match(r.stderr, /without --clear-soft-dirty/);
      assert.doesNotMatch(r.stderr, /writes "4"/);
    } finally {
      await fx.stop();
    }
  });

  test('EPERM: another user\'s process exits 1 with the ptrace hint', async (t) => {
    if (process.getuid?.() !== 0 || !haveCommand('setpriv')) return hostSkip(t, 'needs root and setpriv to run as another user');
    const fx = await startProcess(buildC('c/dirty_pages.c'), ['steady', '64', '10']);
    try {
      const r = await cli(['plan', '--pid', String(fx.pid), '--seconds', '1', '--no-analysis'], 65534);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /Permission denied/);
      assert.match(r.stderr, /ptrace/);
    } finally {
      await fx.stop();
    }
  });
});
