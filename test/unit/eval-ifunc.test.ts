// The widened oracle of the evaluation (eval/lib/ifunc.mjs) on a real process: a small C program calling memcpy and
// strlen, IFUNCs in glibc, through its PLT. Which variants glibc picks depends on the host: the test reads them from
// the dynamic linker (dlsym in the fixture) and checks their bodies with binutils' objdump, never by name.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT, buildC, haveCommand, startProcess } from '../helpers/fixtures';
import { hostSkipUnless, skipUnless } from '../helpers/skip';

interface Variant {
  variant: string;
  address: string;
  name: string | null;
  ifuncs: string[];
  slots: { module: string; type: string }[];
  extents: string[];
  seen: { instructions: number; pltStubs: number };
  features: string[];
}
interface Decoded {
  instructions: { address: number; module: string; features: string[] }[];
  features: Map<string, unknown>;
  view: { close(): void };
}
interface Evidence {
  count: number;
  functions: Map<string, number>;
  sites: { at: string; instruction?: string }[];
}

const importEval = async <T>(file: string): Promise<T> => (await import(pathToFileURL(path.join(REPO_ROOT, 'eval', 'lib', file)).href)) as T;

function ptraceAllowed(): boolean {
  try {
    return Number(fs.readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim()) < 3;
  } catch {
    return true; // no Yama
  }
}

/** The [start, end) link-time ranges of a variant's body, as ifuncVariants lists them. */
const ranges = (v: Variant): [number, number][] => v.extents.map((e) => e.split('-').map((x) => Number.parseInt(x, 16)) as [number, number]);

/**
 * The mnemonics binutils decodes in the variant's entry extent of `file` (link-time addresses): an independent
 * decoder, to tell a vector variant (VEX/EVEX `v...` instructions) from a scalar or SSE2 one.
 */
