// Tests of the client's settings, manifest and policies (client/src/logic): typed settings reading, that
// package.json declares exactly the ids and defaults the code uses, bounded restarts, and the adapter over
// the Python extension's API shapes.

import { readSettings as readServerSettings } from '../../server/src/settings';
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Ids, RESTART_LIMIT } from '../../client/src/logic/ids';
import { adaptPythonApi, chooseInterpreter } from '../../client/src/logic/pythonApi';
import { RestartPolicy, gaveUpMessage } from '../../client/src/logic/restartPolicy';
import { ANALYSIS_MODES, DEFAULT_CLIENT_SETTINGS, SETTING_DEFAULTS, readSettings } from '../../client/src/logic/settings';
import { DEFAULT_SETTINGS } from '../../server/src/protocol';
import { REPO_ROOT } from '../helpers/fixtures';

const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  main: string;
  activationEvents: string[];
  contributes: {
    commands: Array<{ command: string; title: string; category?: string }>;
    configuration: { properties: Record<string, { type: string; default: unknown; enum?: string[] }> };
    menus?: Record<string, Array<{ command: string }>>;
  };
};

test('readSettings: defaults when unset', () => {
  const s = readSettings(() => undefined);
  assert.deepEqual(s.server, DEFAULT_SETTINGS);
  assert.deepEqual(s.client, DEFAULT_CLIENT_SETTINGS);
  assert.deepEqual(s.problems, []);
});

test('readSettings: values are typed, trimmed, clamped; wrong types fall back with a problem', () => {
  const values: Record<string, unknown> = {
    [Ids.setting.pythonPath]: '  /opt/py/bin/python3 ',
    [Ids.setting.analysisMode]: 'full',
    [Ids.setting.analysisStrict]: true,
    [Ids.setting.catalogPath]: '/w/lab.json',
    [Ids.setting.showBaselineLenses]: true,
    [Ids.setting.codeLensEnable]: false,
    [Ids.setting.codeLensShowShared]: true,
    [Ids.setting.followImports]: false,
    [Ids.setting.countMaskedFeatures]: true,
    [Ids.setting.injectBindNow]: false,
    [Ids.setting.analyzeOnStop]: false,
    [Ids.setting.stopDebounceMs]: 100,
  };
  const s = readSettings((k) => values[k]);
  assert.deepEqual(s.server, {
    pythonPath: '/opt/py/bin/python3',
    codeLensEnable: false,
    codeLensShowShared: true,
    showBaselineLenses: true,
    analysisMode: 'full',
    analysisStrict: true,
    catalogPath: '/w/lab.json',
    followImports: false,
    countMaskedFeatures: true,
  });
  assert.deepEqual(s.client, { injectBindNow: false, analyzeOnStop: false, stopDebounceMs: 100, plan: DEFAULT_CLIENT_SETTINGS.plan });
  assert.deepEqual(s.problems, []);

  const bad: Record<string, unknown> = {
    [Ids.setting.pythonPath]: 3,
    [Ids.setting.analysisMode]: 'fast',
    [Ids.setting.showBaselineLenses]: 'yes',
    [Ids.setting.stopDebounceMs]: 99999,
    [Ids.setting.countMaskedFeatures]: 'yes',
    [Ids.setting.analysisStrict]: 'on',
  };
  const b = readSettings((k) => bad[k]);
  assert.equal(b.server.pythonPath, '');
  assert.equal(b.server.analysisMode, 'ept');
  assert.equal(b.server.showBaselineLenses, false);
  assert.equal(b.server.analysisStrict, false, 'a non-boolean analysis.strict falls back to the precise default');
  assert.equal(b.client.stopDebounceMs, 5000);
  assert.equal(b.server.countMaskedFeatures, false, 'a non-boolean countMaskedFeatures falls back to off');
  assert.equal(b.problems.length, 6);
  assert.ok(b.problems.every((p) => p.startsWith('pygration.')));
  assert.equal(readSettings((k) => (k === Ids.setting.stopDebounceMs ? -5 : undefined)).client.stopDebounceMs, 0);
  assert.equal(readSettings((k) => (k === Ids.setting.stopDebounceMs ? Number.NaN : undefined)).client.stopDebounceMs, DEFAULT_CLIENT_SETTINGS.stopDebounceMs);
});

