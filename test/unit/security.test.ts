// What pygration executes when it analyses a live process (docs/security.md): the process's interpreter only
// when it is CPython 3.8+, as the process's user, isolated, with the sys.path the process started with and
// none of its start-up code. Real second user (useradd, as root), real processes, the built CLI.

import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PythonHelper } from '../../server/src/bytecode/helper';
import { interpreterFlags } from '../../server/src/bytecode/liveInterpreter';
import { DEBIAN_PYTHON, REPO_ROOT, buildC, startProcess, startSleeper } from '../helpers/fixtures';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const IS_ROOT = process.getuid?.() === 0;
const USERADD = ['/usr/sbin/useradd', '/sbin/useradd'].find((f) => fs.existsSync(f));
const PYENV = path.join(process.env.PYENV_ROOT ?? path.join(os.homedir(), '.pyenv'), 'versions');

function cli(args: string[], cwd = os.tmpdir()): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Starts `argv` as uid/gid and resolves with the process and its first stdout line once it printed READY. */
function startAs(argv: string[], options: { uid?: number; gid?: number; cwd: string; env: NodeJS.ProcessEnv }): Promise<{ child: ChildProcess; firstLine: string }> {
  const child = spawn(argv[0], argv.slice(1), { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${argv.join(' ')} did not print READY: ${err}`));
    }, 30_000);
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('READY')) {
        clearTimeout(timer);
        resolve({ child, firstLine: out.split('\n')[0] });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(' ')} exited (${code}) before READY: ${err}`));
    });
  });
}

