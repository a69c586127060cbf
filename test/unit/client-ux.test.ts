// Tests of the client's pure logic for issue 14: the platform check, workspace trust (restricted settings
// read from the user's settings only), the language status view, the context keys, and the `criu restore`
// line for a chosen target.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { criuAdvice } from '../../native/src/catalog/compat';
import type { AnalysisReport } from '../../native/src/report';
import type { PygrationState, StaticSummary } from '../../server/src/protocol';
import { changedKeys, contextKeyValues } from '../../client/src/logic/contextKeys';
import { CONTEXT_KEYS, Ids } from '../../client/src/logic/ids';
import { platformSupport } from '../../client/src/logic/platform';
import { restoreLine, restoreTargets } from '../../client/src/logic/restoreLine';
import { readSettings } from '../../client/src/logic/settings';
import { formatLanguageStatus, plainText } from '../../client/src/logic/status';
import { RESTRICTED_SETTINGS, restrictedModeNote, sanitizeConfiguration, trustedGetter, type Inspected } from '../../client/src/logic/trust';
import { REPO_ROOT } from '../helpers/fixtures';

const report = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'report', 'numpy-matmul.live.json'), 'utf8')) as AnalysisReport;

test('platform: Linux x86-64 only; every other platform gets one message naming it and what to do', () => {
  assert.deepEqual(platformSupport('linux', 'x64'), { supported: true });
  for (const [platform, arch, name] of [
    ['darwin', 'arm64', 'macOS on ARM64'],
    ['win32', 'x64', 'Windows on x86-64'],
    ['linux', 'arm64', 'Linux on ARM64'],
    ['linux', 'ia32', 'Linux on x86 (32-bit)'],
  ] as const) {
    const s = platformSupport(platform, arch);
    assert.equal(s.supported, false, `${platform}-${arch}`);
    assert.match(s.message!, /only on Linux x86-64/);
    assert.ok(s.message!.includes(name), s.message);
    assert.match(s.message!, /Remote - SSH|WSL/);
  }
  // This machine runs the tests on Linux x86-64 (the only platform the suites support).
  assert.equal(platformSupport(process.platform, process.arch).supported, process.platform === 'linux' && process.arch === 'x64');
});

/** A configuration: user values, workspace values and defaults, read the way VS Code's get/inspect do. */
function config(user: Record<string, unknown>, workspace: Record<string, unknown>, defaults: Record<string, unknown> = {}) {
  const inspect = (key: string): Inspected => ({ defaultValue: defaults[key], globalValue: user[key], workspaceValue: workspace[key] });
  const get = (key: string) => workspace[key] ?? user[key] ?? defaults[key];
  return { inspect, get };
}

test('trust: restricted settings are exactly the ones naming programs or files, and package.json agrees', () => {
  assert.deepEqual([...RESTRICTED_SETTINGS].sort(), [Ids.setting.catalogPath, Ids.setting.pythonPath].sort());
  const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { capabilities: { untrustedWorkspaces: { restrictedConfigurations: string[] } } };
  assert.deepEqual([...manifest.capabilities.untrustedWorkspaces.restrictedConfigurations].sort(), [...RESTRICTED_SETTINGS].sort());
});

test('trust: an untrusted workspace cannot choose the interpreter or the catalog; a trusted one can', () => {
  const c = config({ [Ids.setting.pythonPath]: '/usr/bin/python3' }, { [Ids.setting.pythonPath]: './evil/python', [Ids.setting.catalogPath]: './cat.json', [Ids.setting.analysisMode]: 'full' });
  const untrusted = readSettings(trustedGetter(c.get, c.inspect, false));
  assert.equal(untrusted.server.pythonPath, '/usr/bin/python3', 'the user setting, not the workspace one');
  assert.equal(untrusted.server.catalogPath, '', 'the workspace catalog is ignored (the shipped one)');
  assert.equal(untrusted.server.analysisMode, 'full', 'settings that name nothing executable still come from the workspace');
  const trusted = readSettings(trustedGetter(c.get, c.inspect, true));
  assert.equal(trusted.server.pythonPath, './evil/python');
  assert.equal(trusted.server.catalogPath, './cat.json');
  // Nothing in the user settings: the default (empty: python3 on PATH).
  const none = config({}, { [Ids.setting.pythonPath]: '/tmp/x' }, { [Ids.setting.pythonPath]: '' });
  assert.equal(readSettings(trustedGetter(none.get, none.inspect, false)).server.pythonPath, '');
});