test('package.json declares exactly the commands of Ids.command, titled and categorised', () => {
  const declared = manifest.contributes.commands.map((c) => c.command).sort();
  assert.deepEqual(declared, Object.values(Ids.command).sort());
  for (const c of manifest.contributes.commands) {
    assert.equal(c.category, 'Pygration', c.command);
    assert.ok(c.title.length > 3, c.command);
  }
  for (const entries of Object.values(manifest.contributes.menus ?? {})) {
    for (const e of entries) assert.ok((Object.values(Ids.command) as string[]).includes(e.command), e.command);
  }
});

test('package.json declares exactly the settings of Ids.setting with the defaults the code uses', () => {
  const props = manifest.contributes.configuration.properties;
  assert.deepEqual(Object.keys(props).sort(), Object.values(Ids.setting).sort());
  for (const [key, def] of Object.entries(SETTING_DEFAULTS)) assert.deepEqual(props[key].default, def, key);
  assert.deepEqual(props[Ids.setting.analysisMode].enum, [...ANALYSIS_MODES]);
  for (const key of Object.keys(props)) assert.ok(key.startsWith(`${Ids.section}.`), key);
  // The server's settings (protocol.ts) are all declared, under the same names (analysisStrict is nested as
  // pygration.analysis.strict, codeLensEnable as pygration.codeLens.enable; the server reads both spellings).
  const nested: Record<string, string> = { analysisStrict: Ids.setting.analysisStrict, codeLensEnable: Ids.setting.codeLensEnable, codeLensShowShared: Ids.setting.codeLensShowShared };
  for (const key of Object.keys(DEFAULT_SETTINGS)) assert.ok((nested[key] ?? `${Ids.section}.${key}`) in props, key);
  assert.ok(`${Ids.clientId}.trace.server` in props, 'the language client reads <id>.trace.server');
});

test('package.json activates only on Python and debug events (never *, no workspaceContains), and points at the client bundle', () => {
  assert.equal(manifest.main, './dist/client.js');
  assert.ok(!manifest.activationEvents.includes('*'));
  for (const e of manifest.activationEvents) {
    assert.match(e, /^(onLanguage:python$|onDebugResolve:|onDebugAdapterProtocolTracker:|onWebviewPanel:pygration\.instances$)/, e);
  }
  for (const type of Ids.debugTypes) {
    assert.ok(manifest.activationEvents.includes(`onDebugResolve:${type}`), type);
    assert.ok(manifest.activationEvents.includes(`onDebugAdapterProtocolTracker:${type}`), type);
  }
  assert.ok(manifest.activationEvents.includes(`onWebviewPanel:${Ids.instanceViewType}`), 'the serializer needs its activation event');
});

test('restart policy: at most N restarts in the window, then stop; old crashes slide out; reset', () => {
  let now = 0;
  const policy = new RestartPolicy(RESTART_LIMIT.maxRestarts, RESTART_LIMIT.windowMs, () => now);
  for (let i = 1; i <= RESTART_LIMIT.maxRestarts; i++) {
    now += 1000;
    assert.deepEqual(policy.onCrash(), { restart: true, crashes: i });
  }
  now += 1000;
  assert.deepEqual(policy.onCrash(), { restart: false, crashes: RESTART_LIMIT.maxRestarts + 1 });
  // Long after: the window has slid past every crash.
  now += RESTART_LIMIT.windowMs + 1;
  assert.deepEqual(policy.onCrash(), { restart: true, crashes: 1 });
  // Crashes spread wider than the window never stop the server.
  const spread = new RestartPolicy(2, 1000, () => now);
  for (let i = 0; i < 10; i++) {
    now += 600;
    assert.equal(spread.onCrash().restart, true, `crash ${i}`);
  }
  policy.reset();
  assert.equal(policy.onCrash().crashes, 1);
  assert.match(gaveUpMessage(5, 180_000), /crashed 5 times in 3 minutes/);
});

