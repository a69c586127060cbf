// Execution path tracking on a real process built from test/fixtures/c/ept_main.c + ept_lib.c: each kind
// of edge (direct, PLT, -fno-plt GOT, IFUNC, live dispatch table, unresolved, a table of imported functions) reaches exactly the kernels
// it should; a kernel nobody references is never reached; a full scan sees everything. Expected features
// come from disassembling the expected kernels' own symbol ranges with capstone and reading its instruction
// groups, so they hold whatever the compiler emits and do not share the engine's iced mapping.

import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ProcessView } from '../../native/src/space/processView';
import { ProcessAddressSpace } from '../../native/src/space/processSpace';
import { executionPathTracking, type EptMode } from '../../native/src/trace/ept';
import { fullScan } from '../../native/src/trace/fullScan';
import { entryRoot } from '../../native/src/trace/pvm';
import type { ModuleImage } from '../../native/src/space/space';
import { openFileSource } from '../../native/src/elf/byteSource';
import { ElfFile } from '../../native/src/elf/elfFile';
import { StaticAddressSpace } from '../../native/src/space/staticSpace';
import { capstoneFeaturesOf, loadCapstoneFeatures } from '../helpers/capstoneFeatures';
import { buildC, FIXTURE_OUT, hostFlags, startProcess, type StartedProcess } from '../helpers/fixtures';

let proc: StartedProcess;
let space: ProcessAddressSpace;
let main: ModuleImage;
let lib: ModuleImage;

function fnAddress(m: ModuleImage, name: string): number {
  const s = m.elf.findSymbol(name);
  assert.ok(s, `symbol ${name} in ${m.path}`);
  return s.value + m.bias;
}

function union(...sets: Set<string>[]): string[] {
  return [...new Set(sets.flatMap((s) => [...s]))].sort();
}

function ept(root: string, mode: EptMode = 'ept') {
  return executionPathTracking(space, [{ address: fnAddress(main, root), reason: root }], { mode, recordVisited: true });
}

function featureNames(r: ReturnType<typeof ept>): string[] {
  return [...r.features.keys()].sort();
}

// The expected features come from capstone (test/helpers/capstoneFeatures.ts), not from the engine's decoder.
before(loadCapstoneFeatures);

