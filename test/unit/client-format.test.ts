// Tests of the client's text formatting (client/src/logic): the status bar, the process quick pick, the
// analysis error messages, and the report helpers (export, focus), with the engine-generated fixture report.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Ids } from '../../client/src/logic/ids';
import { analysisErrorMessage, errorFromException, parsePtraceScope, ptraceScopeExplanation } from '../../client/src/logic/messages';
import { bindNowText, compactCommand, pidFromArgument, pidFromInput, processPickItems, shortenCommand, typedPidItem } from '../../client/src/logic/processPick';
import { callSiteTitle, exportFileName, exportText, focusFromCallSite, isCallSiteDetail, liveOrigin, reportFingerprint } from '../../client/src/logic/report';
import { escapeMarkdown, formatStatus, summaryText } from '../../client/src/logic/status';
import type { AnalysisReport } from '../../native/src/report';
import { isFocusCallSite } from '../../webview/src/messages';
import type { CallSiteDetail, PygrationState, ProcessCandidate, StaticSummary } from '../../server/src/protocol';
import { FIXTURE_SRC } from '../helpers/fixtures';

const report = JSON.parse(fs.readFileSync(path.join(FIXTURE_SRC, 'report', 'numpy-matmul.live.json'), 'utf8')) as AnalysisReport;

const staticSummary: StaticSummary = { files: 12, callSites: 340, resolved: 280, required: ['avx2', 'fma', 'avx'], level: 'x86-64-v3', compatible: 250, total: 383 };
const live = { pid: 48211, sessionId: 's1', label: 'Python: matmul.py', analyzedAt: '2026-11-22T03:00:00.000Z', report };

test('status: live results win over static ones, with level, feature count and N/total', () => {
  const v = formatStatus({ state: { mode: 'ept', static: staticSummary, live }, server: 'running' });
  const expected = summaryText(report.level, report.required.length, report.instances.compatible.length, report.instances.total);
  assert.equal(v.text, `$(pulse) ${expected}`);
  assert.equal(expected, `${report.level} · ${report.required.length} features · migratable to ${report.instances.compatible.length}/${report.instances.total}`);
  assert.equal(v.severity, 'normal');
  assert.equal(v.command, Ids.command.showInstances);
  assert.match(v.tooltip, /live: PID 48211/);
  assert.match(v.tooltip, new RegExp(`CRIU's host check: ${report.instances.criu.length}`));
  assert.match(v.tooltip, /AVX-512F/, 'features are shown with their labels');
  assert.match(v.tooltip, /Workspace \(static\): x86-64-v3/);
  assert.match(v.accessibleText, /\(live\)/);
});

