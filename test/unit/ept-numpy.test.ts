// EPT on a real NumPy workload under Debian's python3: the PVM roots (entry point, threads, stacks) must
// reach the OpenBLAS GEMM kernel OpenBLAS chose on this host (it reports the core name), and the
// requirement must contain that kernel's features. Also: analyzeProcess builds a consistent report.

import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { ProcessView } from '../../native/src/space/processView';
import { ProcessAddressSpace } from '../../native/src/space/processSpace';
import { executionPathTracking, type Root } from '../../native/src/trace/ept';
import { entryRoot, mainRoot, threadRoots } from '../../native/src/trace/pvm';
import { analyzeProcess } from '../../native/src/analyze';
import { CodeDecoder } from '../../native/src/decoder/decoder';
import { DEBIAN_PYTHON, FIXTURE_SRC, debianPythonHas, startProcess, type StartedProcess } from '../helpers/fixtures';
import { skipUnless } from '../helpers/skip';

const HAVE_NUMPY = debianPythonHas('numpy');

describe('EPT on a NumPy matmul workload', { skip: skipUnless(HAVE_NUMPY, 'Debian python3-numpy is not installed (scripts/setup.sh installs it)') }, () => {
  let proc: StartedProcess;
  let core = '';
  let libPath = '';

  before(async () => {
    proc = await startProcess(DEBIAN_PYTHON, [path.join(FIXTURE_SRC, 'python', 'numpy_matmul.py')], {
      env: { ...process.env, LD_BIND_NOW: '1', OPENBLAS_NUM_THREADS: '2' },
      timeoutMs: 60_000,
    });
    const m = /CORE (\S+) (\S+)/.exec(proc.stdout());
    assert.ok(m, `workload printed its OpenBLAS core: ${proc.stdout()}`);
    core = m[1];
    libPath = m[2];
  });
  after(async () => {
    await proc?.stop();
  });

  test("the PVM's roots reach the GEMM kernel OpenBLAS selected, with its features", () => {
    const view = new ProcessView(proc.pid);
    try {
      const space = new ProcessAddressSpace(view);
      // The loop spends ~1-2 % of its time in the interpreter between two NumPy calls; frozen there, the main thread
      // has no frame in NumPy or OpenBLAS, and nothing of the PVM's own reaches a GEMM kernel (only the
      // Python-callable roots do): the claim is about a process inside its matrix product, so freeze until it is.
      // (OpenBLAS's worker thread waits in blas_thread_server at any time: the main thread's frames are what tell.)
      const inMatmul = (rs: Root[]) => rs.some((x) => x.reason.includes(`thread ${proc.pid} `) && /openblas|libblas|_multiarray_umath/.test(space.regionAt(x.address)?.module?.path ?? ''));
      let threads = threadRoots(view, space).roots;
      for (let tries = 1; tries < 50 && !inMatmul(threads); tries++) threads = threadRoots(view, space).roots;
      assert.ok(inMatmul(threads), 'the main thread was frozen inside NumPy or OpenBLAS within 50 tries');
      const roots = [entryRoot(space)!, ...threads];
      const r = executionPathTracking(space, roots, { mode: 'ept', recordVisited: true });
      const blas = space.modules().find((m) => m.path === libPath);
      assert.ok(blas, `${libPath} is mapped`);
      const kernel = blas.elf.lookupSymbol(`dgemm_kernel_${core}`);
      assert.ok(kernel, `OpenBLAS exports dgemm_kernel_${core}`);
      const start = kernel.value + blas.bias;
      assert.ok(
        r.visited!.some((v) => v.start <= start && start < v.end),
        `dgemm_kernel_${core} reached (visited ${r.functionsVisited} functions)`,
      );
      // Its features, decoded from its own extent, are all in the requirement.
      const ext = blas.elf.functionAt(kernel.value)!;
      const want = new Set<string>();
      const d = new CodeDecoder();
      try {
        d.decodeLinear(blas.elf.readVirtual(ext.start, ext.end - ext.start), ext.start, (v) => {
          for (const f of v.info.features) want.add(f);
        });
      } finally {
        d.free();
      }
      for (const f of want) assert.ok(r.features.has(f), `requirement has ${f} of dgemm_kernel_${core}`);
    } finally {
      view.close();
    }
  });

  test("main is found in a stripped interpreter through _start's argument to __libc_start_main", () => {
    const view = new ProcessView(proc.pid);
    try {
      const space = new ProcessAddressSpace(view);
      const main = space.mainModule()!;
      assert.equal(main.elf.hasSymtab, false, 'Debian python3.11 is stripped');
      const root = mainRoot(space);
      assert.ok(root, 'main found');
      // CPython's main is `return Py_BytesMain(argc, argv);`: the walk from it reaches Py_BytesMain directly.
      const target = main.elf.lookupSymbol('Py_BytesMain')!.value + main.bias;
      const r = executionPathTracking(space, [root], { mode: 'ept-plain', recordVisited: true });
      assert.ok(r.visited!.some((v) => v.start === target && /call from|jump from/.test(v.reason)), 'Py_BytesMain reached by a direct edge from main');
    } finally {
      view.close();
    }
  });

  test('analyzeProcess reports a consistent requirement, level and verdicts', async () => {
    const { report } = await analyzeProcess(proc.pid, { withFullScan: true });
    assert.equal(report.target.pid, proc.pid);
    assert.equal(report.target.ldBindNow, true);
    assert.equal(report.target.python, '3.11');
    assert.equal(report.instances.total, report.instances.verdicts.length);
    assert.ok(report.instances.total >= 383);
    // Every required feature is on the source host, and the verdicts follow from the requirement.
    for (const f of report.required) assert.ok(report.host.features.includes(f));
    // A type of the other CPU vendor with every feature gets its own verdict (crossVendor) and is not counted.
    for (const v of report.instances.verdicts) assert.equal(v.compatible, v.missing.length === 0 && !v.crossVendor, JSON.stringify(v));
    // The full scan requires at least as much, so it accepts no more types than EPT.
    assert.ok(report.fullScanRequired);
    for (const f of report.required) assert.ok(report.fullScanRequired!.includes(f), `full scan has ${f}`);
    assert.ok(report.instances.fullScan.length <= report.instances.compatible.length);
    assert.ok(report.stats.functionsVisited > 1000);
    assert.ok(report.features.every((f) => f.sites.length > 0 && f.count > 0));
  });
});
