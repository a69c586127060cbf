// $/cancelRequest during a live analysis, over the real server (dist/server.js --stdio) and a real python3:
// the walk runs in slices that let the server read its input, so a cancel sent as the walk starts stops it
// there. Before, the walk ran to its end before the cancel was even read.

import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import {
  CancellationTokenSource,
  InitializedNotification,
  InitializeRequest,
  type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { AnalyzeProcessRequest, type AnalyzeProcessResult } from '../../server/src/protocol';
import { DEBIAN_PYTHON, REPO_ROOT, startProcess, type StartedProcess } from '../helpers/fixtures';
import { spawnLanguageServer } from '../helpers/languageServer';


let server: ChildProcess;
let conn: ProtocolConnection;
let target: StartedProcess;
let stderr: () => string = () => '';
/** Function counts of the walk's progress reports, by work-done token. */
const walked = new Map<string, number[]>();

before(async () => {
  // No disk cache of function summaries: the walk does its full work in this test.
  ({ server, conn, stderr } = spawnLanguageServer({ env: { ...process.env, PYGRATION_CACHE_DIR: '' } }));
  conn.onNotification('$/progress', (p: { token: string; value: { message?: string } }) => {
    const m = /Execution path tracking: (\d+) functions/.exec(p.value.message ?? '');
    if (m) {
      const list = walked.get(p.token) ?? [];
      list.push(Number(m[1]));
      walked.set(p.token, list);
    }
  });
  conn.listen();
  await conn.sendRequest(InitializeRequest.type, { processId: process.pid, rootUri: null, capabilities: { window: { workDoneProgress: true } } });
  await conn.sendNotification(InitializedNotification.type, {});
  target = await startProcess(DEBIAN_PYTHON, ['-c', 'import time; print("READY", flush=True); time.sleep(600)']);
});

after(async () => {
  conn?.dispose();
  server?.kill('SIGKILL');
  await target?.stop();
});

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}; stderr: ${stderr().slice(-500)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a cancel sent as the walk starts stops it there, not at its end', async () => {
  const source = new CancellationTokenSource();
  const pending = conn.sendRequest(AnalyzeProcessRequest, { pid: target.pid, reason: 'debug-stop', workDoneToken: 'cancelled-run' }, source.token);
  // The first progress report of the walk comes after about 100 ms of it.
  await waitFor(() => (walked.get('cancelled-run')?.length ?? 0) > 0, 120_000, 'the walk to start');
  source.cancel();
  const cancelled = (await pending) as AnalyzeProcessResult;
  assert.equal(cancelled.ok, false, 'the cancelled analysis gives no report');
  assert.equal((cancelled as { error?: { kind?: string } }).error?.kind, 'cancelled', JSON.stringify(cancelled));
  const reachedBeforeStop = Math.max(...walked.get('cancelled-run')!);

  // The same analysis, not cancelled, for the size of the whole walk.
  const full = (await conn.sendRequest(AnalyzeProcessRequest, { pid: target.pid, reason: 'debug-stop', workDoneToken: 'full-run' })) as AnalyzeProcessResult;
  assert.ok(full.ok, JSON.stringify(full));
  const total = full.report?.stats.functionsVisited ?? 0;
  assert.ok(total > 2000, `a python3 walk visits thousands of functions (${total})`);
  assert.ok(
    reachedBeforeStop < total / 2,
    `the cancelled walk reported ${reachedBeforeStop} of ${total} functions before it stopped: the cancel was read only at the end of the walk`,
  );
});
