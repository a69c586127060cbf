// Tests of the debug-session state machine (client/src/logic/debugTracker.ts) driven by DAP messages in
// the shapes @vscode/debugprotocol defines and debugpy sends: pid capture, debounced analysis, cancellation
// of stale analyses, detach at the end. The sink records what the tracker asks for and answers it.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DebugSessionLogic, pidOfProcessEvent, type TrackerSink } from '../../client/src/logic/debugTracker';
import type { AnalyzeProcessParams, AnalyzeProcessResult, DetachParams } from '../../server/src/protocol';

let seq = 1;
function event<E extends DebugProtocol.Event>(name: string, body?: E['body']): E {
  return { seq: seq++, type: 'event', event: name, body } as E;
}
const processEvent = (pid: number, extra: Partial<DebugProtocol.ProcessEvent['body']> = {}) =>
  event<DebugProtocol.ProcessEvent>('process', { name: '/tmp/prog.py', systemProcessId: pid, isLocalProcess: true, startMethod: 'launch', pointerSize: 64, ...extra });
const stopped = (reason = 'breakpoint') => event<DebugProtocol.StoppedEvent>('stopped', { reason, threadId: 1, allThreadsStopped: true });
const continued = () => event<DebugProtocol.ContinuedEvent>('continued', { threadId: 1, allThreadsContinued: true });
const terminated = () => event<DebugProtocol.TerminatedEvent>('terminated');
const exited = (code = 0) => event<DebugProtocol.ExitedEvent>('exited', { exitCode: code });
function request(command: string, args?: unknown): DebugProtocol.Request {
  return { seq: seq++, type: 'request', command, arguments: args };
}

interface Recorder extends TrackerSink {
  prewarms: number[];
  analyses: Array<{ params: AnalyzeProcessParams; signal: AbortSignal }>;
  results: Array<{ params: AnalyzeProcessParams; result: AnalyzeProcessResult }>;
  failures: unknown[];
  detaches: DetachParams[];
  /** Completes the n-th analysis with a result. */
  finish(n: number, result?: AnalyzeProcessResult): void;
}

/** A sink whose analyses stay pending until the test finishes them (or they are aborted). */
function recorder(): Recorder {
  const pending: Array<{ resolve: (r: AnalyzeProcessResult) => void }> = [];
  const r: Recorder = {
    prewarms: [],
    prewarm(pid) {
      r.prewarms.push(pid);
    },
    analyses: [],
    results: [],
    failures: [],
    detaches: [],
    analyze(params, signal) {
      r.analyses.push({ params, signal });
      return new Promise<AnalyzeProcessResult>((resolve, reject) => {
        pending.push({ resolve });
        signal.addEventListener('abort', () => reject(Object.assign(new Error('cancelled'), { code: -32800 })));
      });
    },
    detach(params) {
      r.detaches.push(params);
    },
    onResult(params, result) {
      r.results.push({ params, result });
    },
    onFailure(_params, error) {
      r.failures.push(error);
    },
    finish(n, result = { ok: true, callSites: 0 }) {
      pending[n].resolve(result);
    },
  };
  return r;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `cond` holds (polling every few ms), failing after `ms`. */
async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(2);
  }
}

const options = { sessionId: 'session-1', label: 'Python: prog.py', debounceMs: 20, analyzeOnStop: true };

test('pidOfProcessEvent reads systemProcessId of local processes only', () => {
  assert.equal(pidOfProcessEvent(processEvent(4242)), 4242);
  assert.equal(pidOfProcessEvent(processEvent(4242, { isLocalProcess: false })), undefined);
  assert.equal(pidOfProcessEvent(event<DebugProtocol.ProcessEvent>('process', { name: 'logical' })), undefined);
  assert.equal(pidOfProcessEvent(processEvent(0)), undefined);
  assert.equal(pidOfProcessEvent(processEvent(-5)), undefined);
  assert.equal(pidOfProcessEvent(processEvent(1.5)), undefined);
  assert.equal(pidOfProcessEvent(stopped()), undefined);
});

