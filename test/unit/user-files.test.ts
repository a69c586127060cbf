// Files a user names (--catalog, the plan's --bandwidth-file, the catalogPath setting), read through
// native/src/userFile.ts: devices, FIFOs and directories are refused at once, oversized files are
// refused, and a parse error never echoes the file's bytes. The CLI cases run in a child process with a
// time limit, so a read that never ends fails the test instead of filling the memory. Also `calls` on a
// Python file above its size limit: refused at once, before any analysis.

import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCatalog } from '../../native/src/catalog/catalog';
import { isNativeError } from '../../native/src/errors';
import { loadBandwidthOverrides } from '../../native/src/plan/bandwidth';
import { readUserFile, USER_FILE_MAX_BYTES } from '../../native/src/userFile';
import { REPO_ROOT } from '../helpers/fixtures';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const SECRET = 'root:$y$j9T$SECRETHASHSECRETHASH:19000:0:99999:7:::';

let dir: string;
let fifo: string;
let secret: string;

before(() => {
  assert.ok(fs.existsSync(CLI), `${CLI} is built (node esbuild.mjs)`);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-userfiles-'));
  fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  secret = path.join(dir, 'shadow');
  fs.writeFileSync(secret, `${SECRET}\ndaemon:*:19000:0:99999:7:::\n`, { mode: 0o600 });
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The CLI with a 20 s limit: a read that grows or blocks is killed and fails the assertion. */
function cli(args: string[]): { status: number | null; stderr: string; stdout: string; timedOut: boolean } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL', maxBuffer: 1 << 20 });
  return { status: r.status, stderr: r.stderr ?? '', stdout: r.stdout ?? '', timedOut: r.error !== undefined || r.signal !== null };
}

for (const [name, file] of [
  ['/dev/zero', () => '/dev/zero'],
  ['/dev/urandom', () => '/dev/urandom'],
  ['a FIFO', () => fifo],
  ['a directory', () => dir],
] as const) {
  test(`--catalog ${name} is refused at once: only regular files are read`, () => {
    const r = cli(['instances', '--catalog', file()]);
    assert.equal(r.timedOut, false, `the CLI finished (stderr: ${r.stderr.slice(0, 300)})`);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /only regular files are read/);
  });

  test(`plan --bandwidth-file ${name} is refused at once`, () => {
    // The bandwidth file is read before the process is touched: pid 1 is never sampled here.
    const r = cli(['plan', '--pid', '1', '--bandwidth-file', file(), '--quiet']);
    assert.equal(r.timedOut, false, `the CLI finished (stderr: ${r.stderr.slice(0, 300)})`);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /bandwidth file .* only regular files are read/);
  });
}

test('a file that is not JSON is refused without echoing its bytes (CLI and API)', () => {
  for (const args of [
    ['instances', '--catalog', secret],
    ['plan', '--pid', '1', '--bandwidth-file', secret, '--quiet'],
  ]) {
    const r = cli(args);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /is not valid JSON/);
    assert.ok(!r.stderr.includes('SECRETHASH') && !r.stderr.includes('root:') && !r.stdout.includes('SECRETHASH'), `no bytes of the file in: ${r.stderr}`);
  }
  for (const load of [() => loadCatalog(secret), () => loadBandwidthOverrides(secret)]) {
    assert.throws(load, (e) => {
      assert.ok(isNativeError(e) && e.kind === 'malformed', String(e));
      const all = `${e.message} ${e.hint ?? ''} ${e.describe()} ${JSON.stringify(e)}`;
      assert.ok(!all.includes('SECRETHASH') && !all.includes('root:'), all);
      return true;
    });
  }
  // A position is given when the parser knows it.
  const trailing = path.join(dir, 'trailing.json');
  fs.writeFileSync(trailing, '{"name": "x"}\nSECRETHASH\n');
  assert.throws(() => loadCatalog(trailing), (e) => isNativeError(e) && /line 2, column 1/.test(e.message) && !e.message.includes('SECRETHASH'));
});

test('a regular file above the size limit is refused without being read', () => {
  const big = path.join(dir, 'big.json');
  fs.writeFileSync(big, '');
  fs.truncateSync(big, USER_FILE_MAX_BYTES + 1);
  assert.throws(() => loadCatalog(big), (e) => isNativeError(e) && e.kind === 'unsupported' && /larger than/.test(e.message));
  assert.throws(() => loadBandwidthOverrides(big), (e) => isNativeError(e) && e.kind === 'unsupported' && /larger than/.test(e.message));
});

test('files are read whole, beyond the first read', () => {
  const text = `[${Array.from({ length: 40_000 }, (_, i) => i).join(',')}]`;
  const f = path.join(dir, 'long.json');
  fs.writeFileSync(f, text);
  assert.ok(text.length > 128 * 1024);
  assert.equal(readUserFile(f, 'test file'), text);
  assert.throws(() => readUserFile(f, 'test file', 1000), (e) => isNativeError(e) && e.kind === 'unsupported');
});

test('calls refuses a Python file above 512 KiB at once, saying why and how to override', () => {
  const big = path.join(dir, 'generated.py');
  const line = 'x = abs(-1) + len("abc")\n';
  fs.writeFileSync(big, line.repeat(Math.ceil((600 * 1024) / line.length)));
  const started = Date.now();
  const r = cli(['calls', big, '--json', '--quiet']);
  assert.equal(r.timedOut, false, r.stderr);
  assert.equal(r.status, 1, `calls analysed the file instead of refusing it: ${r.stderr.slice(-300)}`);
  assert.match(r.stderr, /at most 512 KiB/);
  assert.match(r.stderr, /--no-size-limit/);
  assert.ok(Date.now() - started < 15_000, 'refused before any analysis');
  assert.equal(r.stdout, '');
});
