// The loops of an object an extension makes at import from a table of functions and a name (NumPy's ufuncs;
// resolve/ufuncLoops.ts, resolve/staticLoops.ts): test/fixtures/c/pyext_loops.c in a live process (the table's loops,
// the one its CPU dispatch chose as the process itself reports it, not the module's other tables) and at rest (every
// loop the module's code can put in the table, both dispatch candidates; a table filled through a pointer or from a
// variable keeps loops the file cannot follow); then Debian's NumPy, where every ufunc's live loops are among those
// found at rest, which are its own table's, not the module-wide fallback.

import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { executionPathTracking } from '../../native/src/trace/ept';
import { ProcessAddressSpace } from '../../native/src/space/processSpace';
import { ProcessView } from '../../native/src/space/processView';
import { StaticAddressSpace } from '../../native/src/space/staticSpace';
import type { AddressSpace } from '../../native/src/space/space';
import { type NativeResolution, resolverFor } from '../../native/src/resolve/resolve';
import { DEBIAN_PYTHON, buildC, debianPythonHas, hostFlags, startProcess, type StartedProcess } from '../helpers/fixtures';
import { skipUnless } from '../helpers/skip';
import { DEBIAN_INCLUDE } from './python-helpers';

const canRun = fs.existsSync(DEBIAN_PYTHON) && fs.existsSync(`${DEBIAN_INCLUDE}/Python.h`);
const HAVE_NUMPY = canRun && debianPythonHas('numpy');
const HAVE_SCIPY = HAVE_NUMPY && debianPythonHas('scipy');

function resolved(r: NativeResolution): Extract<NativeResolution, { status: 'resolved' }> {
  assert.equal(r.status, 'resolved', r.status === 'unresolved' ? r.reason : '');
  return r as Extract<NativeResolution, { status: 'resolved' }>;
}

/** Link-time addresses (module-relative) of a resolution's targets in `space`. */
function linkAddresses(space: AddressSpace, r: Extract<NativeResolution, { status: 'resolved' }>): Set<number> {
  return new Set(r.targets.map((t) => t.address - space.regionAt(t.address)!.module!.bias));
}

