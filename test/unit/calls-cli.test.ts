// `pygration calls` as a user runs it (dist/cli.js in a child process): a static requirement with unknown
// call sites is a lower bound, never a verdict (text and JSON), and with --pid the whole program includes the
// live interpreter's own requirement, the same as `analyze` on that process.

import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEBIAN_PYTHON, FIXTURE_SRC, REPO_ROOT, startProcess } from '../helpers/fixtures';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const DYNAMIC = path.join(FIXTURE_SRC, 'python', 'lowerbound', 'dynamic_hash.py');
const RESOLVED = path.join(FIXTURE_SRC, 'python', 'lowerbound', 'sleep_only.py');

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args, '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'], cwd: os.tmpdir() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

interface CallsJson {
  callSites: Array<{ line: number; origin: string; unknownCallees?: number; callee: string }>;
  program: { interpreter: string[] | null; required: string[]; level: string; lowerBound: boolean; unknownCallSites: number; compatible: number; total: number };
  notes: string[];
}

async function callsJson(args: string[]): Promise<CallsJson> {
  const r = await cli(['calls', ...args, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as CallsJson;
}

describe('pygration calls', { timeout: 300_000 }, () => {
  test('unknown call sites make the static requirement a lower bound, in the text and the JSON; none leave a verdict', async () => {
    const json = await callsJson([DYNAMIC, '--python', DEBIAN_PYTHON]);
    const unknown = json.callSites.filter((s) => s.origin === 'unknown' || (s.unknownCallees ?? 0) > 0);
    // `algo(...)` (line 8) calls what getattr returned: no name to resolve, whatever resolution learns.
    assert.ok(unknown.some((s) => s.line === 8 && s.origin === 'unknown'), JSON.stringify(json.callSites));
    assert.equal(json.program.lowerBound, true);
    assert.equal(json.program.unknownCallSites, unknown.length);

    const text = await cli(['calls', DYNAMIC, '--python', DEBIAN_PYTHON]);
    assert.equal(text.code, 0, text.stderr);
    const n = unknown.length;
    assert.match(text.stdout, new RegExp(`^Whole program \\(.*\\): at least (x86-64|the x86-64).*; ${n} call sites? unknown$`, 'm'));
    assert.match(text.stdout, new RegExp(`^Not a verdict: could be compatible with at most ${json.program.compatible} of ${json.program.total} instance types — ${n} call sites? unknown`, 'm'));
    assert.doesNotMatch(text.stdout, /^Compatible with/m);

    const resolved = await callsJson([RESOLVED, '--python', DEBIAN_PYTHON]);
    assert.ok(resolved.callSites.length > 0 && resolved.callSites.every((s) => s.origin !== 'unknown' && !s.unknownCallees), JSON.stringify(resolved.callSites));
    assert.equal(resolved.program.lowerBound, false);
    assert.equal(resolved.program.unknownCallSites, 0);
    const verdict = await cli(['calls', RESOLVED, '--python', DEBIAN_PYTHON]);
    assert.match(verdict.stdout, new RegExp(`^Compatible with ${resolved.program.compatible} of ${resolved.program.total} instance types`, 'm'));
    assert.doesNotMatch(verdict.stdout, /at least|Not a verdict/);
  });

  test('--pid includes the live interpreter\'s requirement: the same requirement and verdict as analyze', async () => {
    // Blocked in time.sleep for the whole test, so both analyses see the same threads and stacks.
    const proc = await startProcess(DEBIAN_PYTHON, [DYNAMIC], { env: { ...process.env, LD_BIND_NOW: '1' } });
    try {
      const calls = await callsJson([DYNAMIC, '--pid', String(proc.pid)]);
      assert.ok(Array.isArray(calls.program.interpreter) && calls.program.interpreter.length > 0, `the interpreter's requirement: ${JSON.stringify(calls.program)}`);
      // The live interpreter's roots cover every C function Python can call: not a lower bound.
      assert.equal(calls.program.lowerBound, false);
      const r = await cli(['analyze', '--pid', String(proc.pid), '--json', '--no-full-scan']);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as { required: string[]; level: string; instances: { compatible: string[] } };
      assert.deepEqual([...calls.program.required].sort(), [...report.required].sort());
      assert.equal(calls.program.level, report.level);
      assert.equal(calls.program.compatible, report.instances.compatible.length);
      const text = await cli(['calls', DYNAMIC, '--pid', String(proc.pid)]);
      assert.match(text.stdout, /^Whole program \(call sites ∪ the live interpreter's own: entry point, threads and every C function Python can call\): /m);
      assert.match(text.stdout, new RegExp(`^Compatible with ${report.instances.compatible.length} of \\d+ instance types`, 'm'));
    } finally {
      await proc.stop();
    }
  });
});
