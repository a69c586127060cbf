// The language server's PlanMigration request over its real protocol: the bundled server (dist/server.js) on
// stdio samples a real Python workload that rewrites one byte per page of a 16 MiB buffer at 1000 pages/s,
// and attaches the migration plan to the pid's live report (reusing AnalyzeProcess's report, or analysing
// first), with work-done progress on the client's token, a state notification carrying it, and a report the
// instance view accepts; errors: a vanished pid, a non-Python process, bad parameters, cancellation, EPERM.

import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CancellationTokenSource,
  InitializeRequest,
  InitializedNotification,
  type ProtocolConnection,
  WorkDoneProgress,
} from 'vscode-languageserver-protocol/node';
import { AnalyzeProcessRequest, PlanMigrationRequest, StateNotification, type PygrationState } from '../../server/src/protocol';
import { reportFingerprint } from '../../client/src/logic/report';
import { isAnalysisReport } from '../../webview/src/messages';
import { downtimeCell } from '../../webview/src/migration';
import { DEBIAN_PYTHON, REPO_ROOT, debianPythonHas, haveCommand, startProcess, startSleeper, type StartedProcess } from '../helpers/fixtures';
import { spawnLanguageServer } from '../helpers/languageServer';
import { hostSkip, skipUnless } from '../helpers/skip';

const RATE = 1000;
/** Rewrites one byte per page (a new value each time, so the content changes) at RATE pages/s on a schedule. */
const WORKLOAD = `
import sys, time
rate = int(sys.argv[1])
buf = bytearray(16 << 20)
pages = len(buf) // 4096
for p in range(pages):
    buf[p * 4096] = 1
print("READY", flush=True)
i = 0
t0 = time.monotonic()
while True:
    due = int((time.monotonic() - t0) * rate)
    while i < due:
        o = (i % pages) * 4096
        buf[o] = (buf[o] + 1) & 255 or 1
        i += 1
    time.sleep(0.004)
`;

interface Server {
  proc: ChildProcess;
  conn: ProtocolConnection;
  states: PygrationState[];
  progress: Map<string, Array<{ kind: string; message?: string }>>;
  stderr: () => string;
  stop(): void;
}

async function startServer(ws: string, asUser?: string[]): Promise<Server> {
  const { server: proc, conn, stderr: stderrOf } = spawnLanguageServer({ prefix: asUser ? ['setpriv', ...asUser] : undefined });
  const states: PygrationState[] = [];
  const progress = new Map<string, Array<{ kind: string; message?: string }>>();
  conn.onNotification(StateNotification, (s: PygrationState) => void states.push(s));
  conn.listen();
  await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: `file://${ws}`,
    workspaceFolders: [{ uri: `file://${ws}`, name: 'ws' }],
    capabilities: { window: { workDoneProgress: true } },
    initializationOptions: { settings: {}, interpreter: DEBIAN_PYTHON },
  });
  await conn.sendNotification(InitializedNotification.type, {});
  return {
    proc,
    conn,
    states,
    progress,
    stderr: stderrOf,
    stop() {
      conn.dispose();
      proc.kill('SIGKILL');
    },
  };
}

/** Sends a request with a work-done token and records the progress the server reports on it. */
function withProgress(s: Server, token: string): Array<{ kind: string; message?: string }> {
  const list: Array<{ kind: string; message?: string }> = [];
  s.progress.set(token, list);
  s.conn.onProgress(WorkDoneProgress.type, token, (v) => {
    list.push({ kind: v.kind, message: 'message' in v ? v.message : undefined });
  });
  return list;
}

