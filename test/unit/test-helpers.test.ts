// Tests of the test infrastructure itself: environment skips that fail under CI=true (test/helpers/skip.ts),
// interpreter discovery (test/helpers/pyenv.ts) and the skip summary reporter of scripts/test.sh.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hostSkipUnless, MissingPrerequisite, skipOrFail, skipUnless, skipWhen, underCi } from '../helpers/skip';
import { findPython, pythonVersion } from '../helpers/pyenv';
import { DEBIAN_PYTHON, REPO_ROOT } from '../helpers/fixtures';

test('skipUnless: false when present, the reason when missing, and under CI=true a failure naming the reason', () => {
  assert.equal(underCi({ CI: 'true' }), true);
  assert.equal(underCi({ CI: '1' }), true);
  assert.equal(underCi({ CI: 'false' }), false);
  assert.equal(underCi({}), false);
  assert.equal(skipUnless(true, 'x', {}), false);
  assert.equal(skipUnless('/usr/bin/readelf', 'x', { CI: 'true' }), false);
  assert.equal(skipUnless(false, 'readelf missing', {}), 'readelf missing');
  assert.equal(skipUnless(undefined, 'readelf missing', { CI: 'false' }), 'readelf missing');
  assert.throws(() => skipUnless(false, 'readelf missing', { CI: 'true' }), (e) => e instanceof MissingPrerequisite && /CI=true: readelf missing/.test(e.message));
  assert.equal(skipWhen(undefined, { CI: 'true' }), false);
  assert.equal(skipWhen('python3-dev headers are missing', {}), 'python3-dev headers are missing');
  assert.throws(() => skipWhen('python3-dev headers are missing', { CI: 'true' }), MissingPrerequisite);
  // Host-dependent skips stay skips under CI.
  assert.equal(hostSkipUnless(false, 'needs root'), 'needs root');
  let skipped: string | undefined;
  const t = { skip: (m: string) => (skipped = m) } as unknown as Parameters<typeof skipOrFail>[0];
  skipOrFail(t, 'no libc.a', {});
  assert.equal(skipped, 'no libc.a');
  assert.throws(() => skipOrFail(t, 'no libc.a', { CI: 'true' }), MissingPrerequisite);
});

test('findPython: pyenv versions under $PYENV_ROOT (newest patch first), then pythonX.Y on PATH, each checked by running it', () => {
  const version = pythonVersion(DEBIAN_PYTHON);
  assert.ok(version, 'Debian python3 runs');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-pyenv-'));
  try {
    // A fake pyenv: two patch releases of the same minor (links to the real interpreter) and a broken one.
    for (const patch of ['1', '12']) {
      fs.mkdirSync(path.join(root, 'versions', `${version}.${patch}`, 'bin'), { recursive: true });
      fs.symlinkSync(DEBIAN_PYTHON, path.join(root, 'versions', `${version}.${patch}`, 'bin', `python${version}`));
    }
    fs.mkdirSync(path.join(root, 'versions', `${version}.99`, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(root, 'versions', `${version}.99`, 'bin', `python${version}`), '#!/bin/false\n', { mode: 0o755 });
    assert.equal(findPython(version!, { PYENV_ROOT: root, PATH: '' }), path.join(root, 'versions', `${version}.12`, 'bin', `python${version}`));
    // No pyenv: PATH decides; a name that runs another version is not taken.
    fs.mkdirSync(path.join(root, 'path'));
    fs.symlinkSync(DEBIAN_PYTHON, path.join(root, 'path', `python${version}`));
    fs.symlinkSync(DEBIAN_PYTHON, path.join(root, 'path', 'python2.6'));
    const noPyenv = { PYENV_ROOT: path.join(root, 'none'), HOME: root, PATH: path.join(root, 'path') };
    assert.equal(findPython(version!, noPyenv), path.join(root, 'path', `python${version}`));
    assert.equal(findPython('2.6', noPyenv), undefined);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('the skip summary reporter counts skipped tests and suites with their reasons', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-skiprep-'));
  try {
    const file = path.join(dir, 'sample.test.mjs');
    fs.writeFileSync(
      file,
      [
        "import { describe, test } from 'node:test';",
        "describe('a suite', { skip: 'no readelf' }, () => { test('inner', () => {}); });",
        "test('static', { skip: 'no numpy' }, () => {});",
        "test('dynamic', (t) => { t.skip('not root'); });",
        "test('runs', () => {});",
      ].join('\n'),
    );
    // NODE_TEST_CONTEXT would make the inner runner report to us instead of through its reporter.
    const env: NodeJS.ProcessEnv = { ...process.env, CI: '' };
    delete env.NODE_TEST_CONTEXT;
    const r = spawnSync(process.execPath, ['--test', `--test-reporter=${path.join(REPO_ROOT, 'scripts', 'skip-report.mjs')}`, file], { cwd: dir, encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stdout,
      ['skips: 3 skipped (1 tests ran):', '  suite sample.test.mjs: a suite — no readelf', '  sample.test.mjs: static — no numpy', '  sample.test.mjs: dynamic — not root', ''].join('\n'),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
