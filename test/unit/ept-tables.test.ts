// Bounded jump tables in EPT (summaryState.ts tableStep, walkEdges.ts jumpTableEdge), on a real process built from
// test/fixtures/c/ept_tables.c: a call through a function-pointer table whose index a compare bounds, gcc's switch
// table of int32 offsets and a computed goto indexed by a byte are resolved to exactly the entries the bound allows;
// a call through a callee-saved register on the straight path from its load is resolved though the register is
// written again later in the function; a switch with no bound found is read entry by entry while each case runs
// in the jump's own frame, so that a case moved to a `.cold` part is reached.

import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { executionPathTracking } from '../../native/src/trace/ept';
import type { ModuleImage } from '../../native/src/space/space';
import { capstoneFeaturesOf, loadCapstoneFeatures } from '../helpers/capstoneFeatures';
import { type LiveFixture, startLiveFixture, visitedStarts } from '../helpers/liveFixture';

let fixture: LiveFixture;
let main: ModuleImage;
const at = (name: string) => fixture.at(name);

/** Resolved edges only (addressTaken: false): what the walk reaches is what it resolved, nothing from the fallback. */
function walk(root: string) {
  const r = executionPathTracking(fixture.space, [{ address: at(root), reason: root }], { mode: 'ept', bindNow: true, addressTaken: false, recordVisited: true });
  return { r, visited: visitedStarts(r) };
}

const KERNELS = ['k_op0', 'k_op1', 'k_op2', 'k_op3', 'k_beyond', 'k_case', 'k_label', 'k_redef', 'k_open'];

/** The features of kernel `name` (capstone, from the fixture's bytes) that no other kernel of the fixture has. */
function ownFeatures(name: string): string[] {
  const others = KERNELS.filter((k) => k !== name).map((k) => capstoneFeaturesOf(main, k));
  const own = [...capstoneFeaturesOf(main, name)].filter((f) => !others.some((o) => o.has(f)));
  assert.ok(own.length > 0, `${name} has a feature of its own`);
  return own;
}

before(loadCapstoneFeatures);

