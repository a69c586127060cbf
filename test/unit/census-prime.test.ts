// Both censuses of live memory in one pass (liveCensus.primeCensuses, used at a debug session's next stop): each
// answer equals the census taken alone, with the pointer guards guessed right, guessed wrong, or not guessed.

import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ProcessView } from '../../native/src/space/processView';
import { ProcessAddressSpace } from '../../native/src/space/processSpace';
import { liveCensus, liveValuesOf, primeCensuses, primedCensus, type Guard, type LiveValues } from '../../native/src/trace/liveCensus';
import type { AddressSpace } from '../../native/src/space/space';
import { DEBIAN_PYTHON, startProcess, type StartedProcess } from '../helpers/fixtures';
import { forEachWord, moduleData } from '../helpers/liveFixture';

let proc: StartedProcess;
const views: ProcessView[] = [];

before(async () => {
  // json's C accelerator and ctypes write code pointers into their modules' data at run time (the module census).
  proc = await startProcess(DEBIAN_PYTHON, ['-c', 'import json, ctypes, time; json.dumps({"a": 1}); print("READY", flush=True); time.sleep(600)']);
});
after(async () => {
  for (const v of views) v.close();
  await proc?.stop();
});

/** A fresh space of the process whose reads are counted (bytes). */
function counted(): { space: AddressSpace; read: () => number } {
  const view = new ProcessView(proc.pid);
  views.push(view);
  const inner = new ProcessAddressSpace(view);
  let n = 0;
  const space = Object.create(inner) as ProcessAddressSpace;
  Object.defineProperty(space, 'readMemory', {
    value: (a: number, len: number) => {
      const b = inner.readMemory(a, len);
      n += b?.length ?? 0;
      return b;
    },
  });
  return { space, read: () => n };
}

/** What a census of live values answers, with has/pointsInto probed at every word of the modules' writable data. */
function answers(space: AddressSpace, v: LiveValues): unknown {
  const probes: boolean[] = [];
  forEachWord(space, moduleData, (x) => probes.push(v.has(x), v.pointsInto(x, x + 64)));
  return { mangled: v.mangled, guards: v.guards, guardWords: v.guardWords, bytes: v.bytes, probes, outside: [...v.outsideModules] };
}

test('primeCensuses gives each census as it is alone; a right guess of the guards spares the second pass', () => {
  const alone = counted();
  // The probes below read the modules' writable data whole: once first, so every census sees the same resident pages.
  answers(alone.space, { has: () => false, pointsInto: () => false, valuesIn: () => new Float64Array(0), outsideModules: new Float64Array(0), mangled: [], guards: 0, guardWords: [], bytes: 0 });
  const values = liveValuesOf(alone.space);
  const census = liveCensus({ space: alone.space, liveBytes: (a, n) => alone.space.readMemory(a, n), pollSlot: () => undefined });
  assert.ok(values.guards > 0 && values.mangled.length > 0, 'glibc keeps mangled exit handlers: the demangling pass runs');
  assert.ok([...census.values()].some((l) => l.length > 0), 'some module wrote code pointers at run time');
  const expected = answers(alone.space, values);

  const run = (guess?: readonly Guard[]) => {
    const c = counted();
    primeCensuses(c.space, undefined, guess);
    const read = c.read();
    assert.deepEqual(primedCensus(c.space), census);
    assert.deepEqual(answers(c.space, liveValuesOf(c.space)), expected);
    return read;
  };
  const unguessed = run();
  const wrong = run([{ lo: 0x1234, hi: 0x5678 }]);
  const right = run(values.guardWords);
  assert.equal(wrong, unguessed, 'a wrong guess: demangled again in a second pass');
  assert.equal(unguessed - right, values.bytes, 'the right guess: writable memory read once, not twice');
});
