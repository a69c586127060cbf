// Function summaries shared on disk by the bundled CLI and the language server of one build: one engine stamp
// for the bundles side by side, and `pygration analyze` saving its summaries where a second analysis (or the
// server) finds them, with the same result; the comparison full scan's per-file results likewise.

import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { engineStamp } from '../../native/src/trace/summaryStore';
import { REPO_ROOT, startSleeper } from '../helpers/fixtures';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-summary-share-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('engine stamp', () => {
  test('the CLI and server bundles of one build have one stamp; a change to either changes it', () => {
    const dist = path.join(tmp, 'dist');
    fs.mkdirSync(dist);
    fs.writeFileSync(path.join(dist, 'cliMain.js'), 'cli bundle v1');
    fs.writeFileSync(path.join(dist, 'serverMain.js'), 'server bundle v1');
    const cli = engineStamp(path.join(dist, 'cliMain.js'));
    assert.equal(engineStamp(path.join(dist, 'serverMain.js')), cli);
    fs.writeFileSync(path.join(dist, 'serverMain.js'), 'server bundle v2');
    assert.notEqual(engineStamp(path.join(dist, 'cliMain.js')), cli);
    // A file that is not one of the bundles is stamped alone.
    fs.writeFileSync(path.join(dist, 'other.js'), 'cli bundle v1');
    assert.notEqual(engineStamp(path.join(dist, 'other.js')), engineStamp(path.join(dist, 'cliMain.js')));
  });
});

function cli(args: string[], cacheDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'dist', 'cli.js'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYGRATION_CACHE_DIR: cacheDir },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('pygration analyze and the summary store', () => {
  test('saves the summaries under the stamp the server uses; a second analysis loads them and agrees', async () => {
    const serverBundle = path.join(REPO_ROOT, 'dist', 'serverMain.js');
    assert.ok(fs.existsSync(serverBundle), 'dist/ is built (node esbuild.mjs)');
    const cacheDir = path.join(tmp, 'cache');
    const p = await startSleeper();
    try {
      const first = await cli(['analyze', '--pid', String(p.pid), '--no-full-scan', '--json'], cacheDir);
      assert.equal(first.code, 0, first.stderr);
      const dir = path.join(cacheDir, 'summaries', engineStamp(serverBundle));
      const stored = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
      assert.ok(stored.length >= 1, `summaries saved in ${dir}`);
      const before = new Map(stored.map((f) => [f, fs.statSync(path.join(dir, f)).mtimeMs]));
      const second = await cli(['analyze', '--pid', String(p.pid), '--no-full-scan', '--json'], cacheDir);
      assert.equal(second.code, 0, second.stderr);
      const a = JSON.parse(first.stdout);
      const b = JSON.parse(second.stdout);
      assert.deepEqual(b.required, a.required);
      assert.equal(b.stats.functionsVisited, a.stats.functionsVisited);
      // Nothing new to save: the stored files were read, not written again.
      for (const [f, mtime] of before) assert.equal(fs.statSync(path.join(dir, f)).mtimeMs, mtime, `${f} unchanged`);
    } finally {
      await p.stop();
    }
  });

  test('with the comparison full scan: per-file results saved once, read by the next analysis, same answer', async () => {
    const cacheDir = path.join(tmp, 'cache-fullscan');
    const p = await startSleeper();
    try {
      const first = await cli(['analyze', '--pid', String(p.pid), '--json'], cacheDir);
      assert.equal(first.code, 0, first.stderr);
      const dir = path.join(cacheDir, 'fullscan', engineStamp(path.join(REPO_ROOT, 'dist', 'serverMain.js')));
      const stored = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
      // sleep maps itself, libc and the dynamic linker (the vDSO is not scanned).
      assert.ok(stored.length >= 3, `per-file full-scan results saved in ${dir}: ${stored.join(', ')}`);
      const before = new Map(stored.map((f) => [f, fs.statSync(path.join(dir, f)).mtimeMs]));
      const second = await cli(['analyze', '--pid', String(p.pid), '--json'], cacheDir);
      assert.equal(second.code, 0, second.stderr);
      const a = JSON.parse(first.stdout);
      const b = JSON.parse(second.stdout);
      assert.ok(Array.isArray(a.fullScanRequired), 'the report has the full scan');
      assert.deepEqual(b.fullScanRequired, a.fullScanRequired);
      for (const [f, mtime] of before) assert.equal(fs.statSync(path.join(dir, f)).mtimeMs, mtime, `${f} read, not written again`);
    } finally {
      await p.stop();
    }
  });
});
