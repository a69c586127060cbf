// The V8 code cache of the bundles (server/src/codeCache.ts): the real dist/cli.js run twice on one cache directory
// writes the cache once and then starts from it with the same output; a corrupt entry is rejected by V8 and
// rewritten; an empty $PYGRATION_CACHE_DIR writes nothing.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { REPO_ROOT } from '../helpers/fixtures';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-code-cache-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function host(cacheDir: string | undefined, xdg?: string): string {
  const env: NodeJS.ProcessEnv = { ...process.env, PYGRATION_CACHE_DIR: cacheDir, ...(xdg ? { XDG_CACHE_HOME: xdg } : {}) };
  if (cacheDir === undefined) delete env.PYGRATION_CACHE_DIR;
  return execFileSync(process.execPath, [CLI, 'host', '--json'], { encoding: 'utf8', env });
}

function entries(cacheDir: string): string[] {
  const dir = path.join(cacheDir, 'v8');
  return fs.existsSync(dir) ? fs.readdirSync(dir).map((f) => path.join(dir, f)) : [];
}

test('the CLI writes its code cache once, starts from it after, and gives the same answer', () => {
  assert.ok(fs.existsSync(path.join(REPO_ROOT, 'dist', 'cliMain.js')), 'dist/ is built (node esbuild.mjs)');
  const cacheDir = path.join(tmp, 'cache');
  // Another build's entries of the same bundle are removed when this one is written; another bundle's stay.
  fs.mkdirSync(path.join(cacheDir, 'v8'), { recursive: true });
  fs.writeFileSync(path.join(cacheDir, 'v8', 'cliMain-0123456789abcdef.bin'), 'an older build');
  fs.writeFileSync(path.join(cacheDir, 'v8', 'serverMain-0123456789abcdef.bin'), 'the server');
  const first = host(cacheDir);
  const written = entries(cacheDir).filter((f) => path.basename(f).startsWith('cliMain-'));
  assert.equal(written.length, 1, `one cache entry of the CLI, the older build's removed: ${written.join(', ')}`);
  assert.match(path.basename(written[0]), /^cliMain-[0-9a-f]{16}\.bin$/);
  assert.notEqual(path.basename(written[0]), 'cliMain-0123456789abcdef.bin');
  assert.ok(fs.existsSync(path.join(cacheDir, 'v8', 'serverMain-0123456789abcdef.bin')), 'the server bundle\'s entry stays');
  assert.ok(fs.statSync(written[0]).size > 100_000, 'the entry holds compiled code');
  const mtime = fs.statSync(written[0]).mtimeMs;
  assert.equal(host(cacheDir), first);
  assert.equal(fs.statSync(written[0]).mtimeMs, mtime, 'accepted by V8: not written again');

  // A corrupt entry: V8 rejects it (its checksum), the CLI still answers, and the entry is written anew.
  fs.writeFileSync(written[0], Buffer.alloc(4096, 7));
  assert.equal(host(cacheDir), first);
  assert.ok(fs.statSync(written[0]).size > 100_000, 'rewritten with compiled code');
});

test('the code cache lives in the default cache directory; an empty PYGRATION_CACHE_DIR turns it off', () => {
  const xdg = path.join(tmp, 'xdg');
  JSON.parse(host('', xdg));
  assert.deepEqual(entries(path.join(xdg, 'pygration')), [], 'nothing written');
  JSON.parse(host(undefined, xdg));
  assert.equal(entries(path.join(xdg, 'pygration')).length, 1, 'written under $XDG_CACHE_HOME/pygration');
});
