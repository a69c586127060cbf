// The precise root policy on real processes: Python-level reachability (pythonReachability) gates the
// Python-callable C roots (pythonEntryRoots): start-up-only use charges nothing, a method called in the loop,
// callbacks and thread targets stay roots, reflection by a computed name in code that ran or can run (the
// program's or a library's) falls back to strict.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { cCallableNames, pythonEntryRoots, type PythonEntryRoots } from '../../native/src/trace/pythonRoots';
import { readPythonFrames } from '../../native/src/cpython/frames';
import { analyzeCallSites, type CallSiteResults } from '../../server/src/callSites';
import { analyzePythonProcess, closedReachability, liveFrameCodes, type PolicyMemo, programOf, resolvedRoots } from '../../server/src/processAnalysis';
import { bytecodeTracking } from '../../server/src/bytecode';
import { pythonReachability, type PythonReachability, type RootCode } from '../../server/src/pythonGate';
import { IMPORT_MACHINERY } from '../../server/src/gateModels';
import { FrameNarrowing } from '../../server/src/gateFrames';
import { DEBIAN_PYTHON, FIXTURE_SRC, startProcess } from '../helpers/fixtures';
import { pyenvInterpreters } from './python-helpers';

const GATE = path.join(FIXTURE_SRC, 'python', 'gate');

/**
 * The Python-callable roots of a live process, precise (gated) and strict, with the reachability behind them
 * (`exhaustive`: every reflection site, not only the nearest).
 */
async function rootsOf(pid: number, exhaustive = false, sysModules = false): Promise<{ reach: PythonReachability; precise: PythonEntryRoots | undefined; strict: PythonEntryRoots }> {
  const files = programOf(pid).files;
  const cs = await analyzeCallSites({ python: `/proc/${pid}/exe`, files, pid, followImports: true, followLazyImports: true });
  try {
    const cNames = cCallableNames(cs.space);
    const liveModules = sysModules ? new Set(readPythonFrames(cs.space).modules) : undefined;
    const reach = pythonReachability(cs.tracking, { files, cNames, exhaustive, liveModules });
    const precise = reach.strictReason ? undefined : pythonEntryRoots(cs.space, { ...reach, cNames });
    return { reach, precise, strict: pythonEntryRoots(cs.space) };
  } finally {
    cs.close();
  }
}

async function withProcess<T>(script: string, f: (pid: number) => Promise<T>, python = DEBIAN_PYTHON): Promise<T> {
  const p = await startProcess(python, [path.join(GATE, script)], { cwd: GATE, env: { ...process.env, LD_BIND_NOW: '1' }, timeoutMs: 60_000 });
  try {
    return await f(p.pid);
  } finally {
    await p.stop();
  }
}

const calls = (roots: { reason: string }[], module: string, fn: string) => roots.some((r) => new RegExp(`^Python-callable: ${module}[^ ]* ${fn}( |$)`).test(r.reason));

const hashlibRoot = (r: { reason: string }, method: string) => new RegExp(`^Python-callable: (_hashlib\\.\\w+\\.|_hashlib[^ ]* )${method}( |$)`).test(r.reason);

/** Whether `roots` hold the _hashlib function `fn` as a native a call site resolved (`_hashlib.fn` in its reason). */
const hashlibNative = (roots: { reason: string }[], fn: string) => roots.some((r) => r.reason.includes(`_hashlib.${fn}`));

/**
 * A live process as the precise policy reads it: its program's call sites (imports followed, lazy ones too), the codes
 * and instructions of its live frames, its sys.modules, the C lookups, and the reachability from them; the call sites
 * are closed after `f`.
 */
async function withLiveGate<T>(pid: number, f: (g: { cs: CallSiteResults; files: string[]; rootCodes: RootCode[]; liveModules: Set<string> | undefined; cNames: Map<string, string>; reach: PythonReachability }) => Promise<T> | T): Promise<T> {
  const files = programOf(pid).files;
  const cs = await analyzeCallSites({ python: `/proc/${pid}/exe`, files, pid, followImports: true, followLazyImports: true });
  try {
    const { roots: rootCodes, modules: liveModules } = liveFrameCodes(cs.space);
    const cNames = cCallableNames(cs.space);
    return await f({ cs, files, rootCodes, liveModules, cNames, reach: pythonReachability(cs.tracking, { files, cNames, liveModules, rootCodes }) });
  } finally {
    cs.close();
  }
}

test('precise: a hashlib-like module used only at start-up roots none of the _hashlib methods and functions no reachable code names; strict roots them all', async () => {
  await withProcess('hash_startup.py', async (pid) => {
    const { reach, precise, strict } = await rootsOf(pid);
    assert.equal(reach.strictReason, undefined);
    assert.ok(precise, 'precise roots');
    for (const m of ['hexdigest', 'digest', 'pbkdf2_hmac', 'hmac_digest', 'openssl_sha256']) assert.ok(strict.roots.some((r) => hashlibRoot(r, m)), `strict roots _hashlib ${m}`);
    for (const m of ['hexdigest', 'digest', 'pbkdf2_hmac', 'hmac_digest']) {
      assert.ok(!precise.roots.some((r) => hashlibRoot(r, m)), `precise does not root _hashlib ${m}: ${precise.roots.filter((r) => hashlibRoot(r, m)).map((r) => r.reason).join('; ')}`);
    }
    // gate_hashlib binds sha256 to _hashlib.openssl_sha256 at import time as hashlib does (getattr(_hashlib,
    // 'openssl_' + name), then globals()): a call of sha256 names no openssl_ function, so the prefix keeps them.
    const ctor = precise.roots.find((r) => hashlibRoot(r, 'openssl_sha256'));
    assert.ok(ctor, 'openssl_sha256 stays a root');
    assert.match(ctor.reason, /getattr with a computed name at gate_hashlib\.py:\d+ \(import time\) on module _hashlib \(names starting with `openssl_`\)/);
    assert.ok(precise.gatedOut > 0);
    assert.ok(precise.roots.length < strict.roots.length);
    // Type slots stay (deallocation, GC and protocols reach them on any object).
    assert.ok(precise.roots.some((r) => /^Python-callable: _hashlib\.HASH\.tp_dealloc \(slot\)$/.test(r.reason)), 'HASH.tp_dealloc stays a root');
  });
});

// Interpreters before 3.11 look names up through C strings that may be ml_names' own bytes (all their strings
// count), 3.11+ through _Py_ID objects; both must still gate out _hashlib's unnamed functions.
for (const py of pyenvInterpreters().filter((i) => i.version === '3.9' || i.version === '3.13')) {
  test(`precise under Python ${py.version}: a hashlib-like module used only at start-up roots none of _hashlib's unnamed functions`, async () => {
    await withProcess(
      'hash_startup.py',
      async (pid) => {
        const { reach, precise, strict } = await rootsOf(pid);
        assert.ok(precise, `precise roots (${reach.strictReason})`);
        for (const m of ['pbkdf2_hmac', 'hmac_digest']) {
          assert.ok(strict.roots.some((r) => hashlibRoot(r, m)), `strict roots _hashlib ${m}`);
          assert.ok(!precise.roots.some((r) => hashlibRoot(r, m)), `precise does not root _hashlib ${m}`);
        }
        assert.ok(precise.roots.some((r) => hashlibRoot(r, 'openssl_sha256')), 'openssl_sha256 (bound as hashlib.sha256) stays');
        assert.ok(precise.roots.some((r) => /^Python-callable: _hashlib\.HASH\.tp_dealloc \(slot\)$/.test(r.reason)), 'HASH.tp_dealloc stays a root');
      },
      py.python,
    );
  });
}

test('precise: a method the loop calls on a start-up object (h.hexdigest()) stays a root, and says which name admitted it', async () => {
  await withProcess('hash_hexdigest.py', async (pid) => {
    const { precise } = await rootsOf(pid);
    assert.ok(precise, 'precise roots');
    const hex = precise.roots.find((r) => hashlibRoot(r, 'hexdigest'));
    assert.ok(hex, 'HASH.hexdigest is a root');
    assert.match(hex.reason, /name `hexdigest` used in <module> \(hash_hexdigest\.py:\d+\)/);
    assert.ok(!precise.roots.some((r) => hashlibRoot(r, 'pbkdf2_hmac')));
  });
});

