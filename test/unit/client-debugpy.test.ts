// The debug integration against a real debug adapter (Debian's `python3 -m debugpy.adapter`): the launch
// configuration goes through injectBindNow, every DAP message in both directions goes through the tracker
// logic, and the tracker's analysis requests run the engine's live analysis on the real debuggee.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { analyzeProcess } from '../../native/src/analyze';
import { CancelledError } from '../../native/src/errors';
import { isNativeError } from '../../native/src/errors';
import { injectBindNow } from '../../client/src/logic/debugConfig';
import { DebugSessionLogic, type TrackerSink } from '../../client/src/logic/debugTracker';
import type { AnalyzeProcessParams, AnalyzeProcessResult, DetachParams } from '../../server/src/protocol';
import { programOf } from '../../server/src/processAnalysis';
import { DapClient } from '../helpers/dap';
import { DEBIAN_PYTHON, FIXTURE_SRC, debianPythonHas } from '../helpers/fixtures';
import { skipUnless } from '../helpers/skip';

const PROGRAM = path.join(FIXTURE_SRC, 'python', 'debug', 'debuggee.py');
const haveDebugpy = debianPythonHas('debugpy');

function breakpointLine(): number {
  const lines = fs.readFileSync(PROGRAM, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes('# BREAKPOINT'));
  assert.ok(i >= 0, 'the fixture marks its breakpoint line');
  return i + 1;
}

function procText(pid: number, file: string): string {
  return fs.readFileSync(`/proc/${pid}/${file}`).toString('utf8');
}

function parentPid(pid: number): number {
  const m = /^PPid:\s*(\d+)/m.exec(procText(pid, 'status'));
  return m ? Number(m[1]) : -1;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return fs.existsSync(`/proc/${pid}`) && !/^State:\s*Z/m.test(procText(pid, 'status'));
  } catch {
    return false;
  }
}

