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
import { supportedLevel } from '../../native/src/features/vocabulary';
import { defaultCatalog } from '../../native/src/catalog/catalog';
import { buildC, DEBIAN_PYTHON, FIXTURE_SRC, REPO_ROOT, debianPythonHas, hostFlags, kernelExecutes, startProcess, startSleeper } from '../helpers/fixtures';
import { hostSkip, hostSkipUnless, skipOrFail, skipUnless } from '../helpers/skip';

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
    // A spawn that fails (EAGAIN on a loaded machine) is a result with its reason, not an uncaught error.
    child.once('error', (e) => resolve({ code: -1, stdout, stderr: `${stderr}spawn ${cmd} failed: ${e.message}` }));
    // 'close', not 'exit': only then has every byte the CLI wrote been read.
    child.once('close', (code, signal) => resolve({ code: code ?? -1, stdout, stderr: signal ? `${stderr}killed by ${signal}` : stderr }));
  });
}

/** True when `pid` is a live (not zombie) process whose command line names `script`. */
function stillRunning(pid: number, script: string): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return !stat.includes(') Z') && cmdline.includes(script);
  } catch {
    return false; // gone
  }
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
    // The pid of a process that has exited and been reaped; another process may take the number at once, so
    // take one whose /proc entry is really gone (a condition, checked, instead of hoping it stays free).
    let pid = 0;
    for (let i = 0; i < 100 && (pid === 0 || fs.existsSync(`/proc/${pid}`)); i++) pid = Number(spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim());
    assert.ok(pid > 0 && !fs.existsSync(`/proc/${pid}`), 'found a pid that no process holds');
    const r = await cli(['analyze', '--pid', String(pid)]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Process \d+ does not exist/);
  });

  test('permission denied explains ptrace access', { skip: hostSkipUnless(process.getuid?.() === 0, 'needs root to run the CLI as another user') }, async () => {
    const target = await startSleeper();
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
      return skipOrFail(t, 'gcc cannot build 32-bit binaries here');
    }
    // Only a kernel without IA32 emulation (exec fails with ENOEXEC) is a reason to skip.
    if (!kernelExecutes(exe)) return hostSkip(t, 'this kernel does not run i386 binaries (no IA32 emulation)');
    const target = await startProcess(exe, []);
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
    // The message itself carries the command's last output (read to the end before the error is made).
    assert.match(r.stderr, /exited \(code 7\) before it was ready\. Last output:\n[^]*boom/);
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
    // The level the host runs, by its features (one missing, e.g. a masked LZCNT, lowers it).
    assert.equal(host.level, supportedLevel(host.features).name);
    assert.ok(Array.isArray(host.masked) && host.masked.every((f: string) => !host.features.includes(f)), 'masked features are absent');
    assert.equal(typeof host.xtest, 'boolean');
  });

  test('instances lists the shipped catalog: every type, each row measured or derived', async () => {
    const r = await cli(['instances', '--json']);
    assert.equal(r.code, 0);
    const catalog = defaultCatalog();
    const listed = JSON.parse(r.stdout).instances as { name: string; provenance?: { kind: string } }[];
    assert.equal(listed.length, catalog.instances.length);
    assert.deepEqual(
      listed.map((i) => i.provenance?.kind),
      catalog.instances.map((i) => i.provenance?.kind),
    );
    const measured = catalog.instances.filter((i) => i.provenance?.kind === 'measured').length;
    const text = await cli(['instances']);
    assert.equal(text.code, 0);
    assert.match(text.stdout, new RegExp(`^aws-ec2: ${catalog.instances.length} instance types \\(${measured} measured, ${catalog.instances.length - measured} derived`));
    assert.match(text.stdout, /^m7i\.large .*Sapphire Rapids\)  \[derived: sapphirerapids\]$/m);
    assert.match(text.stdout, /^m5\.large .*\[measured\]$/m);
  });

  test('run --json on a NumPy workload: the documented fields, and the child is stopped', { skip: skipUnless(debianPythonHas('numpy'), 'python3-numpy missing') }, async () => {
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
    // The child has been stopped: its pid is gone, a zombie, or already reused by another program.
    assert.ok(!stillRunning(report.target.pid, script), `the workload ${report.target.pid} still runs after the CLI exited`);
    // Human output of the same analysis reads right.
    const text = await cli(['run', '--ready-line', 'READY', '--no-full-scan', '--', DEBIAN_PYTHON, script]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /Required CPU features: /);
    const total = defaultCatalog().instances.length;
    assert.match(text.stdout, new RegExp(`Compatible with \\d+ of ${total} instance types \\(CRIU would allow \\d+`));
    const m = /Catalog aws-ec2: (\d+) types measured, (\d+) derived from their CPU's micro-architecture \(not measured\); (\d+) of the (\d+) compatible are derived\./.exec(text.stdout);
    assert.ok(m, text.stdout);
    assert.equal(Number(m[1]) + Number(m[2]), total);
    assert.match(text.stdout, /Call sites: .* unresolved/);
  });
});
