// The bundled language server (dist/server.js) over its real protocol: a JSON-RPC client on stdio opens a
// fixture workspace that calls a real C-API extension (built by the test, each function using one
// instruction-set extension), then checks code lenses, hovers, syntax-error diagnostics, the process list
// and a live analysis of a running python3 that imports the same extension (lenses switch to live).

import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  type CodeLens,
  createProtocolConnection,
  type Hover,
  InitializeRequest,
  InitializedNotification,
  type ProtocolConnection,
  PublishDiagnosticsNotification,
  type PublishDiagnosticsParams,
  StreamMessageReader,
  StreamMessageWriter,
  WorkDoneProgressCreateRequest,
  ConfigurationRequest,
  RegistrationRequest,
  ResponseError,
} from 'vscode-languageserver-protocol/node';
import { AnalyzeProcessRequest, DetachNotification, ListProcessesRequest, StateNotification, type PygrationState } from '../../server/src/protocol';
import { DEBIAN_PYTHON, REPO_ROOT, buildC, debianPythonHas, hostFlags, startProcess, startSleeper, type StartedProcess } from '../helpers/fixtures';
import { spawnLanguageServer } from '../helpers/languageServer';
import { skipUnless } from '../helpers/skip';
import { defaultCatalog } from '../../native/src/catalog/catalog';

const SERVER = path.join(REPO_ROOT, 'dist', 'server.js');
const HAVE_HEADERS = fs.existsSync('/usr/include/python3.11/Python.h');

function fileUri(p: string): string {
  return `file://${p}`;
}