describe('loops of an object made at import from a table and a name', { skip: skipUnless(canRun, 'Debian python3 and its headers are needed') }, () => {
  let so: string;
  let proc: StartedProcess;
  let reported: Record<string, number>;

  before(async () => {
    so = buildC('c/pyext_loops.c', { shared: true, flags: [`-I${DEBIAN_INCLUDE}`], outName: 'pyext-loops/pyext_loops.cpython-311-x86_64-linux-gnu.so' });
    proc = await startProcess(DEBIAN_PYTHON, ['-c', 'import json, sys, pyext_loops as p; p.k_sin(); print(json.dumps(p._addresses())); print("READY", flush=True); import time; time.sleep(600)'], {
      cwd: path.dirname(so),
    });
    reported = JSON.parse(proc.stdout().split('\n')[0]);
  });
  after(async () => proc?.stop());

  test('at rest: the loops the module can put in the table (both dispatch candidates), not another table\'s', () => {
    const st = new StaticAddressSpace([DEBIAN_PYTHON]);
    try {
      const r = resolved(resolverFor(st).resolve({ kind: 'module-function', module: 'pyext_loops', file: so, name: 'k_sin' }));
      assert.ok(r.targets.every((t) => t.how === 'loops' && !t.exact), r.targets.map((t) => t.how).join(' '));
      assert.deepEqual(new Set(r.targets.map((t) => t.name)), new Set(['loop_avx2', 'loop_base', 'loop_sse41', 'loop_tail']));
      const other = resolved(resolverFor(st).resolve({ kind: 'module-function', module: 'pyext_loops', file: so, name: 'k_other' }));
      assert.deepEqual(new Set(other.targets.map((t) => t.name)), new Set(['other_a', 'other_b']));
    } finally {
      resolverFor(st).close();
      st.close();
    }
  });

  test('at rest: a table filled through a pointer, from a variable set later, or from a stack pair a callee changed, keeps those loops', () => {
    const st = new StaticAddressSpace([DEBIAN_PYTHON]);
    try {
      for (const [name, filled] of [['k_esc', 'other_a'], ['k_var', 'other_b'], ['k_frame', 'other_b']]) {
        const r = resolved(resolverFor(st).resolve({ kind: 'module-function', module: 'pyext_loops', file: so, name }));
        const names = new Set(r.targets.map((t) => t.name));
        assert.ok(names.has(filled), `${name}: ${filled} missing at rest (${[...names].join(' ')})`);
      }
    } finally {
      resolverFor(st).close();
      st.close();
    }
  });

  test('live: the loops the table holds now, the dispatched one as the process reports it, not k_other\'s', () => {
    const view = new ProcessView(proc.pid);
    try {
      const space = new ProcessAddressSpace(view);
      const r = resolved(resolverFor(space).resolve({ kind: 'module-function', module: 'pyext_loops', name: 'k_sin' }));
      assert.ok(r.targets.every((t) => t.how === 'loops' && !t.exact));
      const chosen = hostFlags().has('avx2') ? 'loop_avx2' : 'loop_sse41';
      assert.deepEqual(new Set(r.targets.map((t) => t.address)), new Set([reported.loop_base, reported[chosen], reported.loop_tail]));
      const features = executionPathTracking(resolverFor(space).space, resolverFor(space).roots(r)).features;
      for (const f of ['bmi1', 'bmi2']) assert.ok(features.has(f as never), `${f} missing: ${[...features.keys()].join(' ')}`);
      for (const f of ['gfni', 'avx512f']) assert.ok(!features.has(f as never), `${f} (k_other's loops) charged to k_sin`);
      const other = resolved(resolverFor(space).resolve({ kind: 'module-function', module: 'pyext_loops', name: 'k_other' }));
      assert.deepEqual(new Set(other.targets.map((t) => t.address)), new Set([reported.other_a, reported.other_b]));
      resolverFor(space).close();
    } finally {
      view.close();
    }
  });
});

/** Starts Debian's python3 with `imports`, printing the names of the ufuncs of `namespace` (JSON) before READY. */
async function ufuncProcess(imports: string, namespace: string): Promise<{ proc: StartedProcess; names: string[] }> {
  const list = `sorted({u.__name__ for u in vars(${namespace}).values() if isinstance(u, numpy.ufunc)})`;
  const proc = await startProcess(DEBIAN_PYTHON, ['-c', `import json, numpy, ${imports}; print(json.dumps(${list})); print("READY", flush=True); import time; time.sleep(600)`]);
  return { proc, names: JSON.parse(proc.stdout().split('\n')[0]) };
}

type Resolved = Extract<NativeResolution, { status: 'resolved' }>;

/**
 * Resolves each ufunc of `module` (its file the live one `isFile` matches) in the process and at rest: every loop the
 * live table holds must be among those found at rest. `check` sees each pair. Returns how many fell back at rest to the
 * module-wide answer. `atRest` also gets the static space and the file, for more requests.
 */
function liveWithinRest(pid: number, module: string, isFile: (path: string) => boolean, names: string[], check: (name: string, live: Resolved, rest: Resolved) => void, atRest?: (st: StaticAddressSpace, file: string) => void): number {
  const view = new ProcessView(pid);
  const st = new StaticAddressSpace([DEBIAN_PYTHON]);
  const space = new ProcessAddressSpace(view);
  try {
    const file = space.modules().find((m) => isFile(m.path))!.path;
    let fallbacks = 0;
    for (const name of names) {
      const request = { kind: 'module-function' as const, module, file, name };
      const live = resolved(resolverFor(space).resolve(request));
      const rest = resolved(resolverFor(st).resolve(request));
      check(name, live, rest);
      if (rest.targets.some((t) => t.how !== 'loops')) fallbacks++;
      if (!live.targets.every((t) => t.how === 'loops')) continue;
      const found = linkAddresses(resolverFor(st).space, rest);
      const missing = [...linkAddresses(space, live)].filter((a) => !found.has(a));
      assert.deepEqual(missing, [], `${name}: live loops not found at rest`);
    }
    atRest?.(st, file);
    return fallbacks;
  } finally {
    resolverFor(space).close();
    resolverFor(st).close();
    st.close();
    view.close();
  }
}

