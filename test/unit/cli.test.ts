// The pygration CLI as a user runs it: the built dist/cli.js in a child process. Help and usage errors,
// `run` end to end on a NumPy workload with --json, `host`, `instances`, and bad inputs (a vanished pid,
// permission denied, a 32-bit process, a static binary, a broken catalog), each with a clear message and
// the documented exit code.

import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildC, DEBIAN_PYTHON, FIXTURE_SRC, REPO_ROOT, debianPythonHas, hostFlags, startProcess } from '../helpers/fixtures';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');

function cli(args: string[], options: { uid?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const cmd = options.uid === undefined ? process.execPath : 'setpriv';
  const argv = options.uid === undefined ? [CLI, ...args] : [`--reuid=${options.uid}`, `--regid=${options.uid}`, '--clear-groups', process.execPath, CLI, ...args];
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: os.tmpdir() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('pygration CLI', () => {
  test('the bundle exists (npm test builds it first)', () => {
    assert.ok(fs.existsSync(CLI), `${CLI} exists`);
  });

  test('--help documents every command and the exit codes; --version matches package.json', async () => {
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    for (const word of ['analyze --pid', 'run ', 'demo', 'host', 'instances', 'Exit codes']) assert.ok(help.stdout.includes(word), word);
    const v = await cli(['--version']);
    assert.equal(v.stdout.trim(), JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version);
  });

  test('usage errors exit 2 with a message', async () => {
    for (const args of [['analyze'], ['analyze', '--pid', 'abc'], ['frobnicate'], ['analyze', '--pid', '1', '--mode', 'fast'], ['run', '--after', '1']]) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^pygration: /);
    }
  });

  test('a vanished pid exits 1 saying the process does not exist', async () => {
    const child = spawnSync('sh', ['-c', 'echo $$']);
    const pid = Number(child.stdout.toString().trim());
    const r = await cli(['analyze', '--pid', String(pid)]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Process \d+ does not exist/);
  });

  test('permission denied explains ptrace access', { skip: process.getuid?.() === 0 ? false : 'needs root to run the CLI as another user' }, async () => {
    const target = await startProcess('sh', ['-c', 'echo READY; exec sleep 600']);
    try {
      const r = await cli(['analyze', '--pid', String(target.pid), '--no-full-scan'], { uid: 65534 });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /Permission denied/);
      assert.match(r.stderr, /ptrace/);
    } finally {
      await target.stop();
    }
  });

  test('a 32-bit process is refused as unsupported', async (t) => {
    let exe: string;
    try {
      exe = buildC('c/proc_sleep32.c', { flags: ['-m32', '-static', '-nostdlib', '-fno-pie', '-no-pie'] });
    } catch {
      t.skip('gcc cannot build 32-bit binaries here');
      return;
    }
    let target;
    try {
      target = await startProcess(exe, []);
    } catch {
      t.skip('this kernel does not run i386 binaries');
      return;
    }
    try {
      const r = await cli(['analyze', '--pid', String(target.pid)]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /32-bit/);
    } finally {
      await target.stop();
    }
  });

  test('a static binary is analysed from its entry point, with a note', async () => {
    const exe = buildC('c/static_ready.c', { flags: ['-static'] });
    const r = await cli(['run', '--ready-line', 'READY', '--json', '--no-full-scan', '--', exe]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.ok(report.notes.some((n: string) => /statically linked/.test(n)), report.notes.join('\n'));
    assert.ok(report.stats.functionsVisited > 10);
    // The IFUNC'd string functions resolve through the static binary's own IRELATIVE slots.
    assert.ok(report.stats.callSites.plt + report.stats.callSites.memorySlot > 0);
  });

  test('run: a command that exits before it is ready exits 3', async () => {
    const r = await cli(['run', '--ready-line', 'NEVER', '--', 'sh', '-c', 'echo boom >&2; exit 7']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /exited \(code 7\) before it was ready/);
    assert.match(r.stderr, /boom/);
  });

  test('a broken catalog file gives a clear error', async () => {
    const bad = path.join(os.tmpdir(), `pygration-bad-${process.pid}.json`);
    fs.writeFileSync(bad, '{ not json');
    try {
      const r = await cli(['instances', '--catalog', bad]);
      assert.equal(r.code, 1);
      assert.ok(r.stderr.includes(bad), r.stderr);
      const missing = await cli(['instances', '--catalog', `${bad}.missing`]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /does not exist/);
    } finally {
      fs.rmSync(bad, { force: true });
    }
  });

  test('host --json lists this machine\'s canonical features', async () => {
    const r = await cli(['host', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const host = JSON.parse(r.stdout);
    const flags = hostFlags();
    for (const f of ['avx2', 'avx512f', 'sha_ni', 'adx']) assert.equal(host.features.includes(f), flags.has(f), f);
    assert.match(host.level, /^x86-64-v[1-4]$/);
    assert.equal(typeof host.xtest, 'boolean');
  });

  test('instances --json lists the shipped catalog of 383 AWS types', async () => {
    const r = await cli(['instances', '--json']);
    assert.equal(r.code, 0);
    assert.equal(JSON.parse(r.stdout).instances.length, 383);
  });

  test('run --json on a NumPy workload: the documented fields, and the child is stopped', { skip: debianPythonHas('numpy') ? false : 'python3-numpy missing' }, async () => {
    const script = path.join(FIXTURE_SRC, 'python', 'numpy_matmul.py');
    const r = await cli(['run', '--ready-line', 'READY', '--json', '--', DEBIAN_PYTHON, script]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.ok(Array.isArray(report.required));
    assert.match(report.level, /^x86-64-v[1-4]$/);
    for (const k of ['compatible', 'criu', 'fullScan']) assert.ok(Array.isArray(report.instances[k]), k);
    for (const k of ['functionsVisited', 'seconds']) assert.equal(typeof report.stats[k], 'number');
    for (const k of ['direct', 'plt', 'memorySlot', 'dispatchTable', 'unresolved']) assert.equal(typeof report.stats.callSites[k], 'number');
    assert.equal(report.target.ldBindNow, true, 'run starts the child with LD_BIND_NOW=1');
    // The child has been stopped.
    assert.ok(!fs.existsSync(`/proc/${report.target.pid}`) || fs.readFileSync(`/proc/${report.target.pid}/stat`, 'utf8').includes(') Z'));
    // Human output of the same analysis reads right.
    const text = await cli(['run', '--ready-line', 'READY', '--no-full-scan', '--', DEBIAN_PYTHON, script]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /Required CPU features: /);
    assert.match(text.stdout, /Compatible with \d+ of 383 instance types \(CRIU would allow \d+/);
    assert.match(text.stdout, /Call sites: .* unresolved/);
  });
});
