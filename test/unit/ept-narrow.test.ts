// The sound narrowing rules of EPT's address-taken fallback, on a real process built from
// test/fixtures/c/ept_narrow.c: an initialiser behind a completed pthread_once is no possible target (one behind
// a pending control is; what it produced when it ran still is), a MOV that loads one word of a table takes that word's pointer only, and a pointer written
// at run time into a variable nothing in memory points to (and whose value is nowhere else) is left out.

import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { executionPathTracking } from '../../native/src/trace/ept';
import { mangledPointerRoots } from '../../native/src/trace/pvm';
import type { ModuleImage } from '../../native/src/space/space';
import { capstoneFeaturesOf, loadCapstoneFeatures } from '../helpers/capstoneFeatures';
import { type LiveFixture, startLiveFixture, visitedStarts } from '../helpers/liveFixture';

let fixture: LiveFixture;
let main: ModuleImage;
const at = (name: string) => fixture.at(name);

function walk(root: string) {
  const r = executionPathTracking(fixture.space, [{ address: at(root), reason: root }], { mode: 'ept', bindNow: true, recordVisited: true });
  return { r, visited: visitedStarts(r) };
}

// The expected features come from capstone (test/helpers/capstoneFeatures.ts), not from the engine's decoder.
before(loadCapstoneFeatures);

