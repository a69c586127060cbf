// The Python frame reader on real interpreters (pyenv 3.8–3.13, Debian's python3): offsets against offsetof(), line
// tables against CPython's, live frames against sys._current_frames() and dis; errors; `pygration frames`.

import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ProcessAddressSpace } from '../../native/src/space/processSpace';
import { StaticAddressSpace } from '../../native/src/space/staticSpace';
import { NativeError } from '../../native/src/errors';
import { ProcessView } from '../../native/src/space/processView';
import { type PyVersion, PY_VERSIONS } from '../../native/src/cpython/abi';
import { FRAME_LAYOUTS } from '../../native/src/cpython/frameLayouts';
import { type PythonFrames, readPythonFrames } from '../../native/src/cpython/frames';
import { lineForOffset } from '../../native/src/cpython/lineTable';
import { buildC, DEBIAN_PYTHON, FIXTURE_OUT, FIXTURE_SRC, REPO_ROOT, startProcess, startSleeper } from '../helpers/fixtures';
import { DEBIAN_INCLUDE, pyenvInterpreters } from './python-helpers';

interface Target {
  label: string;
  version: PyVersion;
  python: string;
  include: string;
}

/** Every interpreter to test: pyenv's 3.8–3.13 when present, and Debian's python3 (statically linked libpython). */
function targets(): Array<Target | { label: string; version: PyVersion; missing: string }> {
  const pyenv = pyenvInterpreters();
  const out: Array<Target | { label: string; version: PyVersion; missing: string }> = PY_VERSIONS.map((v) => {
    const it = pyenv.find((i) => i.version === v);
    return it ? { label: `pyenv ${v}`, ...it } : { label: `pyenv ${v}`, version: v, missing: `no pyenv CPython ${v} with headers on this machine` };
  });
  // Debian's interpreter is never skipped: its absence fails the suite.
  const debianVersion = execFileSync(DEBIAN_PYTHON, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' }).trim();
  out.push({ label: `Debian python3 (${debianVersion})`, version: debianVersion as PyVersion, python: DEBIAN_PYTHON, include: DEBIAN_INCLUDE });
  return out;
}

const TARGETS = targets();
const minor = (v: PyVersion) => Number(v.split('.')[1]);
const skipOf = (t: (typeof TARGETS)[number]) => ('missing' in t ? t.missing : false);

/** The fixture scripts, copied under a non-ASCII directory name so co_filename is not ASCII either. */
function scriptDir(): string {
  const dir = path.join(FIXTURE_OUT, 'frames-ü');
  fs.mkdirSync(dir, { recursive: true });
  for (const f of ['frames_main.py', 'frames_worker.py', 'frames_busy.py', 'line_oracle.py']) fs.copyFileSync(path.join(FIXTURE_SRC, 'python', 'frames', f), path.join(dir, f));
  return dir;
}

interface OracleFrame {
  file: string;
  name: string;
  qualname: string | null;
  firstLineNo: number;
  lasti: number;
  line: number;
  op: string | null;
}
interface Oracle {
  pid: number;
  reporter: number;
  threads: Record<string, OracleFrame[]>;
  modules: string[];
}

async function withWorkload(python: string, body: (pid: number, oracle: Oracle, dir: string) => Promise<void> | void): Promise<void> {
  const dir = scriptDir();
  const proc = await startProcess(python, [path.join(dir, 'frames_main.py')], { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  try {
    const line = proc.stdout().split('\n').find((l) => l.startsWith('{'));
    assert.ok(line, `the workload printed its report: ${proc.stdout()}`);
    await body(proc.pid, JSON.parse(line) as Oracle, dir);
  } finally {
    await proc.stop();
  }
}

function read(pid: number): PythonFrames {
  const view = new ProcessView(pid);
  try {
    return readPythonFrames(new ProcessAddressSpace(view));
  } finally {
    view.close();
  }
}

describe('frame-reader offsets against offsetof() from the real headers', () => {
  for (const t of TARGETS) {
    test(t.label, { skip: skipOf(t) }, () => {
      const it = t as Target;
      const exe = buildC('c/pyframes_offsets.c', { flags: ['-DPy_BUILD_CORE', `-I${it.include}`, `-I${it.include}/internal`], outName: `pyframes_offsets-${t.label.replace(/\W+/g, '_')}` });
      const oracle = JSON.parse(execFileSync(exe, { encoding: 'utf8' })) as Record<string, unknown>;
      assert.equal(oracle.version, t.version);
      delete oracle.version;
      assert.deepEqual({ ...FRAME_LAYOUTS[t.version].offsets }, oracle, `${t.label}: every group of frameLayouts.ts equals the oracle's`);
    });
  }
});

describe('line numbers from the line tables, against CPython\'s own', () => {
  for (const t of TARGETS) {
    test(t.label, { skip: skipOf(t) }, () => {
      const oracle = (env: NodeJS.ProcessEnv) =>
        JSON.parse(execFileSync((t as Target).python, [path.join(scriptDir(), 'line_oracle.py')], { encoding: 'utf8', maxBuffer: 256 << 20, env })) as Array<{
          name: string;
          first: number;
          table: string;
          lines: Array<[number, number | null]>;
        }>;
      // 3.11+ without column information (PYTHONNODEBUGRANGES) writes the other entry kind, "no columns".
      const codes = [...oracle(process.env), ...(minor(t.version) >= 11 ? oracle({ ...process.env, PYTHONNODEBUGRANGES: '1' }) : [])];
      assert.ok(codes.length > 50, 'threading.py has many code objects');
      const format = FRAME_LAYOUTS[t.version].lineTable;
      let checked = 0;
      let noLine = 0;
      for (const c of codes) {
        const table = Buffer.from(c.table, 'hex');
        for (const [offset, line] of c.lines) {
          assert.equal(lineForOffset(format, table, c.first, offset) ?? null, line, `${c.name} offset ${offset}`);
          checked++;
          if (line === null) noLine++;
        }
      }
      const synth = codes.find((c) => c.name === 'synth')!;
      assert.ok(synth.lines.some(([, l]) => l !== null && l > synth.first + 300), 'the synthetic function jumps more than 127 lines');
      assert.ok(checked > 2000, `${checked} offsets checked`);
      if (minor(t.version) >= 11) assert.ok(noLine > 0, 'some 3.11+ instructions have no line');
    });
  }
});

describe('live frames of every thread, read from memory', () => {
  for (const t of TARGETS) {
    test(t.label, { skip: skipOf(t), timeout: 60_000 }, async () => {
      await withWorkload((t as Target).python, (pid, oracle) => {
        const r = read(pid);
        assert.equal(r.version, t.version);
        assert.deepEqual(r.notes, []);
        const tasks = new ProcessView(pid).threads();
        assert.equal(r.threads.length, 3, 'main, worker and reporter');
        assert.deepEqual(r.threads.map((x) => x.threadId).sort(), [...tasks].sort(), 'one thread state per OS thread, by native id');
        assert.ok(r.threads.some((x) => x.threadId === pid), 'the main thread is the process id');
        for (const [tid, expected] of Object.entries(oracle.threads)) {
          const th = r.threads.find((x) => x.threadId === Number(tid));
          assert.ok(th, `thread ${tid} was read`);
          assert.ok(th.complete && th.stable, `thread ${tid}: complete and stable`);
          const got = th.frames.map((f) => ({ file: f.file, name: f.name, qualname: f.qualname ?? null, firstLineNo: f.firstLineNo, lasti: f.lasti, line: f.line }));
          const want = expected.map((f) => ({ file: f.file, name: f.name, qualname: f.qualname, firstLineNo: f.firstLineNo, lasti: f.lasti, line: f.line }));
          assert.deepEqual(got, want, `thread ${tid}: the frames sys._current_frames() sees, innermost first`);
          for (const f of expected) assert.match(f.op ?? '', /CALL/, `${f.name}: lasti ${f.lasti} is a call in dis (${f.op})`);
        }
        assert.deepEqual(r.modules, oracle.modules, 'the keys of sys.modules, in order');
        assert.ok(r.modules!.includes('modül_ü') && !r.modules!.includes('colorsys'));
        const main = r.threads.find((x) => x.threadId === pid)!;
        assert.deepEqual(main.frames.map((f) => f.name), ['inner', 'outer', '<module>']);
        assert.ok(main.frames[0].file.endsWith('/frames-ü/frames_main.py'), main.frames[0].file);
        const worker = r.threads.find((x) => x.threadId !== pid && x.threadId !== oracle.reporter)!;
        assert.deepEqual(worker.frames.slice(0, 2).map((f) => `${path.basename(f.file)}:${f.name}`), ['frames_worker.py:𠀀待機', 'frames_worker.py:wait_here']);
        const reporter = r.threads.find((x) => x.threadId === oracle.reporter)!;
        assert.equal(reporter.frames[0].name, 'report');
        if (minor(t.version) >= 11) {
          // Python-to-Python calls run in the same C frame from 3.11 on: only the module frame is entered from C.
          assert.deepEqual(main.frames.map((f) => f.isEntry === true), [false, false, true]);
          assert.equal(main.frames[1].qualname, 'outer');
        } else {
          assert.ok(main.frames.every((f) => f.isEntry === undefined && f.qualname === undefined));
        }
      });
    });
  }

  for (const t of TARGETS) {
    test(`${t.label}: a thread that keeps running Python code is read without error`, { skip: skipOf(t), timeout: 60_000 }, async () => {
      const proc = await startProcess((t as Target).python, [path.join(scriptDir(), 'frames_busy.py')]);
      try {
        const space = new ProcessAddressSpace(new ProcessView(proc.pid));
        const seen = new Set<string>();
        for (let i = 0; i < 50; i++) {
          const r = readPythonFrames(space);
          assert.equal(r.threads.length, 1);
          const th = r.threads[0];
          assert.equal(th.threadId, proc.pid);
          if (!th.complete) continue;
          const names = th.frames.map((f) => f.name).join(' < ');
          assert.ok(names === 'spin < <module>' || names === 'step < spin < <module>', names);
          seen.add(names);
        }
        assert.ok(seen.size > 0, 'some reads followed the whole chain');
        space.view.close();
      } finally {
        await proc.stop();
      }
    });
  }

  test('a process that is not Python: a clear unsupported error', async () => {
    // A C program that prints READY itself, after it started: with `sh -c 'echo READY; exec sleep'` the read
    // could land on the exec, and the memory of the process it replaced vanished under it.
    const proc = await startProcess(buildC('c/proc_ready.c'), []);
    try {
      assert.throws(
        () => read(proc.pid),
        (e: unknown) => e instanceof NativeError && e.kind === 'unsupported' && /is not a CPython process: no loaded object defines _PyRuntime/.test(e.message),
      );
    } finally {
      await proc.stop();
    }
  });

  for (const [v, dir] of [['3.7', '3.7.16'], ['2.7', '2.7.18']]) {
    const python = `/root/.pyenv/versions/${dir}/bin/python${v}`;
    test(`CPython ${v}: unsupported, naming the version`, { skip: fs.existsSync(python) ? false : `no pyenv CPython ${dir} on this machine` }, async () => {
      const proc = await startProcess(python, ['-c', 'import sys, time; sys.stdout.write("READY\\n"); sys.stdout.flush(); time.sleep(600)']);
      try {
        assert.throws(() => read(proc.pid), (e: unknown) => e instanceof NativeError && e.kind === 'unsupported' && e.message.includes(`CPython ${v} is not supported`));
      } finally {
        await proc.stop();
      }
    });
  }

  test('over files at rest (no live memory): a clear unsupported error', () => {
    const space = new StaticAddressSpace([fs.realpathSync(DEBIAN_PYTHON)]);
    assert.equal(space.liveMemory, false);
    assert.throws(() => readPythonFrames(space), (e: unknown) => e instanceof NativeError && e.kind === 'unsupported' && /needs a live process/.test(e.message));
  });
});

describe('pygration frames', () => {
  const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
  const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

  test('--help documents it; text and --json on Debian\'s python3; a non-Python pid exits 1', async () => {
    assert.match(cli(['--help']).stdout, /pygration frames --pid N \[--json\]/);
    assert.equal(cli(['frames']).status, 2);
    await withWorkload(DEBIAN_PYTHON, (pid, oracle) => {
      const text = cli(['frames', '--pid', String(pid)]);
      assert.equal(text.status, 0, text.stderr);
      const inner = oracle.threads[String(pid)][0];
      assert.match(text.stdout, new RegExp(`^Process ${pid}: CPython 3\\.\\d+\\.\\d+ \\(/usr/bin/python3\\.\\d+\\), 3 threads$`, 'm'));
      assert.match(text.stdout, new RegExp(`^Thread ${pid} "[^"]*" \\(main\\):\\n    inner \\(${inner.file}:${inner.line}\\) lasti ${inner.lasti}\\n    outer `, 'm'));
      assert.match(text.stdout, /^ {4}𠀀待機 \(.*frames_worker\.py:\d+\) lasti \d+$/m);
      const json = cli(['frames', '--pid', String(pid), '--json']);
      assert.equal(json.status, 0, json.stderr);
      const parsed = JSON.parse(json.stdout) as PythonFrames & { pid: number };
      assert.equal(parsed.pid, pid);
      assert.equal(parsed.threads.length, 3);
      assert.deepEqual(parsed.threads.find((x) => x.threadId === pid)!.frames.map((f) => f.name), ['inner', 'outer', '<module>']);
    });
    const sh = await startSleeper();
    try {
      const r = cli(['frames', '--pid', String(sh.pid)]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /is not a CPython process/);
    } finally {
      await sh.stop();
    }
  });

  test('another user\'s process: permission denied, exit 1', { skip: process.getuid?.() === 0 ? false : 'needs root to run the CLI as another user' }, async () => {
    await withWorkload(DEBIAN_PYTHON, (pid) => {
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'frames', '--pid', String(pid)], { encoding: 'utf8' });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /Permission denied/);
    });
  });
});
