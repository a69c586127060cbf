// Execution path tracking and C++ registries (test/fixtures/cpp/registry_lib.cpp): a factory stored by a
// static initializer on the heap, objects made by name and called through their vtables. The default
// (sound) mode must reach the virtual method's features; plain EPT cannot (its path goes through the heap).

import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { ProcessView } from '../../native/src/space/processView';
import { ProcessAddressSpace } from '../../native/src/space/processSpace';
import { executionPathTracking, type EptMode } from '../../native/src/trace/ept';
import type { ModuleImage } from '../../native/src/space/space';
import { capstoneFeaturesOf, loadCapstoneFeatures } from '../helpers/capstoneFeatures';
import { buildC, FIXTURE_OUT, startProcess, type StartedProcess } from '../helpers/fixtures';

let proc: StartedProcess;
let space: ProcessAddressSpace;
let lib: ModuleImage;

function ept(mode: EptMode) {
  const s = lib.elf.findSymbol('run_updater');
  assert.ok(s, 'run_updater');
  const r = executionPathTracking(space, [{ address: s.value + lib.bias, reason: 'run_updater' }], { mode, recordVisited: true });
  return new Set(r.features.keys());
}

// The expected features come from capstone (test/helpers/capstoneFeatures.ts), not from the engine's decoder.
before(loadCapstoneFeatures);

describe('execution path tracking through a C++ registry', () => {
  before(async () => {
    // With one implementation in sight, GCC would call ShaUpdater::update directly after a vtable compare
    // (speculative devirtualization); real registries hold many, so keep the call virtual.
    const libPath = buildC('cpp/registry_lib.cpp', { shared: true, outName: 'libregistry_lib.so', flags: ['-fno-devirtualize-speculatively'], link: ['-lstdc++'] });
    const exe = buildC('c/registry_main.c', { link: ['-Wl,--no-as-needed', `-L${FIXTURE_OUT}`, '-lregistry_lib', `-Wl,-rpath,${FIXTURE_OUT}`, libPath] });
    proc = await startProcess(exe, [], { env: { ...process.env, LD_BIND_NOW: '1' } });
    space = new ProcessAddressSpace(new ProcessView(proc.pid));
    lib = space.modules().find((m) => path.basename(m.path) === 'libregistry_lib.so')!;
    assert.ok(lib, 'libregistry_lib.so is mapped');
  });
  after(async () => {
    space?.view.close();
    await proc?.stop();
  });

  test("a virtual method of an object made by a factory the static initializer registered is reached", () => {
    const kernel = [...capstoneFeaturesOf(lib, '_ZN10ShaUpdater6updateEm')];
    assert.ok(kernel.length > 0, 'the kernel needs a feature beyond the baseline');
    const plain = ept('ept-plain');
    assert.ok(kernel.some((f) => !plain.has(f as never)), 'plain EPT does not reach the kernel (its path goes through the heap)');
    const sound = ept('ept');
    for (const f of kernel) assert.ok(sound.has(f as never), `the default mode requires ${f} (ShaUpdater::update)`);
  });
});
