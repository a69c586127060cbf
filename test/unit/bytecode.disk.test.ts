// The on-disk cache of module records: a new session starts from it (the helper only locates modules) and
// gets exactly the results of a cold run; edits, damaged records and a disabled cache behave.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FIXTURE_SRC } from '../helpers/fixtures';
import { BytecodeSession, bytecodeTracking, defaultCacheDir } from '../../server/src/bytecode';
import type { BytecodeTrackingResult, CallSite } from '../../server/src/bytecode';
import { pyenvVersionsDir } from '../helpers/pyenv';
import { skipUnless } from '../helpers/skip';

const PKG = path.join(FIXTURE_SRC, 'python', 'bytecode', 'fixpkg');

function python(): string | undefined {
  const root = pyenvVersionsDir();
  const candidates = ['/usr/bin/python3', ...(root ? fs.readdirSync(root).sort().map((v) => path.join(root, v, 'bin', 'python3')) : [])];
  for (const p of candidates) {
    try {
      const minor = Number(execFileSync(p, ['-c', 'import sys; print(sys.version_info[1])'], { encoding: 'utf8' }).trim());
      if (minor >= 8 && minor <= 13) return p;
    } catch {
      // Not usable.
    }
  }
  return undefined;
}

const PY = python();

function text(sites: CallSite[]): string[] {
  return sites.map((s) => `${s.file}:${s.line}:${s.column} ${s.kind} ${s.caller} ${JSON.stringify(s.callee)}`);
}

/** Sites of every caller through the call graph (what walks see), in caller order. */
function graphText(r: BytecodeTrackingResult, callers: string[]): string[] {
  return callers.flatMap((c) => text(r.graph!.sitesOf(c)));
}

/** Sessions opened by the test (closed at its end, whatever happens). */
const sessions: BytecodeSession[] = [];

async function track(cacheDir: string | null, files: string[], mode: 'roots' | 'all' = 'roots'): Promise<{ result: BytecodeTrackingResult; session: BytecodeSession }> {
  const session = new BytecodeSession({ python: PY!, cacheDir });
  sessions.push(session);
  const result = await session.track({ python: PY!, files, followImports: true, callSitesOf: mode });
  await session.disk?.settled();
  return { result, session };
}

test('a new session starts from the disk cache and gets the cold results; edits and damage are handled', { skip: skipUnless(PY, 'no CPython 3.8–3.13 (Debian python3)') }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pyg-disk-'));
  const cacheDir = path.join(tmp, 'cache');
  try {
    fs.cpSync(PKG, path.join(tmp, 'fixpkg'), { recursive: true });
    const app = path.join(tmp, 'fixpkg', 'app.py');
    const full = (await bytecodeTracking({ python: PY!, files: [app], followImports: true, callSitesOf: 'all', cacheDir: null })).callSites;
    const callers = [...new Set(full.map((s) => s.caller))].sort();

    const cold = await track(cacheDir, [app]);
    cold.session.close();
    assert.equal(cold.result.stats.diskModules, 0);
    const dirs = fs.readdirSync(path.join(cacheDir, 'bytecode'));
    assert.equal(dirs.length, 1, 'one directory per interpreter');
    const dir = path.join(cacheDir, 'bytecode', dirs[0]);
    const packs = fs.readdirSync(dir).filter((f) => f.endsWith('.pack'));
    assert.equal(packs.length, 1, 'one pack file per run');
    const indexed = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as { modules: Record<string, unknown[]> };
    assert.equal(Object.keys(indexed.modules).length, cold.result.stats.pythonModules);

    // Warm from disk: every Python module's record comes from the cache, the results are the cold ones.
    const warm = await track(cacheDir, [app]);
    assert.equal(warm.result.stats.diskModules, warm.result.stats.pythonModules);
    assert.equal(warm.result.stats.cachedModules, 0, 'no summary is carried over between processes');
    assert.deepEqual(warm.result.modules.map((m) => m.name), cold.result.modules.map((m) => m.name));
    assert.deepEqual(text(warm.result.callSites), text(cold.result.callSites));
    // Function bodies read back from disk on demand: the walks see what the full listing has.
    assert.deepEqual(graphText(warm.result, callers), graphText(cold.result, callers));
    assert.deepEqual(graphText(warm.result, callers), callers.flatMap((c) => text(full.filter((s) => s.caller === c))));
    warm.session.close();

    // An edited module is dumped again (and stored under its new identity); the rest comes from disk.
    const core = path.join(tmp, 'fixpkg', 'core.py');
    fs.appendFileSync(core, '\n\ndef added(x):\n    return parse_json(x)\n');
    const edited = await track(cacheDir, [app]);
    assert.equal(edited.result.stats.diskModules, edited.result.stats.pythonModules - 1);
    assert.equal(edited.result.graph!.sitesOf('fixpkg.core.added')[0]?.callee.qualifiedName, 'json.loads');
    edited.session.close();

    // A damaged record costs a re-dump, never a wrong result.
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as { modules: Record<string, [string, number, string, string, number]> };
    const [, , , pack, offset] = index.modules['json'];
    const fd = fs.openSync(path.join(dir, pack), 'r+');
    fs.writeSync(fd, '{"not": "a record"}', offset);
    fs.closeSync(fd);
    const damaged = await track(cacheDir, [app]);
    assert.equal(damaged.result.stats.diskModules, damaged.result.stats.pythonModules - 1);
    assert.deepEqual(text(damaged.result.callSites), text(edited.result.callSites));
    assert.deepEqual(text(damaged.result.graph!.sitesOf('json.dumps')), text(full.filter((s) => s.caller === 'json.dumps')));
    damaged.session.close();

    // Disabled: no cache is opened.
    const none = await track(null, [app]);
    none.session.close();
    assert.equal(none.session.disk, null);
    assert.equal(none.result.stats.diskModules, 0);
  } finally {
    for (const s of sessions) s.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('the default cache directory follows PYGRATION_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache', () => {
  assert.equal(defaultCacheDir({ PYGRATION_CACHE_DIR: '/x/y' }), '/x/y');
  assert.equal(defaultCacheDir({ PYGRATION_CACHE_DIR: '' }), null);
  assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/xdg' }), '/xdg/pygration');
  assert.equal(defaultCacheDir({}), path.join(os.homedir(), '.cache', 'pygration'));
});
