// Crafted and fuzzed ELF input through the ELF reader and the engine (EPT over a static address space of
// the file, full scan), each case in a worker thread under a watchdog, so a hang fails the test instead of
// wedging it: the reported hangs as regression cases, then seeded mutations of real libraries.

import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { DEBIAN_PYTHON, REPO_ROOT, buildC, startProcess } from '../helpers/fixtures';
import { executionPathTracking } from '../../native/src/trace/ept';
import { StaticAddressSpace } from '../../native/src/space/staticSpace';
import { FuzzRunner, type CaseResult, forEachSymbol, mutate, sectionIndexOfType, setSectionField, writeCase } from '../helpers/elfFuzz';

const LIBZ = ['/usr/lib/x86_64-linux-gnu/libz.so.1', '/lib/x86_64-linux-gnu/libz.so.1'].find((p) => fs.existsSync(p));
/** Cases per run: a few hundred here; PYGRATION_FUZZ_CASES=5000 for the longer run (docs/testing.md). */
const CASES = Number(process.env.PYGRATION_FUZZ_CASES ?? 300);
const SEED = Number(process.env.PYGRATION_FUZZ_SEED ?? 20261204);
/** A case on these small libraries takes well under a second; ten seconds is a hang. */
const LIMIT_MS = Number(process.env.PYGRATION_FUZZ_LIMIT_MS ?? 10_000);

const SHT_INIT_ARRAY = 14;
const SHN_ABS = 0xfff1;
const STT_OBJECT = 1;

let dir: string;
let runner: FuzzRunner;
let bases: Array<{ name: string; bytes: Buffer }>;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-fuzz-'));
  runner = new FuzzRunner(LIMIT_MS);
  // libz from the system and a small gcc-built shared object (with .symtab, unlike the stripped libz).
  const lib = buildC('c/ept_lib.c', { shared: true, outName: 'libept_lib.so' });
  bases = [{ name: 'ept_lib', bytes: fs.readFileSync(lib) }];
  if (LIBZ) bases.unshift({ name: 'libz', bytes: fs.readFileSync(LIBZ) });
});

