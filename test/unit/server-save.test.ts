// The language server's save path (issue 12) over its real protocol: a file calling a real C-API extension (built
// by the test) is edited and saved several times; after each save the incremental lenses (warm helper, kept native
// state) must equal those of a fresh server given the same content, including edits that change which native
// functions are called, load a new extension module, or drop one again.

import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type CodeLens, InitializeRequest, InitializedNotification, LogMessageNotification, type ProtocolConnection } from 'vscode-languageserver-protocol/node';
import { StateNotification, type PygrationState } from '../../server/src/protocol';
import { DEBIAN_PYTHON, buildC, debianPythonHas } from '../helpers/fixtures';
import { spawnLanguageServer } from '../helpers/languageServer';
import { skipUnless } from '../helpers/skip';

const HAVE_HEADERS = fs.existsSync('/usr/include/python3.11/Python.h');
const fileUri = (p: string) => `file://${p}`;

/** One server over a workspace: its states and log lines as they arrive. */
interface Server {
  server: ChildProcess;
  conn: ProtocolConnection;
  states: PygrationState[];
  logs: string[];
  stderr: () => string;
  cacheDir: string;
}

async function startServer(ws: string): Promise<Server> {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-save-cache-'));
  const { server, conn, stderr } = spawnLanguageServer({ env: { ...process.env, PYGRATION_CACHE_DIR: cacheDir } });
  const states: PygrationState[] = [];
  const logs: string[] = [];
  conn.onNotification(StateNotification, (s: PygrationState) => void states.push(s));
  conn.onNotification(LogMessageNotification.type, (m) => void logs.push(m.message));
  conn.listen();
  await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: fileUri(ws),
    workspaceFolders: [{ uri: fileUri(ws), name: 'ws' }],
    capabilities: { window: { workDoneProgress: true }, workspace: { codeLens: { refreshSupport: true } } },
    initializationOptions: { settings: { showBaselineLenses: true, codeLensShowShared: true }, interpreter: DEBIAN_PYTHON },
  });
  await conn.sendNotification(InitializedNotification.type, {});
  return { server, conn, states, logs, stderr, cacheDir };
}

async function stopServer(s: Server): Promise<void> {
  s.conn.dispose();
  s.server.kill('SIGKILL');
  fs.rmSync(s.cacheDir, { recursive: true, force: true });
}

/** Resolves once `n` analyses have finished (a finished one logs its "Static analysis:" line). */
function analyses(s: Server, n: number, timeoutMs = 180_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const done = () => s.logs.filter((l) => l.startsWith('Static analysis:'));
    const timer = setTimeout(() => {
      clearInterval(poll);
      reject(new Error(`analysis ${n} did not finish within ${timeoutMs / 1000} s; logs: ${s.logs.join('\n')}; stderr: ${s.stderr()}`));
    }, timeoutMs);
    const poll = setInterval(() => {
      const lines = done();
      if (lines.length >= n && s.states.at(-1)?.busy === undefined) {
        clearTimeout(timer);
        clearInterval(poll);
        resolve(lines[n - 1]);
      }
    }, 20);
  });
}

async function lensesOf(s: Server, file: string): Promise<CodeLens[]> {
  const lenses = ((await s.conn.sendRequest('textDocument/codeLens', { textDocument: { uri: fileUri(file) } })) ?? []) as CodeLens[];
  return lenses.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
}

/** The lenses of a fresh server (cold caches) over a new workspace holding `text` as app.py and the extension. */
async function freshLenses(so: string, text: string): Promise<CodeLens[]> {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-save-fresh-'));
  fs.copyFileSync(so, path.join(ws, 'pyext_kernels.so'));
  const app = path.join(ws, 'app.py');
  fs.writeFileSync(app, text);
  const s = await startServer(ws);
  try {
    await s.conn.sendNotification('textDocument/didOpen', { textDocument: { uri: fileUri(app), languageId: 'python', version: 1, text } });
    await analyses(s, 1);
    // The same file name in another directory: compare everything but the document's address.
    return JSON.parse(JSON.stringify(await lensesOf(s, app)).split(ws).join('<ws>')) as CodeLens[];
  } finally {
    await stopServer(s);
    fs.rmSync(ws, { recursive: true, force: true });
  }
}

