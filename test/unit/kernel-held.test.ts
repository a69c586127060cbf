// Callbacks only the kernel holds for a process (native/src/space/kernelHeld.ts): a C program gets its callback back
// from epoll_wait as a registration's user data, or from a POSIX timer's signal value, and calls it; nothing in its
// memory holds the address. Or the callback is only in a callee-saved register of a thread blocked in a system call
// (the kernel keeps its registers; the ptrace freeze reads them). GFNI must be required, and the report must say
// where the root came from.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { kernelHeldWords } from '../../native/src/space/kernelHeld';
import { buildC, hostFlags } from '../helpers/fixtures';
import { analyzeFixture } from '../helpers/analyzeFixture';

const expected = { epoll: /the user data of epoll file \d+'s registration of file \d+/, timer: /the value of POSIX timer \d+/ };

for (const [mode, where] of Object.entries(expected)) {
  test(`a callback only the kernel holds (${mode}) is a root`, { timeout: 120_000, skip: hostFlags().has('gfni') ? false : 'the host has no GFNI, so no report can name it' }, async () => {
    const report = await analyzeFixture(buildC('c/kernel_held.c', { flags: ['-O2'] }), [mode], (pid) => {
      assert.ok(kernelHeldWords(pid).some((w) => where.test(w.what)), JSON.stringify(kernelHeldWords(pid)));
    });
    const gfni = report.features.find((f) => f.feature === 'gfni');
    assert.ok(gfni, `gfni required: ${report.required.join(' ')}`);
    assert.match(gfni.via ?? '', /the kernel holds for the process/);
    assert.match(gfni.via ?? '', where);
    assert.ok(report.notes.some((n) => /only the kernel holds for the process/.test(n)), report.notes.join('\n'));
  });
}

test('a callback only a blocked thread\'s register holds is a root', { timeout: 120_000, skip: hostFlags().has('gfni') ? false : 'the host has no GFNI, so no report can name it' }, async () => {
  const report = await analyzeFixture(buildC('c/register_held.c', { flags: ['-O2'] }), []);
  const gfni = report.features.find((f) => f.feature === 'gfni');
  assert.ok(gfni, `gfni required: ${report.required.join(' ')}\n${report.notes.join('\n')}`);
  assert.match(gfni.via ?? '', /a frozen thread's register holds \(r12 of thread \d+ \(main\)\)/);
});

test('a process without epoll files or timers has no kernel-held words; a vanished one gives none either', () => {
  assert.deepEqual(kernelHeldWords('self').filter((w) => /POSIX timer/.test(w.what)), []);
  assert.deepEqual(kernelHeldWords(2 ** 22 + 12345), []);
});
