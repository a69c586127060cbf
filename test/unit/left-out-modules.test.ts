// Every module an analysis leaves out gets a note: a real Python process loads a copy of a library with
// ctypes, the test truncates the copy to 0 bytes on disk (its mapped pages go with it), and the analyses of
// the process (EPT, full scan, the comparison scan) must each name the file once, saying why.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyzeProcess } from '../../native/src/analysis/analyze';
import { collectHost } from '../../native/src/host/host';
import { DEBIAN_PYTHON, startProcess } from '../helpers/fixtures';
import { buildCtypesLib } from './python-helpers';

const LOADER = 'import ctypes, sys, time\nctypes.CDLL(sys.argv[1])\nprint("READY", flush=True)\ntime.sleep(600)\n';

test('a mapped library truncated to 0 bytes is noted as left out, once, by EPT and by the full scans', { timeout: 180_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-leftout-'));
  const copy = path.join(dir, 'libleftout_copy.so');
  fs.copyFileSync(buildCtypesLib(), copy);
  const proc = await startProcess(DEBIAN_PYTHON, ['-c', LOADER, copy]);
  try {
    const host = await collectHost();
    const mentions = (notes: string[]) => notes.filter((n) => n.includes(copy));
    // Loaded and intact: the library is an ordinary module, nothing to say about it.
    const intact = await analyzeProcess(proc.pid, { host, withFullScan: false });
    assert.ok(intact.space.modules().some((m) => m.path === copy), 'the copy is a module of the process');
    assert.deepEqual(mentions(intact.report.notes), []);

    fs.truncateSync(copy, 0);
    assert.ok(fs.readFileSync(`/proc/${proc.pid}/maps`, 'utf8').includes(copy), 'the process still maps the truncated copy');
    for (const options of [{ withFullScan: false }, { withFullScan: true }, { mode: 'full' as const }]) {
      const r = await analyzeProcess(proc.pid, { host, ...options });
      assert.ok(!r.space.modules().some((m) => m.path === copy), 'the truncated copy cannot be a module');
      const notes = mentions(r.report.notes);
      assert.equal(notes.length, 1, `one note names ${copy} (${JSON.stringify(options)}): ${JSON.stringify(r.report.notes)}`);
      assert.match(notes[0], /empty \(0 bytes/);
      assert.match(notes[0], /left out/);
    }
  } finally {
    await proc.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