test('trust: the server asking for the pygration section gets user values of the restricted keys only', () => {
  const c = config({ [Ids.setting.catalogPath]: '/home/me/cat.json' }, { [Ids.setting.pythonPath]: './venv/bin/python' });
  const section = { pythonPath: './venv/bin/python', catalogPath: '/home/me/cat.json', analysisMode: 'ept', codeLens: { enable: true } };
  const safe = sanitizeConfiguration('pygration', section, c.inspect, false) as Record<string, unknown>;
  assert.equal(safe.pythonPath, undefined, 'no user value: the key goes, and the server takes its default');
  assert.equal(safe.catalogPath, '/home/me/cat.json');
  assert.equal(safe.analysisMode, 'ept');
  assert.deepEqual(safe.codeLens, { enable: true });
  assert.equal(section.pythonPath, './venv/bin/python', 'the answer is copied, not changed in place');
  assert.equal(sanitizeConfiguration('pygration.pythonPath', './venv/bin/python', c.inspect, false), undefined);
  assert.equal(sanitizeConfiguration('pygration', section, c.inspect, true), section, 'trusted: unchanged');
  assert.equal(sanitizeConfiguration('python', { defaultInterpreterPath: 'x' }, c.inspect, false) !== undefined, true);
  assert.equal(restrictedModeNote(true), undefined);
  assert.match(restrictedModeNote(false)!, /^Restricted Mode: pygration\.pythonPath and pygration\.catalogPath are read from your user settings only/);
});

const STATIC: StaticSummary = { files: 2, callSites: 9, resolved: 7, required: ['avx2', 'sha_ni'], level: 'x86-64-v3', compatible: 201, total: 383 } as StaticSummary;

