// Heap tables only module variables lead to (trace/heapTables.ts), on real processes of test/fixtures/c/heap_table.c:
// a kernel stored in a dispatch table on the heap that no code reads (the loop calls another slot through a variable,
// or through a register of its frame) is not required; called through a thread's register, passed to a call, read at
// an index computed at run time, or copied to a live stack slot, it is. And a plugin function kept only in anonymous memory the kernel merged with a program's .bss
// mapping (test/fixtures/c/bss_merge.c) is held by memory outside the modules: it was taken for the program's own
// data, and SHA-NI that runs every turn of the loop was not required.

import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ProcessAddressSpace } from '../../native/src/space/processSpace';
import { ProcessView } from '../../native/src/space/processView';
import { buildC, hostFlags } from '../helpers/fixtures';
import { analyzeFixture } from '../helpers/analyzeFixture';
import { buildCtypesLib } from './python-helpers';

// k_used runs GFNI, k_never AVX512_VPOPCNTDQ (only when `armed`, never set): a report names a feature only when the
// host has it.
const lacks = ['gfni', 'avx512_vpopcntdq'].filter((f) => !hostFlags().has(f));
const skip = lacks.length > 0 ? `the host lacks ${lacks.join(', ')}, so no report can name it` : false;

const analyzeMode = (mode: string) => analyzeFixture(buildC('c/heap_table.c'), [mode]);

describe('heap tables', { skip }, () => {
  test('a kernel in a heap table that no code reads is not required; the slot the loop calls through the variable is', { timeout: 120_000 }, async () => {
    const report = await analyzeMode('table');
    assert.ok(report.required.includes('gfni'), `k_used (called through g_tbl->fn[0]): ${report.required.join(' ')}`);
    assert.ok(!report.required.includes('avx512_vpopcntdq'), `k_never (g_tbl->fn[1], read by no code): ${report.required.join(' ')}`);
    assert.ok(report.notes.some((n) => /heap tables at offsets no code reads/.test(n)), report.notes.join('\n'));
  });

  test('so does a table only a frame\'s register points to, when the frame reads one slot', { timeout: 120_000 }, async () => {
    const report = await analyzeMode('local');
    assert.ok(report.required.includes('gfni'), `k_used (called through t->fn[0]): ${report.required.join(' ')}`);
    assert.ok(!report.required.includes('avx512_vpopcntdq'), `k_never (t->fn[1], read by no code): ${report.required.join(' ')}`);
  });

  for (const [mode, why] of [
    ['register', 'the frame whose register holds the table calls the other slot'],
    ['passed', 'the variable is passed to a function'],
    ['indexed', 'the table is read at an index computed at run time'],
    ['stack', 'a copy of the pointer lives on the stack'],
    ['returned', 'a frame reads the stack slot holding it after it resumes'],
    ['onstack', 'a callee reads the slot of its caller\'s frame through a pointer'],
  ] as const) {
    test(`the unread-slot rule does not apply when ${why} (${mode})`, { timeout: 120_000 }, async () => {
      const report = await analyzeMode(mode);
      assert.ok(report.required.includes('avx512_vpopcntdq'), `k_never can be called: ${report.required.join(' ')}`);
    });
  }
});

test('a function kept only in anonymous memory merged with a program\'s .bss mapping is held outside the modules', { timeout: 120_000, skip: hostFlags().has('sha_ni') ? false : 'the host has no SHA-NI, so no report can name it' }, async () => {
  const report = await analyzeFixture(buildC('c/bss_merge.c', { link: ['-ldl'] }), [buildCtypesLib(), 'ct_sha'], (pid) => {
    // The kernel merges the area with the .bss tail into one mapping of /proc/PID/maps: no region of the space given
    // to the program reaches past the end of its segments, and the area, which starts there, belongs to no module.
    const space = new ProcessAddressSpace(new ProcessView(pid));
    const main = space.mainModule()!;
    const segmentsEnd = Math.ceil((Math.max(...main.elf.loadSegments().map((s) => s.vaddr + s.memsz)) + main.bias) / 4096) * 4096;
    assert.ok(space.regions().every((r) => r.module !== main || r.end <= segmentsEnd), 'the program\'s regions end with its segments');
    const area = space.regionAt(segmentsEnd);
    assert.ok(area && area.kind === 'anon' && area.module === undefined, 'the area mapped after the .bss belongs to no module');
  });
  const sha = report.features.find((f) => f.feature === 'sha_ni');
  assert.ok(sha, `sha_ni required: ${report.required.join(' ')}`);
  assert.match(sha.via ?? '', /memory outside the modules holds/);
});
