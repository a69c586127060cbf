// Messages and exit codes for inputs pygration cannot work on: calls on paths that are not Python files, plan
// on a kernel thread, a pid that is not a number (over LSP), Python older than 3.8, another user's process,
// and no MaxListenersExceededWarning when a tracked file imports many modules.

import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { getEventListeners } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  InitializeRequest,
  InitializedNotification,
} from 'vscode-languageserver-protocol/node';
import { PythonHelper } from '../../server/src/bytecode/helper';
import { AnalyzeProcessRequest, PlanMigrationRequest } from '../../server/src/protocol';
import { ProcessView } from '../../native/src/space/processView';
import { isNativeError } from '../../native/src/errors';
import { DEBIAN_PYTHON, REPO_ROOT, debianPythonHas, startProcess } from '../helpers/fixtures';
import { spawnLanguageServer } from '../helpers/languageServer';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const IS_ROOT = process.getuid?.() === 0;
const PYENV = path.join(process.env.PYENV_ROOT ?? path.join(os.homedir(), '.pyenv'), 'versions');

function cli(args: string[], options: { uid?: number; cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: options.cwd ?? os.tmpdir(), uid: options.uid, gid: options.uid });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** CPython interpreters older than 3.8 that pyenv has here (2.7, 3.6, 3.7). */
function oldInterpreters(): string[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(PYENV);
  } catch {
    return [];
  }
  return names
    .filter((n) => /^(2\.7|3\.[0-7])\.\d+$/.test(n))
    .map((n) => path.join(PYENV, n, 'bin', `python${n.split('.').slice(0, 2).join('.')}`))
    .filter((p) => fs.existsSync(p));
}

/** A kernel thread's pid (PF_KTHREAD in /proc/PID/stat), or undefined (a container's pid namespace has none). */
function kernelThread(): number | undefined {
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const flags = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[6]);
      if ((flags & 0x00200000) !== 0) return Number(name);
    } catch {
      // Gone meanwhile.
    }
  }
  return undefined;
}