describe('EPT bounded jump tables on the tables fixture', () => {
  before(async () => {
    fixture = await startLiveFixture('c/ept_tables.c', ['-O2']);
    main = fixture.main;
  });
  after(() => fixture?.stop());

  test('a call through a table bounded by `cmp ; ja` reaches exactly the four allowed entries', () => {
    const { r, visited } = walk('dispatch_call');
    assert.equal(r.callSites.unresolved, 0, 'the table call is resolved');
    assert.equal(r.callSites.dispatchTable, 1);
    for (const k of ['k_op0', 'k_op1', 'k_op2', 'k_op3']) {
      assert.ok(visited.has(at(k)), `${k} (an allowed entry) is walked`);
      for (const f of ownFeatures(k)) assert.ok(r.features.has(f as never), `${k}'s ${f} required`);
    }
    assert.ok(!visited.has(at('k_beyond')), 'the fifth entry, beyond the bound, is no target');
    for (const f of ownFeatures('k_beyond')) assert.ok(!r.features.has(f as never), `k_beyond's ${f} not required`);
    assert.deepEqual(visitedStarts(r), new Set(['dispatch_call', 'k_op0', 'k_op1', 'k_op2', 'k_op3'].map(at)));
  });

  test('a switch table of int32 offsets is a resolved site, and the kernel of a case is still reached', () => {
    const { r, visited } = walk('dispatch_switch');
    assert.equal(r.callSites.unresolved, 0);
    assert.equal(r.callSites.dispatchTable, 1, 'the switch jump counts as a resolved site');
    assert.ok(visited.has(at('k_case')));
    for (const f of ownFeatures('k_case')) assert.ok(r.features.has(f as never), `k_case's ${f} required`);
  });

  test('a switch with no bound found reaches a case gcc moved to a .cold part, which only its table names', () => {
    const cold = main.elf.findSymbol('dispatch_open.cold');
    assert.ok(cold, 'gcc split the cold case out of dispatch_open');
    const { r, visited } = walk('dispatch_open');
    assert.equal(r.callSites.unresolved, 0, 'the switch is no unresolved site');
    assert.ok(visited.has(cold.value + main.bias), 'the .cold part is walked');
    assert.ok(visited.has(at('k_open')), 'the kernel its case calls is walked');
    for (const f of ownFeatures('k_open')) assert.ok(r.features.has(f as never), `k_open's ${f} required`);
    // Reading stops after the table: nothing but the function, its cold part and the kernel.
    assert.deepEqual(visitedStarts(r), new Set([at('dispatch_open'), cold.value + main.bias, at('k_open')]));
  });

  test('a computed goto indexed by a byte is resolved where the table address is known (256 entries, labels of the function)', () => {
    const { r, visited } = walk('dispatch_goto');
    // PIE: the first `jmp rax` follows `lea r9,[rip+labels]`; the later ones reuse r9 across a join, which the
    // linear tracker does not follow (left unresolved, the safe side). The non-PIE build below has all absolute.
    assert.ok(r.callSites.dispatchTable >= 1, 'the first jump through the label table is resolved');
    assert.ok(visited.has(at('k_label')));
    for (const f of ownFeatures('k_label')) assert.ok(r.features.has(f as never), `k_label's ${f} required`);
    assert.ok(!visited.has(at('k_beyond')) && !visited.has(at('k_op0')));
  });

  test('a call through a callee-saved register loaded just before is resolved though the register is written later', () => {
    const { r, visited } = walk('redefined_base');
    assert.equal(r.callSites.unresolved, 0, 'the straight-line value of rbx resolves `call rbx`');
    assert.ok(visited.has(at('k_redef')), 'the live value of g_fn is walked');
    for (const f of ownFeatures('k_redef')) assert.ok(r.features.has(f as never), `k_redef's ${f} required`);
  });

  // The short window alone (16 instructions) left the first two unresolved; a window stretched without the check of
  // jumps into the span would resolve the third from a path that never loaded rax.
  test('a call 20 instructions after its load resolves when every path to it went through the load, and only then', () => {
    for (const f of ['stretched_call', 'stretched_loop']) {
      const { r, visited } = walk(f);
      assert.deepEqual([r.callSites.unresolved, r.callSites.memorySlot], [0, 1], `${f}: the call through g_fn's live value is resolved`);
      assert.ok(visited.has(at('k_redef')), `${f}: g_fn's live value is walked`);
    }
    for (const f of ['stretched_joined', 'stretched_saved']) {
      const { r, visited } = walk(f);
      assert.deepEqual([r.callSites.unresolved, r.callSites.memorySlot], [1, 0], `${f}: a jump from before the load lands between it and the call`);
      assert.ok(!visited.has(at('k_redef')), f);
    }
  });

  test('a function walked from a resume point and then whole counts each call site once', () => {
    const roots = (resume: boolean) => [...(resume ? [{ address: at('redefined_base'), reason: 'a live frame', resume: true }] : []), { address: at('redefined_base'), reason: 'call' }];
    const whole = executionPathTracking(fixture.space, roots(false), { mode: 'ept', bindNow: true, addressTaken: false }).callSites;
    const both = executionPathTracking(fixture.space, roots(true), { mode: 'ept', bindNow: true, addressTaken: false }).callSites;
    assert.equal(whole.memorySlot, 1, 'the call through g_fn');
    assert.deepEqual(both, whole);
  });

  test('plain EPT (the paper\'s) reads no table: a switch is no site, a table call stays unresolved', () => {
    const plain = (root: string) => executionPathTracking(fixture.space, [{ address: at(root), reason: root }], { mode: 'ept-plain', bindNow: true }).callSites;
    assert.deepEqual([plain('dispatch_switch').dispatchTable, plain('dispatch_switch').unresolved], [0, 0]);
    assert.deepEqual([plain('dispatch_call').dispatchTable, plain('dispatch_call').unresolved], [0, 1]);
  });
});

describe('EPT bounded jump tables on the tables fixture built without PIE', () => {
  before(async () => {
    fixture = await startLiveFixture('c/ept_tables.c', ['-O2', '-fno-pie', '-no-pie']);
    main = fixture.main;
  });
  after(() => fixture?.stop());

  test('every jump of a computed goto through an absolute table (`jmp [labels+rax*8]`) is resolved', () => {
    const { r, visited } = walk('dispatch_goto');
    assert.equal(r.callSites.unresolved, 0);
    assert.ok(r.callSites.dispatchTable >= 2, `${r.callSites.dispatchTable} tables`);
    assert.ok(visited.has(at('k_label')) && !visited.has(at('k_beyond')));
  });

  test('a switch with no bound through an absolute table (`jmp [T+rdi*8]`) reaches its .cold case too', () => {
    const cold = main.elf.findSymbol('dispatch_open.cold');
    assert.ok(cold);
    const { visited } = walk('dispatch_open');
    assert.ok(visited.has(cold.value + main.bias) && visited.has(at('k_open')));
  });

  test('the bounded call table reaches the same four entries', () => {
    const { r, visited } = walk('dispatch_call');
    assert.equal(r.callSites.unresolved, 0);
    assert.ok(['k_op0', 'k_op1', 'k_op2', 'k_op3'].every((k) => visited.has(at(k))) && !visited.has(at('k_beyond')));
  });
});
