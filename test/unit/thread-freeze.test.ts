// Exact thread roots: the pygration-freeze helper (ptrace) on a real gcc-built process with a running and a
// blocked thread, CFI unwinding of their live frames, the region-scan fallback when ptrace is refused, and
// that no thread is ever left stopped (after an analysis, a cancelled one, a killed or timed-out helper).

import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { buildC, DEBIAN_PYTHON, debianPythonHas, startProcess, type StartedProcess } from '../helpers/fixtures';
import { ProcessView } from '../../native/src/space/processView';
import { ProcessAddressSpace } from '../../native/src/space/processSpace';
import { threadRoots, unwindFrames } from '../../native/src/trace/pvm';
import { analyzeProcess } from '../../native/src/analyze';
import { CancelledError } from '../../native/src/errors';
import { FREEZE_HELPER_ENV, freezeThreads } from '../../native/src/space/threadFreezer';
import type { AddressSpace } from '../../native/src/space/space';
import { ElfFile } from '../../native/src/elf/elfFile';
import { FileByteSource } from '../../native/src/elf/byteSource';
import { cfiTableOf, DWARF_RA, DWARF_RSP } from '../../native/src/elf/cfi';

/** The helper built from its source, so the suite does not depend on dist/ being built. */
const HELPER = buildC('../../native/ptrace/pygration-freeze.c', { outName: 'pygration-freeze' });

/** The one-letter state of every thread of pid (t = stopped by a tracer, T = stopped by a signal). */
function threadStates(pid: number): Map<number, string> {
  const out = new Map<number, string>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      out.set(Number(tid), stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]);
    } catch {
      // The thread exited.
    }
  }
  return out;
}

function assertNotTraceStopped(pid: number, when: string): void {
  for (const [tid, state] of threadStates(pid)) assert.notEqual(state, 't', `thread ${tid} is left stopped by a tracer ${when}`);
}

/** Polls until `cond` holds or the deadline passes (no fixed sleeps). */
async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Runtime [start, end) of a function of the main executable. */
function extent(space: AddressSpace, name: string): { start: number; end: number } {
  const m = space.mainModule()!;
  const s = m.elf.findSymbol(name);
  assert.ok(s && s.size > 0, `${name} has a sized symbol`);
  return { start: s.value + m.bias, end: s.value + m.bias + s.size };
}

const within = (a: number, r: { start: number; end: number }) => a >= r.start && a < r.end;

