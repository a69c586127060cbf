// Headless language-server timings over the real protocol (JSON-RPC over stdio, as any LSP client speaks it):
// start (spawn → initialize answer), first lens cold, lens after an edit + save, and live analyses at a stop;
// CPU is the server's with its live children's (its warm Python helper).
// BENCH_SERVER_ARGS (e.g. '--cpu-prof --cpu-prof-dir=DIR') are given to the server's node.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { procCpuSeconds, procPeakMB, procTreeCpuSeconds } from './proc.mjs';

const require = createRequire(import.meta.url);

/** A static lens (from files at rest): `$(chip) …`; a live one starts with `$(pulse)` and ends with ` · live` (server/src/presentation.ts). */
const STATIC_LENS = /^\$\(chip\) /;
/** Seconds since `t0` (process.hrtime.bigint()). */
const since = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

/**
 * Starts `node SERVER --stdio` with a fresh cache directory (or `cacheDir`), initializes it, and returns the
 * connection with its start figures. The server's CPU and peak RSS are read from /proc at the answer.
 */
export async function startServer({ serverJs, workspace, python, cacheDir, root, settings }) {
  const rpc = require(path.join(root, 'node_modules', 'vscode-jsonrpc', 'lib', 'node', 'main.js'));
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [...(process.env.BENCH_SERVER_ARGS ? process.env.BENCH_SERVER_ARGS.split(' ') : []), serverJs, '--stdio'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, PYGRATION_CACHE_DIR: cacheDir },
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const conn = rpc.createMessageConnection(new rpc.StreamMessageReader(child.stdout), new rpc.StreamMessageWriter(child.stdin));
  const refreshListeners = new Set();
  conn.onRequest('workspace/codeLens/refresh', () => {
    for (const l of refreshListeners) l();
    return null;
  });
  conn.onRequest('window/workDoneProgress/create', () => null);
  conn.onNotification(() => undefined);
  conn.listen();
  const uri = pathToFileURL(workspace).href;
  await conn.sendRequest('initialize', {
    processId: process.pid,
    rootUri: uri,
    workspaceFolders: [{ uri, name: 'bench' }],
    capabilities: { workspace: { codeLens: { refreshSupport: true } }, textDocument: { codeLens: {} }, window: { workDoneProgress: true } },
    initializationOptions: { interpreter: python, ...(settings ? { settings } : {}) },
  });
  const startSeconds = since(t0);
  const startCpuSeconds = procCpuSeconds(child.pid);
  return {
    conn,
    child,
    startSeconds,
    startCpuSeconds,
    stderr: () => stderr,
    /** Resolves with the lenses of `uri` once one above 0-based `line` matches `pattern` (asked at each refresh). */
    async lensOn(docUri, line, pattern, timeoutMs = 300_000) {
      return new Promise((resolve, reject) => {
        let asking = false;
        let again = false;
        const timer = setTimeout(() => {
          refreshListeners.delete(ask);
          reject(new Error(`no lens ${pattern} on line ${line + 1} within ${timeoutMs / 1000} s; server stderr: ${stderr.slice(-2000)}`));
        }, timeoutMs);
        const ask = async () => {
          if (asking) return void (again = true);
          asking = true;
          try {
            const lenses = (await conn.sendRequest('textDocument/codeLens', { textDocument: { uri: docUri } })) ?? [];
            if (lenses.some((l) => l.range.start.line === line && pattern.test(l.command?.title ?? ''))) {
              clearTimeout(timer);
              refreshListeners.delete(ask);
              return resolve(lenses);
            }
          } catch {
            // Asked while the server was busy or restarting its analysis: the next refresh asks again.
          } finally {
            asking = false;
          }
          if (again) {
            again = false;
            void ask();
          }
        };
        refreshListeners.add(ask);
        void ask();
      });
    },
    /** The server's CPU with its live children's (its warm Python helper is never reaped while it runs). */
    cpuSeconds: () => procTreeCpuSeconds(child.pid),
    peakMB: () => procPeakMB(child.pid),
    async stop() {
      try {
        await Promise.race([conn.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 2000))]);
        conn.sendNotification('exit');
      } catch {
        // Already gone.
      }
      // It exits on 'exit' (a --cpu-prof run writes its profile then); killed if it has not within 5 s.
      if (child.exitCode === null) await Promise.race([new Promise((r) => child.once('exit', r)), new Promise((r) => setTimeout(r, 5000))]);
      conn.dispose();
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** A throwaway workspace holding a copy of `file`. */
export function benchWorkspace(file) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-bench-ws-'));
  fs.copyFileSync(file, path.join(dir, path.basename(file)));
  return dir;
}