describe('lenses after an edit + save equal a fresh analysis', { skip: skipUnless(HAVE_HEADERS && debianPythonHas(), 'python3-dev headers or python3 missing') }, () => {
  let ws: string;
  let so: string;
  let app: string;
  let s: Server;
  let version = 1;
  let count = 1;

  before(async () => {
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-save-'));
    so = buildC('c/pyext_kernels.c', { shared: true, flags: ['-I/usr/include/python3.11', '-fno-stack-protector'], outName: 'lsp/pyext_kernels.so' });
    fs.copyFileSync(so, path.join(ws, 'pyext_kernels.so'));
    app = path.join(ws, 'app.py');
    const text = ['import pyext_kernels as pk', '', 'pk.k_sha()', 'pk.k_plain(1)', ''].join('\n');
    fs.writeFileSync(app, text);
    s = await startServer(ws);
    await s.conn.sendNotification('textDocument/didOpen', { textDocument: { uri: fileUri(app), languageId: 'python', version, text } });
    await analyses(s, 1);
  });

  after(async () => {
    if (s) await stopServer(s);
    if (ws) fs.rmSync(ws, { recursive: true, force: true });
  });

  /** Writes `text`, sends the change and the save, and returns the analysis's log line and the lenses. */
  async function save(text: string): Promise<{ log: string; lenses: CodeLens[] }> {
    fs.writeFileSync(app, text);
    await s.conn.sendNotification('textDocument/didChange', { textDocument: { uri: fileUri(app), version: ++version }, contentChanges: [{ text }] });
    await s.conn.sendNotification('textDocument/didSave', { textDocument: { uri: fileUri(app) } });
    const log = await analyses(s, ++count);
    return { log, lenses: JSON.parse(JSON.stringify(await lensesOf(s, app)).split(ws).join('<ws>')) as CodeLens[] };
  }

  /** The native steps of an analysis's log line: reused and computed. */
  function steps(log: string): { reused: number; computed: number } {
    const m = /native steps: (\d+) reused, (\d+) computed/.exec(log);
    assert.ok(m, `the log line names its native steps: ${log}`);
    return { reused: Number(m[1]), computed: Number(m[2]) };
  }

  const helperChildren = () =>
    fs
      .readFileSync(`/proc/${s.server.pid}/task/${s.server.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .filter((pid) => /pygration_dump|python/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')));

  test('a call appended: its lens, the earlier steps kept, the helper warm, the same lenses as a fresh server', async () => {
    const helpers = helperChildren();
    assert.equal(helpers.length, 1, 'the static analysis keeps its Python helper after a run');
    const text = fs.readFileSync(app, 'utf8') + 'pk.k_plain(2)\n';
    const { log, lenses } = await save(text);
    const st = steps(log);
    assert.ok(st.reused > 0, `the earlier calls' resolutions and walks are kept: ${log}`);
    assert.deepEqual(helperChildren(), helpers, 'the same helper process answers the save');
    assert.deepEqual(lenses, await freshLenses(so, text));
  });

  test('a call changed to another native function: the same lenses as a fresh server', async () => {
    const before = await lensesOf(s, app);
    const text = fs.readFileSync(app, 'utf8').replace('pk.k_sha()', 'pk.k_bmi2(3)');
    const { log, lenses } = await save(text);
    // The first call now loads the extension for another function: the kept state's order no longer matches a
    // fresh run's, so the run starts a fresh state (nothing reused).
    assert.equal(steps(log).reused, 0, log);
    const line2 = (ls: CodeLens[]) => JSON.stringify(ls.filter((l) => l.range.start.line === 2));
    assert.notEqual(line2(lenses), line2(before), 'the changed call has another lens');
    assert.match(line2(lenses), /k_bmi2/);
    assert.deepEqual(lenses, await freshLenses(so, text));
  });

  test('another extension module loaded, then dropped: the same lenses as a fresh server each time', async () => {
    const base = fs.readFileSync(app, 'utf8');
    const withBz2 = `${base}import _bz2\n_bz2.BZ2Compressor(9).compress(b'x')\n`;
    const first = await save(withBz2);
    assert.deepEqual(first.lenses, await freshLenses(so, withBz2));
    // Back to the text before: a fresh run loads fewer objects than the kept state holds; every step it takes
    // was made over exactly its objects before, so all are kept.
    const back = await save(base);
    assert.deepEqual(steps(back.log).computed, 0, back.log);
    assert.deepEqual(back.lenses, await freshLenses(so, base));
  });
});