after(async () => {
  await runner?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function assertFinished(r: CaseResult, what: string): void {
  assert.ok(r.outcome === 'ok' || r.outcome === 'rejected', `${what}: ${r.outcome} after ${r.ms} ms${r.detail ? `\n${r.detail}` : ''}`);
}

/** Every defined OBJECT symbol becomes an SHN_ABS object of `size` bytes at `value` (when given). */
function absObjects(original: Buffer, size: bigint, value?: bigint): Buffer {
  const b = Buffer.from(original);
  let n = 0;
  forEachSymbol(b, (o) => {
    if ((b[o + 4] & 0xf) !== STT_OBJECT || b.readUInt16LE(o + 6) === 0) return;
    b.writeUInt16LE(SHN_ABS, o + 6);
    b.writeBigUInt64LE(size, o + 16);
    if (value !== undefined) b.writeBigUInt64LE(value, o + 8);
    n++;
  });
  assert.ok(n > 0, 'the library has defined OBJECT symbols to mutate');
  return b;
}

describe('crafted ELF input: the reported hangs', () => {
  const libz = () => {
    if (!LIBZ) assert.fail('libz.so.1 is missing (zlib1g is part of every Debian system)');
    return bases[0].bytes;
  };

  test('a libz whose .init_array size is 2^64-1 is analysed in bounded time', async () => {
    const b = Buffer.from(libz());
    const i = sectionIndexOfType(b, SHT_INIT_ARRAY);
    assert.ok(i > 0, 'libz has an .init_array');
    setSectionField(b, i, 32, (1n << 64n) - 1n);
    assertFinished(await runner.run({ file: writeCase(dir, 'init-array.so', b), engine: true }), '.init_array size 2^64-1');
  });

  test('a libz whose .init_array address is 2^64-1 (past 2^53, where slot + 8 === slot) is analysed in bounded time', async () => {
    const b = Buffer.from(libz());
    setSectionField(b, sectionIndexOfType(b, SHT_INIT_ARRAY), 16, (1n << 64n) - 1n);
    assertFinished(await runner.run({ file: writeCase(dir, 'init-array-addr.so', b), engine: true }), '.init_array address 2^64-1');
  });

  test('ABS OBJECT symbols of size 0xff000000 are analysed in bounded time', async () => {
    const b = absObjects(libz(), 0xff000000n);
    assertFinished(await runner.run({ file: writeCase(dir, 'abs-ff.so', b), engine: true }), 'ABS OBJECT size 0xff000000');
  });

  test('ABS OBJECT symbols of size 2^63 are analysed in bounded time', async () => {
    const b = absObjects(libz(), 1n << 63n);
    assertFinished(await runner.run({ file: writeCase(dir, 'abs-63.so', b), engine: true }), 'ABS OBJECT size 2^63');
  });

  test('sized OBJECT symbols spanning the whole address space, in the gcc-built library', async () => {
    const b = absObjects(bases[bases.length - 1].bytes, (1n << 63n) - 1n, 0n);
    assertFinished(await runner.run({ file: writeCase(dir, 'ept-abs.so', b), engine: true }), 'ABS OBJECT at 0 of size 2^63-1');
  });
});

test('analyze on a live python3 that loaded the crafted libz (.init_array size 2^64-1) ends, in a child with a time limit', async () => {
  if (!LIBZ) assert.fail('libz.so.1 is missing');
  const b = Buffer.from(bases[0].bytes);
  setSectionField(b, sectionIndexOfType(b, SHT_INIT_ARRAY), 32, (1n << 64n) - 1n);
  // The dynamic linker reads DT_INIT_ARRAYSZ, not the section headers: the copy loads and runs normally.
  const lib = writeCase(dir, 'libz-crafted.so.1', b);
  const py = await startProcess(DEBIAN_PYTHON, ['-c', `import ctypes, time; ctypes.CDLL(${JSON.stringify(lib)}); print("READY", flush=True); time.sleep(600)`]);
  try {
    const cli = path.join(REPO_ROOT, 'dist', 'cli.js');
    assert.ok(fs.existsSync(cli), 'dist/cli.js is built (node esbuild.mjs)');
    const r = spawnSync(process.execPath, [cli, 'analyze', '--pid', String(py.pid), '--no-full-scan', '--json', '--quiet'], {
      encoding: 'utf8',
      timeout: 120_000,
      killSignal: 'SIGKILL',
      maxBuffer: 64 << 20,
    });
    assert.equal(r.signal, null, `analyze was killed after 120 s (it hung); stderr: ${r.stderr?.slice(-500)}`);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { notes: string[] };
    assert.ok(
      report.notes.some((n) => /libz-crafted\.so\.1 states 1 size\(s\).*\.init_array/.test(n)),
      `a note names the bounded .init_array: ${JSON.stringify(report.notes)}`,
    );
  } finally {
    await py.stop();
  }
});

test('isCancelled is polled inside a long data scan, not only between functions', () => {
  // One function, whose indirect call through a 2^21-slot table makes the walk scan the table: before, the
  // walk polled only every 64 functions, so this one-function walk could not be stopped at all.
  const lib = buildC('c/big_table.c', { shared: true, flags: ['-O2'], outName: 'libbig_table.so' });
  const space = new StaticAddressSpace([lib], { hostIfuncs: false, maxObjects: 1 });
  try {
    const m = space.mainModule()!;
    const root = [{ address: m.elf.findSymbol('call_one')!.value + m.bias, reason: 'call_one' }];
    let polls = 0;
    const whole = executionPathTracking(space, root, { isCancelled: () => (polls++, false) });
    assert.equal(whole.functionsVisited, 1);
    assert.ok(polls >= 16, `polled ${polls} times while scanning 2^21 slots`);
    const stopped = executionPathTracking(space, root, { isCancelled: () => true });
    assert.equal(stopped.cancelled, true, 'the walk stopped inside the scan');
  } finally {
    space.close();
  }
});

/** Hangs a longer run found (PYGRATION_FUZZ_SEED=777, 3000 cases), replayed in every run. */
const FOUND: Array<[base: string, seed: number]> = [
  ['ept_lib', 998],
  ['libz', 1745],
  ['libz', 1919],
  ['libz', 2463],
];

describe('cases found by longer runs', () => {
  for (const [name, seed] of FOUND) {
    test(`${name} seed ${seed}`, async () => {
      const base = bases.find((b) => b.name === name);
      if (!base) assert.fail(`${name} is missing`);
      const { bytes, changes } = mutate(base.bytes, seed);
      assertFinished(await runner.run({ file: writeCase(dir, `found-${name}-${seed}.so`, bytes), engine: true }), changes.join('; '));
    });
  }
});

describe(`seeded mutations of real libraries (${CASES} cases from seed ${SEED}, ${LIMIT_MS} ms each)`, () => {
  test('the reader and the engine neither crash nor hang', async () => {
    const counts = { ok: 0, rejected: 0, crash: 0, hang: 0 };
    const failures: string[] = [];
    let slowest = 0;
    for (let n = 0; n < CASES; n++) {
      const base = bases[n % bases.length];
      const seed = SEED + n;
      const { bytes, changes } = mutate(base.bytes, seed);
      const file = writeCase(dir, `${base.name}-${seed}.so`, bytes);
      const r = await runner.run({ file, engine: true });
      fs.rmSync(file, { force: true });
      counts[r.outcome]++;
      slowest = Math.max(slowest, r.ms);
      if (r.outcome === 'crash' || r.outcome === 'hang') {
        failures.push(`${base.name} seed ${seed} (${changes.join('; ')}): ${r.outcome} after ${r.ms} ms\n${r.detail ?? ''}`);
      }
    }
    console.log(`fuzz: ${JSON.stringify(counts)}, slowest case ${slowest} ms`);
    assert.equal(failures.length, 0, failures.slice(0, 5).join('\n\n'));
  });
});
