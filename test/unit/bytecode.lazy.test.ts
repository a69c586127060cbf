// Lazy bytecode tracking (callSitesOf: 'roots' + the result's call graph) against the full listing
// (callSitesOf: 'all') on the fixture package under every CPython 3.8-3.13: the same sites, callees, reachable
// natives and file listings, while function bodies nobody asked for stay unsimulated.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURE_SRC } from '../helpers/fixtures';
import { bytecodeTracking, BytecodeSession, callSitesOfFiles, reachableNative } from '../../server/src/bytecode';
import type { CallSite } from '../../server/src/bytecode';
import { pyenvVersionsDir } from '../helpers/pyenv';

const FIXTURES = path.join(FIXTURE_SRC, 'python', 'bytecode');
const PKG = path.join(FIXTURES, 'fixpkg');

function pythons(): { path: string; version: string }[] {
  const candidates = ['/usr/bin/python3'];
  const root = pyenvVersionsDir();
  if (root) for (const v of fs.readdirSync(root).sort()) candidates.push(path.join(root, v, 'bin', 'python3'));
  const out: { path: string; version: string }[] = [];
  for (const p of candidates) {
    if (!fs.existsSync(p)) continue;
    try {
      const version = execFileSync(p, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' }).trim();
      const minor = Number(version.split('.')[1]);
      if (version.startsWith('3.') && minor >= 8 && minor <= 13) out.push({ path: p, version });
    } catch {
      // Not a usable interpreter.
    }
  }
  return out;
}

/** Everything a consumer sees of a site (the callee in full). */
function text(sites: CallSite[]): string[] {
  return sites.map((s) => `${s.file}:${s.line}:${s.column}:${s.endLine}:${s.endColumn} ${s.kind} ${s.caller} ${JSON.stringify(s.callee)}`);
}

for (const py of pythons()) {
  test(`lazy tracking equals the full listing under Python ${py.version} (${py.path})`, async () => {
    const files = [path.join(PKG, 'app.py'), path.join(PKG, 'broken.py')];
    const all = await bytecodeTracking({ python: py.path, files, followImports: true, callSitesOf: 'all' });
    const lazy = await bytecodeTracking({ python: py.path, files, followImports: true, callSitesOf: 'roots' });
    assert.ok(lazy.graph, 'the result has no call graph');
    assert.equal(JSON.stringify(lazy).includes('"graph"'), false, 'the call graph leaked into the JSON of the result');
    // The closure is the same; only the roots' function bodies were simulated.
    assert.deepEqual(lazy.modules.map((m) => m.name), all.modules.map((m) => m.name));
    assert.equal(all.stats.pendingModules, 0);
    assert.ok(lazy.stats.pendingModules > 0, 'every function body was simulated');
    assert.ok(lazy.stats.instructions < all.stats.instructions);
    assert.deepEqual(lazy.diagnostics, all.diagnostics);
    // The roots' sites, identical.
    const rootFiles = new Set(files);
    assert.deepEqual(text(lazy.callSites), text(all.callSites.filter((s) => rootFiles.has(s.file))));
    // Every caller's sites through the graph, identical to the full listing (library functions included:
    // resolving them simulates their modules on demand).
    const byCaller = new Map<string, CallSite[]>();
    for (const s of all.callSites) byCaller.set(s.caller, [...(byCaller.get(s.caller) ?? []), s]);
    for (const [caller, sites] of byCaller) assert.deepEqual(text(lazy.graph!.sitesOf(caller)), text(sites), caller);
    assert.deepEqual(lazy.graph!.sitesOf('fixpkg.core.no_such_function'), []);
    // Native callees reachable from every function, as the walk over the full listing finds them.
    const names = new Set([...all.functions.map((f) => f.qualifiedName), ...byCaller.keys()]);
    for (const qn of names) {
      const want = reachableNative(all.callSites, qn).map((c) => JSON.stringify(c));
      assert.deepEqual(reachableNative(lazy, qn).map((c) => JSON.stringify(c)), want, qn);
    }
    // Per file, and through callSitesOfFiles (what the call-site analysis asks for).
    for (const m of all.modules.filter((x) => x.kind === 'python' && x.file)) {
      const want = text(all.callSites.filter((s) => s.file === m.file));
      assert.deepEqual(text(lazy.graph!.sitesOfFile(m.file!) ?? []), want, m.name);
    }
    const core = path.join(PKG, 'core.py');
    const asked = [files[0], core];
    assert.deepEqual(text(callSitesOfFiles(lazy, asked)), text(all.callSites.filter((s) => asked.includes(s.file))));
    assert.deepEqual(text(callSitesOfFiles(all, asked)), text(all.callSites.filter((s) => asked.includes(s.file))));
  });
}

test('a warm lazy run reuses the summaries the graph completed; a full run after a lazy one completes the rest', async () => {
  const py = pythons().find((p) => p.path === '/usr/bin/python3') ?? pythons()[0];
  assert.ok(py, 'no Python 3.8-3.13 found');
  const files = [path.join(PKG, 'app.py')];
  const session = new BytecodeSession({ python: py.path });
  try {
    const cold = await session.track({ python: py.path, files, followImports: true, callSitesOf: 'roots' });
    const pending = cold.stats.pendingModules;
    // Walking into json completes json's module (and only what the walk needs).
    assert.ok(cold.graph!.sitesOf('json.dumps').length > 0);
    const warm = await session.track({ python: py.path, files, followImports: true, callSitesOf: 'roots' });
    assert.equal(warm.stats.cachedModules, warm.stats.pythonModules);
    assert.equal(warm.stats.pendingModules, pending - 1);
    assert.deepEqual(text(warm.callSites), text(cold.callSites));
    const full = await session.track({ python: py.path, files, followImports: true, callSitesOf: 'all' });
    assert.equal(full.stats.pendingModules, 0);
    const fresh = await bytecodeTracking({ python: py.path, files, followImports: true, callSitesOf: 'all' });
    assert.deepEqual(text(full.callSites), text(fresh.callSites));
  } finally {
    session.close();
  }
});
