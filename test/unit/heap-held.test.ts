// Functions only the heap holds are roots: a real C program fetches a plugin's kernels with dlsym, keeps the
// pointers in heap structs and calls them; SHA-NI (ct_sha of the ctypes kernels) must be required, and the note
// must say why. Without heldFunctionRoots nothing led to the plugin. A JIT-like process keeps the entry of code it
// generated in the heap: that code is decoded from there. Heap objects point to ops tables that code which ran once
// chose: the tables they point to are read, and a table no object points to is not. A table sealed with mprotect in
// an anonymous page (read-only, private or shared, or inaccessible but around each call) is memory outside the
// modules too.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { buildC, hostFlags } from '../helpers/fixtures';
import { analyzeFixture } from '../helpers/analyzeFixture';
import { buildCtypesLib } from './python-helpers';

test('a plugin function dlsym returned and the heap holds is a root', { timeout: 120_000, skip: hostFlags().has('sha_ni') ? false : 'the host has no SHA-NI, so no report can name it' }, async () => {
  const report = await analyzeFixture(buildC('c/dlsym_plugin.c', { link: ['-ldl'] }), [buildCtypesLib(), 'ct_sha']);
  const sha = report.features.find((f) => f.feature === 'sha_ni');
  assert.ok(sha, `sha_ni required: ${report.required.join(' ')}`);
  assert.match(sha.via ?? '', /memory outside the modules holds/);
  assert.ok(report.notes.some((n) => /function\(s\) whose address memory outside the modules holds/.test(n)), report.notes.join('\n'));
});

test('code generated at run time whose entry the heap holds is analysed', { timeout: 120_000, skip: hostFlags().has('gfni') ? false : 'the host has no GFNI, so no report can name it' }, async () => {
  const report = await analyzeFixture(buildC('c/jit_page.c'), []);
  const gfni = report.features.find((f) => f.feature === 'gfni');
  assert.ok(gfni, `gfni required: ${report.required.join(' ')}`);
  assert.match(gfni.via ?? '', /code generated at run time/);
});

test('the ops table a heap object points to is read; one no object points to is not', { timeout: 120_000, skip: hostFlags().has('gfni') && hostFlags().has('avx512_vpopcntdq') ? false : 'the host lacks GFNI or AVX512_VPOPCNTDQ' }, async () => {
  const report = await analyzeFixture(buildC('c/heap_ops.c'), []);
  const gfni = report.features.find((f) => f.feature === 'gfni');
  assert.ok(gfni, `gfni required: ${report.required.join(' ')}`);
  assert.match(gfni.via ?? '', /a data object the heap points into holds \(gfni_ops/);
  assert.ok(!report.required.includes('avx512_vpopcntdq'), `no object points to popcnt_ops: ${report.required.join(' ')}`);
});

for (const variant of ['private', 'shared', 'hidden']) {
  test(`a function table sealed in anonymous memory (${variant}: read-only, or inaccessible between calls) is held memory too`, { timeout: 120_000, skip: hostFlags().has('gfni') ? false : 'the host has no GFNI, so no report can name it' }, async () => {
    const report = await analyzeFixture(buildC('c/ro_table.c'), [variant]);
    const gfni = report.features.find((f) => f.feature === 'gfni');
    assert.ok(gfni, `gfni required: ${report.required.join(' ')}`);
    assert.match(gfni.via ?? '', /memory outside the modules holds/);
  });
}