test('precise: a sorted(key=…) callback and a thread target of another module keep their native callees as roots, and only those', async () => {
  await withProcess('callbacks.py', async (pid) => {
    const { reach, precise } = await rootsOf(pid);
    assert.ok(precise, `precise roots (${reach.strictReason})`);
    const ascii = precise.roots.find((r) => /^Python-callable: _json[^ ]* encode_basestring_ascii /.test(r.reason));
    assert.ok(ascii, '_json.encode_basestring_ascii (called by the sort key gate_worker.key)');
    assert.match(ascii.reason, /gate_worker\.py/);
    const check = precise.roots.find((r) => /^Python-callable: _lzma[^ ]* is_check_supported /.test(r.reason));
    assert.ok(check, '_lzma.is_check_supported (called by the thread target gate_worker.work)');
    assert.match(check.reason, /gate_worker\.py/);
    assert.ok(!precise.roots.some((r) => /^Python-callable: _json[^ ]* scanstring /.test(r.reason)), '_json.scanstring is named nowhere');
  });
});

test('precise: getattr with a computed name in the loop falls back to strict, naming the file and line', async () => {
  await withProcess('reflect_loop.py', async (pid) => {
    const { reach } = await rootsOf(pid);
    assert.match(reach.strictReason ?? '', /getattr with a computed name at reflect_loop\.py:10/);
    const { report } = await analyzePythonProcess(pid, { withFullScan: false, strict: false });
    assert.equal(report.rootPolicy, 'strict');
    assert.ok(report.notes.some((n) => /Root policy strict \(reflection defeats names: getattr with a computed name at reflect_loop\.py:10/.test(n)), report.notes.join('\n'));
  });
});

// Other spellings of getattr by a computed name in the program's own code (gate-attack workloads, issue 11): each
// must fall back to strict as plain getattr does. Before, each one left HASH.hexdigest gated out while the loop
// called it.
for (const [script, what, line] of [
  ['reflect_as_value.py', 'getattr passed as a value', 10],
  ['reflect_dunder.py', '__getattribute__ with a computed name', 10],
  ['reflect_builtins.py', 'getattr with a computed name', 10],
  ['reflect_members.py', 'inspect.getmembers', 11],
  ['reflect_stored.py', 'getattr used as a value', 11],
  ['dict_item_kept.py', '`__dict__` access', 13],
  ['global_rebound.py', 'getattr with a computed name', 14],
  ['dict_item_called.py', '`__dict__` access', 8],
] as const) {
  test(`precise: ${what} in the loop (${script}) falls back to strict, naming the file and line`, async () => {
    await withProcess(script, async (pid) => {
      const { reach } = await rootsOf(pid);
      const site = `${what} at ${script.replace('.', '\\.')}:${line}`;
      assert.match(reach.strictReason ?? '(no fallback)', new RegExp(`reflection defeats names: ${site}`));
    });
  });
}

test('precise: getattr with a computed name on an extension module keeps that module whole, and only it', async () => {
  await withProcess('reflect_module.py', async (pid) => {
    const { reach, precise } = await rootsOf(pid);
    assert.ok(precise, `precise roots (${reach.strictReason})`);
    const all = precise.roots.filter((r) => /^Python-callable: _lzma/.test(r.reason));
    assert.ok(all.some((r) => / is_check_supported \(getattr with a computed name at reflect_module\.py:10 on module _lzma\)$/.test(r.reason)), all.map((r) => r.reason).join('\n'));
    assert.ok(all.some((r) => /^Python-callable: _lzma[^ ]* _encode_filter_properties \(getattr with a computed name/.test(r.reason)), 'every _lzma function stays');
    assert.ok(!precise.roots.some((r) => /^Python-callable: _json[^ ]* scanstring /.test(r.reason)), 'other modules stay gated');
  });
});

test('the report says which root policy ran: precise by default, strict when asked', async () => {
  await withProcess('hash_startup.py', async (pid) => {
    const precise = await analyzePythonProcess(pid, { withFullScan: false });
    assert.equal(precise.report.rootPolicy, 'precise');
    assert.ok(precise.report.notes.some((n) => /^Root policy precise: \d+ C function/.test(n)), precise.report.notes.join('\n'));
    assert.ok(precise.report.notes.some((n) => /^Python-level reachability: \d+ of \d+ code objects/.test(n)));
    // The live frames of the process are roots of the reachability too (read from its memory).
    assert.ok(precise.report.notes.some((n) => /^Python-level reachability also starts from the [1-9]\d* code object\(s\) of the live frames of [1-9]\d* thread/.test(n)), precise.report.notes.join('\n'));
    const strict = await analyzePythonProcess(pid, { withFullScan: false, strict: true });
    assert.equal(strict.report.rootPolicy, 'strict');
    assert.ok(strict.report.notes.some((n) => /^Root policy strict \(asked for: --strict, or the setting pygration\.analysis\.strict\)/.test(n)), strict.report.notes.join('\n'));
  });
});

test('a fallback is kept for the next analyses of the process (a debug session\'s stops), with its reason', async () => {
  await withProcess('reflect_loop.py', async (pid) => {
    const policyMemo: PolicyMemo = {};
    const first = await analyzePythonProcess(pid, { withFullScan: false, policyMemo });
    assert.equal(first.report.rootPolicy, 'strict');
    assert.match(policyMemo.strictReason ?? '', /getattr with a computed name at reflect_loop\.py:10/);
    const gateRan = (notes: string[]) => notes.some((n) => n.startsWith('Python-level reachability also starts from'));
    assert.ok(gateRan(first.report.notes), 'the first analysis ran the gate');
    const next = await analyzePythonProcess(pid, { withFullScan: false, policyMemo });
    assert.equal(next.report.rootPolicy, 'strict');
    assert.ok(!gateRan(next.report.notes), 'the next analysis did not run the gate again');
    assert.ok(next.report.notes.some((n) => /^Root policy strict \(reflection defeats names: getattr with a computed name at reflect_loop\.py:10.*found at an earlier analysis of this process\)/.test(n)), next.report.notes.join('\n'));
    assert.deepEqual(next.report.required, first.report.required);
  });
});

// A tracking result without its call graph (the graph is not enumerable: a copy or JSON of a result loses it)
// falls back to strict with the reason. Before, the early return read `whyCode` before its declaration and threw
// a ReferenceError.
// Reflection in a library module (issue 11, the gate-libreflect workload): Runner.__init__ ran once, at start-up,
// and stored what getattr with a joined name, exec of a built string and _pickle.loads fetched; the loop calls
// it. Before, reflection in library code was taken to use only names of reachable code or its own string
// constants, and precise gated out HASH.hexdigest, _lzma.is_check_supported and _json.encode_basestring_ascii.
test('precise: reflection in a library module, done once at start-up, falls back to strict, naming each site', async () => {
  await withProcess('lib_reflect.py', async (pid) => {
    const { reach, strict } = await rootsOf(pid);
    for (const m of ['hexdigest']) assert.ok(strict.roots.some((r) => hashlibRoot(r, m)), 'strict roots HASH.hexdigest');
    const sites = ['getattr with a computed name at gate_libreflect.py:13', 'exec() at gate_libreflect.py:15', '_pickle.loads at gate_libreflect.py:17'];
    assert.ok(reach.strictReason, 'falls back to strict');
    // The program reaches them by its own names (Runner, then __init__), so they are named first.
    assert.deepEqual([...reach.reflections.slice(0, 3)].sort(), [...sites].sort(), reach.reflections.slice(0, 5).join('; '));
    for (const s of sites) assert.ok(reach.strictReason.includes(s), reach.strictReason);
  });
});

// A library module's body ran at import time and made a function by exec of a built string; the loop calls it.
// Before, the bodies of imported modules were not reachable code and their reflection (unless confined to an
// extension module) was ignored: _lzma.is_check_supported was gated out.
test('precise: exec of a built string in a library module body at import time falls back to strict, naming file:line', async () => {
  await withProcess('lib_init.py', async (pid) => {
    const { reach } = await rootsOf(pid);
    assert.match(reach.strictReason ?? '(no fallback)', /^reflection defeats names: exec\(\) at gate_libinit\.py:7/);
  });
});

// globals() read by a computed name in a library function reaches only that module's bindings: all of them are
// names (the policy stays precise), so both extension functions it binds stay roots. Before, only the string
// constants of the function were added, and encode_basestring_ascii (bound as _enc, fetched by '_' + 'enc') was
// gated out while the loop called it.
test('precise: globals() by a computed name in a library keeps every binding of that module, and stays precise', async () => {
  await withProcess('lib_globals.py', async (pid) => {
    const { reach, precise } = await rootsOf(pid);
    assert.ok(precise, `precise roots (${reach.strictReason})`);
    for (const [f, bound] of [['encode_basestring_ascii', '_enc'], ['is_check_supported', '_check']]) {
      const root = precise.roots.find((r) => new RegExp(`^Python-callable: _(json|lzma)[^ ]* ${f} `).test(r.reason));
      assert.ok(root, `${f} stays a root`);
      assert.match(root.reason, new RegExp(`bound to the name \`${bound}\``));
      assert.match(reach.names.get(bound) ?? '', /bound in module gate_libglobals, whose namespace globals\(\) at gate_libglobals\.py:8/);
    }
    assert.ok(!precise.roots.some((r) => /^Python-callable: _json[^ ]* scanstring /.test(r.reason)), '_json.scanstring is bound nowhere');
  });
});

// Attribute hooks (issue 11): codecs' `def __getattr__(self, name, getattr=getattr): return getattr(self.stream, name)`
// made every program fall back. The name a hook is given is one some code looked up (counted there); passed on
// unchanged it names nothing new. A name of the hook's own making, or getattr under another name, still falls back.
test('precise: a __getattr__ that passes its name on to getattr (a default argument) stays precise and admits only the names used', async () => {
  await withProcess('hook_default.py', async (pid) => {
    const { reach, precise } = await rootsOf(pid);
    assert.ok(precise, `precise roots (${reach.strictReason})`);
    assert.ok(precise.roots.some((r) => /^Python-callable: _lzma[^ ]* is_check_supported /.test(r.reason)), 'the method the loop calls through the hook stays a root');
    assert.ok(!precise.roots.some((r) => /^Python-callable: _lzma[^ ]* _encode_filter_properties /.test(r.reason)), '_lzma functions named nowhere stay gated');
    assert.ok(!precise.roots.some((r) => /^Python-callable: _json[^ ]* scanstring /.test(r.reason)), '_json.scanstring is named nowhere');
  });
});

for (const [script, site] of [
  ['hook_computed.py', 'getattr with a computed name at hook_computed\\.py:11'],
  ['renamed_getattr.py', 'getattr used as a value at renamed_getattr\\.py:6'],
] as const) {
  test(`precise: ${script.replace('.py', '')} (a hook's own name, or getattr under another name) falls back to strict`, async () => {
    await withProcess(script, async (pid) => {
      const { reach } = await rootsOf(pid);
      assert.match(reach.strictReason ?? '(no fallback)', new RegExp(`reflection defeats names: .*${site}`));
    });
  });
}

test('precise: a hook that caches what it fetched with setattr under the name it was given stays precise', async () => {
  await withProcess('hook_setattr.py', async (pid) => {
    const { reach, precise } = await rootsOf(pid);
    assert.ok(precise, `precise roots (${reach.strictReason})`);
    assert.ok(precise.roots.some((r) => /^Python-callable: _lzma[^ ]* is_check_supported /.test(r.reason)), 'the function the loop calls through the hook stays a root');
    assert.ok(!precise.roots.some((r) => /^Python-callable: _json[^ ]* scanstring /.test(r.reason)), '_json.scanstring is named nowhere');
  });
});

test('precise: a module the imports name but the process never imported (sys.modules) does not count, its reflection neither', async () => {
  await withProcess('never_imported.py', async (pid) => {
    const without = await rootsOf(pid);
    assert.match(without.reach.strictReason ?? '(no fallback)', /getattr with a computed name at never_helper\.py:5/, 'without sys.modules the except branch counts as run');
    const { reach, precise } = await rootsOf(pid, false, true);
    assert.ok(precise, `precise roots (${reach.strictReason})`);
    assert.ok(calls(precise.roots, '_json', 'scanstring'), 'the loop calls _json.scanstring');
  });
});

test('precise: a live frame in a method keeps the other methods of its class, even of a module sys.modules does not name', async () => {
  await withProcess('never_imported.py', async (pid) => {
    const files = programOf(pid).files;
    const cs = await analyzeCallSites({ python: `/proc/${pid}/exe`, files, pid, followImports: true, followLazyImports: true });
    try {
      const liveModules = new Set(readPythonFrames(cs.space).modules);
      const rootCodes = [{ file: path.join(GATE, 'never_cache.py'), qualname: 'Cache.run' }];
      const reach = pythonReachability(cs.tracking, { files, cNames: cCallableNames(cs.space), liveModules, rootCodes });
      assert.equal(reach.strictReason, undefined);
      assert.ok(reach.whyCode.has('never_cache:Cache.run'), 'the live frame is a root');
      assert.ok(reach.whyCode.has('never_cache:Cache.fill'), `self.fill() runs on the frame's instance: ${[...reach.whyCode.keys()].filter((k) => k.startsWith('never_')).join(', ')}`);
    } finally {
      cs.close();
    }
  });
});

// A live frame of the program's module code: what ran before its current instruction does not run again, so a C
// function it only called there is no root; one it stored, bound, handed on or the loop calls stays (the frames'
// instructions are read as the policy reads them; 3.9 and 3.13 keep them differently, and 3.9 has no exception table).
for (const py of [{ version: 'Debian', python: DEBIAN_PYTHON }, ...pyenvInterpreters().filter((i) => i.version === '3.9' || i.version === '3.13')]) {
  test(`precise under Python ${py.version}: a C function module code called only before the loop that runs now is no root; stored, bound, handed on or called by the loop, it stays`, async () => {
    await withProcess(
      'startup_calls.py',
      (pid) =>
        withLiveGate(pid, ({ cs, files, rootCodes, liveModules, cNames, reach }) => {
          assert.ok(rootCodes.some((r) => r.qualname === '<module>' && r.lastis?.every((l) => l > 0)), `the module frame's instruction is read: ${JSON.stringify(rootCodes)}`);
          assert.equal(reach.strictReason, undefined);
          const precise = pythonEntryRoots(cs.space, { ...reach, cNames });
          const strict = pythonEntryRoots(cs.space);
          assert.ok(strict.roots.some((r) => hashlibRoot(r, 'pbkdf2_hmac')), 'strict roots pbkdf2_hmac');
          assert.ok(!precise.roots.some((r) => hashlibRoot(r, 'pbkdf2_hmac')), `pbkdf2_hmac, called only before the loop, is no root: ${precise.roots.filter((r) => hashlibRoot(r, 'pbkdf2_hmac')).map((r) => r.reason).join('; ')}`);
          for (const kept of ['hmac_digest', 'get_fips_mode', 'compare_digest', 'new', 'hmac_new']) assert.ok(precise.roots.some((r) => hashlibRoot(r, kept)), `${kept} stays a root`);
          // The natives the program's own call sites resolve: those of the call sites before the loop are done.
          const kept = cs.nativeRootsExcept((site) => FrameNarrowing.ranBefore(reach.ranOnly ?? [], site));
          assert.ok(hashlibNative(cs.nativeRoots, 'pbkdf2_hmac') && !hashlibNative(kept, 'pbkdf2_hmac'), `the start-up call site's native is dropped: ${JSON.stringify(reach.ranOnly)}`);
          assert.ok(hashlibNative(kept, 'hmac_new'), 'the loop\'s call site keeps its native');
          // Without the frames' instructions, the module code is all reachable: pbkdf2_hmac is a root again.
          const whole = pythonReachability(cs.tracking, { files, cNames, liveModules, rootCodes: rootCodes.map(({ file, qualname }) => ({ file, qualname })) });
          assert.ok(pythonEntryRoots(cs.space, { ...whole, cNames }).roots.some((r) => hashlibRoot(r, 'pbkdf2_hmac')), 'a root when the whole module code counts');
        }),
      py.python,
    );
  });
}

// Live frames of top-level functions (`launch()` → `pump()` → its loop): what each ran before its current instruction
// does not run again while nothing can call it anew, so the C functions called only there are no roots, neither by
// name nor through the program's call sites (the module code's `launch()` call included); a function a decorator keeps
// runs whole. (A function named `main` is one C code may look up under 3.9, so it counts whole there: names the test
// avoids.)
for (const py of [{ version: 'Debian', python: DEBIAN_PYTHON }, ...pyenvInterpreters().filter((i) => i.version === '3.9' || i.version === '3.13')]) {
  test(`precise under Python ${py.version}: C functions that launch() and pump() called before pump's loop are no roots; the loop's and a kept function's stay`, async () => {
    await withProcess(
      'main_calls.py',
      (pid) =>
        withLiveGate(pid, ({ cs, files, rootCodes, cNames, reach }) => {
          for (const q of ['launch', 'pump', 'kept']) assert.ok(rootCodes.some((r) => r.qualname === q && r.lastis?.every((l) => l > 0)), `${q}'s frame is read: ${JSON.stringify(rootCodes)}`);
          assert.equal(reach.strictReason, undefined);
          const precise = pythonEntryRoots(cs.space, { ...reach, cNames });
          for (const gone of ['pbkdf2_hmac', 'get_fips_mode']) assert.ok(!precise.roots.some((r) => hashlibRoot(r, gone)), `${gone}, called only before pump's loop, is no root: ${precise.roots.filter((r) => hashlibRoot(r, gone)).map((r) => r.reason).join('; ')}`);
          for (const kept of ['hmac_new', 'compare_digest']) assert.ok(precise.roots.some((r) => hashlibRoot(r, kept)), `${kept} stays a root`);
          const kept = resolvedRoots(cs, files, { ...reach, cNames }, []);
          for (const fn of ['pbkdf2_hmac', 'get_fips_mode']) assert.ok(hashlibNative(cs.nativeRoots, fn) && !hashlibNative(kept, fn), `${fn}'s call site is done: ${JSON.stringify(reach.ranOnly)}`);
          for (const fn of ['hmac_new', 'compare_digest']) assert.ok(hashlibNative(kept, fn), `${fn}'s call site keeps its native`);
        }),
      py.python,
    );
  });
}

test('precise: a function of the program no code calls roots nothing, neither by name nor through its call sites; one a decorator registered, or the loop calls, does', async () => {
  await withProcess('dead_helper.py', (pid) =>
    withLiveGate(pid, ({ cs, files, cNames, reach }) => {
      assert.equal(reach.strictReason, undefined);
      assert.ok(!reach.whyCode.has('dead_helper:never'), 'never() is not reachable');
      for (const f of ['bye', 'tick']) assert.ok(reach.whyCode.has(`dead_helper:${f}`), `${f}() is reachable`);
      const precise = pythonEntryRoots(cs.space, { ...reach, cNames });
      assert.ok(!precise.roots.some((r) => hashlibRoot(r, 'pbkdf2_hmac')), 'pbkdf2_hmac is no Python-callable root');
      for (const kept of ['hmac_digest', 'get_fips_mode']) assert.ok(precise.roots.some((r) => hashlibRoot(r, kept)), `${kept} stays a root`);
      const notes: string[] = [];
      const resolved = resolvedRoots(cs, files, { ...reach, cNames }, notes);
      assert.ok(hashlibNative(cs.nativeRoots, 'pbkdf2_hmac') && !hashlibNative(resolved, 'pbkdf2_hmac'), 'never()\'s call site roots nothing');
      assert.ok(hashlibNative(resolved, 'hmac_digest') && hashlibNative(resolved, 'get_fips_mode'), 'the call sites of bye() and tick() keep their natives');
      assert.match(notes.join(' '), /functions no reachable code calls/);
    }),
  );
});

test('precise: a module namespace only tested for a name (`name in globals()`) hands out nothing; fetched from, it keeps every binding', async () => {
  await withProcess('globals_tested.py', async (pid) => {
    const { reach, precise } = await rootsOf(pid);
    assert.ok(precise, `precise roots (${reach.strictReason})`);
    assert.ok(calls(precise.roots, '_json', 'scanstring'), 'the loop calls _json.scanstring');
    assert.ok(!calls(precise.roots, '_lzma', 'is_check_supported'), 'globals_lib.kernel is called by no code');
  });
  await withProcess('globals_fetched.py', async (pid) => {
    const { reach, precise } = await rootsOf(pid);
    assert.ok(precise, `precise roots (${reach.strictReason})`);
    assert.ok(calls(precise.roots, '_lzma', 'is_check_supported'), 'globals()[name] can hand out globals_lib.kernel');
  });
});

test('precise: a method of a class no code names is not reached by its name, the same method of a class in use is', async () => {
  await withProcess('class_unnamed.py', async (pid) => {
    const { reach, precise, strict } = await rootsOf(pid);
    assert.ok(precise, `precise roots (${reach.strictReason})`);
    assert.ok(calls(precise.roots, '_json', 'scanstring'), 'Used.check calls _json.scanstring');
    assert.ok(calls(strict.roots, '_lzma', 'is_check_supported'), 'strict roots _lzma.is_check_supported');
    assert.ok(!calls(precise.roots, '_lzma', 'is_check_supported'), 'Unused.check cannot run: no instance of Unused can exist');
    assert.ok(!reach.whyCode.has('classlib_unnamed:Unused.check'), 'Unused.check is not reachable');
    assert.ok(reach.whyCode.has('classlib_unnamed:Used.check'), 'Used.check is reachable');
  });
});

for (const py of [{ version: 'Debian', python: DEBIAN_PYTHON }, ...pyenvInterpreters().filter((i) => ['3.8', '3.13'].includes(i.version))]) {
  test(`precise under Python ${py.version}: instances of classes no code names (a registry, a local class, a subclass, a metaclass) keep their methods`, async () => {
    await withProcess(
      'class_kept.py',
      async (pid) => {
        const { reach, precise } = await rootsOf(pid);
        assert.ok(precise, `precise roots (${reach.strictReason})`);
        assert.ok(calls(precise.roots, '_lzma', 'is_check_supported'), 'Hidden.check: Plugin.__init_subclass__ keeps Hidden');
        assert.ok(calls(precise.roots, '_json', 'scanstring'), 'factory().probe: a class defined in a function');
        assert.ok(calls(precise.roots, '_json', 'encode_basestring_ascii'), 'Derived().encode: the base class of a named subclass');
        assert.ok(calls(precise.roots, '_lzma', '_encode_filter_properties'), 'Kept.heap: the metaclass Keeper made its instance');
      },
      py.python,
    );
  });
}

test('precise: a hook that fetches by the name it is given falls back once hasattr by a computed name can give it one', async () => {
  await withProcess('hook_accessor.py', async (pid) => {
    const { reach } = await rootsOf(pid);
    assert.match(reach.strictReason ?? '(no fallback)', /getattr of the name an attribute hook is given at hook_accessor\.py:12 \(given names that hasattr with a computed name at hook_accessor\.py:19 computes\)/);
  });
});

test('precise: a parameter named globals is a namespace passed on, but a globals=globals default is a use as a value', async () => {
  await withProcess('param_names.py', async (pid) => {
    const { reach } = await rootsOf(pid);
    assert.match(reach.strictReason ?? '(no fallback)', /reflection defeats names: globals used as a value at param_names\.py:16/);
    assert.ok(!reach.reflections.some((s) => /passed as a value at param_names\.py:8/.test(s)), reach.reflections.join('; '));
  });
});

test('precise: a hook given names with a constant prefix by hasattr stays precise, and what it calls with that prefix stays', async () => {
  await withProcess('hook_prefix.py', async (pid) => {
    const { reach, precise } = await rootsOf(pid);
    assert.ok(precise, `precise roots (${reach.strictReason})`);
    const check = precise.roots.find((r) => /^Python-callable: _lzma[^ ]* is_check_supported /.test(r.reason));
    assert.ok(check, 'is_check_supported (called by the hook) stays a root');
    assert.match(check.reason, /names starting with `is_check_`/);
    assert.ok(!precise.roots.some((r) => /^Python-callable: _json[^ ]* scanstring /.test(r.reason)), '_json.scanstring is named nowhere');
  });
});

test('precise: the attribute names of a constant format string count (str.format looks them up), so what a hook calls by one stays', async () => {
  await withProcess('format_const.py', async (pid) => {
    const { reach, precise } = await rootsOf(pid);
    assert.ok(precise, `precise roots (${reach.strictReason})`);
    assert.ok(precise.roots.some((r) => /^Python-callable: _lzma[^ ]* is_check_supported /.test(r.reason)), 'is_check_supported (looked up by the format string) stays a root');
    assert.ok(!precise.roots.some((r) => /^Python-callable: _json[^ ]* scanstring /.test(r.reason)), '_json.scanstring is named nowhere');
  });
});

test('precise: str.format of a format string built at run time is an accessor site, so a hook that fetches by its name falls back', async () => {
  await withProcess('format_computed.py', async (pid) => {
    const { reach } = await rootsOf(pid);
    assert.match(reach.strictReason ?? '(no fallback)', /attribute hook is given at format_computed\.py:12 \(given names that str\.format of a format string no code shows at format_computed\.py:19 computes\)/);
  });
});

test('precise: getattr fetched without its name (by a constant key of a namespace, by getattr of "getattr") is reflection', async () => {
  await withProcess('fetched_reflection.py', async (pid) => {
    const { reach } = await rootsOf(pid);
    const sites = `${reach.strictReason ?? '(no fallback)'} ${reach.reflections.join('; ')}`;
    assert.match(sites, /`__dict__` access at fetched_reflection\.py:7/);
    assert.match(sites, /getattr fetched by name at fetched_reflection\.py:8/);
  });
});

test('precise: getattr looked up as an attribute of a parameter (it may hold the builtins module) is reflection', async () => {
  await withProcess('attr_getattr.py', async (pid) => {
    const { reach } = await rootsOf(pid);
    assert.match(reach.strictReason ?? '(no fallback)', /getattr looked up as an attribute of an object of unknown type at attr_getattr\.py:8/);
  });
});

test('precise: the __builtins__ namespace used, and __getattribute__ fetched by a constant name, are reflection', async () => {
  await withProcess('builtins_ns.py', async (pid) => {
    const { reach } = await rootsOf(pid, true);
    const sites = `${reach.strictReason ?? '(no fallback)'} ${reach.reflections.join('; ')}`;
    assert.match(sites, /__getattribute__ fetched by name at builtins_ns\.py:8/);
    assert.match(sites, /the builtins namespace \(`__builtins__`\) used at nsfetch\.py:3/);
    // By default the closure goes no further from the roots than the nearest site: the same fallback, named by the
    // program's own site, for less of the closure.
    const { reach: bounded } = await rootsOf(pid);
    assert.match(bounded.strictReason ?? '(no fallback)', /^reflection defeats names: __getattribute__ fetched by name at builtins_ns\.py:8 .*none further from it was examined/);
    assert.ok(!bounded.reflections.some((r) => r.includes('nsfetch.py')), bounded.reflections.join('; '));
    assert.ok(bounded.stats.reachable < reach.stats.reachable, `${bounded.stats.reachable} of ${reach.stats.reachable} code objects`);
  });
});

test('precise: __getattribute__ kept as a value (in a list) is reflection', async () => {
  await withProcess('hook_kept.py', async (pid) => {
    const { reach } = await rootsOf(pid);
    assert.match(reach.strictReason ?? '(no fallback)', /__getattribute__ looked up as an attribute and used as a value at hook_kept\.py:5/);
  });
});

test('precise: a code object rebuilt at run time with other names (code.replace(co_names=...)) is reflection', async () => {
  await withProcess('code_replace.py', async (pid) => {
    const { reach } = await rootsOf(pid);
    assert.match(reach.strictReason ?? '(no fallback)', /a code object built at run time at code_replace\.py:12/);
  });
});

test('precise: operator.attrgetter kept as a value, and the C API reached by name through ctypes, are reflection', async () => {
  await withProcess('kept_tools.py', async (pid) => {
    const { reach } = await rootsOf(pid);
    const sites = `${reach.strictReason ?? '(no fallback)'} ${reach.reflections.join('; ')}`;
    assert.match(sites, /attrgetter looked up as an attribute and used as a value at kept_tools\.py:7/);
    assert.match(sites, /the C API's PyObject_GetAttrString reached by name at kept_tools\.py:8/);
  });
});

test('precise: globals() of a module a star import of an extension filled keeps that extension whole, and stays precise', async () => {
  await withProcess('star_globals.py', async (pid) => {
    const { reach, precise } = await rootsOf(pid);
    assert.ok(precise, `precise roots (${reach.strictReason})`);
    const check = precise.roots.find((r) => /^Python-callable: _lzma[^ ]* is_check_supported /.test(r.reason));
    assert.ok(check, 'is_check_supported stays a root');
    assert.ok(reach.names.has('twice') && !reach.names.has('<lambda>'), 'a top-level lambda binds its variable, not `<lambda>` (which reaches every lambda)');
    assert.match(check.reason, /globals\(\) at gate_starglobals\.py:14 on gate_starglobals's namespace, which `from _lzma import \*` filled/);
    assert.ok(!precise.roots.some((r) => /^Python-callable: _json[^ ]* scanstring /.test(r.reason)), 'other modules stay gated');
  });
});

// `__dict__` (issue 11): tests, comparisons, writes and constant-key lookups hand out no value under a name the code
// does not show (dictUses.ts follows each load on the stack, whose shape differs from 3.8 to 3.13); walking the
// mapping does.
for (const py of [{ version: 'Debian', python: DEBIAN_PYTHON }, ...pyenvInterpreters()]) {
  test(`precise under Python ${py.version}: __dict__ tested, compared, written and read by constant keys is not reflection`, async () => {
    await withProcess(
      'dict_benign.py',
      async (pid) => {
        const { reach, precise } = await rootsOf(pid);
        assert.ok(precise, `precise roots (${reach.strictReason})`);
        assert.ok(precise.roots.some((r) => /^Python-callable: _lzma[^ ]* is_check_supported /.test(r.reason)), 'the function the loop calls stays a root');
        assert.ok(!precise.roots.some((r) => /^Python-callable: _json[^ ]* scanstring /.test(r.reason)), '_json.scanstring is named nowhere');
      },
      py.python,
    );
  });
}

for (const py of [{ version: 'Debian', python: DEBIAN_PYTHON }, ...pyenvInterpreters().filter((i) => ['3.8', '3.12', '3.13'].includes(i.version))]) {
  test(`precise under Python ${py.version}: getattr by a loop variable over a constant tuple of names is not reflection`, async () => {
    await withProcess(
      'loop_names.py',
      async (pid) => {
        const { reach, precise } = await rootsOf(pid);
        assert.ok(precise, `precise roots (${reach.strictReason})`);
        assert.match(reach.names.get('missing_name') ?? '', /getattr-style use of `missing_name`/);
        assert.ok(precise.roots.some((r) => /^Python-callable: _lzma[^ ]* is_check_supported /.test(r.reason)), 'the function fetched in the loop stays a root');
        assert.ok(!precise.roots.some((r) => /^Python-callable: _json[^ ]* scanstring /.test(r.reason)), '_json.scanstring is named nowhere');
      },
      py.python,
    );
  });
}

test('precise: getattr by a constant prefix on any receiver keeps every function with that prefix, Python or C, and stays precise', async () => {
  await withProcess('prefix_any.py', async (pid) => {
    const { reach, precise } = await rootsOf(pid);
    assert.ok(precise, `precise roots (${reach.strictReason})`);
    const check = precise.roots.find((r) => /^Python-callable: _lzma[^ ]* is_check_supported /.test(r.reason));
    assert.ok(check, 'is_check_supported (named only by its prefix) stays a root');
    assert.match(check.reason, /getattr with a computed name at prefix_any\.py:17 \(names starting with `is_check_`, on any object\)/);
    assert.match(reach.names.get('run_check') ?? '', /names starting with `run_`/);
    assert.ok(!precise.roots.some((r) => /^Python-callable: _json[^ ]* scanstring /.test(r.reason)), '_json.scanstring is named nowhere');
  });
});

test('precise: setattr by a computed name keeps every getset setter (and property setters stay reached), and stays precise', async () => {
  await withProcess('setattr_any.py', async (pid) => {
    const { reach, precise } = await rootsOf(pid);
    assert.ok(precise, `precise roots (${reach.strictReason})`);
    assert.match(reach.setters ?? '', /setattr with a computed name at setattr_any\.py:11 \(sets or deletes by a computed name/);
    assert.ok(precise.roots.some((r) => /^Python-callable: _lzma[^ ]* is_check_supported /.test(r.reason)), 'the property setter\'s callee stays a root');
    const setter = precise.roots.find((r) => /^Python-callable: sqlite3\.Connection\.isolation_level \(set\)/.test(r.reason));
    assert.ok(setter, 'Connection.isolation_level\'s setter stays a root');
    assert.match(setter.reason, /sets or deletes by a computed name/);
    assert.ok(!precise.roots.some((r) => /^Python-callable: sqlite3\.Connection\.total_changes \(get\)/.test(r.reason)), 'getters named nowhere stay gated');
    assert.ok(!precise.roots.some((r) => /^Python-callable: _json[^ ]* scanstring /.test(r.reason)), '_json.scanstring is named nowhere');
  });
});

test('precise: hasattr by a computed name keeps every getset getter and property getter, and stays precise', async () => {
  await withProcess('hasattr_any.py', async (pid) => {
    const { reach, precise } = await rootsOf(pid);
    assert.ok(precise, `precise roots (${reach.strictReason})`);
    assert.match(reach.getters ?? '', /hasattr with a computed name at hasattr_any\.py:12 \(tests an attribute by a computed name/);
    assert.ok(precise.roots.some((r) => /^Python-callable: _lzma[^ ]* is_check_supported /.test(r.reason)), 'the property getter\'s callee stays a root');
    const getter = precise.roots.find((r) => /^Python-callable: sqlite3\.Connection\.total_changes \(get\)/.test(r.reason));
    assert.ok(getter, 'Connection.total_changes\'s getter stays a root');
    assert.match(getter.reason, /tests an attribute by a computed name/);
    assert.ok(!precise.roots.some((r) => /^Python-callable: sqlite3\.Connection\.isolation_level \(set\)/.test(r.reason)), 'setters named nowhere stay gated');
    assert.ok(!precise.roots.some((r) => /^Python-callable: _json[^ ]* scanstring /.test(r.reason)), '_json.scanstring is named nowhere');
  });
});

for (const py of [{ version: 'Debian', python: DEBIAN_PYTHON }, ...pyenvInterpreters().filter((i) => ['3.8', '3.12', '3.13'].includes(i.version))]) {
  test(`precise under Python ${py.version}: getattr by a computed name whose result is only tested runs getters only, and stays precise`, async () => {
    await withProcess(
      'tested_getattr.py',
      async (pid) => {
        const { reach, precise } = await rootsOf(pid);
        assert.ok(precise, `precise roots (${reach.strictReason})`);
        assert.match(reach.getters ?? '', /getattr with a computed name at gate_tests\.py:\d+ \(tests an attribute by a computed name/);
        assert.ok(!precise.roots.some((r) => /^Python-callable: _json[^ ]* scanstring /.test(r.reason)), '_json.scanstring is named nowhere');
      },
      py.python,
    );
  });
}

test('precise: getattr by a computed name whose result is kept and called falls back to strict', async () => {
  await withProcess('fetched_getattr.py', async (pid) => {
    const { reach } = await rootsOf(pid);
    assert.match(reach.strictReason ?? '(no fallback)', /reflection defeats names: getattr with a computed name at fetched_getattr\.py:7/);
  });
});

test('precise: walking an extension module\'s __dict__ falls back to strict, naming the file and line', async () => {
  await withProcess('dict_items.py', async (pid) => {
    const { reach } = await rootsOf(pid);
    assert.match(reach.strictReason ?? '(no fallback)', /reflection defeats names: `__dict__` access at dict_items\.py:7/);
  });
});

test('precise: a global load reaches its own module\'s code of that name (and what its imports bind), not every method of that name', async () => {
  const file = path.join(GATE, 'glob_prog.py');
  const tracking = await bytecodeTracking({ python: DEBIAN_PYTHON, files: [file], followImports: true, cacheDir: null });
  const reach = pythonReachability(tracking, { files: [file], exhaustive: true });
  // Other._helper and Dumper._dump reflect; only the attributes `._helper`, `._dump` could reach them, and no code loads those.
  assert.equal(reach.strictReason, undefined, reach.reflections.join('; '));
  assert.ok(!reach.whyCode.has('glob_lib:Other._helper'), reach.whyCode.get('glob_lib:Other._helper'));
  assert.match(reach.whyCode.get('glob_lib:_helper') ?? '(not reached)', /global `_helper` used in run/);
  // `from glob_src import kernel_a as ka` then `ka(x)`; glob_mid's `from glob_star import *` then `starred(x)`.
  assert.ok(reach.whyCode.has('glob_src:kernel_a'), [...reach.whyCode.keys()].join(', '));
  assert.ok(reach.whyCode.has('glob_star:starred'), [...reach.whyCode.keys()].join(', '));
  // A module that star-imports: its globals reach its own code and the star source's top-level code, not any method.
  assert.match(reach.whyCode.get('glob_mid:_dump') ?? '(not reached)', /global `_dump` used in mid/);
  assert.ok(!reach.whyCode.has('glob_src:Dumper._dump'), reach.whyCode.get('glob_src:Dumper._dump'));
  // A global no module binds is a builtin: C functions of its name stay roots.
  for (const n of ['len', 'str', '_helper']) assert.ok(reach.names.has(n), n);
});

test('precise: a class __dict__ loop whose values are only tested, or have attributes read and tested, is no reflection; calling one is', async () => {
  const reachOf = async (script: string) => {
    const file = path.join(GATE, script);
    const tracking = await bytecodeTracking({ python: DEBIAN_PYTHON, files: [file], followImports: true, cacheDir: null });
    return pythonReachability(tracking, { files: [file], exhaustive: true });
  };
  const tested = await reachOf('dict_attr_tested.py');
  assert.ok(!tested.reflections.some((s) => /dict_attr_tested\.py/.test(s)), tested.reflections.join('; '));
  const called = await reachOf('dict_attr_called.py');
  assert.ok(called.reflections.includes('`__dict__` access at dict_attr_called.py:10'), called.reflections.join('; '));
});

test('precise: methods the import machinery wraps with its own decorators (_check_name, _requires_builtin) are no import-time leftovers', async () => {
  // As machineryNames (processAnalysis.ts) tracks the machinery: on its own, its lazy imports not followed.
  const tracking = await bytecodeTracking({ python: DEBIAN_PYTHON, files: [], modules: IMPORT_MACHINERY, followImports: false, cacheDir: null });
  const reach = pythonReachability(tracking, { files: [], exhaustive: true });
  // FileLoader.get_resource_reader imports importlib.readers (zipfile, pathlib, tarfile through shutil); no import runs it.
  assert.ok(!reach.whyCode.has('importlib._bootstrap_external:FileLoader.get_resource_reader'), reach.whyCode.get('importlib._bootstrap_external:FileLoader.get_resource_reader'));
  assert.ok(!reach.missing.includes('importlib.readers'), reach.missing.join(', '));
});

test('precise: enum\'s class creation and copyreg._reduce_ex copy namespaces under the same names: no reflection', async () => {
  const file = path.join(GATE, 'enum_classes.py');
  const tracking = await bytecodeTracking({ python: DEBIAN_PYTHON, files: [file], followImports: true, cacheDir: null });
  const reach = pythonReachability(tracking, { files: [file], exhaustive: true });
  for (const code of ['enum:EnumType.__new__', 'enum:_proto_member.__set_name__', 'copyreg:_reduce_ex']) assert.ok(reach.whyCode.has(code), `${code} is reachable`);
  const modelled = reach.reflections.filter((s) => /at (enum|copyreg)\.py:/.test(s));
  assert.deepEqual(modelled, [], modelled.join('; '));
});

test('reachability over a tracking result without its call graph falls back to strict, with the reason', async () => {
  const file = path.join(GATE, 'hash_startup.py');
  const tracking = await bytecodeTracking({ python: DEBIAN_PYTHON, files: [file], followImports: true, cacheDir: null });
  const whole = pythonReachability(tracking, { files: [file] });
  assert.equal(whole.strictReason, undefined);
  assert.ok(whole.whyCode.size > 0 && whole.stats.reachable > 0);
  const copy = pythonReachability({ ...tracking }, { files: [file] });
  assert.equal(copy.strictReason, 'the bytecode tracking result has no call graph');
  assert.equal(copy.whyCode.size, 0);
  assert.equal(copy.names.size, 0);
});

test('precise: getattr by a computed name whose result a local keeps, tests and hands on falls back to strict', async () => {
  await withProcess('fetched_local.py', async (pid) => {
    const { reach } = await rootsOf(pid);
    assert.match(reach.strictReason ?? '(no fallback)', /reflection defeats names: getattr with a computed name at fetched_local\.py:7/);
  });
});

test('precise: getattr and setattr by a computed name on the built-in module sys stay precise (its tables stay roots; a store runs no hook)', async () => {
  await withProcess('builtin_module.py', async (pid) => {
    const { reach, precise } = await rootsOf(pid, true);
    assert.ok(precise, `precise roots (${reach.strictReason})`);
    assert.match(reach.notes.join('\n'), /on the built-in module sys/);
    assert.ok(!precise.roots.some((r) => /^Python-callable: _json[^ ]* scanstring /.test(r.reason)), '_json.scanstring is named nowhere');
  });
});

test('precise: a __getattr__ that returns what it fetches by the name it is given passes the lookup through, so hasattr by a computed name stays precise', async () => {
  await withProcess('hook_return.py', async (pid) => {
    const { reach, precise } = await rootsOf(pid, true);
    assert.ok(precise, `precise roots (${reach.strictReason})`);
    assert.ok(precise.roots.some((r) => /^Python-callable: _lzma[^ ]* is_check_supported /.test(r.reason)), 'the function the loop calls through the hook stays a root');
    assert.ok(!precise.roots.some((r) => /^Python-callable: _json[^ ]* scanstring /.test(r.reason)), '_json.scanstring is named nowhere');
  });
});

test('precise: setattr and delattr by computed names run no __getattr__, so a __getattr__ that calls what it fetches stays precise', async () => {
  await withProcess('hook_kinds.py', async (pid) => {
    const { reach, precise } = await rootsOf(pid, true);
    assert.ok(precise, `precise roots (${reach.strictReason})`);
    assert.ok(precise.roots.some((r) => /^Python-callable: _lzma[^ ]* is_check_supported /.test(r.reason)), 'the function the hook calls stays a root');
  });
});

test('precise: a __setattr__ that tests its name on an object with a fetching __getattr__ hands setattr\'s computed names on: falls back', async () => {
  await withProcess('hook_forward.py', async (pid) => {
    const { reach } = await rootsOf(pid, true);
    assert.match(reach.strictReason ?? '(no fallback)', /attribute hook is given at hook_forward\.py:9 \(given names that setattr with a computed name at hook_forward\.py:24 computes\)/);
  });
});

test('precise: functools.py\'s own partial is dead under _functools.partial (sys.modules read), functions that load its name later notwithstanding', async () => {
  await withProcess('shadow_partial.py', async (pid) => {
    const { reach } = await rootsOf(pid, true, true);
    for (const m of ['__reduce__', '__setstate__', '__call__']) assert.ok(!reach.whyCode.has(`functools:partial.${m}`), `partial.${m} is not reachable: ${reach.whyCode.get(`functools:partial.${m}`)}`);
    assert.ok(!reach.reflections.some((s) => /functools\.py:3\d\d/.test(s)), reach.reflections.join('; '));
  });
});

test('precise: a loop over a mapping\'s values that calls them (not only tests them) falls back to strict', async () => {
  await withProcess('dict_values_called.py', async (pid) => {
    const { reach } = await rootsOf(pid);
    assert.match(reach.strictReason ?? '(no fallback)', /reflection defeats names: `__dict__` access at dict_values_called\.py:7/);
  });
});

for (const py of [{ version: 'Debian', python: DEBIAN_PYTHON }, ...pyenvInterpreters().filter((i) => ['3.8', '3.13'].includes(i.version))]) {
  test(`precise under Python ${py.version}: collections.namedtuple's eval and functools.wraps with its default names are no reflection`, async () => {
    await withProcess(
      'stdlib_models.py',
      async (pid) => {
        const { reach } = await rootsOf(pid, true, true);
        const modelled = reach.reflections.filter((s) => /(eval|exec)\(\) at __init__\.py|getattr with a computed name at functools\.py/.test(s));
        assert.deepEqual(modelled, [], reach.reflections.join('; '));
      },
      py.python,
    );
  });
}

test('precise: enum\'s _convert_ (signal, socket), functools.cached_property (pathlib), the codec search\'s import of an encodings module (decimal), subprocess\'s exception lookup and typing\'s aliases and protocols are no reflection; a signal handler\'s callee stays a root', async () => {
  await withProcess('stdlib_enums.py', async (pid) => {
    // As the policy runs it (closedReachability: the live frames, sys.modules, imports tracked in rounds).
    const files = programOf(pid).files;
    const cs = await analyzeCallSites({ python: `/proc/${pid}/exe`, files, pid, interpreter: false });
    try {
      const { roots: rootCodes, modules: liveModules } = liveFrameCodes(cs.space);
      const { reach, cNames } = await closedReachability(pid, cs.tracking, files, { rootCodes, cNames: cCallableNames(cs.space), liveModules, exhaustive: true });
      assert.deepEqual(reach.reflections, [], 'no reflection site');
      assert.equal(reach.strictReason, undefined);
      // The codec search function may import any module of the encodings package: their code counts (tracked for it).
      assert.ok(reach.whyCode.has('encodings.cp1252:<module>') && reach.whyCode.has('encodings.bz2_codec:bz2_encode'), 'the encodings modules are reached');
      const precise = pythonEntryRoots(cs.space, { ...reach, cNames });
      assert.ok(precise.roots.some((r) => hashlibRoot(r, 'get_fips_mode')), 'the handler\'s callee is a root');
      assert.ok(!precise.roots.some((r) => hashlibRoot(r, 'pbkdf2_hmac')), 'pbkdf2_hmac, which no code names, is none');
    } finally {
      cs.close();
    }
  });
});

test('precise: getattr by a computed name on a Python module keeps every binding of its namespace (a re-exported C function, its functions), and stays precise; an f-string of constants is a constant name, one with a constant start a prefix', async () => {
  await withProcess('module_getattr.py', async (pid) => {
    const { reach, precise, strict } = await rootsOf(pid, true, true);
    assert.equal(reach.strictReason, undefined);
    assert.ok(precise, 'precise roots');
    assert.ok(reach.whyCode.has('modlib:call_json'), 'modlib\'s functions are reached');
    assert.match(reach.names.get('linux_run') ?? '(not a name)', /getattr-style use of `linux_run`/, 'the folded f-string is a constant name');
    assert.ok(reach.whyCode.has('module_getattr:Local.run_x'), 'the method with the f-string\'s prefix is reached');
    assert.ok(calls(precise.roots, '_lzma', 'is_check_supported'), 'the C function modlib re-exports stays a root');
    assert.ok(calls(precise.roots, '_json', 'scanstring'), 'what modlib.call_json calls stays a root');
    assert.ok(precise.roots.length < strict.roots.length, 'fewer roots than strict');
  });
});

test('precise: getattr by a computed name on a Python module with a module __getattr__ hands the hook that name, and falls back', async () => {
  await withProcess('module_getattr_hook.py', async (pid) => {
    const { reach } = await rootsOf(pid, true, true);
    assert.match(reach.strictReason ?? '(no fallback)', /getattr with a computed name at module_getattr_hook\.py:9/);
  });
});

test('precise: globals() only stored into by computed names hands out nothing: a function no code names is not reached, what was stored and is called stays a root', async () => {
  await withProcess('globals_stored.py', async (pid) => {
    const { reach, precise } = await rootsOf(pid, true, true);
    assert.ok(precise, `precise roots (${reach.strictReason})`);
    assert.ok(calls(precise.roots, '_lzma', '_decode_filter_properties'), 'stored by a computed name and called through it');
    assert.ok(!calls(precise.roots, '_lzma', 'is_check_supported'), 'only a function no code names calls it');
    assert.ok(calls(precise.roots, '_json', 'scanstring'));
  });
});

test('precise: a module namespace read through a function\'s `__globals__` or getattr(module, \'__dict__\') by a computed key, or objects from gc.get_objects(), fall back; read by constant keys (a frame\'s f_globals, traceback\'s stack extraction) it holds', async () => {
  await withProcess('ns_globals.py', async (pid) => {
    const { reach } = await rootsOf(pid, true, true);
    assert.match(reach.strictReason ?? '(no fallback)', /`__globals__` access at ns_globals_lib\.py:\d+/);
  });
  await withProcess('ns_getattr_dict.py', async (pid) => {
    const { reach } = await rootsOf(pid, true, true);
    assert.match(reach.strictReason ?? '(no fallback)', /`__dict__` fetched by name at ns_getattr_dict\.py:\d+/);
  });
  await withProcess('gc_objects.py', async (pid) => {
    const { reach } = await rootsOf(pid, true, true);
    assert.match(reach.strictReason ?? '(no fallback)', /gc\.get_objects at gc_objects\.py:\d+/);
  });
  await withProcess('ns_benign.py', async (pid) => {
    const { reach, precise } = await rootsOf(pid, true, true);
    assert.ok(precise, `precise roots (${reach.strictReason})`);
    assert.ok(calls(precise.roots, '_json', 'scanstring'));
  });
});

test('precise: `self.format` of a class that binds `format` is its attribute, not str.format kept as a value; a str\'s bound format kept is an accessor site that falls back a forwarding hook', async () => {
  await withProcess('own_format.py', async (pid) => {
    const { reach, precise } = await rootsOf(pid, true, true);
    assert.equal(reach.strictReason, undefined);
    assert.ok(precise && calls(precise.roots, '_json', 'scanstring'), 'what the hook forwards to stays a root');
  });
  await withProcess('own_format_kept.py', async (pid) => {
    const { reach } = await rootsOf(pid, true, true);
    assert.match(reach.strictReason ?? '(no fallback)', /getattr of the name an attribute hook is given at own_format_kept\.py:\d+ \(given names that str\.format used as a value at own_format_kept\.py:\d+ computes\)/);
  });
});

test('precise: typing.get_type_hints in code that can still run evaluates annotation strings, and falls back', async () => {
  await withProcess('type_hints.py', async (pid) => {
    const { reach } = await rootsOf(pid, true, true);
    assert.ok(reach.strictReason, 'falls back');
    assert.ok(reach.reflections.some((s) => /^eval\(\) at typing\.py:\d+/.test(s)), `typing's eval is a site (${reach.reflections.join('; ')})`);
  });
});

test('precise: functools.wraps given attribute names of the program\'s own is a reflection site, and falls back', async () => {
  await withProcess('wraps_names.py', async (pid) => {
    const { reach } = await rootsOf(pid, true, true);
    assert.match(reach.strictReason ?? '(no fallback)', /functools\.wraps given attribute names at wraps_names\.py:10/);
  });
});

test('precise: the import machinery that an import by a constant name runs (its loaders compile, unmarshal and exec the module) reflects on nothing', async () => {
  await withProcess('machinery_import.py', async (pid) => {
    const { reach } = await rootsOf(pid, true, true);
    assert.ok(reach.whyCode.has('importlib._bootstrap_external:_LoaderBasics.exec_module'), 'the machinery is reached: a loader runs the module');
    const machinery = reach.reflections.filter((s) => / at (_bootstrap|_bootstrap_external|zipimport)\.py:\d+/.test(s));
    assert.deepEqual(machinery, [], 'no site in the import machinery');
  });
});

test('precise: a file run through a loader outside an import statement (spec_from_file_location, exec_module) falls back at the call', async () => {
  await withProcess('loader_exec.py', async (pid) => {
    const { reach, precise } = await rootsOf(pid);
    assert.equal(precise, undefined);
    assert.match(reach.strictReason ?? '(no fallback)', /a module's code run through a loader \(`exec_module`\) at loader_exec\.py:9/);
  });
});

test("precise: an imported module's `if __name__ == '__main__':` block never runs; the program's own does", async () => {
  await withProcess('main_guard.py', async (pid) => {
    const { reach, precise } = await rootsOf(pid, false, true);
    assert.ok(precise, `precise roots (${reach.strictReason})`);
    assert.ok(!reach.whyCode.has('main_lib:_cli'), `main_lib._cli is named only in its __main__ block: ${reach.whyCode.get('main_lib:_cli')}`);
    assert.ok(calls(precise.roots, '_json', 'scanstring'), 'the loop calls _json.scanstring');
  });
  const p = await startProcess(DEBIAN_PYTHON, [path.join(GATE, 'main_lib.py'), 'scan'], { cwd: GATE, env: { ...process.env, LD_BIND_NOW: '1' }, timeoutMs: 60_000 });
  try {
    const { reach } = await rootsOf(p.pid, false, true);
    assert.match(reach.strictReason ?? '(no fallback)', /getattr with a computed name at main_lib\.py:12/, 'run as the program, the block runs');
  } finally {
    await p.stop();
  }
});

test('precise: a loop that uses no reflection stays precise, and the names the import machinery uses count as C lookups', async () => {
  await withProcess('plain_loop.py', async (pid) => {
    const files = programOf(pid).files;
    const cs = await analyzeCallSites({ python: `/proc/${pid}/exe`, files, pid, interpreter: false });
    try {
      const frames = readPythonFrames(cs.space);
      const rootCodes = frames.threads.flatMap((t) => t.frames.map((f) => ({ file: f.file, qualname: f.qualname ?? f.name })));
      const { reach, cNames } = await closedReachability(pid, cs.tracking, files, { rootCodes, cNames: cCallableNames(cs.space), liveModules: new Set(frames.modules), exhaustive: true });
      // What C code's _find_and_load reaches in the machinery calls finders and loaders by these names.
      for (const n of ['find_spec', 'exec_module', 'get_code', 'create_module']) assert.equal(cNames.get(n), 'the import machinery', n);
      // PathFinder.find_distributions uses it, but nothing the machinery runs on an import calls that.
      assert.ok(!cNames.has('find_distributions'), `find_distributions: ${cNames.get('find_distributions')}`);
      assert.deepEqual(reach.reflections, [], 'no reflection site');
      assert.equal(reach.strictReason, undefined);
    } finally {
      cs.close();
    }
  });
});

test('precise: C lookups of a 3.11 interpreter are its _PyRuntime strings and the names its code passes to lookups, not its deep-frozen modules\' names', async () => {
  await withProcess('plain_loop.py', async (pid) => {
    const cs = await analyzeCallSites({ python: `/proc/${pid}/exe`, files: programOf(pid).files, pid, interpreter: false });
    try {
      const names = cCallableNames(cs.space);
      for (const n of ['_find_and_load', '_showwarnmsg', '_warn_unawaited_coroutine']) assert.ok(names.has(n), `C code looks up ${n} (_Py_ID)`);
      // os.popen, site.addsitedir, PathFinder.find_distributions: names of the frozen os, site and importlib code.
      for (const n of ['popen', 'addsitedir', 'find_distributions']) assert.ok(!names.has(n), `${n} is no C lookup (from ${names.get(n)})`);
    } finally {
      cs.close();
    }
  });
});

test('precise: a global bound to one of two constants is a computed name; warnings\' option parser and find_spec of a computed name outside are reflection', async () => {
  await withProcess('union_name.py', async (pid) => {
    const { reach } = await rootsOf(pid, true, true);
    const here = reach.reflections.filter((s) => / at union_name\.py:/.test(s));
    assert.ok(here.some((s) => s.startsWith('getattr with a computed name at union_name.py:14')), `getattr(obj, WHICH): ${here.join('; ')}`);
    assert.equal(here.filter((s) => s.startsWith('importlib.util.find_spec')).length, 1, `only find_spec(name) is: ${here.join('; ')}`);
    assert.ok(here.some((s) => /^warnings's `_setoption` called from outside it/.test(s)), `warnings._setoption from outside: ${here.join('; ')}`);
    assert.ok(here.some((s) => /^importlib\.util\.find_spec of a computed name/.test(s)), `find_spec(name): ${here.join('; ')}`);
  });
});
