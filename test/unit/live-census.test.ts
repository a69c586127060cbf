// The live census reads only the resident pages of private anonymous memory (test/fixtures/c/census_resident.c),
// the zero page's left out: it gives the same answer as a read of every byte, and leaves never-written pages unmapped.

import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { ProcessView } from '../../native/src/space/processView';
import { residentRanges } from '../../native/src/space/resident';
import { ProcessAddressSpace } from '../../native/src/space/processSpace';
import { liveCensus, liveValuesOf } from '../../native/src/trace/liveCensus';
import type { AddressSpace, Region } from '../../native/src/space/space';
import { buildC, startProcess, type StartedProcess } from '../helpers/fixtures';
import { forEachWord, moduleData } from '../helpers/liveFixture';
import { hostSkip } from '../helpers/skip';

let proc: StartedProcess;
let printed: Record<string, number>;

/** The /proc/PID/pagemap entries of the pages of [start, end), 8 bytes each (read here, not by the engine). */
function pagemapEntries(pid: number, start: number, end: number): Buffer {
  const buf = Buffer.alloc(((end - start) / 4096) * 8);
  const fd = fs.openSync(`/proc/${pid}/pagemap`, 'r');
  try {
    fs.readSync(fd, buf, 0, buf.length, (start / 4096) * 8);
  } finally {
    fs.closeSync(fd);
  }
  return buf;
}

/** Pages of [start, end) that /proc/PID/pagemap says are in memory or swapped. */
function residentPages(pid: number, start: number, end: number): number {
  const buf = pagemapEntries(pid, start, end);
  let n = 0;
  for (let i = 0; i < buf.length / 8; i++) if (buf.readUInt32LE(i * 8 + 4) & 0xc000_0000) n++;
  return n;
}

/**
 * How many pages of [start, end) have the kernel's shared zero page mapped, by /proc/PID/pagemap's frame numbers and
 * /proc/kpageflags' ZERO_PAGE bit (24), read here, not by the engine. Some hypervisor kernels (PVM with
 * pvm_no_zero_page=1) give a read fault a page of its own instead: those pages hold zeros but are not the zero page.
 */
function zeroPages(pid: number, start: number, end: number): number {
  const map = pagemapEntries(pid, start, end);
  const flags = fs.openSync('/proc/kpageflags', 'r');
  const word = Buffer.alloc(8);
  let n = 0;
  try {
    for (let i = 0; i < map.length / 8; i++) {
      const entry = map.readBigUInt64LE(i * 8);
      if (!(entry >> 63n)) continue;
      fs.readSync(flags, word, 0, 8, Number(entry & ((1n << 55n) - 1n)) * 8);
      if (word.readBigUInt64LE(0) & (1n << 24n)) n++;
    }
  } finally {
    fs.closeSync(flags);
  }
  return n;
}

/** The same space with every byte of every region read (what the census did before it asked for resident pages). */
function readingEverything(space: ProcessAddressSpace): AddressSpace {
  const all = Object.create(space) as ProcessAddressSpace;
  Object.defineProperty(all, 'residentRanges', { value: () => undefined });
  return all;
}