describe('execution path tracking on the EPT fixture', () => {
  before(async () => {
    const libPath = buildC('c/ept_lib.c', { shared: true, outName: 'libept_lib.so' });
    const exe = buildC('c/ept_main.c', { link: [`-L${FIXTURE_OUT}`, '-lept_lib', `-Wl,-rpath,${FIXTURE_OUT}`, libPath] });
    proc = await startProcess(exe, [], { env: { ...process.env, LD_BIND_NOW: '1' } });
    space = new ProcessAddressSpace(new ProcessView(proc.pid));
    main = space.mainModule()!;
    lib = space.modules().find((m) => path.basename(m.path) === 'libept_lib.so')!;
    assert.ok(main && lib, 'main executable and libept_lib.so are mapped');
    assert.equal(space.liveMemory, true);
  });
  after(async () => {
    space?.view.close();
    await proc?.stop();
  });

  test('direct call reaches exactly its kernel', () => {
    const r = ept('scenario_direct');
    assert.deepEqual(featureNames(r), union(capstoneFeaturesOf(main, 'scenario_direct'), capstoneFeaturesOf(main, 'k_avx2')));
    assert.ok(featureNames(r).includes('avx2'));
    assert.ok(r.callSites.direct >= 1, "the tail call is a direct call site");
  });

  test('a call through the PLT follows the live GOT slot into the library', () => {
    const r = ept('scenario_plt');
    assert.deepEqual(featureNames(r), union(capstoneFeaturesOf(main, 'scenario_plt'), capstoneFeaturesOf(lib, 'lib_sha')));
    assert.ok(featureNames(r).includes('sha_ni'));
    assert.equal(r.callSites.plt, 1);
  });

  test('a -fno-plt call [rip+GOT] is resolved through the GOT (bypass PLT)', () => {
    const r = ept('scenario_noplt');
    assert.deepEqual(featureNames(r), union(capstoneFeaturesOf(main, 'scenario_noplt'), capstoneFeaturesOf(lib, 'lib_adx')));
    assert.ok(featureNames(r).includes('adx'));
    assert.equal(r.callSites.memorySlot, 1);
    // The paper's plain EPT resolves this form too.
    assert.deepEqual(featureNames(ept('scenario_noplt', 'ept-plain')), featureNames(r));
  });

  test('an IFUNC (target_clones) reaches only the variant the resolver picked on this host', () => {
    const flags = hostFlags();
    const picked = flags.has('avx512f') ? 'tc_kernel.avx512f' : flags.has('avx2') ? 'tc_kernel.avx2' : 'tc_kernel.default';
    const r = ept('scenario_ifunc');
    const visitedNames = new Set(r.visited!.map((v) => main.elf.symbolize(v.start - main.bias)?.name));
    assert.ok(visitedNames.has(picked), `visited ${picked}: ${[...visitedNames].join(', ')}`);
    for (const other of ['tc_kernel.avx512f', 'tc_kernel.avx2', 'tc_kernel.default'].filter((n) => n !== picked)) {
      assert.ok(!visitedNames.has(other), `${other} must not be reached`);
    }
    assert.deepEqual(featureNames(r), union(capstoneFeaturesOf(main, 'scenario_ifunc'), capstoneFeaturesOf(main, picked)));
  });

  test('a dispatch table chosen at run time is resolved from live memory (mov r,[rip+p]; jmp [r+8])', () => {
    const r = ept('scenario_table');
    // current_ops points at ops_b = {k_rdseed, k_vnni}; slot 8 is k_vnni. ops_a's k_avx2 is never reached.
    assert.deepEqual(featureNames(r), union(capstoneFeaturesOf(main, 'scenario_table'), capstoneFeaturesOf(main, 'k_vnni')));
    assert.ok(featureNames(r).includes('avx512_vnni'));
    assert.equal(r.callSites.dispatchTable, 1);
    // Plain EPT cannot follow it.
    const plain = ept('scenario_table', 'ept-plain');
    assert.equal(plain.callSites.unresolved, 1);
    assert.ok(!featureNames(plain).includes('avx512_vnni'));
  });

  test('RTM and xtest are separate features', () => {
    assert.deepEqual(featureNames(ept('scenario_rtm')), union(capstoneFeaturesOf(main, 'scenario_rtm'), capstoneFeaturesOf(main, 'k_rtm')));
    assert.ok(featureNames(ept('scenario_rtm')).includes('rtm'));
    const x = featureNames(ept('scenario_xtest'));
    assert.ok(x.includes('xtest'));
    assert.ok(!x.includes('rtm'), 'xtest alone does not need RTM');
  });

  test('an unresolved indirect call: plain EPT stops, the default mode adds what the module can point to', () => {
    const plain = ept('scenario_unresolved', 'ept-plain');
    assert.equal(plain.callSites.unresolved, 1);
    assert.deepEqual(featureNames(plain), [...capstoneFeaturesOf(main, 'scenario_unresolved')].sort());
    const sound = ept('scenario_unresolved');
    // The only code pointer main writes at run time is g_callback = k_rdseed.
    assert.deepEqual(featureNames(sound), union(capstoneFeaturesOf(main, 'scenario_unresolved'), capstoneFeaturesOf(main, 'k_rdseed')));
    assert.ok(featureNames(sound).includes('rdseed'));
    assert.ok(sound.notes.some((n) => /could not be resolved/.test(n)));
  });

  test("a table of another module's functions indexed at run time: the default mode takes every entry", () => {
    const plain = ept('scenario_import_table', 'ept-plain');
    assert.equal(plain.callSites.unresolved, 1);
    assert.deepEqual(featureNames(plain), [...capstoneFeaturesOf(main, 'scenario_import_table')].sort());
    const sound = ept('scenario_import_table');
    // import_table's slots are relocations to libept_lib's lib_table_bmi2 and lib_adx; k_rdseed is the code
    // pointer main writes at run time (g_callback), taken as in the unresolved scenario.
    const expected = [capstoneFeaturesOf(main, 'scenario_import_table'), capstoneFeaturesOf(lib, 'lib_table_bmi2'), capstoneFeaturesOf(lib, 'lib_adx'), capstoneFeaturesOf(main, 'k_rdseed')];
    assert.deepEqual(featureNames(sound), union(...expected));
    assert.ok(featureNames(sound).includes('bmi2') && featureNames(sound).includes('adx'));
  });

  test('a kernel nobody references is never reached, even from the entry point; a full scan sees it', () => {
    const kAvx512 = fnAddress(main, 'k_avx512f');
    const r = executionPathTracking(space, [entryRoot(space)!], { mode: 'ept', recordVisited: true });
    assert.ok(!r.visited!.some((v) => v.start === kAvx512), 'k_avx512f not visited');
    const fs = fullScan(space);
    const all = union(capstoneFeaturesOf(main, 'k_avx512f'), capstoneFeaturesOf(main, 'k_vnni'), capstoneFeaturesOf(lib, 'lib_sha'), capstoneFeaturesOf(lib, 'lib_adx'), capstoneFeaturesOf(main, 'k_rdseed'), capstoneFeaturesOf(main, 'k_rtm'), capstoneFeaturesOf(main, 'k_xtest'));
    for (const f of all) assert.ok(fs.features.has(f), `full scan has ${f}`);
  });

  test('a CPU-dispatch selector: of the same-shaped tables it chooses from, only the one its variable points to is taken', () => {
    const r = executionPathTracking(space, [entryRoot(space)!], { mode: 'ept', recordVisited: true });
    const visited = new Set(r.visited!.map((v) => v.start));
    // select_ops runs cpuid and stores &ops_d in cpu_ops; ops_c = {k_rdseed, k_cpu_unchosen} is referenced by it only.
    assert.ok(visited.has(fnAddress(main, 'k_cpu_chosen')), 'k_cpu_chosen (ops_d, chosen) visited');
    assert.ok(!visited.has(fnAddress(main, 'k_cpu_unchosen')), 'k_cpu_unchosen (only in ops_c, not chosen) not visited');
    assert.ok(r.notes.some((n) => /left out of that set because the code referring to them is a CPU-dispatch selector/.test(n)), r.notes.join('\n'));
    // main chooses between ops_a and ops_b by its arguments, not by the CPU: both stay (an input may choose again).
    assert.ok(visited.has(fnAddress(main, 'k_avx2')), 'k_avx2 (ops_a, chosen by input) visited');
  });

  test('a stripped library is walked through its .eh_frame extents', async () => {
    const stripped = path.join(FIXTURE_OUT, 'libept_stripped.so');
    execFileSync('strip', ['-s', '-o', stripped, buildC('c/ept_lib.c', { shared: true, outName: 'libept_lib.so' })]);
    const elf = ElfFile.open(openFileSource(stripped));
    try {
      assert.equal(elf.hasSymtab, false);
      // lib_stripped_avx2 is exported, so its .dynsym entry names it; its extent still comes from symbols or FDEs.
      const f = elf.functionAt(elf.lookupSymbol('lib_stripped_avx2')!.value);
      assert.ok(f, 'extent found');
    } finally {
      elf.close();
    }
  });
});