test('status: static only, nothing yet, singular feature', () => {
  const s = formatStatus({ state: { mode: 'full', static: staticSummary }, server: 'running', interpreter: { path: '/usr/bin/python3', source: 'pygration.pythonPath' } });
  assert.equal(s.text, '$(chip) x86-64-v3 · 3 features · migratable to 250/383');
  assert.match(s.tooltip, /12 files, 340 call sites \(280 resolved/);
  assert.match(s.tooltip, /Mode: full scan/);
  assert.match(s.tooltip, /Interpreter: \/usr\/bin\/python3/);
  const one = formatStatus({ state: { mode: 'ept', static: { ...staticSummary, required: ['avx2'] } }, server: 'running' });
  assert.match(one.text, / 1 feature · /);
  const none = formatStatus({ server: 'running' });
  assert.equal(none.text, '$(chip) Pygration');
  assert.match(none.tooltip, /No analysis yet/);
});

test('status: busy spinner, error states, server down', () => {
  const busy = formatStatus({ state: { mode: 'ept', busy: 'EPT of pid 4242', live }, server: 'running' });
  assert.equal(busy.text, '$(loading~spin) Pygration: EPT of pid 4242');
  const err = formatStatus({ state: { mode: 'ept', static: staticSummary, error: 'Permission denied reading /proc/1/mem.' }, server: 'running' });
  assert.equal(err.severity, 'warning');
  assert.match(err.text, /^\$\(warning\) x86-64-v3/);
  assert.match(err.tooltip, /Permission denied/);
  const errNoData = formatStatus({ state: { mode: 'ept', error: 'x' }, server: 'running' });
  assert.equal(errNoData.text, '$(warning) Pygration');
  for (const server of ['stopped', 'failed'] as const) {
    const down = formatStatus({ state: { mode: 'ept', live }, server });
    assert.equal(down.text, '$(error) Pygration');
    assert.equal(down.severity, 'error');
    assert.equal(down.command, Ids.command.restartServer, 'a click restarts a stopped server');
  }
});

test('status: labels from command lines cannot inject Markdown or codicons', () => {
  const evil: PygrationState = { mode: 'ept', live: { ...live, label: '[click](command:workbench.action.quit) $(zap) **x**' } };
  const v = formatStatus({ state: evil, server: 'running' });
  assert.ok(!v.tooltip.includes('[click](command:'), v.tooltip);
  assert.ok(v.tooltip.includes(String.raw`\[click\]\(command:workbench.action.quit\) \$\(zap\) \*\*x\*\*`), v.tooltip);
  assert.equal(escapeMarkdown('a\nb'), 'a b');
});

const candidates: ProcessCandidate[] = [
  { pid: 300, command: '/usr/bin/python3 train.py --epochs 10', exe: '/usr/bin/python3.11', python: '3.11', ldBindNow: true, sameUser: true },
  { pid: 900, command: 'python3 serve.py', exe: '/usr/bin/python3.11', python: '3.11', ldBindNow: false, sameUser: true },
  { pid: 950, command: 'python3 /opt/other/daemon.py', exe: '/usr/bin/python3.11', python: '3.11', ldBindNow: null, sameUser: false },
  { pid: 42, command: '', exe: '/usr/bin/python3.12', ldBindNow: false, sameUser: true },
];

test('process pick: own processes first, newest first; LD_BIND_NOW and ownership explained', () => {
  const items = processPickItems(candidates, new Set([42]));
  assert.deepEqual(items.map((i) => i.pid), [900, 300, 950]);
  const [serve, train, other] = items;
  assert.equal(train.label, 'python3 train.py --epochs 10', 'the program without its directory');
  assert.equal(train.description, 'pid 300 · Python 3.11');
  assert.equal(train.detail, bindNowText(true));
  assert.match(serve.detail, /no LD_BIND_NOW/);
  assert.match(serve.detail, /restart with LD_BIND_NOW=1/);
  assert.match(other.description, /another user/);
  assert.match(other.detail, /LD_BIND_NOW unknown/);
  assert.match(other.detail, /ptrace/);
  const [noCmd] = processPickItems([candidates[3]]);
  assert.equal(noCmd.label, 'python3.12', 'falls back to the executable');
  assert.equal(noCmd.description, 'pid 42');
});

test('process pick: long command lines are shortened in the middle', () => {
  const long = `/usr/bin/python3 -m very.long.module ${'--flag '.repeat(40)}final_script_arg.py`;
  const s = shortenCommand(long, 80);
  assert.equal(s.length, 80);
  assert.ok(s.startsWith('/usr/bin/python3 -m very.long.module'));
  assert.ok(s.endsWith('final_script_arg.py'));
  assert.ok(s.includes('…'));
  assert.equal(shortenCommand('a  b\tc'), 'a b c');
  assert.equal(compactCommand('/opt/py/bin/python3 /w/a b.py'), 'python3 /w/a b.py');
  assert.equal(compactCommand('python3 x.py'), 'python3 x.py');
  assert.ok(compactCommand(long).length <= 64);
});

test('process pick: typed pids and command arguments', () => {
  assert.equal(pidFromInput('4242'), 4242);
  assert.equal(pidFromInput(' pid 17 '), 17);
  for (const bad of ['', 'abc', '0', '-3', '12a', '99999999999']) assert.equal(pidFromInput(bad), undefined, bad);
  const items = processPickItems(candidates);
  assert.equal(typedPidItem('900', items), undefined, 'a listed pid needs no extra item');
  assert.deepEqual(typedPidItem('1234', items)?.pid, 1234);
  assert.equal(typedPidItem('1234', items)?.typed, true);
  assert.equal(typedPidItem('train', items), undefined);
  assert.equal(pidFromArgument(55), 55);
  assert.equal(pidFromArgument('55'), 55);
  assert.equal(pidFromArgument({ pid: 55 }), 55);
  for (const bad of [undefined, null, 0, 1.5, -1, 'x', { pid: 'x' }, {}]) assert.equal(pidFromArgument(bad), undefined, JSON.stringify(bad));
});

test('messages: permission explains ptrace_scope for each value', () => {
  for (const [scope, re] of [[0, /is 0 here/], [1, /is 1 here.*ancestors.*sysctl kernel\.yama\.ptrace_scope=0/], [2, /is 2 here.*CAP_SYS_PTRACE/], [3, /is 3 here.*next boot/], [null, /same user|your user/]] as const) {
    const m = analysisErrorMessage({ kind: 'permission', message: 'Permission denied reading /proc/7/mem.' }, 7, scope);
    assert.ok(m);
    assert.equal(m.severity, 'error');
    assert.match(m.text, /process 7/);
    assert.match(m.text, re);
    assert.ok(m.actions.includes('Learn More'));
    assert.equal(m.text.includes(ptraceScopeExplanation(scope)), true);
  }
  assert.equal(parsePtraceScope('1\n'), 1);
  assert.equal(parsePtraceScope(undefined), null);
  assert.equal(parsePtraceScope('7'), null);
  assert.equal(parsePtraceScope('x'), null);
});

test('messages: gone, not-python, unsupported, cancelled, others', () => {
  const gone = analysisErrorMessage({ kind: 'gone', message: 'Process 9 does not exist.' }, 9, 1)!;
  assert.match(gone.text, /Process 9 has exited/);
  assert.deepEqual(gone.actions, ['Pick Another Process']);
  const np = analysisErrorMessage({ kind: 'not-python', message: 'Process 9 (bash) is not a Python interpreter.', hint: 'Pick a Python process.' }, 9, 1)!;
  assert.equal(np.text, 'Process 9 (bash) is not a Python interpreter. Pick a Python process.');
  assert.equal(analysisErrorMessage({ kind: 'not-python', message: '' }, 9, 1)!.text, 'Process 9 is not a Python interpreter.');
  const un = analysisErrorMessage({ kind: 'unsupported', message: 'Process 9 is a 32-bit program.' }, 9, 1)!;
  assert.match(un.text, /cannot analyse process 9: Process 9 is a 32-bit program\./);
  assert.equal(analysisErrorMessage({ kind: 'cancelled', message: '' }, 9, 1), undefined);
  const io = analysisErrorMessage({ kind: 'io', message: 'I/O error reading /proc/9/mem' }, 9, 1)!;
  assert.ok(io.actions.includes('Retry') && io.actions.includes('Show Output'));
});

test('messages: exceptions from the language client map to kinds', () => {
  assert.equal(errorFromException(Object.assign(new Error('Request got cancelled'), { code: -32800 })).kind, 'cancelled');
  assert.equal(errorFromException(Object.assign(new Error('x'), { code: -32802 })).kind, 'cancelled');
  const down = errorFromException(Object.assign(new Error('Connection got disposed.'), { code: -32097 }));
  assert.match(down.message, /not running/);
  assert.match(errorFromException(new Error('Client is not running and can\'t be stopped')).message, /not running/);
  assert.equal(errorFromException(new Error('boom')).message, 'boom');
  assert.equal(errorFromException('text').message, 'text');
});

test('report: export as JSON round-trips; the list holds the compatible types one per line', () => {
  assert.deepEqual(JSON.parse(exportText(report, 'json')), report);
  const list = exportText(report, 'list');
  assert.equal(list.split('\n').filter(Boolean).length, report.instances.compatible.length);
  assert.ok(list.endsWith('\n'));
  for (const name of list.trim().split('\n')) assert.ok(report.instances.verdicts.find((v) => v.name === name)?.compatible, name);
  assert.equal(exportText({ ...report, instances: { ...report.instances, compatible: [] } }, 'list'), '');
  assert.equal(exportFileName(report, 'json'), 'pygration-48211.json');
  assert.equal(exportFileName(report, 'list'), 'pygration-48211-instances.txt');
  assert.equal(exportFileName({ ...report, target: { ldBindNow: null } }, 'json'), 'pygration-report.json');
});

test('report: origin labels and fingerprints', () => {
  assert.deepEqual(liveOrigin(7, 'python3 a.py'), { kind: 'live', label: 'PID 7 · python3 a.py' });
  assert.deepEqual(liveOrigin(7, '  '), { kind: 'live', label: 'PID 7' });
  const copy = JSON.parse(JSON.stringify(report)) as AnalysisReport;
  assert.equal(reportFingerprint(copy), reportFingerprint(report));
  assert.notEqual(reportFingerprint({ ...copy, stats: { ...copy.stats, seconds: copy.stats.seconds + 1 } }), reportFingerprint(report));
});

const detail: CallSiteDetail = {
  uri: 'file:///home/user/project/matmul.py',
  line: 11,
  character: 4,
  callee: 'np.matmul',
  qualifiedName: 'numpy.matmul',
  natives: [
    { symbol: 'cblas_dgemm', library: 'libblas.so.3', exact: true },
    { symbol: 'dgemm_kernel_SKYLAKEX', library: 'libopenblas.so.0', exact: true },
  ],
  features: ['avx512f', 'avx512vl', 'fma'],
  origin: 'live',
  ruledOut: ['c4.large', 'm4.large'],
  label: 'AVX-512F · AVX-512VL · FMA — numpy.matmul → cblas_dgemm (libblas.so.3)',
};

test('call sites: the lens argument is checked and becomes a valid instance-view focus', () => {
  assert.equal(isCallSiteDetail(detail), true);
  const f = focusFromCallSite(detail);
  assert.equal(isFocusCallSite(f), true);
  assert.deepEqual(f, { label: 'numpy.matmul → cblas_dgemm (libblas.so.3) +1', features: detail.features, kind: 'live', uri: detail.uri, line: 11, ruledOut: detail.ruledOut });
  const unknown = focusFromCallSite({ ...detail, origin: 'unknown', natives: [], qualifiedName: undefined, reason: 'not resolved' });
  assert.equal(unknown.kind, undefined);
  assert.equal(unknown.label, 'np.matmul');
  assert.equal(callSiteTitle({ ...detail, natives: detail.natives.slice(0, 1) }), 'numpy.matmul → cblas_dgemm (libblas.so.3)');
  for (const bad of [null, {}, { ...detail, line: -1 }, { ...detail, line: 1.5 }, { ...detail, origin: 'guess' }, { ...detail, natives: [{ symbol: 'x' }] }, { ...detail, features: [1] }, { ...detail, ruledOut: undefined }]) {
    assert.equal(isCallSiteDetail(bad), false, JSON.stringify(bad)?.slice(0, 80));
  }
});