function kill(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** A program that records, in ran.log, each process that runs it and with which effective uid. */
function recorder(log: string, what: string): string {
  return `import os; open(${JSON.stringify(log)}, 'a').write('%d %d ${what}\\n' % (os.getpid(), os.geteuid()))`;
}

/** The Python files of a target whose start-up code records itself: a .pth, usercustomize, sitecustomize on PYTHONPATH. */
function writeTarget(home: string, pyver: string, log: string): { app: string; userSite: string; pp: string } {
  const userSite = path.join(home, '.local', 'lib', `python${pyver}`, 'site-packages');
  const pp = path.join(home, 'pp');
  const app = path.join(home, 'app');
  for (const d of [userSite, pp, app]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(userSite, 'zz.pth'), `${recorder(log, 'pth')}\n`);
  fs.writeFileSync(path.join(userSite, 'usercustomize.py'), `${recorder(log, 'usercustomize')}\n`);
  fs.writeFileSync(path.join(userSite, 'zzmod.py'), 'import math\n\ndef f():\n    return math.sqrt(2)\n');
  fs.writeFileSync(path.join(pp, 'sitecustomize.py'), `${recorder(log, 'sitecustomize')}\n`);
  fs.writeFileSync(path.join(pp, 'ppmod.py'), 'X = 1\n');
  // Prints the sys.path it started with (its own directory, which the helper is given apart, left out).
  fs.writeFileSync(
    path.join(app, 'job.py'),
    ['import json, sys, time', 'import zzmod, ppmod', 'print(json.dumps(sys.path[1:]))', 'print("READY", flush=True)', 'zzmod.f()', 'while True:', '    time.sleep(1)', ''].join('\n'),
  );
  return { app, userSite, pp };
}

function logLines(log: string): string[] {
  return fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
}

function pythonVersion(python: string): string {
  return execFileSync(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' }).trim();
}

const NO_PYTHON = fs.existsSync(DEBIAN_PYTHON) ? false : `${DEBIAN_PYTHON} is missing`;

describe('running a live process of another user', { skip: !IS_ROOT ? 'needs root: creates a second user and runs pygration as root against its process' : !USERADD ? 'useradd is missing' : NO_PYTHON, timeout: 600_000 }, () => {
  const name = `pygsec${process.pid % 100000}`;
  let uid = -1;
  let gid = -1;
  let home = '';
  let log = '';
  let target: ChildProcess | undefined;
  let files: ReturnType<typeof writeTarget>;
  let startedPath: string[] = [];
  let baseline: string[] = [];

  before(async () => {
    spawnSync('userdel', ['-r', name], { stdio: 'ignore' });
    execFileSync(USERADD!, ['-m', '-s', '/bin/sh', name], { stdio: 'ignore' });
    uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    home = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).split(':')[5];
    log = path.join(home, 'ran.log');
    files = writeTarget(home, pythonVersion(DEBIAN_PYTHON), log);
    execFileSync('chown', ['-R', `${uid}:${gid}`, home]);
    const started = await startAs([DEBIAN_PYTHON, 'job.py'], { uid, gid, cwd: files.app, env: { HOME: home, PATH: '/usr/bin:/bin', PYTHONPATH: files.pp } });
    target = started.child;
    startedPath = JSON.parse(started.firstLine) as string[];
    // The target ran its own start-up code, as itself: what it does every time it starts.
    baseline = logLines(log);
    assert.deepEqual(baseline.map((l) => l.split(' ').slice(1).join(' ')).sort(), [`${uid} pth`, `${uid} sitecustomize`, `${uid} usercustomize`]);
  });

  after(async () => {
    await kill(target);
    spawnSync('userdel', ['-r', name], { stdio: 'ignore' });
  });

  test('the helper runs as the process\'s user with no supplementary groups, and learns its sys.path without running its start-up code', async () => {
    const helper = await PythonHelper.start({ python: `/proc/${target!.pid}/exe` });
    try {
      assert.deepEqual(helper.credentials, { uid, gid });
      const status = fs.readFileSync(`/proc/${helper.pid}/status`, 'utf8');
      assert.match(status, new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`, 'm'));
      assert.match(status, new RegExp(`^Gid:\\s+${gid}\\s+${gid}\\s+${gid}\\s+${gid}$`, 'm'));
      assert.match(status, /^Groups:\s*$/m);
      assert.deepEqual(helper.info.sysPath, startedPath, 'the same sys.path the process started with');
      assert.ok(helper.info.sysPath.includes(files.userSite) && helper.info.sysPath.includes(files.pp));
    } finally {
      helper.close();
    }
    assert.deepEqual(logLines(log), baseline, 'no start-up code of the target ran again');
  });

  test('`calls --pid` and `analyze --pid` as root never run the user\'s .pth, sitecustomize or usercustomize', async () => {
    const calls = await cli(['calls', path.join(files.app, 'job.py'), '--pid', String(target!.pid), '--json', '--quiet']);
    assert.equal(calls.code, 0, calls.stderr);
    const out = JSON.parse(calls.stdout) as { python: { sysPath: string[] }; callSites: Array<{ callee: string; qualifiedName?: string }> };
    assert.ok(out.python.sysPath.includes(files.userSite), `the user site is searched: ${out.python.sysPath.join(':')}`);
    assert.ok(out.callSites.some((s) => (s.qualifiedName ?? s.callee).includes('zzmod.f')), 'a call into a module of the user site is tracked');
    const analyze = await cli(['analyze', '--pid', String(target!.pid), '--no-full-scan', '--json', '--quiet']);
    assert.equal(analyze.code, 0, analyze.stderr);
    const report = JSON.parse(analyze.stdout) as { notes: string[] };
    assert.ok(report.notes.some((n) => /Bytecode tracking of job\.py/.test(n)), report.notes.join('\n'));
    const lines = logLines(log);
    assert.ok(!lines.some((l) => l.split(' ')[1] === '0'), `nothing of the user's ran as root: ${lines.join('; ')}`);
    assert.deepEqual(lines, baseline, 'nothing of the user\'s ran at all');
  });
});

describe('files given to calls --pid are read as the process\'s user', { skip: !IS_ROOT ? 'needs root: creates a second user' : !USERADD ? 'useradd is missing' : NO_PYTHON, timeout: 300_000 }, () => {
  test('a file that user may not read is reported as not analysed, and calls exits 1', async () => {
    const name = `pygsecf${process.pid % 100000}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-private-'));
    let child: ChildProcess | undefined;
    try {
      spawnSync('userdel', ['-r', name], { stdio: 'ignore' });
      execFileSync(USERADD!, ['-M', '-s', '/bin/sh', name], { stdio: 'ignore' });
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
      fs.chmodSync(dir, 0o700);
      const secret = path.join(dir, 'secret.py');
      fs.writeFileSync(secret, 'import math\nmath.sqrt(2)\n');
      ({ child } = await startAs([DEBIAN_PYTHON, '-c', 'import time; print("READY", flush=True); time.sleep(600)'], { uid, gid, cwd: '/', env: { PATH: '/usr/bin:/bin' } }));
      const r = await cli(['calls', secret, '--pid', String(child.pid), '--quiet']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`secret\\.py was not analysed: .*Permission denied.* The files are read as the user of process ${child.pid}\\.`));
    } finally {
      await kill(child);
      spawnSync('userdel', ['-r', name], { stdio: 'ignore' });
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the sys.path of a live process, computed without its start-up code', { timeout: 300_000 }, () => {
  const interpreters = [DEBIAN_PYTHON, ...['3.8', '3.13'].map((v) => {
    try {
      const dir = fs.readdirSync(PYENV).filter((n) => n.startsWith(`${v}.`)).sort().pop();
      return dir ? path.join(PYENV, dir, 'bin', `python${v}`) : undefined;
    } catch {
      return undefined;
    }
  })].filter((p): p is string => p !== undefined && fs.existsSync(p));

  for (const python of interpreters) {
    test(`equals the process's own in a virtual environment, with PYTHONPATH and a .pth path line (${python})`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-venv-'));
      let child: ChildProcess | undefined;
      try {
        execFileSync(python, ['-m', 'venv', '--without-pip', path.join(dir, 'venv')]);
        const venvSite = execFileSync(path.join(dir, 'venv', 'bin', 'python'), ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], { encoding: 'utf8' }).trim();
        fs.mkdirSync(path.join(dir, 'extra'));
        fs.mkdirSync(path.join(dir, 'pp'));
        fs.writeFileSync(path.join(venvSite, 'extra.pth'), `# a comment\n${path.join(dir, 'extra')}\n${recorder(path.join(dir, 'ran.log'), 'pth')}\n`);
        fs.writeFileSync(path.join(dir, 'job.py'), ['import json, sys, time', 'print(json.dumps(sys.path[1:]))', 'print("READY", flush=True)', 'while True:', '    time.sleep(1)', ''].join('\n'));
        const started = await startAs([path.join(dir, 'venv', 'bin', 'python'), '-W', 'ignore', 'job.py'], { cwd: dir, env: { HOME: dir, PATH: '/usr/bin:/bin', PYTHONPATH: 'pp' } });
        child = started.child;
        const expected = JSON.parse(started.firstLine) as string[];
        assert.ok(expected.includes(venvSite) && expected.includes(path.join(dir, 'extra')) && expected.includes(path.join(dir, 'pp')), expected.join(':'));
        const helper = await PythonHelper.start({ python: `/proc/${child.pid}/exe` });
        try {
          assert.deepEqual(helper.info.sysPath, expected);
          assert.deepEqual(helper.info.skippedPth, [path.join(venvSite, 'extra.pth')], 'the .pth whose import line was not run is reported');
        } finally {
          helper.close();
        }
        const ran = logLines(path.join(dir, 'ran.log'));
        assert.ok(ran.length > 0 && ran.every((l) => l.startsWith(`${started.child.pid} `)), `only the process itself ran the .pth import line: ${ran.join('; ')}`);
      } finally {
        await kill(child);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test('equals the process\'s own under -E, -s, -S and -I, with PYTHONPATH and a user site', { skip: NO_PYTHON }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-flags-'));
    try {
      const userSite = path.join(dir, '.local', 'lib', `python${pythonVersion(DEBIAN_PYTHON)}`, 'site-packages');
      fs.mkdirSync(userSite, { recursive: true });
      fs.mkdirSync(path.join(dir, 'pp'));
      fs.writeFileSync(
        path.join(dir, 'job.py'),
        ['import json, os, sys, time', 'here = os.path.dirname(os.path.abspath(__file__))', 'print(json.dumps([p for p in sys.path if p != here]))', 'print("READY", flush=True)', 'while True:', '    time.sleep(1)', ''].join('\n'),
      );
      const seen = new Set<string>();
      for (const flags of [[], ['-E'], ['-s'], ['-S'], ['-I'], ['-sE']]) {
        const started = await startAs([DEBIAN_PYTHON, ...flags, 'job.py'], { cwd: dir, env: { HOME: dir, PATH: '/usr/bin:/bin', PYTHONPATH: path.join(dir, 'pp') } });
        try {
          const expected = JSON.parse(started.firstLine) as string[];
          seen.add(JSON.stringify(expected));
          const helper = await PythonHelper.start({ python: `/proc/${started.child.pid}/exe` });
          try {
            assert.deepEqual(helper.info.sysPath, expected, `flags ${flags.join(' ') || '(none)'}`);
          } finally {
            helper.close();
          }
        } finally {
          await kill(started.child);
        }
      }
      assert.ok(seen.size >= 4, 'the flags gave different paths, so the comparison means something');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('interpreter flags that change sys.path are read from the command line', () => {
    assert.deepEqual(interpreterFlags(['python3', '-Es', 'app.py', '-S']), { E: true, s: true });
    assert.deepEqual(interpreterFlags(['python3', '-W', 'ignore', '-I', '-c', 'pass', '-S']), { I: true });
    assert.deepEqual(interpreterFlags(['python3', '-Wignore', '-S', '-m', 'x', '-E']), { S: true });
    assert.deepEqual(interpreterFlags(['python3', '-Xdev', '-sS']), { s: true, S: true });
  });
});

describe('a process that is not CPython 3.8+ is never executed', { timeout: 300_000 }, () => {
  let dir: string;
  let app: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-notpython-'));
    app = path.join(dir, 'app.py');
    fs.writeFileSync(app, 'import time\ntime.sleep(1)\n');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a program named python3.11 that is not Python: refused by calls and analyze, run only by itself', async () => {
    const fake = path.join(dir, 'python3.11');
    fs.copyFileSync(buildC('c/fake_python.c'), fake);
    fs.chmodSync(fake, 0o755);
    const log = path.join(dir, 'fake.log');
    const target = await startProcess(fake, ['wait'], { env: { ...process.env, FAKE_PYTHON_LOG: log } });
    try {
      const r = await cli(['calls', app, '--pid', String(target.pid), '--quiet']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /is not a CPython interpreter/);
      assert.match(r.stderr, /was not executed/);
      const a = await cli(['analyze', '--pid', String(target.pid), '--no-full-scan', '--json', '--quiet']);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(logLines(log).length, 1, `executed only once, by the test: ${logLines(log).join('; ')}`);
    } finally {
      await target.stop();
    }
  });

  test('calls --pid on sleep does not run sleep', async () => {
    const target = await startSleeper();
    try {
      const r = await cli(['calls', app, '--pid', String(target.pid), '--quiet']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /runs \/(usr\/)?bin\/sleep, which is not a CPython interpreter .* it was not executed/);
    } finally {
      await target.stop();
    }
  });
});