describe('execution path tracking under lazy binding (no LD_BIND_NOW)', () => {
  test('unbound GOT slots are detected, resolved by the search order, and the trampoline is counted', async () => {
    const libPath = buildC('c/ept_lib.c', { shared: true, outName: 'libept_lib.so' });
    const exe = buildC('c/ept_main.c', { link: [`-L${FIXTURE_OUT}`, '-lept_lib', `-Wl,-rpath,${FIXTURE_OUT}`, libPath] });
    const env = { ...process.env };
    delete env.LD_BIND_NOW;
    const p = await startProcess(exe, [], { env });
    const s = new ProcessAddressSpace(new ProcessView(p.pid));
    try {
      const m = s.mainModule()!;
      const l = s.modules().find((x) => path.basename(x.path) === 'libept_lib.so')!;
      const r = executionPathTracking(s, [{ address: m.elf.findSymbol('scenario_plt')!.value + m.bias, reason: 'test' }], { recordVisited: true });
      assert.ok(r.lazySlots >= 1, 'lib_sha was never called, so its slot is unbound');
      for (const f of capstoneFeaturesOf(l, 'lib_sha')) assert.ok(r.features.has(f), `still finds ${f} of lib_sha`);
      assert.ok(r.notes.some((n) => /LD_BIND_NOW=1/.test(n)));
      // The dynamic linker's trampoline (GOT[2] of the executable) is part of the walk.
      const gotPlt = m.elf.section('.got.plt')!;
      const trampoline = s.readPointer(gotPlt.addr + m.bias + 16)!;
      assert.ok(trampoline > 0, 'GOT[2] holds the lazy-binding trampoline');
      assert.ok(r.visited!.some((v) => v.start <= trampoline && trampoline < v.end), 'trampoline visited');
    } finally {
      s.view.close();
      await p.stop();
    }
  });
});

describe('execution path tracking on files at rest (no process)', () => {
  test('PLT calls resolve by the search order and an IFUNC counts every variant', async () => {
    const libPath = buildC('c/ept_lib.c', { shared: true, outName: 'libept_lib.so' });
    const exe = buildC('c/ept_main.c', { link: [`-L${FIXTURE_OUT}`, '-lept_lib', `-Wl,-rpath,${FIXTURE_OUT}`, libPath] });
    const s = new StaticAddressSpace([exe]);
    try {
      assert.deepEqual(s.missing, []);
      const names = s.modules().map((m) => path.basename(m.path));
      assert.ok(names.includes('libept_lib.so') && names.includes('libc.so.6'), names.join(', '));
      const m = s.mainModule()!;
      const l = s.modules().find((x) => path.basename(x.path) === 'libept_lib.so')!;
      const at = (name: string) => m.elf.findSymbol(name)!.value + m.bias;
      const plt = executionPathTracking(s, [{ address: at('scenario_plt'), reason: 'test' }]);
      assert.deepEqual([...plt.features.keys()].sort(), union(capstoneFeaturesOf(m, 'scenario_plt'), capstoneFeaturesOf(l, 'lib_sha')));
      const ifunc = executionPathTracking(s, [{ address: at('scenario_ifunc'), reason: 'test' }], { recordVisited: true });
      const visited = new Set(ifunc.visited!.map((v) => m.elf.symbolize(v.start - m.bias)?.name));
      for (const clone of ['tc_kernel.avx512f', 'tc_kernel.avx2', 'tc_kernel.default']) assert.ok(visited.has(clone), `${clone} counted`);
      assert.ok(ifunc.notes.some((n) => /resolved statically/.test(n)));
    } finally {
      s.close();
    }
  });
});