test('language status: the summary as text, where it comes from as detail, busy while the server works', () => {
  const idle = formatLanguageStatus({ state: { mode: 'ept', static: STATIC } as PygrationState, server: 'running' });
  assert.equal(idle.text, '$(chip) x86-64-v3 · 2 features · migratable to 201/383');
  assert.equal(idle.detail, 'static analysis of the workspace');
  assert.equal(idle.severity, 'information');
  assert.equal(idle.busy, false);
  assert.deepEqual([idle.command.title, idle.command.command], ['Show Migration Targets', Ids.command.showInstances]);
  assert.match(idle.command.tooltip, /SHA-NI/, 'the tooltip names features by their UI names');
  assert.doesNotMatch(idle.command.tooltip, /\*\*|\$\(/, 'plain text: no Markdown emphasis or codicons');

  const busy = formatLanguageStatus({ state: { mode: 'ept', static: STATIC, busy: 'Analysing 2 Python file(s)' } as PygrationState, server: 'running' });
  assert.equal(busy.busy, true);
  assert.equal(busy.detail, 'Analysing 2 Python file(s)');
  assert.equal(busy.text, idle.text, 'the last summary stays while the next analysis runs');

  const live = formatLanguageStatus({ state: { mode: 'ept', static: STATIC, live: { pid: 4242, label: 'python3 w.py', report, analyzedAt: '2026-12-04T10:00:00Z' } } as unknown as PygrationState, server: 'running' });
  assert.match(live.text, /^\$\(pulse\) /);
  assert.equal(live.detail, 'live · PID 4242');

  const failed = formatLanguageStatus({ server: 'failed' });
  assert.equal(failed.severity, 'error');
  assert.deepEqual([failed.command.title, failed.command.command], ['Restart Server', Ids.command.restartServer]);

  const restricted = formatLanguageStatus({ state: { mode: 'ept', static: STATIC } as PygrationState, server: 'running', restrictedNote: restrictedModeNote(false) });
  assert.match(restricted.detail, /Restricted Mode/);
  assert.match(restricted.command.tooltip, /pygration\.pythonPath and pygration\.catalogPath are read from your user settings only/);
  assert.equal(plainText('**a** \\`b\\` $(chip) c'), 'a `b` c');
});

test('context keys: hidden commands follow the state; only changed keys are set again', () => {
  const first = contextKeyValues({ supported: true, server: 'starting', hasReport: false });
  assert.equal(first[CONTEXT_KEYS.activated], true);
  assert.equal(first[CONTEXT_KEYS.unsupportedPlatform], false);
  assert.equal(first[CONTEXT_KEYS.hasReport], false);
  assert.equal(first[CONTEXT_KEYS.hasLive], false);
  const live = contextKeyValues({ supported: true, server: 'running', state: { mode: 'ept', static: STATIC, live: { pid: 1 } } as unknown as PygrationState, hasReport: true });
  assert.equal(live[CONTEXT_KEYS.hasLive], true);
  assert.equal(live[CONTEXT_KEYS.hasReport], true);
  assert.equal(live[CONTEXT_KEYS.hasStaticResult], true);
  assert.deepEqual(changedKeys(live, first).map(([k]) => k).sort(), [CONTEXT_KEYS.hasLive, CONTEXT_KEYS.hasReport, CONTEXT_KEYS.hasStaticResult].sort());
  assert.equal(changedKeys(first, undefined).length, Object.keys(first).length);
  const unsupported = contextKeyValues({ supported: false, server: 'stopped', hasReport: true });
  assert.equal(unsupported[CONTEXT_KEYS.unsupportedPlatform], true);
  assert.equal(unsupported[CONTEXT_KEYS.active], false);
  assert.equal(unsupported[CONTEXT_KEYS.hasReport], false);
});

test('criu restore line: the chosen compatible target, with --cpu-cap=none exactly where CRIU would refuse it', () => {
  const compatible = report.instances.verdicts.filter((v) => v.compatible);
  const refusedByCriu = compatible.find((v) => !v.criu)!;
  const acceptedByCriu = compatible.find((v) => v.criu)!;
  assert.ok(refusedByCriu && acceptedByCriu, 'the fixture has both kinds');

  const a = restoreLine(report, refusedByCriu.name);
  assert.ok(a.ok);
  assert.equal(a.command, `criu restore -D /var/lib/pygration/${report.target.pid}/1 --cpu-cap=none`);
  assert.equal(a.strategy, 'stop-and-copy', 'no migration plan in the report: stop-and-copy');
  assert.equal(a.why, criuAdvice(report.instances, refusedByCriu.name)!.why);

  const b = restoreLine(report, acceptedByCriu.name, { shellJob: true, imagesDir: '/img' });
  assert.ok(b.ok);
  assert.equal(b.command, 'criu restore -D /img/1 --shell-job', 'CRIU accepts this type: no flag to skip its check');

  const incompatible = report.instances.verdicts.find((v) => !v.compatible)!;
  const c = restoreLine(report, incompatible.name);
  assert.equal(c.ok, false);
  assert.match(!c.ok ? c.reason : '', new RegExp(`${incompatible.name.replace('.', '\\.')} is not a migration target: it lacks AVX-512`));
  const d = restoreLine(report, 'z9.nonexistent');
  assert.equal(d.ok, false);

  // With a plan: the strategy the planner chose for that type (pre-copy restores from the last round).
  const planned = structuredClone(report);
  planned.migration = { plan: { recommendation: 'stop-and-copy', preCopy: { bestRounds: 2 } }, perInstance: { [refusedByCriu.name]: { strategy: 'pre-copy', preCopyRounds: 2 } } } as unknown as AnalysisReport['migration'];
  const e = restoreLine(planned, refusedByCriu.name);
  assert.ok(e.ok);
  assert.equal(e.strategy, 'pre-copy');
  assert.equal(e.command, `criu restore -D /var/lib/pygration/${report.target.pid}/3 --cpu-cap=none`);

  const rows = restoreTargets(report);
  assert.equal(rows.length, report.instances.compatible.length);
  assert.ok(rows.find((r) => r.name === refusedByCriu.name)!.description.includes('--cpu-cap=none'));
  assert.ok(!rows.find((r) => r.name === acceptedByCriu.name)!.description.includes('--cpu-cap'));
});