function objdumpMnemonics(file: string, start: number, end: number): string[] {
  const text = execFileSync('objdump', ['-d', '--no-show-raw-insn', `--start-address=0x${start.toString(16)}`, `--stop-address=0x${end.toString(16)}`, file], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return text
    .split('\n')
    .map((l) => /^\s+[0-9a-f]+:\s+(\S+)/.exec(l)?.[1])
    .filter((m): m is string => m !== undefined);
}

/** The file mapped at a runtime address of process `pid` (from /proc/PID/maps). */
function mappedFile(pid: number, address: number): string {
  for (const line of fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s+(\/.*)$/.exec(line);
    if (m && address >= Number.parseInt(m[1], 16) && address < Number.parseInt(m[2], 16)) return m[3];
  }
  throw new Error(`0x${address.toString(16)} is in no mapped file of ${pid}`);
}

const why =
  skipUnless(haveCommand('gcc'), 'gcc is not installed') ||
  skipUnless(haveCommand('objdump'), 'binutils (objdump) is not installed') ||
  hostSkipUnless(ptraceAllowed(), 'ptrace is disabled (kernel.yama.ptrace_scope = 3)') ||
  undefined;

test('widened oracle: the IFUNC variants a process calls through its GOT, their whole bodies, and not the ones it does not call', { skip: why ?? false, timeout: 120_000 }, async () => {
  const exe = buildC('c/ifunc_calls.c', { flags: ['-fno-builtin'], link: ['-ldl'] });
  const { buildOracle, buildLauncher } = await importEval<{ buildOracle(): string; buildLauncher(): string }>('build.mjs');
  const oracle = await importEval<{
    traceWindows(tracer: string, pid: number, o: object): Promise<{ addresses: number[] }>;
    decodeTrace(pid: number, addresses: number[]): Decoded;
  }>('oracle.mjs');
  const { ifuncVariants } = await importEval<{ ifuncVariants(d: Decoded): { variants: Variant[]; features: Map<string, Evidence>; notes: string[] } }>('ifunc.mjs');
  const tracer = buildOracle();
  // Bound at start (as the workloads run), so the slot of memset, called once before READY, is bound too. Started
  // through the evaluation's launcher, which lets the tracer (a sibling) attach where Yama's ptrace_scope is 1.
  const proc = await startProcess(buildLauncher(), [exe], { env: { ...process.env, LD_BIND_NOW: '1' } });
  try {
    const picks = Object.fromEntries([...proc.stdout().matchAll(/(\w+)=0x([0-9a-f]+)/g)].map((m) => [m[1], Number.parseInt(m[2], 16)]));
    assert.ok(picks.memcpy && picks.strlen && picks.memset, `the fixture printed its picks: ${proc.stdout()}`);
    const trace = await oracle.traceWindows(tracer, proc.pid, { windows: 2, steps: 20_000, seconds: 20, pauseMs: 50 });
    const decoded = oracle.decodeTrace(proc.pid, trace.addresses);
    let wide;
    try {
      wide = ifuncVariants(decoded);
    } finally {
      decoded.view.close();
    }
    const at = (a: number) => wide.variants.find((v) => Number.parseInt(v.address, 16) === a);
    const base = path.basename(exe);
    for (const name of ['memcpy', 'strlen', 'memset']) {
      const v = at(picks[name]);
      // The pick the dynamic linker reports is the variant bound in the fixture's own GOT slot for it.
      assert.ok(v, `${name}'s pick 0x${picks[name].toString(16)} is a bound variant (${wide.variants.map((x) => `${x.address} ${x.ifuncs.join('/')}`).join(', ')})`);
      assert.ok(v.ifuncs.includes(name), `${v.variant} is selected for ${name} (${v.ifuncs.join(', ')})`);
      assert.ok(v.slots.some((s) => s.module === base && s.type === 'JUMP_SLOT'), `${v.variant} is bound in ${base}'s JUMP_SLOT for ${name}`);
    }

    const memcpy = at(picks.memcpy)!;
    const strlen = at(picks.strlen)!;
    const memset = at(picks.memset)!;
    // Called in the loop: seen, both by their own instructions and by the PLT stubs that jump through the slots.
    for (const v of [memcpy, strlen]) {
      assert.ok(v.seen.instructions > 0, `${v.variant} (${v.ifuncs.join('/')}) was seen executing`);
      assert.ok(v.seen.pltStubs > 0, `a PLT stub through ${v.variant}'s slot was seen executing`);
    }
    // memset ran only before READY: bound, never seen, so it adds nothing.
    assert.deepEqual([memset.seen, memset.features], [{ instructions: 0, pltStubs: 0 }, []], 'memset is bound but not seen and adds no feature');
    for (const [f, ev] of wide.features) {
      for (const fn of ev.functions.keys()) assert.ok(!fn.startsWith(memset.variant), `${f} comes from ${fn}, not from memset's variant`);
    }

    // The whole body: every feature an executed instruction of a seen variant carries is among the variant's.
    for (const v of [memcpy, strlen]) {
      const runtime = Number.parseInt(v.address, 16);
      const [start] = ranges(v)[0];
      const bias = runtime - start;
      const ran = new Set(decoded.instructions.filter((i) => ranges(v).some(([s, e]) => i.address >= s + bias && i.address < e + bias)).flatMap((i) => i.features));
      for (const f of ran) assert.ok(v.features.includes(f), `${v.variant}: ${f}, seen executing, is in its body's features (${v.features.join(' ')})`);
      for (const f of v.features) assert.ok(wide.features.has(f), `${f} of ${v.variant} is in the widened set`);
    }

    // Host-derived: binutils decodes the memcpy variant's entry; if it holds VEX/EVEX vector instructions (an AVX,
    // AVX2 or AVX-512 variant), its body must carry an AVX-family feature, though the loop copies 1 to 4 bytes.
    const libc = mappedFile(proc.pid, picks.memcpy);
    const [s0, e0] = ranges(memcpy)[0];
    const mnemonics = objdumpMnemonics(libc, s0, e0);
    assert.ok(mnemonics.length > 5, `objdump decoded ${memcpy.variant} in ${libc}`);
    if (mnemonics.some((m) => /^v/.test(m))) {
      assert.ok(memcpy.features.some((f) => /^avx/.test(f)), `${memcpy.variant} holds ${mnemonics.filter((m) => /^v/.test(m)).slice(0, 3).join(', ')}: an AVX-family feature (${memcpy.features.join(' ')})`);
    }
  } finally {
    await proc.stop();
  }
});
