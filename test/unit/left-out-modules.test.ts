// Every module an analysis leaves out gets a note: a real Python process loads a copy of a library with
// ctypes, the test truncates the copy to 0 bytes on disk (its mapped pages go with it), and the analyses of
// the process (EPT, full scan, the comparison scan, the live call sites) must each name the file once,
// saying why; at rest, a library a ctypes library needs but that cannot be found is named too.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyzeProcess } from '../../native/src/analyze';
import { collectHost } from '../../native/src/features/host';
import { analyzeCallSites } from '../../server/src/callSites';
import { DEBIAN_PYTHON, FIXTURE_SRC, startProcess } from '../helpers/fixtures';
import { buildCtypesLib } from './python-helpers';

const LOADER = 'import ctypes, sys, time\nctypes.CDLL(sys.argv[1])\nprint("READY", flush=True)\ntime.sleep(600)\n';

test('a mapped library truncated to 0 bytes is noted as left out, once, by EPT and by the full scans', { timeout: 180_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-leftout-'));
  const copy = path.join(dir, 'libleftout_copy.so');
  fs.copyFileSync(buildCtypesLib(), copy);
  const loader = path.join(dir, 'loader.py');
  fs.writeFileSync(loader, LOADER);
  const proc = await startProcess(DEBIAN_PYTHON, [loader, copy]);
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
    // `calls --pid` on the same process says it too.
    const calls = await analyzeCallSites({ python: `/proc/${proc.pid}/exe`, files: [loader], pid: proc.pid, hostFeatures: new Set(), followImports: false });
    try {
      assert.equal(mentions(calls.notes).length, 1, JSON.stringify(calls.notes));
      assert.match(mentions(calls.notes)[0], /empty \(0 bytes/);
    } finally {
      calls.close();
    }
  } finally {
    await proc.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('at rest, a library that a ctypes library needs but that cannot be found is noted as left out', { timeout: 180_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-leftout-'));
  try {
    // libuser.so (the ctypes kernels) needs libpyg_dep.so, which is then removed.
    const dep = path.join(dir, 'libpyg_dep.so');
    execFileSync('gcc', ['-O2', '-shared', '-fPIC', '-o', dep, path.join(FIXTURE_SRC, 'c', 'elf_lib.c'), '-Wl,-soname,libpyg_dep.so']);
    const user = path.join(dir, 'libuser.so');
    execFileSync('gcc', ['-O2', '-shared', '-fPIC', '-fno-stack-protector', '-o', user, path.join(FIXTURE_SRC, 'c', 'ctypes_kernels.c'), `-L${dir}`, '-Wl,--no-as-needed', '-lpyg_dep']);
    fs.rmSync(dep);
    const program = path.join(dir, 'use.py');
    fs.writeFileSync(program, `import ctypes\nlib = ctypes.CDLL(${JSON.stringify(user)})\nlib.ct_avx2()\n`);
    const r = await analyzeCallSites({ python: DEBIAN_PYTHON, files: [program], hostFeatures: new Set(), followImports: false });
    try {
      const site = [...r.byFile.values()].flat().find((s) => s.natives.some((n) => n.symbol === 'ct_avx2'));
      assert.ok(site, 'the ctypes call resolves to ct_avx2 in libuser.so');
      const notes = r.notes.filter((n) => n.includes('libpyg_dep.so'));
      assert.equal(notes.length, 1, JSON.stringify(r.notes));
      assert.match(notes[0], /needed by libuser\.so/);
      assert.match(notes[0], /not found/);
    } finally {
      r.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