test('debugpy adapter: process event pid captured, stops analysed live, detach at the end', { skip: skipUnless(haveDebugpy, 'Debian python3-debugpy is not installed'), timeout: 120_000 }, async (t) => {
  // The sink stands in for the language server's handler of these requests: it runs the same engine call
  // (analyzeProcess) on the pid, so the test covers tracker → live analysis of the real debuggee.
  const analyses: AnalyzeProcessParams[] = [];
  const results: AnalyzeProcessResult[] = [];
  const detaches: DetachParams[] = [];
  const sink: TrackerSink = {
    async analyze(params, signal) {
      analyses.push(params);
      try {
        const { report } = await analyzeProcess(params.pid, { mode: 'ept', withFullScan: false, isCancelled: () => signal.aborted });
        return { ok: true, report, callSites: 0 };
      } catch (e) {
        if (e instanceof CancelledError) return { ok: false, error: { kind: 'cancelled', message: e.message } };
        if (isNativeError(e)) return { ok: false, error: { kind: e.kind, message: e.message, hint: e.hint } };
        throw e;
      }
    },
    detach: (p) => detaches.push(p),
    onResult: (_p, r) => {
      results.push(r);
      resultTimes.push(Date.now());
    },
  };
  // When each stop arrived and each result, for the stop → live result latency.
  const stopTimes: number[] = [];
  const resultTimes: number[] = [];
  const logic = new DebugSessionLogic({ sessionId: 'debugpy-test', label: 'Python: debuggee.py', debounceMs: 50, analyzeOnStop: true }, sink);

  const decision = injectBindNow(
    {
      name: 'Python: debuggee.py',
      type: 'debugpy',
      request: 'launch',
      program: PROGRAM,
      python: [DEBIAN_PYTHON],
      console: 'internalConsole',
      stopOnEntry: true,
      justMyCode: true,
      env: { PYGRATION_TEST: '1' },
    },
    // The test runner's own environment must not decide the outcome.
    { enabled: true, inheritedEnv: {} },
  );
  assert.equal(decision.outcome, 'injected');

  const dap = new DapClient(DEBIAN_PYTHON, ['-m', 'debugpy.adapter'], {
    fromAdapter: (m) => {
      if (m.type === 'event' && m.event === 'stopped') stopTimes.push(Date.now());
      logic.onDidSendMessage(m);
    },
    toAdapter: (m) => logic.onWillReceiveMessage(m),
  });
  let debuggee: number | undefined;
  try {
    await dap.request('initialize', { clientID: 'vscode', adapterID: 'debugpy', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true, supportsRunInTerminalRequest: false });
    const launched = dap.request('launch', decision.config);
    await dap.waitForEvent('initialized');
    await dap.request('setBreakpoints', { source: { path: PROGRAM }, breakpoints: [{ line: breakpointLine() }] });
    await dap.request('configurationDone');
    await launched;

    // The process event names the debuggee: a python3 running our program, under debugpy's launcher,
    // started with the LD_BIND_NOW=1 the configuration provider added.
    await dap.waitForEvent('process');
    debuggee = logic.pid;
    assert.ok(debuggee !== undefined, 'the tracker captured systemProcessId');
    assert.ok(procText(debuggee, 'cmdline').split('\0').includes(PROGRAM), 'the pid runs the program');
    // Its command line is debugpy's (python3 …/debugpy --connect … PROGRAM): the program is found behind it.
    assert.deepEqual(programOf(debuggee), { files: [PROGRAM] }, procText(debuggee, 'cmdline').split('\0').join(' '));
    assert.ok(procText(debuggee, 'environ').split('\0').includes('LD_BIND_NOW=1'), 'the debuggee got LD_BIND_NOW=1');
    assert.ok(procText(debuggee, 'environ').split('\0').includes('PYGRATION_TEST=1'), "the configuration's own env is kept");
    assert.match(procText(parentPid(debuggee), 'cmdline'), /debugpy/, 'its parent is debugpy (the launcher)');

    // Stopped on entry → one analysis of that pid, with a report of that process.
    await dap.waitForEvent('stopped', 1);
    await until(() => results.length === 1, 60_000);
    assert.deepEqual(analyses[0], { pid: debuggee, reason: 'debug-stop', sessionId: 'debugpy-test', label: 'Python: debuggee.py' });
    const first = results[0];
    assert.ok(first.ok, JSON.stringify(first.error));
    assert.equal(first.report!.target.pid, debuggee);
    assert.equal(first.report!.target.ldBindNow, true, 'the engine sees the injected LD_BIND_NOW');
    assert.match(first.report!.target.python ?? '', /^3\.\d+$/);
    assert.ok(first.report!.stats.functionsVisited > 100, 'EPT walked the interpreter');

    // Continue to the breakpoint: the program prints its own pid on the way, which must be the tracked one.
    const thread = ((await dap.waitForEvent('stopped', 1)).body as { threadId: number }).threadId;
    await dap.request('continue', { threadId: thread });
    const stop2 = await dap.waitForEvent('stopped', 2);
    assert.equal((stop2.body as { reason: string }).reason, 'breakpoint');
    // debugpy sends the program's output as it is written: one print() may come in several output events
    // (one per write), so the line is matched on their concatenation.
    const output = () =>
      dap.received
        .filter((m) => m.type === 'event' && m.event === 'output' && (m.body as { category?: string }).category !== 'telemetry')
        .map((m) => String((m.body as { output?: string }).output ?? ''))
        .join('');
    await until(() => /PID \d+ LD_BIND_NOW \S+\n/.test(output()), 30_000).catch(() => assert.fail(`no PID line within 30 s; output: ${JSON.stringify(output())}`));
    const printed = /PID (\d+) LD_BIND_NOW (\S+)\n/.exec(output())!;
    assert.equal(Number(printed[1]), debuggee, 'systemProcessId is the pid the program sees (os.getpid())');
    assert.equal(printed[2], '1', 'the program sees LD_BIND_NOW=1');
    await until(() => results.length === 2, 60_000);
    assert.equal(analyses.length, 2);
    assert.equal(analyses[1].pid, debuggee);
    assert.equal(results[1].report!.target.pid, debuggee);
    t.diagnostic(`stop → live result: ${resultTimes.map((r, i) => `${r - stopTimes[i]} ms`).join(', ')} (debounce 50 ms; EPT without full scan, engine called directly)`);

    // Disconnect (terminating the debuggee): the session ends and the live state is dropped.
    assert.equal(detaches.length, 0);
    await dap.request('disconnect', { terminateDebuggee: true });
    await dap.waitForEvent('terminated');
    logic.end(); // What VS Code's onWillStopSession/onExit would do; must not detach twice.
    assert.equal(logic.debuggeeState, 'ended');
    assert.deepEqual(detaches, [{ sessionId: 'debugpy-test' }]);
    await until(() => !alive(debuggee!), 10_000);
    await logic.settled();
  } finally {
    if (debuggee !== undefined && alive(debuggee)) process.kill(debuggee, 'SIGKILL');
    await dap.kill();
  }
});

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) {
      // The engine runs in this process and blocks its event loop while it walks: a timer can come due
      // before the messages that arrived meanwhile are read. Let pending I/O in once more before failing.
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      if (cond()) return;
      throw new Error(`condition not met within ${ms} ms`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
