// The program a Python process runs, read from its command line (script, -u/-X options, -c, -m), and the
// process analysis that adds the program's bytecode-resolved native functions as roots.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyzePythonProcess, programOf, programOfCommandLine } from '../../server/src/processAnalysis';
import { BytecodeSession } from '../../server/src/bytecode';
import { DEBIAN_PYTHON, FIXTURE_SRC, debianPythonHas, startProcess } from '../helpers/fixtures';
import { skipUnless } from '../helpers/skip';

const SLEEP = 'import time; print("READY", flush=True); time.sleep(600)';

test('programOf finds the script, relative to the process working directory, past interpreter options', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-prog-'));
  fs.writeFileSync(path.join(dir, 'app.py'), SLEEP);
  const p = await startProcess(DEBIAN_PYTHON, ['-u', '-X', 'dev', 'app.py', '--flag'], { cwd: dir });
  try {
    assert.deepEqual(programOf(p.pid), { files: [path.join(fs.realpathSync(dir), 'app.py')] });
  } finally {
    await p.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('programOf explains -c and -m', async () => {
  const c = await startProcess(DEBIAN_PYTHON, ['-c', SLEEP]);
  try {
    const r = programOf(c.pid);
    assert.deepEqual(r.files, []);
    assert.match(r.note!, /-c/);
  } finally {
    await c.stop();
  }
});

test('programOf finds the script behind debugpy (python -m debugpy …, and its launcher\'s debugpy directory)', () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-dbgpy-')));
  try {
    fs.writeFileSync(path.join(dir, 'app.py'), SLEEP);
    const pkg = path.join(dir, 'site', 'debugpy');
    fs.mkdirSync(pkg, { recursive: true });
    fs.writeFileSync(path.join(pkg, '__main__.py'), '');
    const app = path.join(dir, 'app.py');
    assert.deepEqual(programOfCommandLine(['python3', '-m', 'debugpy', '--listen', '5678', '--wait-for-client', '--configure-subProcess', 'true', 'app.py', '-x'], dir), { files: [app] });
    assert.deepEqual(programOfCommandLine(['python3', '-X', 'frozen_modules=off', pkg, '--connect', '127.0.0.1:1', '--adapter-access-token', 't', app], dir), { files: [app] });
    assert.match(programOfCommandLine(['python3', '-m', 'debugpy', '--listen', '5678', '-m', 'http.server'], dir).note!, /-m http\.server/);
    assert.match(programOfCommandLine(['python3', '-m', 'debugpy', '--listen', '5678', '--pid', '42'], dir).note!, /--pid/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the process analysis adds the natives the program calls as roots', { skip: skipUnless(debianPythonHas('numpy'), 'python3-numpy missing') }, async () => {
  const p = await startProcess(DEBIAN_PYTHON, [path.join(FIXTURE_SRC, 'python', 'numpy_matmul.py')], { env: { ...process.env, LD_BIND_NOW: '1' }, timeoutMs: 60_000 });
  try {
    const { report, callSites } = await analyzePythonProcess(p.pid, { withFullScan: false });
    const note = report.notes.find((n) => n.startsWith('Bytecode tracking of numpy_matmul.py'));
    assert.ok(note, report.notes.join('\n'));
    const m = /resolved (\d+) native function/.exec(note);
    assert.ok(m && Number(m[1]) >= 1, note);
    const sites = [...(callSites?.values() ?? [])].flat();
    assert.ok(sites.some((s) => s.origin === 'live' && s.natives.length > 0), 'live call sites with natives');
    // A report without the per-site walks (the CLI's) has the same roots and requirement, and no call sites.
    process.kill(p.pid, 'SIGSTOP');
    const full = await analyzePythonProcess(p.pid, { withFullScan: false });
    const rootsOnly = await analyzePythonProcess(p.pid, { withFullScan: false, siteFeatures: false });
    process.kill(p.pid, 'SIGCONT');
    assert.equal(rootsOnly.callSites, undefined);
    const resolvedNote = (r: typeof full) => r.report.notes.find((n) => n.startsWith('Bytecode tracking of numpy_matmul.py'));
    assert.equal(resolvedNote(rootsOnly), resolvedNote(full));
    assert.deepEqual(rootsOnly.report.required, full.report.required);
    assert.deepEqual(rootsOnly.report.stats.callSites, full.report.stats.callSites);
  } finally {
    await p.stop();
  }
});

test("bytecode tracking of a process finds its modules where it did: the process's PYTHONPATH and working directory", async () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-pypath-')));
  fs.mkdirSync(path.join(dir, 'lib'));
  fs.mkdirSync(path.join(dir, 'app'));
  // helpers_mod is only on the process's PYTHONPATH (relative to its working directory), not on ours.
  fs.writeFileSync(path.join(dir, 'lib', 'helpers_mod.py'), 'import zlib\n\ndef pack(b):\n    return zlib.compress(b)\n');
  fs.writeFileSync(path.join(dir, 'app', 'main.py'), 'import time\nimport helpers_mod\n\nhelpers_mod.pack(b"x")\nprint("READY", flush=True)\ntime.sleep(600)\n');
  const env = { ...process.env, LD_BIND_NOW: '1', PYTHONPATH: 'lib' };
  const p = await startProcess(DEBIAN_PYTHON, [path.join(dir, 'app', 'main.py')], { cwd: dir, env, timeoutMs: 60_000 });
  try {
    const { callSites } = await analyzePythonProcess(p.pid, { withFullScan: false });
    const sites = callSites?.get(path.join(dir, 'app', 'main.py')) ?? [];
    const pack = sites.find((s) => s.callee === 'helpers_mod.pack');
    assert.ok(pack, `a call site helpers_mod.pack among ${sites.map((s) => s.callee).join(', ')}`);
    assert.equal(pack.qualifiedName, 'helpers_mod.pack', pack.reason);
    assert.ok(pack.natives.some((n) => /compress/.test(n.symbol)), JSON.stringify(pack.natives));
  } finally {
    await p.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a kept bytecode session serves every tracking of an analysis (the program\'s and the gate\'s) and stays open for the next', async () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-session-')));
  // A program the precise policy holds on: the gate tracks the import machinery too, through the same helper.
  fs.writeFileSync(path.join(dir, 'kept_mod.py'), 'import zlib\n\ndef pack(b):\n    return zlib.compress(b)\n');
  fs.writeFileSync(path.join(dir, 'main.py'), 'import time\nimport kept_mod\n\nprint("READY", flush=True)\nwhile True:\n    kept_mod.pack(b"x")\n    time.sleep(0.01)\n');
  const p = await startProcess(DEBIAN_PYTHON, [path.join(dir, 'main.py')], { cwd: dir, env: { ...process.env, LD_BIND_NOW: '1' }, timeoutMs: 60_000 });
  const session = new BytecodeSession({ python: `/proc/${p.pid}/exe` });
  try {
    const helper = await session.ensureHelper();
    const key = `${helper.info.executable}\0${helper.info.magic}`;
    const first = await analyzePythonProcess(p.pid, { withFullScan: false, session });
    assert.equal(first.report.rootPolicy, 'precise', first.report.notes.join('\n'));
    // The program's module and the machinery's were tracked through the kept session (its cache holds them).
    for (const m of ['kept_mod', 'importlib._bootstrap']) assert.ok(session.cache.get(key, m), `${m} in the session's cache`);
    assert.ok(helper.running, 'the analysis left the kept helper running');
    assert.equal(await session.ensureHelper(), helper, 'and no other helper replaced it');
    const second = await analyzePythonProcess(p.pid, { withFullScan: false, session });
    assert.deepEqual(second.report.required, first.report.required);
    assert.equal(await session.ensureHelper(), helper);
  } finally {
    await session.close();
    await p.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