test('process event then stopped: one analysis request for that pid after the debounce', async () => {
  const sink = recorder();
  const logic = new DebugSessionLogic(options, sink);
  logic.onDidSendMessage(processEvent(4242));
  assert.equal(logic.pid, 4242);
  assert.equal(logic.debuggeeState, 'running');
  assert.deepEqual(sink.prewarms, [4242], 'the server is asked to read the process ahead, once');
  logic.onDidSendMessage(processEvent(4242));
  assert.deepEqual(sink.prewarms, [4242]);
  logic.onDidSendMessage(stopped('entry'));
  assert.equal(logic.debuggeeState, 'stopped');
  assert.equal(sink.analyses.length, 0, 'nothing before the debounce time');
  await until(() => sink.analyses.length === 1);
  assert.deepEqual(sink.analyses[0].params, { pid: 4242, reason: 'debug-stop', sessionId: 'session-1', label: 'Python: prog.py' });
  sink.finish(0, { ok: true, callSites: 3 });
  await logic.settled();
  assert.equal(sink.results.length, 1);
  assert.equal(sink.results[0].result.callSites, 3);
});

test('rapid stops (stepping) yield one analysis, for the last stop', async () => {
  const sink = recorder();
  const logic = new DebugSessionLogic({ ...options, debounceMs: 40 }, sink);
  logic.onDidSendMessage(processEvent(100));
  for (let i = 0; i < 5; i++) {
    logic.onDidSendMessage(stopped('step'));
    logic.onWillReceiveMessage(request('next', { threadId: 1 }));
  }
  logic.onDidSendMessage(stopped('step'));
  await until(() => sink.analyses.length === 1);
  await sleep(80);
  assert.equal(sink.analyses.length, 1);
  assert.equal(logic.analysesRequested, 1);
});

test('a resume request or continued event before the debounce cancels the pending analysis', async () => {
  for (const resume of ['request', 'event'] as const) {
    const sink = recorder();
    const logic = new DebugSessionLogic({ ...options, debounceMs: 30 }, sink);
    logic.onDidSendMessage(processEvent(100));
    logic.onDidSendMessage(stopped());
    if (resume === 'request') logic.onWillReceiveMessage(request('continue', { threadId: 1 }));
    else logic.onDidSendMessage(continued());
    assert.equal(logic.debuggeeState, 'running');
    await sleep(80);
    assert.equal(sink.analyses.length, 0, `no analysis after a resume (${resume})`);
  }
});

test('a newer stop cancels the analysis in flight; only the newer result is reported', async () => {
  const sink = recorder();
  const logic = new DebugSessionLogic(options, sink);
  logic.onDidSendMessage(processEvent(7));
  logic.onDidSendMessage(stopped());
  await until(() => sink.analyses.length === 1);
  logic.onWillReceiveMessage(request('continue'));
  logic.onDidSendMessage(stopped());
  assert.equal(sink.analyses[0].signal.aborted, true, 'the stale analysis is aborted at once');
  await until(() => sink.analyses.length === 2);
  sink.finish(1, { ok: true, callSites: 9 });
  await logic.settled();
  assert.equal(sink.results.length, 1);
  assert.equal(sink.results[0].result.callSites, 9);
  assert.equal(sink.failures.length, 0, 'a cancelled analysis is not a failure');
});

test('a stale result that arrives anyway is dropped', async () => {
  const sink = recorder();
  // This sink ignores the abort signal and resolves late: the tracker must still drop the result.
  const late: Array<(r: AnalyzeProcessResult) => void> = [];
  sink.analyze = (params, signal) => {
    sink.analyses.push({ params, signal });
    return new Promise((resolve) => late.push(resolve));
  };
  const logic = new DebugSessionLogic(options, sink);
  logic.onDidSendMessage(processEvent(7));
  logic.onDidSendMessage(stopped());
  await until(() => sink.analyses.length === 1);
  logic.onDidSendMessage(stopped());
  await until(() => sink.analyses.length === 2);
  late[0]({ ok: true, callSites: 1 });
  late[1]({ ok: true, callSites: 2 });
  await logic.settled();
  assert.deepEqual(sink.results.map((r) => r.result.callSites), [2]);
});

