// The pointer reads of a live address space (native/src/space/processSpace.ts) on a real process whose memory
// changes (test/fixtures/c/dirty_pages.c writes a rising counter into its pages): one space answers from the page it
// read first (one snapshot per analysis, a system call per page, not per word), forgetReads() reads again, and a new
// space reads what memory holds now.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ProcessAddressSpace } from '../../native/src/space/processSpace';
import { ProcessView } from '../../native/src/space/processView';
import { buildC, startProcess } from '../helpers/fixtures';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a live space reads each page of pointers once; forgetReads and a new space read memory again', async () => {
  // 4 pages, 2,000 writes a second: each page's first word changes every 2 ms.
  const fx = await startProcess(buildC('c/dirty_pages.c'), ['steady', '4', '2000']);
  const view = new ProcessView(fx.pid);
  try {
    const base = Number(/base=(0x[0-9a-f]+)/.exec(fx.stdout())![1]);
    const space = new ProcessAddressSpace(view);
    const first = space.readPointer(base);
    const neighbour = space.readPointer(base + 8);
    assert.ok(first !== undefined && neighbour !== undefined);
    await pause(50);
    assert.equal(space.readPointer(base), first, 'the same space answers from the page it read');
    assert.equal(view.readPointer(base) !== first, true, 'memory itself has changed meanwhile');
    space.forgetReads();
    const again = space.readPointer(base);
    assert.notEqual(again, first, 'after forgetReads the page is read again');
    await pause(50);
    assert.notEqual(new ProcessAddressSpace(view).readPointer(base), again, 'a new space reads memory as it is now');
    assert.equal(space.readPointer(0x1000), undefined, 'the first pages are never mapped: nothing');
  } finally {
    view.close();
    await fx.stop();
  }
});