describe('EPT address-taken narrowing on the narrow fixture', () => {
  before(async () => {
    fixture = await startLiveFixture('c/ept_narrow.c', ['-pthread']);
    main = fixture.main;
  });
  after(() => fixture?.stop());

  test('an initialiser whose pthread_once control is done is not a possible target; a pending one is', () => {
    const { r, visited } = walk('scenario_once');
    assert.ok(r.callSites.unresolved > 0, 'the heap call is unresolved, so the fallback applies');
    assert.ok(visited.has(at('init_pending')) && visited.has(at('k_once_pending')), 'init_pending (control not done) is taken and walked');
    assert.ok(!visited.has(at('init_done')) && !visited.has(at('k_once_done')), 'init_done (control done) is not taken');
    assert.ok(visited.has(at('k_once_produced')), 'the function init_done stored on the heap when it ran is still a possible target');
    for (const f of capstoneFeaturesOf(main, 'k_once_pending')) assert.ok(r.features.has(f as never), `pending kernel's ${f} required`);
    const onlyDone = [...capstoneFeaturesOf(main, 'k_once_done')].filter((f) => !capstoneFeaturesOf(main, 'k_once_pending').has(f));
    assert.ok(onlyDone.length > 0);
    for (const f of onlyDone) assert.ok(!r.features.has(f as never), `done kernel's ${f} not required`);
    assert.ok(r.notes.some((n) => /pthread_once/.test(n)), r.notes.join('\n'));
    // What init_done's code names on a path that never ran is stored nowhere: not a possible target.
    assert.ok(!visited.has(at('k_once_dropped')), 'k_once_dropped (produced by no run) is not taken');
    const kernels = ['k_once_done', 'k_once_pending', 'k_once_produced', 'k_word_used', 'k_word_unused', 'k_census_hidden', 'k_census_pointed', 'k_census_copied', 'k_sel_common', 'k_sel_chosen', 'k_sel_unchosen', 'k_exit_kernel', 'k_signal_kernel'];
    const onlyDropped = [...capstoneFeaturesOf(main, 'k_once_dropped')].filter((f) => !kernels.some((k) => capstoneFeaturesOf(main, k).has(f)));
    assert.ok(onlyDropped.length > 0);
    for (const f of onlyDropped) assert.ok(!r.features.has(f as never), `dropped kernel's ${f} not required`);
    assert.ok(r.notes.some((n) => /no word of the process's writable memory holds them/.test(n)), r.notes.join('\n'));
  });

  test('an exit handler that glibc keeps mangled (atexit) is a root', () => {
    const roots = mangledPointerRoots(fixture.space);
    assert.ok(roots.some((x) => x.address === at('at_exit_handler')), 'the handler is found demangled in live memory');
    const r = executionPathTracking(fixture.space, [{ address: at('scenario_census'), reason: 'scenario_census' }, ...roots], { mode: 'ept', bindNow: true, recordVisited: true });
    const visited = visitedStarts(r);
    assert.ok(!walk('scenario_census').visited.has(at('at_exit_handler')), 'no plain pointer shows the handler');
    assert.ok(visited.has(at('at_exit_handler')) && visited.has(at('k_exit_kernel')), 'at_exit_handler and its kernel are walked');
    for (const f of capstoneFeaturesOf(main, 'k_exit_kernel')) assert.ok(r.features.has(f as never), `exit kernel's ${f} required`);
  });

  test('a handler a static initializer installed with sigaction is a possible target though only the kernel holds it', () => {
    const { r, visited } = walk('scenario_census');
    assert.ok(r.callSites.unresolved > 0, 'the heap call is unresolved, so the fallback applies');
    assert.ok(visited.has(at('on_signal')) && visited.has(at('k_signal_kernel')), 'on_signal and its kernel are walked');
    for (const f of capstoneFeaturesOf(main, 'k_signal_kernel')) assert.ok(r.features.has(f as never), `signal kernel's ${f} required`);
  });

  test('a branch through the GOT slot of a weak symbol no module defines has no target, and is not unresolved', () => {
    // deregister_tm_clones (the C runtime's boilerplate): `mov rax,[rip+GOT(_ITM_deregisterTMCloneTable)] ; jmp rax`.
    const { r } = walk('deregister_tm_clones');
    assert.equal(r.callSites.unresolved, 0, JSON.stringify(r.callSites));
    assert.ok(r.callSites.memorySlot >= 1, JSON.stringify(r.callSites));
    assert.equal(r.addressTakenRoots, 0, 'nothing is rooted through the address-taken fallback');
  });

  test('a MOV of one word of a table takes that word only, not its neighbours', () => {
    const { r, visited } = walk('scenario_word');
    assert.ok(r.callSites.unresolved > 0, 'the heap call is unresolved, so the fallback applies');
    assert.ok(visited.has(at('k_word_used')), 'the loaded pointer (g_pair.used) is taken');
    assert.ok(!visited.has(at('k_word_unused')), 'the neighbour no code loads (g_pair.unused) is not');
    for (const f of capstoneFeaturesOf(main, 'k_word_used')) assert.ok(r.features.has(f as never), `${f} required`);
  });

  test('a run-time-written pointer is a possible target only while memory can reach its variable or holds its value', () => {
    const { r, visited } = walk('scenario_census');
    assert.ok(r.callSites.unresolved > 0, 'the heap call is unresolved, so the fallback applies');
    assert.ok(visited.has(at('k_census_pointed')), 'g_pointed: a heap object points to the variable');
    assert.ok(visited.has(at('k_census_copied')), "g_copied: its value is also on the heap");
    assert.ok(!visited.has(at('k_census_hidden')), 'g_hidden: named by instructions only, value nowhere else');
    assert.ok(r.notes.some((n) => /written at run time into variables/.test(n)), r.notes.join('\n'));
  });

  test('a selector that chooses by libgcc\'s CPU model (__builtin_cpu_is) keeps only the table it chose', () => {
    const { r, visited } = walk('scenario_select');
    assert.ok(r.callSites.unresolved > 0, 'the heap call is unresolved, so the fallback applies');
    assert.ok(visited.has(at('select_builtin')));
    assert.ok(visited.has(at('k_sel_chosen')), 'the chosen table (sel_x) is taken');
    assert.ok(!visited.has(at('k_sel_unchosen')), 'the same-shaped table it did not choose (sel_y) is not');
  });
});

describe('EPT and data mapped executable (.rodata in the R+X segment of old toolchains)', () => {
  let rodata: LiveFixture;
  let m2: ModuleImage;
  before(async () => {
    rodata = await startLiveFixture('c/rodata_exec.c', ['-Wl,-z,noseparate-code']);
    m2 = rodata.main;
  });
  after(() => rodata?.stop());

  test('a pointer into .rodata is data, not a possible target, though its segment is executable', () => {
    const sym = (n: string) => m2.elf.findSymbol(n)!.value;
    // The layout this fixture exists for: ro_bytes lies in an executable segment, outside every code section.
    const ro = sym('ro_bytes');
    assert.ok(m2.elf.executableRanges().some((r) => ro >= r.start && ro < r.end), 'ro_bytes is in an executable segment');
    assert.ok(!m2.elf.isCodeAddress(ro), 'but in no code section');
    const r = executionPathTracking(rodata.space, [{ address: sym('scenario') + m2.bias, reason: 'scenario' }], { mode: 'ept', bindNow: true, recordVisited: true });
    const visited = visitedStarts(r);
    assert.ok(r.callSites.unresolved > 0, 'the heap call is unresolved, so the fallback applies');
    assert.ok(visited.has(sym('k_real') + m2.bias), 'the code pointer g_table holds is taken and walked');
    for (const f of capstoneFeaturesOf(m2, 'k_real')) assert.ok(r.features.has(f as never), `k_real's ${f} required`);
    assert.ok(!visited.has(ro + m2.bias), 'ro_bytes is not decoded as code');
    const dataOnly = [...capstoneFeaturesOf(m2, 'ro_bytes')].filter((f) => !capstoneFeaturesOf(m2, 'k_real').has(f));
    assert.ok(dataOnly.length > 0, 'the data bytes decode as an instruction with a feature of its own');
    for (const f of dataOnly) assert.ok(!r.features.has(f as never), `ro_bytes' ${f} not required`);
    assert.ok(r.notes.some((n) => /outside every code section/.test(n)), r.notes.join('\n'));
  });
});
