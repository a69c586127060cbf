// BulkWords (native/src/trace/bulkWords.ts) answers every word as a read of that word alone gives it, over a real
// process: words of a module's data and of the heap, nearby and far apart, at a region's end and unmapped.

import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ProcessView } from '../../native/src/space/processView';
import { ProcessAddressSpace } from '../../native/src/space/processSpace';
import { BulkWords } from '../../native/src/trace/bulkWords';
import { DEBIAN_PYTHON, startProcess, type StartedProcess } from '../helpers/fixtures';

let proc: StartedProcess;
let view: ProcessView;

before(async () => {
  proc = await startProcess(DEBIAN_PYTHON, ['-c', 'import time; print("READY", flush=True); time.sleep(600)']);
  view = new ProcessView(proc.pid);
});
after(async () => {
  view?.close();
  await proc?.stop();
});

test('BulkWords gives readPointer\'s answer at every address, mapped or not, in fewer reads', () => {
  const space = new ProcessAddressSpace(view);
  const addresses: number[] = [];
  for (const r of space.regions().filter((x) => x.read && !x.exec)) {
    // The region's first words, words 3 KiB apart, its last word, one straddling its end and one just past it.
    for (let a = r.start; a < Math.min(r.end, r.start + 64 * 1024); a += 3 * 1024 + 8) addresses.push(a);
    addresses.push(r.start + 8, r.start + 13, r.end - 8, r.end - 4, r.end);
  }
  addresses.push(0x1000, 2 ** 47 - 4096);
  let reads = 0;
  const counting = Object.create(space) as ProcessAddressSpace;
  Object.defineProperty(counting, 'readMemory', { value: (a: number, n: number) => (reads++, space.readMemory(a, n)) });
  Object.defineProperty(counting, 'readPointer', { value: (a: number) => (reads++, space.readPointer(a)) });
  const bulk = new BulkWords(counting, addresses);
  let unmapped = 0;
  for (const a of [...addresses].reverse()) {
    const alone = space.readPointer(a);
    if (alone === undefined) unmapped++;
    assert.equal(bulk.readPointer(a), alone, `word at 0x${a.toString(16)}`);
  }
  assert.ok(unmapped >= 2, 'some addresses are unmapped');
  assert.ok(reads < addresses.length / 2, `${reads} reads for ${addresses.length} words`);
});
