// The walk kept between the stops of a debug session (native/src/trace/stopWalk.ts): at every stop of a real Python
// process, the analysis with the kept walk equals a fresh analysis, also after a new extension module was imported.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { analyzeProcess, executionPathTracking, ProcessAddressSpace, ProcessView, StopWalkCache, type AnalysisReport, type EptResult } from '../../native/src';
import type { EptOptions } from '../../native/src/trace/eptTypes';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyzePythonProcess } from '../../server/src/processAnalysis';
import { buildC, DEBIAN_PYTHON } from '../helpers/fixtures';

/**
 * A Python process that stops (blocks reading stdin, as a debuggee waits at a breakpoint) after each step: step 1
 * calls into json's C accelerator, step 2 imports _decimal (a new extension module) and uses it.
 */
const PROGRAM = `
import sys, json
def stop(n):
    print(f"STOP {n}", flush=True)
    sys.stdin.readline()
json.dumps({"a": [1, 2.5]})
stop(1)
stop(2)
import _decimal
_decimal.Decimal(1) / 7
stop(3)
`;

class Debuggee {
  private out = '';
  readonly child: ChildProcess;
  constructor(command: string[] = [DEBIAN_PYTHON, '-c', PROGRAM]) {
    this.child = spawn(command[0], command.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LD_BIND_NOW: '1' } });
    this.child.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
  }
  get pid(): number {
    return this.child.pid!;
  }
  /** Resolves once the process printed `STOP n` (it then blocks on stdin). */
  stopped(n: number, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const t0 = Date.now();
      const poll = () => {
        if (this.out.includes(`STOP ${n}\n`)) return resolve();
        if (this.child.exitCode !== null || Date.now() - t0 > timeoutMs) return reject(new Error(`no STOP ${n}: ${this.out}`));
        setTimeout(poll, 20);
      };
      poll();
    });
  }
  get output(): string {
    return this.out;
  }
  resume(): void {
    this.child.stdin!.write('\n');
  }
  kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill('SIGKILL');
    });
  }
}

/** The report without what differs between any two runs: timings, memory, and the freeze's duration. */
function comparable(r: AnalysisReport): unknown {
  const { seconds: _s, peakRssMB: _p, ...stats } = r.stats;
  return { ...r, stats, notes: r.notes.map((n) => n.replace(/ptrace for [\d.]+ ms/, 'ptrace for N ms')) };
}

test('at each stop the analysis with the walk kept from the last stop equals a fresh one, also after a new extension module', async () => {
  const p = new Debuggee();
  const cache = new StopWalkCache();
  const run = (stopWalk?: StopWalkCache) => analyzeProcess(p.pid, { withFullScan: false, probeMasked: false, stopWalk });
  try {
    await p.stopped(1);
    const first = await run(cache);
    assert.equal(first.firstPhase, 'first stop');
    assert.deepEqual(comparable(first.report), comparable((await run()).report));

    p.resume();
    await p.stopped(2);
    const second = await run(cache);
    const fresh2 = await run();
    assert.equal(second.firstPhase, 'reused', 'nothing the first phase read changed between two stops of a blocked process');
    assert.deepEqual(comparable(second.report), comparable(fresh2.report));

    p.resume();
    await p.stopped(3);
    const third = await run(cache);
    const fresh3 = await run();
    // The import changed the result (so a walk reused from stop 2 would be wrong), and the kept walk followed it.
    assert.ok(fresh3.report.stats.modulesVisited > fresh2.report.stats.modulesVisited, 'the import of _decimal added modules to the walk');
    assert.deepEqual(comparable(third.report), comparable(fresh3.report));
    assert.notEqual(third.firstPhase, 'reused', 'the modules changed: the first phase is walked again');

    // Nothing changed since: reused again, still equal.
    const fourth = await run(cache);
    assert.equal(fourth.firstPhase, 'reused');
    assert.deepEqual(comparable(fourth.report), comparable((await run()).report));
  } finally {
    await p.kill();
  }
});

test('a call site\'s walk is reused at the next stop while what it read holds, and walked again when a pointer it followed changed', async () => {
  // test/fixtures/c/stop_switch.c: dispatch() jumps through a pointer switched to an AVX2 handler between stops.
  const p = new Debuggee([buildC('c/stop_switch.c')]);
  const cache = new StopWalkCache();
  const options: EptOptions = { mode: 'ept', addressTaken: false };
  const at = (): { kept: EptResult; fresh: EptResult } => {
    const dispatch = Number(/dispatch=(0x[0-9a-f]+)/.exec(p.output)![1]);
    const view = new ProcessView(p.pid);
    try {
      const space = new ProcessAddressSpace(view);
      const roots = [{ address: dispatch, reason: 'the call site\'s native callee' }];
      return { kept: cache.siteWalk(space, roots, options), fresh: executionPathTracking(space, roots, options) };
    } finally {
      view.close();
    }
  };
  try {
    await p.stopped(1);
    const first = at();
    assert.deepEqual(first.kept, first.fresh);
    const baseline = [...first.fresh.features.keys()];
    assert.deepEqual(cache.siteWalks, { reused: 0, walked: 1 });
    const again = at();
    assert.deepEqual(again.kept, again.fresh);
    assert.deepEqual(cache.siteWalks, { reused: 1, walked: 1 }, 'nothing changed: the walk is reused');

    p.resume();
    await p.stopped(2);
    const second = at();
    // The pointer now leads to the AVX2 handler: a walk reused from stop 1 would miss it.
    assert.notDeepEqual([...second.fresh.features.keys()], baseline, 'the walk through the switched pointer finds the AVX handler\'s features');
    assert.deepEqual(second.kept, second.fresh);
    assert.deepEqual(cache.siteWalks, { reused: 1, walked: 2 }, 'the pointer it read changed: walked again');
    const third = at();
    assert.deepEqual(third.kept, third.fresh);
    assert.equal(cache.siteWalks.reused, 2);
  } finally {
    await p.kill();
  }
});

test('the call sites of a Python program (server side) analysed with the kept walks equal fresh ones at each stop', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyg-stop-'));
  const file = path.join(dir, 'program.py');
  fs.writeFileSync(file, PROGRAM);
  const p = new Debuggee([DEBIAN_PYTHON, file]);
  const cache = new StopWalkCache();
  const run = async (stopWalk?: StopWalkCache) => {
    const r = await analyzePythonProcess(p.pid, { withFullScan: false, probeMasked: false, stopWalk });
    return { report: comparable(r.report), callSites: r.callSites };
  };
  try {
    for (const n of [1, 2, 3]) {
      if (n > 1) p.resume();
      await p.stopped(n);
      const before = { ...cache.siteWalks };
      const kept = await run(cache);
      assert.deepEqual(kept, await run(), `stop ${n}`);
      assert.ok((kept.callSites?.get(file)?.length ?? 0) > 0, 'the program\'s call sites were analysed');
      // Stop 2: nothing the sites' walks read changed since stop 1, so they are reused; stop 3 loaded _decimal.
      if (n === 2) assert.ok(cache.siteWalks.reused > before.reused && cache.siteWalks.walked === before.walked, `stop 2 reuses every site walk (${JSON.stringify(cache.siteWalks)})`);
      if (n === 3) assert.equal(cache.siteWalks.reused, before.reused, 'the layout changed: every site walked again');
    }
  } finally {
    await p.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