describe('language server over LSP', { skip: skipUnless(HAVE_HEADERS, 'python3-dev headers missing') }, () => {
  let ws: string;
  let app: string;
  let broken: string;
  let server: ChildProcess;
  let conn: ProtocolConnection;
  const states: PygrationState[] = [];
  const diagnostics = new Map<string, PublishDiagnosticsParams>();
  let stderr: () => string = () => '';

  /** Resolves when a state notification satisfies `pred` (the server publishes one after each analysis). */
  function waitForState(pred: (s: PygrationState) => boolean, timeoutMs = 120_000): Promise<PygrationState> {
    return new Promise((resolve, reject) => {
      const found = states.find(pred);
      if (found) return resolve(found);
      const timer = setTimeout(() => reject(new Error(`no matching state within ${timeoutMs} ms; last: ${JSON.stringify(states.at(-1))}; stderr: ${stderr()}`)), timeoutMs);
      const poll = setInterval(() => {
        const s = states.find(pred);
        if (s) {
          clearTimeout(timer);
          clearInterval(poll);
          resolve(s);
        }
      }, 50);
    });
  }

  before(async () => {
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-lsp-'));
    const so = buildC('c/pyext_kernels.c', { shared: true, flags: ['-I/usr/include/python3.11', '-fno-stack-protector'], outName: 'lsp/pyext_kernels.so' });
    fs.copyFileSync(so, path.join(ws, 'pyext_kernels.so'));
    app = path.join(ws, 'app.py');
    fs.writeFileSync(app, ['import pyext_kernels as pk', 'import time', '', 'pk.k_sha()', 'pk.k_plain(1)', 'time.sleep(0)', ''].join('\n'));
    // The callee is what getattr returns for a name known only at run time: a call site that stays unknown.
    fs.writeFileSync(path.join(ws, 'dynamic.py'), ['import sys', 'import time', '', 'getattr(time, sys.argv[1])(0)', ''].join('\n'));
    broken = path.join(ws, 'broken.py');
    fs.writeFileSync(broken, 'def f(:\n    pass\n');

    ({ server, conn, stderr } = spawnLanguageServer());
    conn.onNotification(StateNotification, (s: PygrationState) => {
      states.push(s);
    });
    conn.onNotification(PublishDiagnosticsNotification.type, (p: PublishDiagnosticsParams) => {
      diagnostics.set(p.uri, p);
    });
    conn.listen();
    await conn.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: fileUri(ws),
      workspaceFolders: [{ uri: fileUri(ws), name: 'ws' }],
      capabilities: { window: { workDoneProgress: true }, workspace: { codeLens: { refreshSupport: true } } },
      initializationOptions: { settings: { showBaselineLenses: false }, interpreter: DEBIAN_PYTHON },
    });
    await conn.sendNotification(InitializedNotification.type, {});
    await conn.sendNotification('textDocument/didOpen', { textDocument: { uri: fileUri(app), languageId: 'python', version: 1, text: fs.readFileSync(app, 'utf8') } });
  });

  after(async () => {
    conn?.dispose();
    server?.kill('SIGKILL');
    if (ws) fs.rmSync(ws, { recursive: true, force: true });
  });

  test('the static analysis finishes and publishes a summary', async () => {
    const s = await waitForState((x) => x.static !== undefined && x.busy === undefined);
    assert.ok(s.static!.callSites >= 3, JSON.stringify(s.static));
    assert.ok(s.static!.resolved >= 3);
    assert.match(s.static!.level, /^x86-64-v[1-4]$/);
    assert.equal(s.static!.total, defaultCatalog().instances.length);
    // dynamic.py's call of getattr's result is unknown: the summary is a lower bound, not a verdict.
    assert.ok((s.static!.unknownCallSites ?? 0) >= 1, JSON.stringify(s.static));
    assert.equal(s.static!.lowerBound, true);
  });

  test('code lenses name the native function and its features (rarest first), per the host', async () => {
    await waitForState((x) => x.static !== undefined && x.busy === undefined);
    const lenses = (await conn.sendRequest('textDocument/codeLens', { textDocument: { uri: fileUri(app) } })) as CodeLens[];
    const byLine = new Map(lenses.map((l) => [l.range.start.line, l.command!]));
    const sha = byLine.get(3);
    if (hostFlags().has('sha_ni')) {
      assert.ok(sha, `a lens on pk.k_sha(): ${JSON.stringify(lenses.map((l) => l.command?.title))}`);
      assert.match(sha.title, /SHA-NI/);
      assert.match(sha.title, /k_sha/);
      // A static lens carries no origin suffix: only live ones say so.
      assert.match(sha.title, /^\$\(chip\) /);
      assert.doesNotMatch(sha.title, /· (static|live)$/);
      assert.equal(sha.command, 'pygration.showCallSite');
      assert.ok(sha.arguments![0].features.includes('sha_ni'));
    } else if (sha) {
      assert.doesNotMatch(sha.title, /SHA/, 'a host without SHA-NI cannot run the SHA path');
    }
    // k_plain needs nothing beyond the baseline and the interpreter: with the default settings it has no lens
    // that only repeats what the interpreter needs (pygration.codeLens.showSharedWithInterpreter shows those).
    const plain = byLine.get(4);
    if (plain) assert.doesNotMatch(plain.title, /interpreter needs these too/);
    for (const l of lenses) assert.doesNotMatch(l.command!.title, /interpreter needs these too/);
  });

  test('hover shows the native path and how many instance types lack each feature', async () => {
    await waitForState((x) => x.static !== undefined && x.busy === undefined);
    const hover = (await conn.sendRequest('textDocument/hover', { textDocument: { uri: fileUri(app) }, position: { line: 3, character: 4 } })) as Hover | null;
    assert.ok(hover, 'a hover on pk.k_sha()');
    const text = (hover.contents as unknown as { value: string }).value;
    assert.match(text, /k_sha/);
    assert.match(text, /pyext_kernels/);
    if (hostFlags().has('sha_ni')) assert.match(text, new RegExp(`SHA-NI \\| \\d+ of ${defaultCatalog().instances.length} types`));
  });

  test('a syntax error in the workspace becomes a diagnostic, and the server keeps working', async () => {
    await waitForState((x) => x.static !== undefined && x.busy === undefined);
    const deadline = Date.now() + 30_000;
    while (!diagnostics.has(fileUri(broken)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const d = diagnostics.get(fileUri(broken));
    assert.ok(d && d.diagnostics.length === 1, 'one diagnostic for broken.py');
    assert.equal(d.diagnostics[0].range.start.line, 0);
    assert.match(String(d.diagnostics[0].message), /syntax/i);
  });

  test('the process list offers Python processes with their LD_BIND_NOW state', { skip: skipUnless(debianPythonHas(), 'no python3') }, async () => {
    const p = await startProcess(DEBIAN_PYTHON, ['-c', 'import time; print("READY", flush=True); time.sleep(600)'], { env: { ...process.env, LD_BIND_NOW: '1' } });
    try {
      const list = await conn.sendRequest(ListProcessesRequest, { pythonOnly: true });
      const mine = list.find((x) => x.pid === p.pid);
      assert.ok(mine, 'the started python3 is listed');
      assert.equal(mine.python, '3.11');
      assert.equal(mine.ldBindNow, true);
      assert.ok(!list.some((x) => x.pid === server.pid), 'non-Python processes are not listed');
    } finally {
      await p.stop();
    }
  });

  describe('live analysis', () => {
    let target: StartedProcess;
    before(async () => {
      target = await startProcess(
        DEBIAN_PYTHON,
        ['-c', 'import sys, time; sys.path.insert(0, sys.argv[1]); import pyext_kernels as pk; print("READY", flush=True); time.sleep(600)', ws],
        { env: { ...process.env, LD_BIND_NOW: '1' } },
      );
    });
    after(async () => {
      await target?.stop();
    });

    test('lenses switch to live, exact results and back after detach', async () => {
      await waitForState((x) => x.static !== undefined && x.busy === undefined);
      const r = await conn.sendRequest(AnalyzeProcessRequest, { pid: target.pid, reason: 'debug-stop', sessionId: 's1', label: 'test' });
      assert.equal(r.ok, true, JSON.stringify(r.error));
      assert.equal(r.report!.target.pid, target.pid);
      const lenses = (await conn.sendRequest('textDocument/codeLens', { textDocument: { uri: fileUri(app) } })) as CodeLens[];
      const sha = lenses.find((l) => l.range.start.line === 3);
      if (hostFlags().has('sha_ni')) {
        assert.ok(sha, 'live lens on pk.k_sha()');
        assert.match(sha.command!.title, /· live$/);
        assert.equal(sha.command!.arguments![0].origin, 'live');
        assert.ok(sha.command!.arguments![0].natives.every((n: { exact: boolean }) => n.exact));
      }
      const live = await waitForState((x) => x.live?.pid === target.pid);
      assert.equal(live.live!.sessionId, 's1');
      await conn.sendNotification(DetachNotification, { sessionId: 's1' });
      await waitForState((x) => x === states.at(-1) && x.live === undefined);
      const after = (await conn.sendRequest('textDocument/codeLens', { textDocument: { uri: fileUri(app) } })) as CodeLens[];
      for (const l of after) assert.doesNotMatch(l.command!.title, /· live$/);
    });

    test('a vanished process gives a clear error, not a crash', async () => {
      const child = spawn('sh', ['-c', 'exit 0']);
      const pid = child.pid!;
      await new Promise((r) => child.once('exit', r));
      const r = await conn.sendRequest(AnalyzeProcessRequest, { pid, reason: 'command' });
      assert.equal(r.ok, false);
      assert.ok(r.error!.kind === 'gone' || r.error!.kind === 'not-python', JSON.stringify(r.error));
      // Still alive: answers another request.
      const lenses = (await conn.sendRequest('textDocument/codeLens', { textDocument: { uri: fileUri(app) } })) as CodeLens[];
      assert.ok(Array.isArray(lenses));
    });

    test('a non-Python process is refused with a clear message', async () => {
      const p = await startSleeper();
      try {
        const r = await conn.sendRequest(AnalyzeProcessRequest, { pid: p.pid, reason: 'command' });
        assert.equal(r.ok, false);
        assert.equal(r.error!.kind, 'not-python');
        assert.match(r.error!.message, /not a Python interpreter/);
      } finally {
        await p.stop();
      }
    });
  });
});