describe('PlanMigration over LSP', { skip: skipUnless(debianPythonHas(), 'no python3'), timeout: 300_000 }, () => {
  let ws: string;
  let server: Server;
  let workload: StartedProcess;

  before(async () => {
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-plan-lsp-'));
    fs.writeFileSync(path.join(ws, 'workload.py'), WORKLOAD);
    server = await startServer(ws);
    workload = await startProcess(DEBIAN_PYTHON, [path.join(ws, 'workload.py'), String(RATE)], { env: { ...process.env, LD_BIND_NOW: '1' } });
  });

  after(async () => {
    await workload?.stop();
    server?.stop();
    if (ws) fs.rmSync(ws, { recursive: true, force: true });
  });

  test('attaches the plan to the live report AnalyzeProcess made, with per-type downtimes for exactly its compatible types', async () => {
    const analysis = await server.conn.sendRequest(AnalyzeProcessRequest, { pid: workload.pid, reason: 'command', label: 'workload' });
    assert.equal(analysis.ok, true, JSON.stringify(analysis.error));
    const progress = withProgress(server, 'plan-1');
    const t0 = Date.now();
    const r = await server.conn.sendRequest(PlanMigrationRequest, { pid: workload.pid, seconds: 2, intervalMs: 250, workDoneToken: 'plan-1' });
    assert.equal(r.ok, true, `${JSON.stringify(r.error)} ${server.stderr()}`);
    assert.ok(Date.now() - t0 >= 1900, 'it sampled for the seconds asked');
    assert.equal(r.analyzed, false, 'the live report of the pid is reused');
    const report = r.report!;
    // The same analysis (not a new one), with the plan added.
    assert.equal(reportFingerprint({ ...report, migration: undefined }), reportFingerprint(analysis.report!));
    assert.notEqual(reportFingerprint(report), reportFingerprint(analysis.report!), 'the view takes the planned report as a new one');
    assert.equal(analysis.report!.migration, undefined);
    const m = report.migration!;
    assert.ok(m, 'report.migration');
    assert.equal(m.pid, workload.pid);
    assert.equal(m.method, 'content', 'read-only: the extension never clears soft-dirty bits');
    assert.ok(m.sampledSeconds >= 1.5 && m.sampledSeconds <= 3, String(m.sampledSeconds));
    assert.equal(m.intervalSeconds, 0.25);
    assert.equal(m.downtimeTargetSeconds, 0.3);
    // The workload's schedule, plus what the interpreter itself writes: within a generous band on a loaded machine.
    assert.ok(m.dirty.pagesPerSecond > RATE * 0.6 && m.dirty.pagesPerSecond < RATE * 3, `measured ${m.dirty.pagesPerSecond} pages/s for ${RATE}`);
    assert.ok(m.memory.transferBytes >= 16 << 20, 'the 16 MiB buffer is to be transferred');
    // Per instance type: exactly the types the analysis found compatible, each with a downtime when its bandwidth is known.
    const compatible = [...report.instances.compatible].sort();
    assert.ok(compatible.length > 0);
    assert.deepEqual(Object.keys(m.perInstance).sort(), compatible);
    for (const [name, e] of Object.entries(m.perInstance)) {
      if (e.bandwidthBitsPerSecond === null) continue;
      assert.ok(e.downtimeSeconds !== undefined && e.downtimeSeconds >= 0, name);
      assert.ok(e.strategy, name);
    }
    assert.ok(Object.values(m.perInstance).some((e) => e.downtimeSeconds !== undefined), 'some type has an estimate');
    // The instance view accepts it and fills the downtime column for compatible types only.
    assert.ok(isAnalysisReport(report), 'the webview protocol check accepts the report');
    for (const v of report.instances.verdicts) {
      const cell = downtimeCell(m.perInstance[v.name], v.compatible);
      if (!v.compatible) assert.equal(cell.text, '—', v.name);
      else if (m.perInstance[v.name].downtimeSeconds !== undefined) assert.match(cell.text, /\d/, v.name);
    }
    // Progress on the client's token: begin, the sampler's steps, end.
    assert.equal(progress[0]?.kind, 'begin');
    assert.ok(progress.some((p) => /Sampling/.test(p.message ?? '')), JSON.stringify(progress));
    assert.equal(progress.at(-1)?.kind, 'end');
    // The live state carries the plan (the client and the view follow it), and is idle again.
    const deadline = Date.now() + 10_000;
    while (!(server.states.at(-1)?.live?.report.migration && server.states.at(-1)?.busy === undefined) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    const last = server.states.at(-1)!;
    assert.equal(last.live!.pid, workload.pid);
    assert.equal(last.live!.label, 'workload');
    assert.deepEqual(Object.keys(last.live!.report.migration!.perInstance).sort(), compatible);
  });

  test('options reach the planner: bandwidth and downtime target', async () => {
    const r = await server.conn.sendRequest(PlanMigrationRequest, { pid: workload.pid, seconds: 1, intervalMs: 250, bandwidth: '1Gbit', maxDowntimeMs: 50 });
    assert.equal(r.ok, true, JSON.stringify(r.error));
    const m = r.report!.migration!;
    assert.equal(m.plan.bandwidthBitsPerSecond, 1e9);
    assert.equal(m.downtimeTargetSeconds, 0.05);
    for (const e of Object.values(m.perInstance)) if (e.bandwidthBitsPerSecond !== null) assert.ok(e.bandwidthBitsPerSecond <= 1e9);
  });

  test('without a live report for the pid it analyses the process first', async () => {
    const other = await startProcess(DEBIAN_PYTHON, ['-c', 'import time; print("READY", flush=True); time.sleep(600)']);
    try {
      const r = await server.conn.sendRequest(PlanMigrationRequest, { pid: other.pid, seconds: 1, intervalMs: 500, label: 'sleeper' });
      assert.equal(r.ok, true, JSON.stringify(r.error));
      assert.equal(r.analyzed, true);
      assert.equal(r.report!.target.pid, other.pid);
      assert.deepEqual(Object.keys(r.report!.migration!.perInstance).sort(), [...r.report!.instances.compatible].sort());
      assert.ok(r.report!.migration!.dirty.pagesPerSecond < RATE / 2, 'a sleeping interpreter dirties little');
    } finally {
      await other.stop();
    }
  });

  test('a vanished pid, a non-Python process and bad parameters give clear errors', async () => {
    const gone = Number(spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim());
    const r1 = await server.conn.sendRequest(PlanMigrationRequest, { pid: gone, seconds: 1 });
    assert.equal(r1.ok, false);
    assert.equal(r1.error!.kind, 'gone', JSON.stringify(r1.error));
    assert.match(r1.error!.message, new RegExp(String(gone)));
    const sh = await startSleeper();
    try {
      const r2 = await server.conn.sendRequest(PlanMigrationRequest, { pid: sh.pid, seconds: 1 });
      assert.equal(r2.error?.kind, 'not-python', JSON.stringify(r2.error));
      assert.match(r2.error!.message, /not a Python interpreter/);
    } finally {
      await sh.stop();
    }
    const r3 = await server.conn.sendRequest(PlanMigrationRequest, { pid: workload.pid, bandwidth: '10' });
    assert.equal(r3.error?.kind, 'malformed');
    assert.match(r3.error!.message, /bandwidth/);
    const r4 = await server.conn.sendRequest(PlanMigrationRequest, { pid: workload.pid, seconds: 1, intervalMs: 2000 });
    assert.equal(r4.error?.kind, 'malformed');
    const r5 = await server.conn.sendRequest(PlanMigrationRequest, { pid: workload.pid, seconds: 1, target: 'no.such-type' });
    assert.match(r5.error!.message, /not in the catalog/);
  });

  test('cancelling the request stops the sampling', async () => {
    const analysed = await server.conn.sendRequest(AnalyzeProcessRequest, { pid: workload.pid, reason: 'debug-stop' });
    assert.equal(analysed.ok, true, JSON.stringify(analysed.error));
    const cts = new CancellationTokenSource();
    const progress = withProgress(server, 'plan-cancel');
    const t0 = Date.now();
    const pending = server.conn.sendRequest(PlanMigrationRequest, { pid: workload.pid, seconds: 30, intervalMs: 250, workDoneToken: 'plan-cancel' }, cts.token).then(
      (r) => r,
      (e: unknown) => ({ ok: false, analyzed: undefined, error: { kind: 'cancelled', message: String(e) } }),
    );
    // Cancel once the sampler reported an interval: the cancellation reaches the sampling loop.
    const poll = setInterval(() => {
      if (progress.some((p) => /intervals/.test(p.message ?? ''))) {
        clearInterval(poll);
        cts.cancel();
      }
    }, 20);
    const r = await pending;
    clearInterval(poll);
    assert.equal(r.ok, false);
    assert.equal(r.analyzed, false, 'it was sampling, not analysing');
    assert.equal(r.error!.kind, 'cancelled');
    assert.ok(Date.now() - t0 < 15_000, 'stopped long before the 30 s');
    assert.equal(progress.at(-1)?.kind, 'end');
    // The server is idle again and still answers.
    const again = await server.conn.sendRequest(PlanMigrationRequest, { pid: workload.pid, seconds: 0.5, intervalMs: 250 });
    assert.equal(again.ok, true, JSON.stringify(again.error));
    assert.equal(again.analyzed, false);
  });

  test('a process that exits while it is sampled is reported gone', async () => {
    const dying = await startProcess(DEBIAN_PYTHON, [path.join(ws, 'workload.py'), '100']);
    const analysed = await server.conn.sendRequest(AnalyzeProcessRequest, { pid: dying.pid, reason: 'debug-stop' });
    assert.equal(analysed.ok, true, JSON.stringify(analysed.error));
    const pending = server.conn.sendRequest(PlanMigrationRequest, { pid: dying.pid, seconds: 4, intervalMs: 250 });
    setTimeout(() => void dying.stop(), 800);
    const r = await pending;
    assert.equal(r.ok, false);
    assert.equal(r.error!.kind, 'gone', JSON.stringify(r.error));
  });

  test('EPERM: a server of another user cannot read the process, and says why', async (t) => {
    if (process.getuid?.() !== 0 || !haveCommand('setpriv')) return hostSkip(t, 'EPERM needs root and setpriv to act as another user');
    const nobody = await startServer(ws, ['--reuid=65534', '--regid=65534', '--clear-groups']);
    try {
      const r = await nobody.conn.sendRequest(PlanMigrationRequest, { pid: workload.pid, seconds: 1 });
      assert.equal(r.ok, false);
      assert.equal(r.error!.kind, 'permission', `${JSON.stringify(r.error)} ${nobody.stderr()}`);
      assert.match(`${r.error!.message} ${r.error!.hint ?? ''}`, /ptrace|[Pp]ermission/);
    } finally {
      nobody.stop();
    }
  });
});
