// The language server's static analysis leaves out a Python file above the call-site analysis's size limit
// (a generated 5 MB file took minutes and gigabytes), with a log line naming it, and analyses the others:
// over the real server (dist/server.js --stdio) and a workspace with a small and a 600 KB file.

import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  InitializedNotification,
  InitializeRequest,
  type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { StateNotification, type PygrationState } from '../../server/src/protocol';
import { DEBIAN_PYTHON, REPO_ROOT } from '../helpers/fixtures';
import { spawnLanguageServer } from '../helpers/languageServer';


let ws: string;
let server: ChildProcess;
let conn: ProtocolConnection;
const logs: string[] = [];
const states: PygrationState[] = [];

before(async () => {
  ws = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-large-'));
  fs.writeFileSync(path.join(ws, 'small.py'), 'import math\nprint(math.sqrt(2))\n');
  const line = 'x = abs(-1) + len("abc")\n';
  fs.writeFileSync(path.join(ws, 'generated.py'), line.repeat(Math.ceil((600 * 1024) / line.length)));
  ({ server, conn } = spawnLanguageServer({ env: { ...process.env, PYGRATION_CACHE_DIR: '' } }));
  conn.onNotification('window/logMessage', (p: { message: string }) => {
    logs.push(p.message);
  });
  conn.onNotification(StateNotification, (s: PygrationState) => {
    states.push(s);
  });
  conn.listen();
  await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: `file://${ws}`,
    workspaceFolders: [{ uri: `file://${ws}`, name: 'ws' }],
    capabilities: {},
    initializationOptions: { settings: {}, interpreter: DEBIAN_PYTHON },
  });
  await conn.sendNotification(InitializedNotification.type, {});
});

after(() => {
  conn?.dispose();
  server?.kill('SIGKILL');
  if (ws) fs.rmSync(ws, { recursive: true, force: true });
});

test('a 600 KB Python file is left out of the static analysis with a log line; the small one is analysed', async () => {
  const until = Date.now() + 120_000;
  while (!states.some((s) => s.static !== undefined && s.busy === undefined)) {
    if (Date.now() > until) assert.fail(`no static summary within 120 s; logs: ${logs.slice(-5).join(' | ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(
    logs.some((m) => m.includes('generated.py') && /above the 512 KiB limit/.test(m)),
    `a log line names the left-out file: ${logs.filter((m) => m.includes('generated')).join(' | ') || '(none)'}`,
  );
  const s = states.filter((x) => x.static !== undefined).at(-1)!;
  assert.equal(s.static!.files, 1, `only small.py was analysed: ${JSON.stringify(s.static)}`);
});