test('a client that refuses dynamic registration does not bring the server down', async () => {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-lsp-reg-'));
  const server = spawn(process.execPath, [SERVER, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  server.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
  const conn = createProtocolConnection(new StreamMessageReader(server.stdout!), new StreamMessageWriter(server.stdin!));
  let refused = 0;
  conn.onRequest(RegistrationRequest.type, () => {
    refused++;
    return new ResponseError(-32603, 'registration refused by this client');
  });
  conn.onRequest(ConfigurationRequest.type, () => [{}]);
  conn.onRequest(WorkDoneProgressCreateRequest.type, () => undefined);
  conn.listen();
  try {
    await conn.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: fileUri(ws),
      workspaceFolders: [{ uri: fileUri(ws), name: 'ws' }],
      capabilities: { workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true } } },
      initializationOptions: { interpreter: DEBIAN_PYTHON },
    });
    await conn.sendNotification(InitializedNotification.type, {});
    // The server still answers after the refusal.
    const deadline = Date.now() + 20_000;
    while (refused === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(refused, 1, 'the server asked to register for configuration changes');
    const list = await conn.sendRequest(ListProcessesRequest, { pythonOnly: false });
    assert.ok(Array.isArray(list) && list.length > 0, JSON.stringify(list));
    const alive = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 500))]);
    assert.ok(alive, `the server exited: ${stderr}`);
  } finally {
    conn.dispose();
    server.kill('SIGKILL');
    fs.rmSync(ws, { recursive: true, force: true });
  }
});
