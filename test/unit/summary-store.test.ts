// The caches of the first analysis: a file byte source's small reads (served from a block read once) give
// the file's bytes at any offset, block edges included; function summaries saved to disk (summaryStore.ts)
// give a new walk the same result without decoding again, and are never used for a changed file or by
// another engine build.

import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type SummaryStore, clearSummaryCache, executionPathTracking } from '../../native/src/trace/ept';
import { entryRoot } from '../../native/src/trace/pvm';
import { StaticAddressSpace } from '../../native/src/space/staticSpace';
import { DiskSummaryStore } from '../../native/src/trace/summaryStore';
import { cachedSummaries, cachedSummariesOf } from '../../native/src/trace/summaryCache';
import { openFileSource } from '../../native/src/elf/byteSource';
import { buildC } from '../helpers/fixtures';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-summaries-'));
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('FileByteSource small reads', () => {
  test('equal the file bytes at every kind of offset', () => {
    const file = path.join(tmp, 'bytes.bin');
    const bytes = new Uint8Array(200_000).map((_, i) => (i * 7919 + (i >> 8)) & 0xff);
    fs.writeFileSync(file, bytes);
    const src = openFileSource(file);
    try {
      const offsets = [0, 1, 65_530, 65_535, 65_536, 131_071, 199_992, 199_999, 100_000, 3];
      for (let i = 0; i < 400; i++) offsets.push(Math.floor((i * 104_729) % 199_990));
      for (const off of offsets) {
        for (const len of [1, 8, 16, 256, 257, 4096]) {
          if (off + len > bytes.length) continue;
          assert.deepEqual([...src.read(off, len)], [...bytes.subarray(off, off + len)], `read(${off}, ${len})`);
        }
      }
      // What a caller gets is its own: changing it changes no later read.
      const first = src.read(8, 8);
      first.fill(0xee);
      assert.deepEqual([...src.read(8, 8)], [...bytes.subarray(8, 16)]);
      assert.throws(() => src.read(199_999, 8), /outside/);
    } finally {
      src.close();
    }
  });
});

describe('function summaries on disk', () => {
  let exe = '';
  const walk = (summaryStore?: SummaryStore) => {
    const space = new StaticAddressSpace([exe], { hostIfuncs: false });
    try {
      const r = executionPathTracking(space, [entryRoot(space)!], { mode: 'ept', summaryStore });
      return { features: [...r.features.keys()].sort(), functions: r.functionsVisited, instructions: r.instructionsDecoded };
    } finally {
      space.close();
    }
  };

  test('a new walk reads them and finds the same result; another engine build or a changed file does not', () => {
    exe = buildC('c/proc_ready.c', { outName: 'summary-store-proc_ready' });
    const base = path.join(tmp, 'cache');
    clearSummaryCache();
    const first = new DiskSummaryStore(base, 'engine-a');
    const cold = walk(first);
    assert.equal(first.stats.loadedSummaries, 0);
    first.save();
    assert.ok(first.stats.savedSummaries > 0, 'summaries were saved');

    // A new process: empty memory cache, the same disk.
    clearSummaryCache();
    const second = new DiskSummaryStore(base, 'engine-a');
    assert.deepEqual(walk(second), cold);
    assert.ok(second.stats.loadedSummaries > 0, 'summaries came from the disk');

    // The store is the walk's option, not a global: a walk not given one never reads the disk.
    clearSummaryCache();
    const loadedBySecond = second.stats.loadedSummaries;
    const unused = new DiskSummaryStore(base, 'engine-a');
    assert.deepEqual(walk(), cold);
    assert.equal(unused.stats.loadedSummaries, 0);
    assert.equal(second.stats.loadedSummaries, loadedBySecond, 'the previous walk’s store is not kept');

    // Another engine build never reads them (and removes them when it saves).
    clearSummaryCache();
    const other = new DiskSummaryStore(base, 'engine-b');
    assert.deepEqual(walk(other), cold);
    assert.equal(other.stats.loadedSummaries, 0);
    other.save();
    assert.equal(fs.existsSync(path.join(base, 'summaries', 'engine-a')), false);

    // A changed file (new mtime: a new identity) is decoded again.
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(exe, later, later);
    clearSummaryCache();
    const third = new DiskSummaryStore(base, 'engine-b');
    assert.deepEqual(walk(third), cold);
    // The libraries it uses (libc) are unchanged: all but the executable come from the disk.
    assert.ok(other.stats.savedFiles >= 1);
    assert.equal(third.stats.loadedFiles, other.stats.savedFiles - 1);
    clearSummaryCache();
  });
});

describe('function summaries on disk, read back', () => {
  test('equal the summaries saved, field by field, features a Map again', () => {
    const exe = buildC('c/proc_ready.c', { outName: 'summary-store-readback' });
    const base = path.join(tmp, 'cache-readback');
    clearSummaryCache();
    const space = new StaticAddressSpace([exe], { hostIfuncs: false });
    let modules: Array<{ identity: string; path: string }>;
    try {
      executionPathTracking(space, [entryRoot(space)!], { mode: 'ept', summaryStore: new DiskSummaryStore(base, 'engine-r') });
      modules = space.modules().map((m) => ({ identity: m.identity, path: m.path }));
    } finally {
      space.close();
    }
    const first = new DiskSummaryStore(base, 'engine-r');
    const saved = new Map<string, ReturnType<typeof cachedSummariesOf>>();
    for (const m of modules) {
      first.load(m.identity, m.path);
      saved.set(m.identity, cachedSummariesOf(m.identity));
    }
    first.save();
    assert.ok(first.stats.savedSummaries > 0, 'summaries were saved');
    const second = new DiskSummaryStore(base, 'engine-r');
    let compared = 0;
    for (const m of modules) {
      const was = saved.get(m.identity);
      if (!was || was.size === 0) continue;
      const read = second.load(m.identity, m.path);
      assert.ok(read, `${m.path}: read back`);
      assert.deepEqual(read, was);
      for (const s of read.values()) assert.ok(s.features instanceof Map);
      compared += read.size;
    }
    assert.ok(compared > 100, `${compared} summaries compared`);
    assert.ok([...saved.values()].some((m) => [...(m?.values() ?? [])].some((s) => s.features.size > 0)), 'some summary has features');
    clearSummaryCache();
  });
});

test("the summary cache holds more files than a walk visits: a file's summaries stay while the walk visits 400 others", () => {
  // A bound below the files a walk visits (it was 256, dropped oldest first) made the walk summarise the
  // first files again each time it came back to them.
  clearSummaryCache();
  try {
    const maps = Array.from({ length: 400 }, (_, i) => cachedSummaries(`identity-${i}`, `/lib/file-${i}.so`));
    const again = Array.from({ length: 400 }, (_, i) => cachedSummaries(`identity-${i}`, `/lib/file-${i}.so`));
    assert.equal(again.filter((m, i) => m !== maps[i]).length, 0, 'every file keeps its summaries');
  } finally {
    clearSummaryCache();
  }
});