describe("Debian's NumPy ufuncs: the live loops are among those found at rest", { skip: skipUnless(HAVE_NUMPY, 'python3-numpy missing') }, () => {
  let run: { proc: StartedProcess; names: string[] } | undefined;
  before(async () => {
    run = await ufuncProcess('numpy', 'numpy');
  });
  after(async () => run?.proc.stop());

  test('every ufunc: its own table at rest (not the module-wide fallback), holding every loop the live table holds', () => {
    const { proc, names } = run!;
    assert.ok(names.length > 50, `${names.length} ufuncs`);
    const fallbacks = liveWithinRest(proc.pid, 'numpy.core._multiarray_umath', (p) => p.includes('_multiarray_umath'), names, (name, live, rest) => {
      assert.ok(live.targets.every((t) => t.how === 'loops'), `${name}: ${live.targets[0]?.how}`);
      assert.ok(live.targets.length > 0 && live.targets.length < 200, `${name}: ${live.targets.length} loops`);
      assert.ok(rest.targets.some((t) => t.how !== 'loops') || rest.targets.length < 200, `${name}: ${rest.targets.length} loops at rest`);
    }, (st, file) => {
      // `dtype` is the type numpy.core._multiarray_umath defines under its package's name (tp_name "numpy.dtype"):
      // calling it runs its tp_new and tp_init, not every function of the module.
      const dtype = resolved(resolverFor(st).resolve({ kind: 'module-function', module: 'numpy.core._multiarray_umath', file, name: 'dtype' }));
      assert.ok(dtype.targets.length > 0 && dtype.targets.length <= 4 && dtype.targets.every((t) => t.how === 'typeslot'), dtype.targets.map((t) => `${t.how} ${t.name}`).join(', '));
    });
    // Debian 12's NumPy 1.24: every table is followed (its stores pair loops in xmm registers and stack slots).
    assert.ok(fallbacks <= names.length / 10, `${fallbacks} of ${names.length} ufuncs fell back to the module-wide answer at rest`);
  });
});

describe("Debian's SciPy special functions: Cython's ufunc tables are followed at rest too", { skip: skipUnless(HAVE_SCIPY, 'python3-scipy missing') }, () => {
  let run: { proc: StartedProcess; names: string[] } | undefined;
  before(async () => {
    run = await ufuncProcess('scipy.special', 'scipy.special');
  });
  after(async () => run?.proc.stop());

  // scipy.special._ufuncs fills its tables in one 86 KiB module initialiser that passes addresses of its own locals to
  // calls (slots below them survive the calls), jumps into its `.cold` part and back, and holds bytes a scan takes
  // for branches into it (an e8 inside `movq xmm5, rax`): before those three were handled, 7 of 230 were followed.
  test('every ufunc: its own loops at rest, holding every loop the live table holds', () => {
    const { proc, names } = run!;
    assert.ok(names.length > 100, `${names.length} ufuncs`);
    const fallbacks = liveWithinRest(proc.pid, 'scipy.special._ufuncs', (p) => p.endsWith('/special/_ufuncs.cpython-311-x86_64-linux-gnu.so'), names, () => undefined);
    assert.ok(fallbacks <= names.length / 10, `${fallbacks} of ${names.length} ufuncs fell back to the module-wide answer at rest`);
  });
});