describe('calls on paths that are not Python files exits 1 and says what the path is', () => {
  test('missing file, directory, symbolic link loop, dangling link, device', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-paths-'));
    try {
      fs.symlinkSync(path.join(dir, 'loop2'), path.join(dir, 'loop1'));
      fs.symlinkSync(path.join(dir, 'loop1'), path.join(dir, 'loop2'));
      fs.symlinkSync(path.join(dir, 'nothere.py'), path.join(dir, 'dangling.py'));
      const cases: Array<[string, RegExp]> = [
        [path.join(dir, 'missing.py'), /missing\.py does not exist\./],
        [dir, /is a directory; calls needs Python files/],
        [path.join(dir, 'loop1'), /is a symbolic link loop/],
        [path.join(dir, 'dangling.py'), /is a symbolic link to .*nothere\.py, which does not exist\./],
        ['/dev/null', /is not a regular file/],
      ];
      for (const [file, message] of cases) {
        const r = await cli(['calls', file, '--quiet']);
        assert.equal(r.code, 1, `${file}: ${r.stderr}${r.stdout}`);
        assert.match(r.stderr, message);
        assert.equal(r.stdout, '', 'no result is printed');
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('plan on a kernel thread', () => {
  const kthread = kernelThread();
  test('says it is a kernel thread, not that it does not exist', { skip: kthread === undefined ? 'no kernel thread is visible (a container pid namespace)' : false }, async () => {
    const r = await cli(['plan', '--pid', String(kthread), '--seconds', '0.2', '--interval', '100', '--quiet']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /is a kernel thread/);
    assert.doesNotMatch(r.stderr, /does not exist/);
  });
});

describe('a pid that is not a positive integer is a usage error', () => {
  test('ProcessView refuses it as malformed, not as a process that is gone', () => {
    for (const pid of ['abc', -1, 1.5, 0] as unknown[]) {
      assert.throws(
        () => new ProcessView(pid as number),
        (e: unknown) => isNativeError(e) && e.kind === 'malformed' && /is not a process id/.test(e.message),
      );
    }
  });

  test('over LSP, analyzeProcess and planMigration answer kind "usage"', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-usage-'));
    const { server: proc, conn } = spawnLanguageServer();
    conn.listen();
    try {
      await conn.sendRequest(InitializeRequest.type, { processId: process.pid, rootUri: `file://${ws}`, workspaceFolders: [{ uri: `file://${ws}`, name: 'ws' }], capabilities: {}, initializationOptions: { settings: {}, interpreter: DEBIAN_PYTHON } });
      await conn.sendNotification(InitializedNotification.type, {});
      for (const pid of ['abc', -3]) {
        const a = await conn.sendRequest(AnalyzeProcessRequest, { pid: pid as number, reason: 'command' });
        assert.equal(a.ok, false);
        assert.equal(a.error?.kind, 'usage', JSON.stringify(a));
        assert.match(a.error!.message, /is not a process id/);
        const p = await conn.sendRequest(PlanMigrationRequest, { pid: pid as number });
        assert.equal(p.error?.kind, 'usage', JSON.stringify(p));
      }
    } finally {
      conn.dispose();
      proc.kill('SIGKILL');
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });
});

describe('Python older than 3.8', { timeout: 120_000 }, () => {
  const olds = oldInterpreters();
  test('calls --python says it needs 3.8 or newer, without a traceback', { skip: olds.length ? false : 'no Python older than 3.8 under pyenv' }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-old-'));
    try {
      fs.writeFileSync(path.join(dir, 'app.py'), 'import time\ntime.sleep(0)\n');
      for (const python of olds) {
        const version = path.basename(python).slice('python'.length);
        const r = await cli(['calls', path.join(dir, 'app.py'), '--python', python, '--quiet']);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, new RegExp(`needs CPython 3\\.8 or newer; .* is Python ${version.replace('.', '\\.')}\\.\\d+\\.`));
        assert.doesNotMatch(r.stderr, /Traceback|File "|Error:/);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('calls --pid on a running Python 2.7 says it needs 3.8 or newer and does not run it', { skip: olds.some((p) => p.endsWith('2.7')) ? false : 'no Python 2.7 under pyenv' }, async () => {
    const python = olds.find((p) => p.endsWith('2.7'))!;
    const target = await startProcess(python, ['-c', 'import sys, time\nsys.stdout.write("READY\\n")\nsys.stdout.flush()\ntime.sleep(600)']);
    try {
      const app = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-old27-'));
      fs.writeFileSync(path.join(app, 'app.py'), 'print(1)\n');
      const live = await cli(['calls', path.join(app, 'app.py'), '--pid', String(target.pid), '--quiet']);
      fs.rmSync(app, { recursive: true, force: true });
      assert.equal(live.code, 1, live.stderr);
      assert.match(live.stderr, /needs CPython 3\.8 or newer; process \d+ runs .*python2\.7 \(Python 2\.7\)/);
      assert.match(live.stderr, /It was not executed\./);
    } finally {
      await target.stop();
    }
  });
});

describe("another user's process", () => {
  test('calls --pid as an unprivileged user says whose process it is and what to do', { skip: !IS_ROOT ? 'needs root to run the CLI as another user' : !fs.existsSync(DEBIAN_PYTHON) ? `${DEBIAN_PYTHON} is missing` : false }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-other-'));
    fs.chmodSync(dir, 0o755);
    const app = path.join(dir, 'app.py');
    fs.writeFileSync(app, 'import time\ntime.sleep(0)\n');
    fs.chmodSync(app, 0o644);
    const target = await startProcess(DEBIAN_PYTHON, ['-c', 'import time; print("READY", flush=True); time.sleep(600)']);
    try {
      const r = await cli(['calls', app, '--pid', String(target.pid), '--quiet'], { uid: 65534, cwd: '/' });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`Process ${target.pid} belongs to root \\(uid 0\\), and this user \\(.*uid 65534\\)+ may not read its interpreter /proc/${target.pid}/exe`));
      assert.match(r.stderr, /Run pygration as root/);
      assert.doesNotMatch(r.stderr, /cannot be executed/);
    } finally {
      await target.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('abort listeners', { timeout: 120_000 }, () => {
  test('one abort listener per signal however many requests are in flight, none after they end', { skip: fs.existsSync(DEBIAN_PYTHON) ? false : `${DEBIAN_PYTHON} is missing` }, async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const helper = await PythonHelper.start({ python: DEBIAN_PYTHON });
    try {
      const abort = new AbortController();
      const requests = Array.from({ length: 30 }, () => helper.dump({ modules: ['os'], code: false }, () => undefined, abort.signal));
      assert.ok(getEventListeners(abort.signal, 'abort').length <= 1, `${getEventListeners(abort.signal, 'abort').length} listeners`);
      await Promise.all(requests);
      assert.equal(getEventListeners(abort.signal, 'abort').length, 0);
      // Abort still reaches every request in flight.
      const pending = Array.from({ length: 3 }, () => helper.dump({ modules: ['json'] }, () => undefined, abort.signal));
      abort.abort();
      for (const p of pending) await assert.rejects(p, (e: Error) => e.name === 'AbortError');
    } finally {
      helper.close();
      process.off('warning', onWarning);
    }
    assert.ok(!warnings.includes('MaxListenersExceededWarning'), warnings.join(', '));
  });

  test('calls on a file that imports numpy prints no MaxListenersExceededWarning', { skip: debianPythonHas('numpy') ? false : 'python3-numpy missing' }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-numpy-'));
    try {
      fs.writeFileSync(path.join(dir, 'np.py'), 'import numpy\nprint(numpy.zeros(3).sum())\n');
      const r = await cli(['calls', path.join(dir, 'np.py'), '--python', DEBIAN_PYTHON, '--quiet']);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /MaxListenersExceededWarning/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