describe('exact thread roots with ptrace', () => {
  let fixture: string;
  let proc: StartedProcess;

  before(async () => {
    fixture = buildC('c/thread_freeze.c', { flags: ['-pthread'] });
    proc = await startProcess(fixture, []);
    // The second thread must be blocked in read() before the test looks at it.
    await waitFor(() => threadStates(proc.pid).size === 2, 10_000, 'the blocked thread');
  });
  after(async () => {
    await proc?.stop();
  });

  test('the helper reads every thread\'s registers and leaves them running', () => {
    const f = freezeThreads(proc.pid, { helperPath: HELPER });
    assert.equal(f.unavailable, undefined);
    assert.deepEqual([...f.threads.keys()].sort(), [...threadStates(proc.pid).keys()].sort());
    for (const t of f.threads.values()) assert.ok(t.rsp > 0 && t.rip > 0x10000);
    assertNotTraceStopped(proc.pid, 'after the helper ran');
  });

  test('the running thread\'s pc is a root and the stale return address below sp is not', () => {
    const view = new ProcessView(proc.pid);
    const space = new ProcessAddressSpace(view);
    const spin = extent(space, 'spin');
    const stale = extent(space, 'stale_caller');
    const main = extent(space, 'main');
    const freeze = freezeThreads(proc.pid, { helperPath: HELPER });
    const r = threadRoots(view, space, { freeze });
    assert.equal(r.frozenThreads, 2);
    assert.equal(r.runningThreads, 0);
    // Both chains end in an outermost frame (_start, and clone's thread start): CFI unwound them completely.
    assert.equal(r.unwoundThreads, 2, JSON.stringify(r.roots.map((x) => x.reason)));
    const pc = r.roots.find((x) => x.reason.startsWith(`current pc of thread ${proc.pid} (main)`));
    const busy = ['leaf', 'path_small', 'path_large'].map((f) => extent(space, f));
    assert.ok(pc && [spin, ...busy].some((f) => within(pc.address, f)), `the main thread's pc ${pc?.address.toString(16)} is in its busy loop`);
    assert.ok(r.roots.some((x) => within(x.address, main) && /live frame/.test(x.reason)), 'spin() returns into main(), a live frame');
    const staleRoots = r.roots.filter((x) => within(x.address, stale));
    assert.deepEqual(staleRoots, [], 'no return address into stale_caller, which returned at start-up');
    assertNotTraceStopped(proc.pid, 'after threadRoots');
  });

  test('a busy thread whose frames change from call to call is unwound to its outermost frame every time', () => {
    // The stack is copied while the thread is frozen; read later, its frames would belong to another call.
    const view = new ProcessView(proc.pid);
    const space = new ProcessAddressSpace(view);
    const spin = extent(space, 'spin');
    for (let i = 0; i < 30; i++) {
      const f = freezeThreads(proc.pid, { helperPath: HELPER });
      const regs = f.threads.get(proc.pid)!;
      const walk = unwindFrames(space, regs);
      assert.ok(walk.complete, `freeze ${i}: unwound to _start`);
      assert.ok(walk.returns.some((a) => within(a, spin)) || within(regs.rip, spin), `freeze ${i}: the chain passes through spin()`);
    }
    assertNotTraceStopped(proc.pid, 'after 30 freezes');
  });

  test('the region scan of today (threads not frozen) does find the stale return address', () => {
    // Proves the fixture plants what the ptrace path must not see.
    const view = new ProcessView(proc.pid);
    const space = new ProcessAddressSpace(view);
    const r = threadRoots(view, space, { freeze: false });
    assert.equal(r.frozenThreads, 0);
    assert.ok(r.runningThreads >= 1);
    assert.ok(r.roots.some((x) => within(x.address, extent(space, 'stale_caller'))));
  });

  test('a cancelled analysis leaves every thread running', async () => {
    process.env[FREEZE_HELPER_ENV] = HELPER;
    try {
      await assert.rejects(
        analyzeProcess(proc.pid, { withFullScan: false, isCancelled: () => true }),
        (e) => e instanceof CancelledError,
      );
    } finally {
      delete process.env[FREEZE_HELPER_ENV];
    }
    assertNotTraceStopped(proc.pid, 'after a cancelled analysis');
  });

  test('the analysis says the threads were frozen, and leaves them running', async () => {
    process.env[FREEZE_HELPER_ENV] = HELPER;
    try {
      const { report } = await analyzeProcess(proc.pid, { withFullScan: false });
      assert.ok(report.notes.some((n) => /2 of 2 thread\(s\) were frozen with ptrace/.test(n)), report.notes.join('\n'));
      assert.ok(!report.notes.some((n) => /were running, so their pc was unknown/.test(n)), report.notes.join('\n'));
    } finally {
      delete process.env[FREEZE_HELPER_ENV];
    }
    assertNotTraceStopped(proc.pid, 'after an analysis');
  });

  test('a process stopped by a signal stays stopped', async () => {
    process.kill(proc.pid, 'SIGSTOP');
    try {
      await waitFor(() => [...threadStates(proc.pid).values()].every((s) => s === 'T'), 5_000, 'the group stop');
      // The spinning thread's counter shows whether any user code ran while the process should have been stopped.
      const space = new ProcessAddressSpace(new ProcessView(proc.pid));
      const counter = extent(space, 'counter').start;
      const before = space.readPointer(counter);
      const f = freezeThreads(proc.pid, { helperPath: HELPER });
      assert.equal(f.threads.size, 2, JSON.stringify(f));
      assert.ok([...f.threads.values()].every((t) => t.stop === 'group-stop'));
      // Detached, each thread goes back to its group stop (through the kernel, for a moment): never to user code.
      await waitFor(() => [...threadStates(proc.pid).values()].every((s) => s === 'T'), 5_000, 'the threads to be back in their group stop');
      assert.equal(space.readPointer(counter), before, 'the spinning thread did not run');
    } finally {
      process.kill(proc.pid, 'SIGCONT');
    }
    await waitFor(() => [...threadStates(proc.pid).values()].every((s) => s !== 'T' && s !== 't'), 5_000, 'SIGCONT');
  });

  test('a helper killed while it holds the threads frozen releases them', async () => {
    const h = spawn(HELPER, [String(proc.pid), '--hold-ms', '20000', '--timeout-ms', '30000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    h.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await waitFor(() => err.includes('frozen'), 10_000, 'the helper to freeze the threads');
      // While it holds them, the threads really are stopped by a tracer.
      assert.ok([...threadStates(proc.pid).values()].every((s) => s === 't'), JSON.stringify([...threadStates(proc.pid)]));
      const exited = new Promise((r) => h.once('exit', r));
      h.kill('SIGKILL');
      await exited;
      await waitFor(() => [...threadStates(proc.pid).values()].every((s) => s !== 't'), 5_000, 'the kernel to release the threads');
    } finally {
      h.kill('SIGKILL');
    }
  });

  test('the helper\'s hard timeout detaches and exits 124', async () => {
    const h = spawn(HELPER, [String(proc.pid), '--hold-ms', '20000', '--timeout-ms', '300'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const code = await new Promise<number | null>((r) => h.once('exit', (c) => r(c)));
    assert.equal(code, 124);
    assertNotTraceStopped(proc.pid, 'after the helper timed out');
  });
});

describe('exact thread roots when ptrace is refused', () => {
  let proc: StartedProcess;
  let holder: StartedProcess;

  before(async () => {
    proc = await startProcess(buildC('c/thread_freeze.c', { flags: ['-pthread'] }), []);
    await waitFor(() => threadStates(proc.pid).size === 2, 10_000, 'the blocked thread');
    // Another tracer (as gdb would be) holds every thread, without stopping them.
    holder = await startProcess(buildC('c/thread_freeze.c', { flags: ['-pthread'] }), ['hold', String(proc.pid)]);
    assert.match(holder.stdout(), /READY 2/);
  });
  after(async () => {
    await holder?.stop();
    await proc?.stop();
  });

  test('the region scan is kept and the report says why', async () => {
    const f = freezeThreads(proc.pid, { helperPath: HELPER });
    assert.equal(f.threads.size, 0);
    assert.match(f.unavailable ?? '', /ptrace was refused/);
    const view = new ProcessView(proc.pid);
    const space = new ProcessAddressSpace(view);
    const r = threadRoots(view, space, { freeze: f });
    assert.equal(r.frozenThreads, 0);
    assert.ok(r.runningThreads >= 1);
    // The fallback is today's scan, stale return addresses included.
    assert.ok(r.roots.some((x) => within(x.address, extent(space, 'stale_caller'))));

    process.env[FREEZE_HELPER_ENV] = HELPER;
    try {
      const { report } = await analyzeProcess(proc.pid, { withFullScan: false });
      assert.ok(report.notes.some((n) => /^Exact thread roots were not available because ptrace was refused/.test(n)), report.notes.join('\n'));
    } finally {
      delete process.env[FREEZE_HELPER_ENV];
    }
    // Still traced by the holder, never stopped by us.
    assertNotTraceStopped(proc.pid, 'after the refused freeze');
  });
});

test('with greenlet loaded, the stacks above sp are scanned too (a suspended greenlet\'s frames are off the live chain)', { skip: debianPythonHas('greenlet') ? false : 'Debian python3-greenlet is not installed (scripts/setup.sh installs it)' }, async () => {
  const script = [
    'import greenlet',
    'main = greenlet.getcurrent()',
    'def child():',
    '    main.switch()',
    'g = greenlet.greenlet(child)',
    'g.switch()',
    'print("READY", flush=True)',
    'n = 0',
    'while True:',
    '    n += 1',
  ].join('\n');
  const p = await startProcess(DEBIAN_PYTHON, ['-c', script]);
  try {
    const view = new ProcessView(p.pid);
    const space = new ProcessAddressSpace(view);
    const r = threadRoots(view, space, { freeze: freezeThreads(p.pid, { helperPath: HELPER }) });
    assert.equal(r.frozenThreads, 1);
    assert.equal(r.greenletScan, true);
    assert.ok(r.roots.some((x) => /greenlet is loaded/.test(x.reason)), JSON.stringify(r.roots.map((x) => x.reason)));
    assertNotTraceStopped(p.pid, 'after threadRoots');
  } finally {
    await p.stop();
  }
});

test('CFI rows at function entries of real libraries: CFA = rsp + 8, return address at CFA − 8 (the x86-64 call ABI)', () => {
  const libs = ['/lib/x86_64-linux-gnu/libc.so.6', fs.realpathSync(DEBIAN_PYTHON)].filter((p) => fs.existsSync(p));
  assert.ok(libs.length > 0);
  for (const lib of libs) {
    const elf = ElfFile.open(new FileByteSource(lib));
    const table = cfiTableOf(elf);
    assert.ok(table, `${lib} has .eh_frame`);
    const ranges = elf.fdeRanges();
    assert.equal(table.size, ranges.length, `${lib}: the CFI table holds every FDE the extent parser found`);
    // Function entries: FDEs that start at a function symbol (others start mid-function: .cold parts, split code).
    // _start's return address is undefined on purpose: it is the outermost frame.
    const funcs = [...elf.dynamicSymbols(), ...elf.symtabSymbols()].filter((x) => x.type === 2 /* STT_FUNC */ && x.value);
    const outermost = new Set(funcs.filter((x) => x.name === '_start').map((x) => x.value));
    const entries = new Set(funcs.map((x) => x.value).filter((v) => !outermost.has(v)));
    let checked = 0;
    for (const r of ranges) {
      if (!entries.has(r.start)) continue;
      const row = table.rowAt(r.start);
      assert.ok(row, `${lib}: a row at 0x${r.start.toString(16)}`);
      if (row.signalFrame) continue;
      assert.deepEqual(row.cfa, { register: DWARF_RSP, offset: 8 }, `${lib}: CFA at entry 0x${r.start.toString(16)}`);
      assert.deepEqual(row.rules.get(DWARF_RA), { kind: 'offset', offset: -8 }, `${lib}: return address at entry 0x${r.start.toString(16)}`);
      checked++;
    }
    assert.ok(checked > 100, `${lib}: ${checked} entries checked`);
  }
});

test('a zombie group leader (its main thread exited) does not keep the other threads from being frozen', async () => {
  const p = await startProcess(buildC('c/thread_freeze.c', { flags: ['-pthread'] }), ['zombie']);
  try {
    await waitFor(() => threadStates(p.pid).get(p.pid) === 'Z' && threadStates(p.pid).size === 2, 10_000, 'the zombie leader');
    const started = Date.now();
    const f = freezeThreads(p.pid, { helperPath: HELPER });
    assert.ok(Date.now() - started < 1500, 'no wait on the zombie until the hard timeout');
    assert.equal(f.threads.size, 1, JSON.stringify(f));
    assert.ok(!f.threads.has(p.pid));
    assert.ok(f.failed.some((t) => t.tid === p.pid));
    // (ProcessView treats a process whose leader is a zombie as exited: /proc/PID/exe is gone, so no analysis runs.)
    assertNotTraceStopped(p.pid, 'after the freeze');
  } finally {
    await p.stop();
  }
});
