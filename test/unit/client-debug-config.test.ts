// Tests of the launch-configuration half of the debug integration (client/src/logic/debugConfig.ts):
// when LD_BIND_NOW=1 is added, when a user's value is kept, env files, attach and remote sessions.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { envFileSets, injectBindNow, isPythonDebugType, isRemoteAttach, type DebugConfigLike } from '../../client/src/logic/debugConfig';

const launch = (extra: DebugConfigLike = {}): DebugConfigLike => ({ name: 'Python: Current File', type: 'debugpy', request: 'launch', program: '/w/a.py', console: 'integratedTerminal', ...extra });
const on = { enabled: true, inheritedEnv: {} };

test('adds LD_BIND_NOW=1 to python and debugpy launches, keeping every other field and env entry', () => {
  for (const type of ['python', 'debugpy']) {
    const config = launch({ type, env: { PYTHONUNBUFFERED: '1' }, args: ['--size', '10'] });
    const d = injectBindNow(config, on);
    assert.equal(d.outcome, 'injected');
    assert.deepEqual(d.config, { ...config, env: { PYTHONUNBUFFERED: '1', LD_BIND_NOW: '1' } });
    assert.deepEqual(config.env, { PYTHONUNBUFFERED: '1' }, 'the input configuration is not mutated');
  }
  const noEnv = injectBindNow(launch(), on);
  assert.deepEqual(noEnv.config.env, { LD_BIND_NOW: '1' });
  const nullEnv = injectBindNow(launch({ env: null }), on);
  assert.deepEqual(nullEnv.config.env, { LD_BIND_NOW: '1' });
});

test('never overrides a value the user set: env (any value), env file, inherited environment', () => {
  for (const value of ['0', '', '1', null]) {
    const config = launch({ env: { LD_BIND_NOW: value } });
    const d = injectBindNow(config, on);
    assert.equal(d.outcome, 'already-set');
    assert.equal(d.source, 'env');
    assert.equal(d.config, config);
  }
  const fromFile = injectBindNow(launch({ envFile: '/w/.env' }), { ...on, envFileText: '# local\nexport LD_BIND_NOW=0\nFOO=bar\n' });
  assert.deepEqual([fromFile.outcome, fromFile.source], ['already-set', 'envFile']);
  const otherFile = injectBindNow(launch(), { ...on, envFileText: 'LD_BIND_NOWX=1\n#LD_BIND_NOW=1\nLD_LIBRARY_PATH=/x\n' });
  assert.equal(otherFile.outcome, 'injected');
  const inherited = injectBindNow(launch(), { enabled: true, inheritedEnv: { LD_BIND_NOW: '1' } });
  assert.deepEqual([inherited.outcome, inherited.source], ['already-set', 'inherited']);
  const inheritedEmpty = injectBindNow(launch(), { enabled: true, inheritedEnv: { LD_BIND_NOW: '' } });
  assert.equal(inheritedEmpty.outcome, 'injected', 'an empty inherited value is lazy binding: inject');
});

test('leaves alone: disabled, attach, other debug types, malformed env', () => {
  assert.equal(injectBindNow(launch(), { enabled: false }).outcome, 'disabled');
  assert.equal(injectBindNow(launch({ request: 'attach', processId: 4242 }), on).outcome, 'attach');
  assert.equal(injectBindNow(launch({ type: 'node' }), on).outcome, 'other-type');
  assert.equal(injectBindNow(launch({ type: undefined }), on).outcome, 'other-type');
  for (const env of ['LD_BIND_NOW=1', ['LD_BIND_NOW=1'], 3, { A: 1 }, { A: { b: 'c' } }]) {
    const config = launch({ env });
    const d = injectBindNow(config, on);
    assert.equal(d.outcome, 'env-malformed', JSON.stringify(env));
    assert.equal(d.config, config);
  }
});

test('envFileSets reads dotenv syntax', () => {
  assert.equal(envFileSets('LD_BIND_NOW=1', 'LD_BIND_NOW'), true);
  assert.equal(envFileSets('  LD_BIND_NOW = 1\r\n', 'LD_BIND_NOW'), true);
  assert.equal(envFileSets('export LD_BIND_NOW=1', 'LD_BIND_NOW'), true);
  assert.equal(envFileSets('# LD_BIND_NOW=1', 'LD_BIND_NOW'), false);
  assert.equal(envFileSets('X_LD_BIND_NOW=1\nLD_BIND_NOW_X=1', 'LD_BIND_NOW'), false);
  assert.equal(envFileSets('', 'LD_BIND_NOW'), false);
});

test('isRemoteAttach: debugpy attach over the network, not to this machine', () => {
  assert.equal(isRemoteAttach({ type: 'debugpy', request: 'attach', connect: { host: 'gpu-box.internal', port: 5678 } }), true);
  assert.equal(isRemoteAttach({ type: 'python', request: 'attach', host: '10.0.0.7', port: 5678 }), true);
  for (const host of ['localhost', '127.0.0.1', '::1', 'LOCALHOST']) {
    assert.equal(isRemoteAttach({ type: 'debugpy', request: 'attach', connect: { host, port: 5678 } }), false, host);
  }
  assert.equal(isRemoteAttach({ type: 'debugpy', request: 'attach', processId: 4242 }), false);
  assert.equal(isRemoteAttach({ type: 'debugpy', request: 'launch', connect: { host: 'far.away' } }), false);
});

test('isPythonDebugType', () => {
  assert.equal(isPythonDebugType('python'), true);
  assert.equal(isPythonDebugType('debugpy'), true);
  assert.equal(isPythonDebugType('pwa-node'), false);
  assert.equal(isPythonDebugType(undefined), false);
});
