// Tests of the one /proc layer (native/src/space/procfs.ts) against a real child process: its command line,
// working directory, environment, stat, status and maps as it set them up, and the NativeError kinds once it exited.

import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEBIAN_PYTHON, startProcess, type StartedProcess } from '../helpers/fixtures';
import { NativeError } from '../../native/src/errors';
import { parseStat, processExists, readCmdline, readCwd, readEnviron, readExe, readMaps, readStat, readStatus } from '../../native/src/space/procfs';

const isKind = (kind: string) => (e: unknown) => e instanceof NativeError && e.kind === kind;

describe('procfs: one layer over /proc/PID', () => {
  let p: StartedProcess;
  let dir: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyg procfs '));
    // An argument with a space and an empty one: the NUL-separated form must keep both.
    const code = 'import os, time; print(os.getuid(), "READY", flush=True); time.sleep(600)';
    p = await startProcess(DEBIAN_PYTHON, ['-c', code, 'a b', ''], { cwd: dir, env: { ...process.env, PYG_PROCFS_A: 'x=y', PYG_PROCFS_EMPTY: '' } });
  });
  after(async () => {
    await p?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads cmdline, cwd, exe and environ as the process has them', () => {
    const argv = readCmdline(p.pid);
    assert.equal(argv.length, 5);
    assert.deepEqual(argv.slice(3), ['a b', '']);
    assert.equal(readCwd(p.pid), fs.realpathSync(dir));
    assert.equal(readExe(p.pid), fs.realpathSync(DEBIAN_PYTHON));
    const env = readEnviron(p.pid);
    assert.deepEqual(env.find((e) => e.name === 'PYG_PROCFS_A'), { name: 'PYG_PROCFS_A', value: 'x=y' });
    assert.deepEqual(env.find((e) => e.name === 'PYG_PROCFS_EMPTY'), { name: 'PYG_PROCFS_EMPTY', value: '' });
  });

  it('reads stat, status and maps', () => {
    const st = readStat(p.pid);
    assert.match(st.comm, /^python/);
    assert.match(st.state, /^[RSD]$/);
    // Field 4 is the parent's pid: this test process started it.
    assert.equal(Number(st.fields[4 - 3]), process.pid);
    const status = readStatus(p.pid);
    assert.equal(Number(status.get('Pid')), p.pid);
    assert.equal(Number(status.get('Uid')?.split(/\s+/)[0]), Number(/(\d+) READY/.exec(p.stdout())![1]));
    assert.ok(readMaps(p.pid).some((m) => m.path === '[stack]'));
  });

  it('parses a command name holding spaces and parentheses', () => {
    const st = parseStat('123 (a) b (c)) S 1 2 3 4 5 4194560 7', 'test');
    assert.equal(st.comm, 'a) b (c)');
    assert.equal(st.state, 'S');
    assert.equal(st.flags, 4194560);
    assert.throws(() => parseStat('garbage', 'test'), isKind('malformed'));
  });

  it("says 'gone' for every reader once the process exited", async () => {
    const q = await startProcess(DEBIAN_PYTHON, ['-c', 'print("READY", flush=True); import time; time.sleep(600)']);
    const pid = q.pid;
    await q.stop();
    assert.equal(processExists(pid), false);
    for (const read of [readCmdline, readCwd, readExe, readEnviron, readStat, readStatus, readMaps]) {
      assert.throws(() => read(pid), isKind('gone'), read.name);
    }
  });
});