test('a stop before the process event is analysed once the pid arrives', async () => {
  const sink = recorder();
  const logic = new DebugSessionLogic(options, sink);
  logic.onDidSendMessage(stopped('entry'));
  await sleep(50);
  assert.equal(sink.analyses.length, 0);
  logic.onDidSendMessage(processEvent(55));
  await until(() => sink.analyses.length === 1);
  assert.equal(sink.analyses[0].params.pid, 55);
});

test('terminated ends the session: pending work cancelled, detach sent once with the session id', async () => {
  const sink = recorder();
  const logic = new DebugSessionLogic(options, sink);
  logic.onDidSendMessage(processEvent(9));
  logic.onDidSendMessage(stopped());
  await until(() => sink.analyses.length === 1);
  logic.onDidSendMessage(exited(0));
  logic.onDidSendMessage(terminated());
  logic.end(); // onWillStopSession / onExit after the events
  assert.equal(logic.debuggeeState, 'ended');
  assert.equal(sink.analyses[0].signal.aborted, true);
  assert.deepEqual(sink.detaches, [{ sessionId: 'session-1' }]);
  // Nothing after the end.
  logic.onDidSendMessage(stopped());
  await sleep(50);
  assert.equal(sink.analyses.length, 1);
  await logic.settled();
  assert.equal(sink.results.length, 0);
});

test('a pending debounce is dropped when the session ends', async () => {
  const sink = recorder();
  const logic = new DebugSessionLogic({ ...options, debounceMs: 30 }, sink);
  logic.onDidSendMessage(processEvent(9));
  logic.onDidSendMessage(stopped());
  logic.end();
  await sleep(80);
  assert.equal(sink.analyses.length, 0);
  assert.equal(sink.detaches.length, 1);
});

test('no pid, no detach; analyzeOnStop off and remote sessions never analyse but still detach', async () => {
  const a = recorder();
  const noPid = new DebugSessionLogic(options, a);
  noPid.onDidSendMessage(processEvent(3, { isLocalProcess: false }));
  noPid.onDidSendMessage(stopped());
  noPid.onDidSendMessage(terminated());
  assert.equal(a.detaches.length, 0);
  assert.equal(noPid.pid, undefined);

  for (const extra of [{ analyzeOnStop: false }, { remote: true }]) {
    const sink = recorder();
    const logic = new DebugSessionLogic({ ...options, ...extra }, sink);
    logic.onDidSendMessage(processEvent(3));
    logic.onDidSendMessage(stopped());
    await sleep(50);
    assert.equal(sink.analyses.length, 0, JSON.stringify(extra));
    logic.end();
    assert.equal(sink.detaches.length, 1);
  }
});

test('failures other than cancellation reach onFailure; a synchronously throwing sink does not break the tracker', async () => {
  const sink = recorder();
  sink.analyze = () => {
    throw new Error('server down');
  };
  const logic = new DebugSessionLogic(options, sink);
  logic.onDidSendMessage(processEvent(3));
  logic.onDidSendMessage(stopped());
  await until(() => sink.failures.length === 1);
  await logic.settled();
  assert.equal((sink.failures[0] as Error).message, 'server down');
  // The tracker still works for the next stop.
  sink.analyze = (params) => Promise.resolve({ ok: true, callSites: params.pid });
  logic.onDidSendMessage(stopped());
  await until(() => sink.results.length === 1);
  assert.equal(sink.results[0].result.callSites, 3);
});

test('messages that are not DAP events or requests are ignored', () => {
  const sink = recorder();
  const logic = new DebugSessionLogic(options, sink);
  for (const m of [null, undefined, 42, 'stopped', {}, { type: 'event' }, { type: 'response', command: 'continue', success: true }, { type: 'event', event: 'output', body: { output: 'x' } }]) {
    logic.onDidSendMessage(m);
    logic.onWillReceiveMessage(m);
  }
  assert.equal(logic.debuggeeState, 'starting');
  assert.equal(logic.pid, undefined);
});

test('a second process event (a restart of the debuggee) replaces the pid', async () => {
  const sink = recorder();
  const logic = new DebugSessionLogic(options, sink);
  logic.onDidSendMessage(processEvent(10));
  logic.onDidSendMessage(processEvent(11));
  logic.onDidSendMessage(stopped());
  await until(() => sink.analyses.length === 1);
  assert.equal(sink.analyses[0].params.pid, 11);
});