/**
 * The editor rows without an editor: one fresh server, cold caches. First lens of `file` (didOpen → a
 * static lens on the first line containing `lensText`), then `reps` edits + saves (a new call appended →
 * its lens), then (with `pid`) live analyses of that process as at a debug stop: the first, and the next.
 */
export async function editorRows({ root, serverJs, python, file, lensText, appendLine, reps, pid }) {
  const workspace = benchWorkspace(file);
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-bench-cache-'));
  const s = await startServer({ serverJs, workspace, python, cacheDir, root });
  try {
    const docFile = path.join(workspace, path.basename(file));
    const docUri = pathToFileURL(docFile).href;
    let text = fs.readFileSync(docFile, 'utf8');
    let version = 1;
    const lineOf = (needle) => text.split('\n').findIndex((l) => l.includes(needle));
    s.conn.sendNotification('initialized', {});
    const cpu0 = s.cpuSeconds();
    const t0 = process.hrtime.bigint();
    s.conn.sendNotification('textDocument/didOpen', { textDocument: { uri: docUri, languageId: 'python', version, text } });
    await s.lensOn(docUri, lineOf(lensText), STATIC_LENS);
    const cold = { seconds: since(t0), cpuSeconds: s.cpuSeconds() - cpu0 };
    const saves = [];
    for (let i = 0; i < reps; i++) {
      const added = appendLine(i);
      text += `${text.endsWith('\n') ? '' : '\n'}${added}\n`;
      fs.writeFileSync(docFile, text);
      const c = s.cpuSeconds();
      const t = process.hrtime.bigint();
      // A change without a range replaces the whole text (allowed under incremental sync).
      s.conn.sendNotification('textDocument/didChange', { textDocument: { uri: docUri, version: ++version }, contentChanges: [{ text }] });
      s.conn.sendNotification('textDocument/didSave', { textDocument: { uri: docUri } });
      await s.lensOn(docUri, lineOf(added), STATIC_LENS);
      saves.push({ seconds: since(t), cpuSeconds: s.cpuSeconds() - c });
    }
    const live = [];
    if (pid) {
      for (let i = 0; i < 2; i++) {
        const c = s.cpuSeconds();
        const t = process.hrtime.bigint();
        const r = await s.conn.sendRequest('pygration/analyzeProcess', { pid, reason: 'debug-stop', sessionId: 'bench', label: 'bench' });
        if (!r.ok) throw new Error(`live analysis failed: ${JSON.stringify(r.error)}`);
        live.push({ seconds: since(t), cpuSeconds: s.cpuSeconds() - c });
      }
    }
    return { start: { seconds: s.startSeconds, cpuSeconds: s.startCpuSeconds }, cold, saves, live, peakMB: s.peakMB() };
  } finally {
    await s.stop();
    fs.rmSync(workspace, { recursive: true, force: true });
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
}

/** Language server start alone: spawn → initialize answer, `runs` fresh servers. */
export async function serverStarts({ root, serverJs, python, runs }) {
  const out = [];
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-bench-ws-'));
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-bench-cache-'));
  try {
    for (let i = 0; i < runs; i++) {
      const s = await startServer({ serverJs, workspace, python, cacheDir, root });
      out.push({ seconds: s.startSeconds, cpuSeconds: s.startCpuSeconds });
      await s.stop();
    }
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
  return out;
}