describe('live census over resident pages', () => {
  before(async () => {
    const exe = buildC('c/census_resident.c', { flags: ['-pthread'] });
    proc = await startProcess(exe, []);
    printed = {};
    for (const m of proc.stdout().matchAll(/(\w+)=(0x[0-9a-f]+|\d+)/g)) printed[m[1]] = m[2].startsWith('0x') ? parseInt(m[2].slice(2), 16) : Number(m[2]);
  });
  after(async () => {
    await proc?.stop();
  });

  test('residentRanges (pagemap) lists the written page of the big mapping and none of its untouched pages', () => {
    const view = new ProcessView(proc.pid);
    try {
      const ranges = residentRanges(proc.pid, view.mappingAt(printed.big), printed.big, printed.big + printed.size);
      assert.ok(ranges, 'a private anonymous mapping has resident ranges');
      const page = Math.floor(printed.written / 4096) * 4096;
      assert.deepEqual(ranges, [{ start: page, end: page + 4096 }]);
      // A file mapping (the executable's first) is not anonymous: every byte may hold data.
      const file = view.maps().find((m) => m.kind === 'file' && m.addressable)!;
      assert.equal(residentRanges(proc.pid, file, file.start, file.end), undefined);
    } finally {
      view.close();
    }
  });

  test('pages only read (the zero page is mapped there) count as not resident when /proc/kpageflags says so', (t) => {
    const view = new ProcessView(proc.pid);
    try {
      const mapped = residentPages(proc.pid, printed.readonly, printed.readonly + printed.rsize);
      assert.equal(mapped, printed.rsize / 4096, 'every page of the read-only-used mapping has the zero page mapped');
      let kpageflags = true;
      try {
        fs.closeSync(fs.openSync('/proc/kpageflags', 'r'));
      } catch {
        kpageflags = false;
      }
      const ranges = residentRanges(proc.pid, view.mappingAt(printed.readonly), printed.readonly, printed.readonly + printed.rsize);
      // Without CAP_SYS_ADMIN pagemap hides frame numbers and kpageflags is closed: those pages are read.
      if (!kpageflags) {
        assert.deepEqual(ranges, [{ start: printed.readonly, end: printed.readonly + printed.rsize }]);
        t.skip('/proc/kpageflags is not readable here (not root): the zero page cannot be told apart');
        return;
      }
      // The host decides what these pages are: the zero page, left out, or pages of their own, which hold zeros and are read.
      const zero = zeroPages(proc.pid, printed.readonly, printed.readonly + printed.rsize);
      if (zero === 0) {
        assert.deepEqual(ranges, [{ start: printed.readonly, end: printed.readonly + printed.rsize }]);
        hostSkip(t, 'this kernel maps no zero page on a read fault (each page read gets a page of its own): nothing to leave out');
        return;
      }
      assert.equal(zero, printed.rsize / 4096, 'every page only read has the zero page mapped');
      assert.deepEqual(ranges, []);
    } finally {
      view.close();
    }
  });

  test('the census finds the pointer in the written page, and leaves the untouched pages unmapped', () => {
    const space = new ProcessAddressSpace(new ProcessView(proc.pid));
    try {
      assert.equal(residentPages(proc.pid, printed.big, printed.big + printed.size), 1, 'one page of the big mapping is resident at start');
      const live = liveValuesOf(space);
      assert.ok(live.has(printed.target), 'the pointer to census_target written 40 MiB into the mapping is found');
      assert.ok(live.mangled.includes(printed.handler), 'the atexit handler is found demangled');
      // A read of every byte would have mapped the zero page at each of the 16,384 pages.
      assert.equal(residentPages(proc.pid, printed.big, printed.big + printed.size), 1, 'the untouched pages are still not resident');
    } finally {
      space.view.close();
    }
  });

  test('the census over resident pages gives the answer of a read of every byte', () => {
    const space = new ProcessAddressSpace(new ProcessView(proc.pid));
    const full = new ProcessAddressSpace(new ProcessView(proc.pid));
    try {
      const a = liveValuesOf(space);
      const b = liveValuesOf(readingEverything(full));
      assert.ok(b.bytes >= a.bytes + printed.size - 4096, `every byte was read the second time (${a.bytes} then ${b.bytes} bytes)`);
      assert.deepEqual([...a.mangled].sort(), [...b.mangled].sort());
      assert.equal(a.guards, b.guards);
      // Every module pointer found by either is found by the other: probe each word of writable memory.
      forEachWord(space, moduleData, (v) => assert.equal(a.has(v), b.has(v), `value 0x${v.toString(16)}`));
      assert.equal(a.has(printed.target), true);
      assert.equal(a.pointsInto(printed.target, printed.target + 1), b.pointsInto(printed.target, printed.target + 1));
      const ctx = (s: AddressSpace) => ({ space: s, liveBytes: (x: number, n: number) => s.readMemory(x, n), pollSlot: () => undefined });
      assert.deepEqual(liveCensus(ctx(space)), liveCensus(ctx(readingEverything(full))));
    } finally {
      space.view.close();
      full.view.close();
    }
  });

  test('the census answers as a plain scan of every word: each module pointer found, the many repeated ones included', () => {
    const space = new ProcessAddressSpace(new ProcessView(proc.pid));
    try {
      const live = liveValuesOf(space);
      // The reference: every word of the readable, writable, non-executable memory that lies in a module's region.
      const expected = new Set<number>();
      const writable = (r: Region) => r.read && r.write && !r.exec && r.kind !== 'vdso' && r.kind !== 'vsyscall';
      forEachWord(space, writable, (v) => {
        if (space.regionAt(v)?.module) expected.add(v);
      });
      for (let i = 0; i < 50000; i++) assert.ok(expected.has(printed.pool + i * 8), `the fixture stored a pointer to pool[${i * 8}]`);
      for (const v of expected) assert.ok(live.has(v), `0x${v.toString(16)} is in writable memory`);
      for (let i = 0; i < 50000; i++) {
        const v = printed.pool + i * 8 + 4;
        assert.equal(live.has(v), expected.has(v), `0x${v.toString(16)}`);
      }
      // Each run-time-written pointer is a code address of its own module, in one of its writable regions; the
      // fixture's own (census_written = census_target) is among them.
      const ctx = { space, liveBytes: (x: number, n: number) => space.readMemory(x, n), pollSlot: () => undefined };
      const census = liveCensus(ctx);
      const own = [...census.values()].flat().filter((w) => w.slot === printed.variable);
      assert.deepEqual(
        own.map((w) => w.value),
        [printed.target],
        'the pointer written into census_written',
      );
      for (const [index, list] of census) {
        for (const w of list) {
          const code = space.regionAt(w.value);
          const slot = space.regionAt(w.slot);
          assert.ok(code?.exec && code.module?.index === index, `0x${w.value.toString(16)} is code of module ${index}`);
          assert.ok(slot?.write && slot.module?.index === index, `slot 0x${w.slot.toString(16)} is data of module ${index}`);
        }
      }
    } finally {
      space.view.close();
    }
  });
});