// The ms-python extension cannot be installed here (no marketplace access), so its exported API is
// represented by plain objects of the documented shapes (@vscode/python-extension's PythonExtension).
test('Python extension API: environments shape, with resolveEnvironment and change events', async () => {
  let listener: (() => void) | undefined;
  let disposed = false;
  const calls: unknown[] = [];
  const api = {
    ready: Promise.resolve(),
    environments: {
      getActiveEnvironmentPath(resource: unknown) {
        calls.push(resource);
        return { id: 'venv', path: '/w/.venv' };
      },
      async resolveEnvironment(env: { path: string }) {
        assert.equal(env.path, '/w/.venv');
        return { executable: { uri: { fsPath: '/w/.venv/bin/python' }, bitness: '64-bit', sysPrefix: '/w/.venv' } };
      },
      onDidChangeActiveEnvironmentPath(l: () => void) {
        listener = l;
        return { dispose: () => (disposed = true) };
      },
    },
  };
  const source = adaptPythonApi(api);
  assert.equal(source?.kind, 'environments');
  assert.equal(await source!.interpreter('folder-uri'), '/w/.venv/bin/python');
  assert.deepEqual(calls, ['folder-uri']);
  let fired = 0;
  const d = source!.onDidChange(() => fired++);
  listener!();
  assert.equal(fired, 1);
  d!.dispose();
  assert.equal(disposed, true);

  // An environment that cannot be resolved falls back to the selection's path.
  const unresolved = adaptPythonApi({ environments: { ...api.environments, resolveEnvironment: async () => undefined } });
  assert.equal(await unresolved!.interpreter(undefined), '/w/.venv');
  const throwing = adaptPythonApi({ environments: { ...api.environments, resolveEnvironment: async () => { throw new Error('gone'); } } });
  assert.equal(await throwing!.interpreter(undefined), '/w/.venv');
  const noActive = adaptPythonApi({ environments: { getActiveEnvironmentPath: () => undefined } });
  assert.equal(await noActive!.interpreter(undefined), undefined);
  assert.equal(noActive!.onDidChange(() => undefined), undefined, 'no change event, no subscription');
});

test('Python extension API: the older settings.getExecutionDetails shape, and neither', async () => {
  const old = adaptPythonApi({ settings: { getExecutionDetails: () => ({ execCommand: ['/usr/bin/python3.11'] }), onDidChangeExecutionDetails: (l: () => void) => ({ dispose: () => l }) } });
  assert.equal(old?.kind, 'execution-details');
  assert.equal(await old!.interpreter(undefined), '/usr/bin/python3.11');
  assert.ok(old!.onDidChange(() => undefined));
  const conda = adaptPythonApi({ settings: { getExecutionDetails: () => ({ execCommand: ['conda', 'run', '-n', 'x', 'python'] }) } });
  assert.equal(await conda!.interpreter(undefined), undefined, 'a wrapper command is not an interpreter path');
  const unset = adaptPythonApi({ settings: { getExecutionDetails: () => ({ execCommand: undefined }) } });
  assert.equal(await unset!.interpreter(undefined), undefined);
  for (const exports of [undefined, null, 3, {}, { environments: {} }, { settings: { getExecutionDetails: 'x' } }]) {
    assert.equal(adaptPythonApi(exports), undefined, JSON.stringify(exports));
  }
  // A `ready` that rejects does not break the queries.
  const rejecting = adaptPythonApi({ ready: Promise.reject(new Error('x')), settings: { getExecutionDetails: () => ({ execCommand: ['/p'] }) } });
  assert.equal(await rejecting!.interpreter(undefined), '/p');
});

test('interpreter precedence: Python extension, then pygration.pythonPath, then python3 on PATH', () => {
  assert.deepEqual(chooseInterpreter('/venv/bin/python', '/usr/bin/python3'), { path: '/venv/bin/python', origin: 'python-extension' });
  assert.deepEqual(chooseInterpreter(undefined, ' /usr/bin/python3 '), { path: '/usr/bin/python3', origin: 'setting' });
  assert.deepEqual(chooseInterpreter(undefined, ''), { origin: 'path' });
});

test("the server reads the strict root policy from typed settings and from the raw section's nested analysis.strict", () => {
  assert.equal(readServerSettings({ analysisStrict: true }).analysisStrict, true);
  assert.equal(readServerSettings({ analysis: { strict: true } }).analysisStrict, true);
  assert.equal(readServerSettings({ analysis: { strict: false } }).analysisStrict, false);
  assert.equal(readServerSettings({ analysis: { strict: 'yes' } }).analysisStrict, false);
  assert.equal(readServerSettings(undefined).analysisStrict, false, 'precise is the default');
});

test('server settings: the lens settings under their typed names (initializationOptions) and nested in the raw section', () => {
  assert.equal(readServerSettings(undefined).codeLensEnable, true);
  assert.equal(readServerSettings(undefined).codeLensShowShared, false);
  assert.equal(readServerSettings({ codeLensEnable: false }).codeLensEnable, false);
  assert.equal(readServerSettings({ codeLens: { enable: false, showSharedWithInterpreter: true } }).codeLensEnable, false);
  assert.equal(readServerSettings({ codeLens: { enable: false, showSharedWithInterpreter: true } }).codeLensShowShared, true);
  assert.equal(readServerSettings({ codeLens: { enable: 'no' } }).codeLensEnable, true, 'a non-boolean falls back to the default');
});
