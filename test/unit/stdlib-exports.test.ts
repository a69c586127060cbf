// The standard library's real exports in static resolution: hashlib.sha256(...).hexdigest() resolves to the C
// functions the host's interpreter binds (3.8-3.13), the result-type table holds on each, and the helper never
// imports third-party or user code (a package whose import writes a marker file).

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bytecodeTracking, BytecodeSession, PythonHelper, STDLIB_RESULT_TYPES } from '../../server/src/bytecode';
import type { CallSite } from '../../server/src/bytecode';
import { pyenvVersionsDir } from '../helpers/pyenv';

/** Every CPython 3.8-3.13 present: pyenv's and Debian's. */
function pythons(): { path: string; version: string }[] {
  const candidates = ['/usr/bin/python3'];
  const root = pyenvVersionsDir() ?? '';
  if (root) for (const v of fs.readdirSync(root).sort()) candidates.push(path.join(root, v, 'bin', 'python3'));
  const out: { path: string; version: string }[] = [];
  for (const p of candidates) {
    if (!fs.existsSync(p)) continue;
    let version: string;
    try {
      version = execFileSync(p, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' }).trim();
    } catch {
      continue;
    }
    const minor = Number(version.split('.')[1]);
    if (version.startsWith('3.') && minor >= 8 && minor <= 13) out.push({ path: p, version });
  }
  return out;
}

/** What the interpreter itself binds hashlib.sha256 to, and the type of its result (asked by running it). */
function hostHashlib(python: string): { fn: string; file: string | null; type: string; bytesio: string; blake2b: string } {
  const script = [
    'import hashlib, io, json, sys',
    'f = hashlib.sha256',
    'm = sys.modules[f.__self__.__name__]',
    't = type(f(b"abc"))',
    'name = lambda t: t.__module__ + "." + t.__qualname__',
    'print(json.dumps({"fn": m.__name__ + "." + f.__name__, "file": getattr(m, "__file__", None), "type": name(t), "bytesio": name(type(io.BytesIO())), "blake2b": name(type(hashlib.blake2b()))}))',
  ].join('\n');
  return JSON.parse(execFileSync(python, ['-c', script], { encoding: 'utf8' })) as { fn: string; file: string | null; type: string; bytesio: string; blake2b: string };
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-stdlib-'));
}

function at(sites: CallSite[], line: number, ref: RegExp): CallSite {
  const s = sites.find((x) => x.line === line && ref.test(x.callee.reference));
  assert.ok(s, `a call on line ${line} matching ${ref}: ${sites.map((x) => `${x.line}:${x.callee.reference}=${x.callee.qualifiedName ?? x.callee.reason}`).join(', ')}`);
  return s;
}

const HASH_PROGRAM = 'import hashlib, io\nh = hashlib.sha256(b"abc")\nprint(h.hexdigest())\nm = hashlib.md5()\nm.update(b"x")\nb = io.BytesIO()\nb.write(b"x")\nhashlib.blake2b(b"x").hexdigest()\n';

for (const py of pythons()) {
  test(`hashlib.sha256(...).hexdigest(), io.BytesIO().write and hashlib.blake2b(...).hexdigest() resolve to the C functions Python ${py.version} binds (${py.path})`, { timeout: 120_000 }, async () => {
    const host = hostHashlib(py.path);
    const dir = tmpDir();
    try {
      const file = path.join(dir, 'lens_h.py');
      fs.writeFileSync(file, HASH_PROGRAM);
      const r = await bytecodeTracking({ python: py.path, files: [file], followImports: true, callSitesOf: 'roots', cacheDir: null });
      const sites = r.callSites.filter((s) => s.file === file);
      const sha = at(sites, 2, /^hashlib\.sha256$/);
      assert.equal(sha.callee.kind, 'native', JSON.stringify(sha.callee));
      assert.equal(sha.callee.qualifiedName, host.fn);
      if (host.file) assert.equal(sha.callee.native?.file, host.file);
      const hex = at(sites, 3, /hexdigest$/);
      assert.equal(hex.callee.kind, 'native', JSON.stringify(hex.callee));
      assert.equal(hex.callee.qualifiedName, `${host.type}.hexdigest`);
      const update = at(sites, 5, /update$/);
      assert.equal(update.callee.kind, 'native', JSON.stringify(update.callee));
      assert.match(update.callee.qualifiedName ?? '', /\.update$/);
      // Calling a stdlib C type (io.BytesIO is _io.BytesIO; hashlib.blake2b is bound at import time) makes
      // an instance of it: its methods resolve.
      assert.equal(at(sites, 7, /write$/).callee.qualifiedName, `${host.bytesio}.write`);
      assert.equal(at(sites, 8, /hexdigest$/).callee.qualifiedName, `${host.blake2b}.hexdigest`);
      assert.ok(r.stats.seconds.introspect !== undefined && r.stats.seconds.introspect < 10);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`the stdlib result-type table holds under Python ${py.version}: each C function present returns the type stated`, async () => {
    // The test (not the helper) calls the functions: each with no argument (hmac_new with a key and digest).
    const script = [
      'import importlib, json, sys',
      'table = json.loads(sys.argv[1])',
      'made = {}',
      'out = {}',
      'def call(mod, name):',
      '    f = getattr(mod, name)',
      '    return f(b"k", digestmod="sha256") if name == "hmac_new" else f()',
      'for key, want in sorted(table.items(), key=lambda kv: kv[0].count(".")):',
      '    parts = key.split(".")',
      '    try: mod = importlib.import_module(parts[0])',
      '    except ImportError: continue',
      '    if len(parts) == 2:',
      '        if not hasattr(mod, parts[1]): continue',
      '        obj = call(mod, parts[1])',
      '    else:',
      '        base = made.get(parts[0] + "." + parts[1])',
      '        if base is None: continue',
      '        obj = getattr(base, parts[2])()',
      '    t = type(obj)',
      '    made[t.__module__ + "." + t.__qualname__] = obj',
      '    out[key] = t.__module__ + "." + t.__qualname__',
      'print(json.dumps(out))',
    ].join('\n');
    const got = JSON.parse(execFileSync(py.path, ['-c', script, JSON.stringify(STDLIB_RESULT_TYPES)], { encoding: 'utf8' })) as Record<string, string>;
    assert.ok(Object.keys(got).length >= 5, `only ${Object.keys(got).length} entries present: ${JSON.stringify(got)}`);
    for (const [k, v] of Object.entries(got)) assert.equal(STDLIB_RESULT_TYPES[k], v, `${k} returns ${v}`);
  });
}

test('the helper never imports third-party or user code, nor a user file that shadows a stdlib extension', { timeout: 120_000 }, async () => {
  const dir = tmpDir();
  const marker = path.join(dir, 'IMPORTED');
  const writesMarker = (who: string) => `open(${JSON.stringify(marker)}, "a").write(${JSON.stringify(who + '\n')})\n`;
  try {
    // A third-party package binding a name through globals() (like hashlib), and a user file named like the
    // extension hashlib imports: importing either writes the marker.
    fs.mkdirSync(path.join(dir, 'thirdpkg'));
    fs.writeFileSync(path.join(dir, 'thirdpkg', '__init__.py'), `${writesMarker('thirdpkg')}globals()["dyn"] = len\n`);
    fs.writeFileSync(path.join(dir, '_hashlib.py'), `${writesMarker('_hashlib')}def openssl_sha256(*a, **k):\n    return None\n`);
    const file = path.join(dir, 'app.py');
    fs.writeFileSync(file, 'import thirdpkg, hashlib\nthirdpkg.dyn([])\nhashlib.sha256(b"")\n');
    const session = new BytecodeSession({ python: '/usr/bin/python3', cacheDir: null });
    try {
      const r = await session.track({ python: '/usr/bin/python3', files: [file], followImports: true, callSitesOf: 'roots' });
      const sites = r.callSites.filter((s) => s.file === file);
      assert.equal(at(sites, 2, /dyn$/).callee.kind, 'unknown');
      // The program would import the user's _hashlib: what hashlib binds there is not the stdlib's answer.
      const sha = at(sites, 3, /sha256$/);
      assert.notEqual(sha.callee.qualifiedName, '_hashlib.openssl_sha256', JSON.stringify(sha.callee));
      // Asked directly, the helper refuses both (not the standard library's) and imports neither.
      const helper = await session.ensureHelper();
      const answers = await helper.introspect([
        ['thirdpkg', path.join(dir, 'thirdpkg', '__init__.py'), ['dyn']],
        ['_hashlib', path.join(dir, '_hashlib.py'), ['openssl_sha256']],
        ['antigravity', null, ['geohash']],
      ]);
      for (const a of answers) {
        assert.ok(a.reason, `${a.module} was not refused: ${JSON.stringify(a)}`);
        assert.deepEqual(a.names, {});
      }
    } finally {
      session.close();
    }
    assert.equal(fs.existsSync(marker), false, `imported: ${fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8') : ''}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a helper that does not answer an introspect request in time is closed, and the next run starts another', { timeout: 120_000 }, async () => {
  const session = new BytecodeSession({ python: '/usr/bin/python3', cacheDir: null });
  const dir = tmpDir();
  try {
    const helper: PythonHelper = await session.ensureHelper();
    // Its answer is not read (output paused, as a hung import would hold it back): after the timeout the
    // request rejects as io and the helper is closed.
    helper.pauseOutput();
    await assert.rejects(helper.introspect([['hashlib', null, ['sha256']]], 300), (e: Error & { kind?: string }) => e.kind === 'io');
    assert.equal(helper.running, false);
    const file = path.join(dir, 'lens_h.py');
    fs.writeFileSync(file, HASH_PROGRAM);
    const r = await session.track({ python: '/usr/bin/python3', files: [file], followImports: true, callSitesOf: 'roots' });
    assert.equal(at(r.callSites, 2, /sha256$/).callee.kind, 'native');
  } finally {
    session.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a stdlib module that fails to import is skipped with its reason; the other modules are answered', { timeout: 60_000 }, async () => {
  const session = new BytecodeSession({ python: '/usr/bin/python3', cacheDir: null });
  try {
    const helper = await session.ensureHelper();
    const stdlib = JSON.parse(execFileSync('/usr/bin/python3', ['-c', 'import os, json; print(json.dumps(os.path.dirname(os.__file__)))'], { encoding: 'utf8' })) as string;
    // A file of the stdlib's directory that is not where the module really is: the helper says so, no crash.
    const answers = await helper.introspect([
      ['hashlib', path.join(stdlib, 'not_hashlib.py'), ['sha256']],
      ['hashlib', path.join(stdlib, 'hashlib.py'), ['sha256', 'no_such_name']],
    ]);
    assert.equal(answers.length, 2);
    assert.match(answers[0].reason ?? '', /imports from/);
    assert.equal(answers[1].reason, undefined);
    assert.equal(answers[1].names.sha256?.kind, 'native-function');
    assert.equal(answers[1].names.no_such_name, null);
    assert.equal(helper.running, true);
  } finally {
    session.close();
  }
});
