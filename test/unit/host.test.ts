// Tests of the host collector: the hand-assembled probe ELF (checked with readelf and objdump), its xtest
// answer against an independent gcc-built check, its CPUID words against a C fixture, the fault and
// timeout paths, clean-up and caching, the /proc/cpuinfo parser, and the CPUID table against this CPU.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildProbeElf, collectHost, hostFeatures, probeHost, PROBE_CODE, runProbe } from '../../native/src/features/host';
import { canonicalFlags, CPUID_BITS, CPUINFO_HIDDEN, parseCpuinfo } from '../../native/src/features/cpuinfo';
import { isNativeError } from '../../native/src/errors';
import { buildC, haveCommand, hostFlags } from '../helpers/fixtures';
import { dumpCpuid, featureBit } from '../helpers/cpuid';
import { skipUnless } from '../helpers/skip';

function withTmp<T>(fn: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-host-test-'));
  try {
    return fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The answer of the independent check: _xtest() compiled by gcc, run under a SIGILL handler. */
function fixtureXtest(): boolean {
  const exe = buildC('c/xtest_check.c', { flags: ['-mrtm'] });
  const out = execFileSync(exe, { encoding: 'utf8' }).trim();
  assert.match(out, /^xtest=[01]$/);
  return out === 'xtest=1';
}

test('the probe is a well-formed static ELF64 x86-64 executable (readelf)', { skip: skipUnless(haveCommand('readelf'), 'readelf not installed') }, () => {
  withTmp((dir) => {
    const elf = buildProbeElf();
    const file = path.join(dir, 'probe');
    fs.writeFileSync(file, elf);
    const h = execFileSync('readelf', ['-h', '-W', file], { encoding: 'utf8' });
    assert.match(h, /Class:\s+ELF64/);
    assert.match(h, /Data:\s+2's complement, little endian/);
    assert.match(h, /Type:\s+EXEC/);
    assert.match(h, /Machine:\s+Advanced Micro Devices X86-64/);
    assert.match(h, /Entry point address:\s+0x400078/);
    assert.match(h, /Number of program headers:\s+1/);
    assert.match(h, /Number of section headers:\s+0/);
    const l = execFileSync('readelf', ['-l', '-W', file], { encoding: 'utf8' });
    const load = /LOAD\s+0x0+\s+0x0*400000\s+0x0*400000\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+R E\s+0x1000/.exec(l);
    assert.ok(load, l);
    assert.equal(Number(load[1]), elf.length);
    assert.equal(Number(load[2]), elf.length);
    const all = spawnSync('readelf', ['-a', '-W', file], { encoding: 'utf8' });
    assert.equal(all.status, 0);
    assert.doesNotMatch(all.stdout + all.stderr, /Error|Warning/i);
  });
});

test('the hand-assembled code disassembles to the documented instructions (objdump)', { skip: skipUnless(haveCommand('objdump'), 'objdump not installed') }, () => {
  withTmp((dir) => {
    const file = path.join(dir, 'code.bin');
    fs.writeFileSync(file, Buffer.from(PROBE_CODE));
    const out = execFileSync('objdump', ['-D', '-b', 'binary', '-m', 'i386:x86-64', '-M', 'intel', file], { encoding: 'utf8' });
    const ins = out
      .split('\n')
      .map((l) => /^\s+[0-9a-f]+:\s+(?:[0-9a-f]{2} )+\s*(.+)$/.exec(l)?.[1]?.replace(/\s+/g, ' ').trim())
      .filter((x): x is string => !!x);
    const movs = (base: number) => ['eax', 'ebx', 'ecx', 'edx'].map((r, i) => `mov DWORD PTR [rsp${base + 4 * i ? `+0x${(base + 4 * i).toString(16)}` : ''}],${r}`);
    assert.deepEqual(ins, [
      'sub rsp,0x60',
      'xor eax,eax',
      'xor ecx,ecx',
      'cpuid',
      ...movs(0),
      'mov eax,0x7',
      'xor ecx,ecx',
      'cpuid',
      ...movs(16),
      'mov eax,0x7',
      'mov ecx,0x1',
      'cpuid',
      ...movs(32),
      'mov eax,0x1',
      'xor ecx,ecx',
      'cpuid',
      ...movs(48),
      'mov eax,0x80000001',
      'xor ecx,ecx',
      'cpuid',
      ...movs(64),
      'mov eax,0x1',
      'mov edi,0x1',
      'mov rsi,rsp',
      'mov edx,0x50',
      'syscall',
      'xtest',
      'mov eax,0x3c',
      'xor edi,edi',
      'syscall',
    ]);
  });
});

test('the probe answers xtest like an independent gcc-built check, and reads the same CPUID words', async () => {
  // The probe writes under os.tmpdir(), which follows TMPDIR: a private one, so that other pygration processes on the
  // machine (another test run, the language server, a CLI) cannot put or remove probe directories where we look.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'host-test-'));
  const savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  let r: Awaited<ReturnType<typeof runProbe>>;
  try {
    assert.equal(os.tmpdir(), tmp);
    r = await runProbe();
  } finally {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
  }
  const left = fs.readdirSync(tmp);
  fs.rmSync(tmp, { recursive: true, force: true });
  assert.equal(r.error, undefined, r.error);
  assert.equal(r.xtest, fixtureXtest());
  const dump = dumpCpuid([[0, 0], [7, 0], [7, 1], [1, 0], [0x80000001, 0]]);
  // CPUID(1).EBX holds the initial APIC id of the CPU it ran on, which differs between runs: compared without it.
  const noApic = (w: number[] | undefined) => w && [w[0], w[1] & 0x00ffffff, w[2], w[3]];
  assert.deepEqual(
    { ...r.cpuid, leaf1: noApic(r.cpuid?.leaf1) },
    { leaf0: dump.get('0:0'), leaf7: dump.get('7:0'), leaf7s1: dump.get('7:1'), leaf1: noApic(dump.get('1:0')), ext1: dump.get('80000001:0') },
  );
  assert.deepEqual(left, [], 'the probe removes its temporary directory');
  console.log(`# this host: xtest ${r.xtest ? 'executes' : 'faults'}; rtm in cpuinfo: ${hostFlags().has('rtm')}`);
});

test('a faulting instruction is reported as absent, a hang as a probe error (xtest then assumed present)', async () => {
  const xtestAt = PROBE_CODE.length - 12;
  assert.deepEqual(PROBE_CODE.slice(xtestAt, xtestAt + 3), [0x0f, 0x01, 0xd6]);
  // ud2 in place of xtest (padded with a nop) always raises SIGILL.
  const ud2 = [...PROBE_CODE.slice(0, xtestAt), 0x0f, 0x0b, 0x90, ...PROBE_CODE.slice(xtestAt + 3)];
  const faulted = await runProbe({ code: ud2 });
  assert.equal(faulted.error, undefined);
  assert.equal(faulted.xtest, false);
  assert.ok(faulted.cpuid);
  // jmp $ loops forever: the timeout kills it.
  const hung = await runProbe({ code: [0xeb, 0xfe], timeoutMs: 300 });
  assert.equal(hung.xtest, true);
  assert.match(hung.error ?? '', /SIGKILL/);
});

test('the probe runs once per boot', async () => {
  const a = probeHost();
  const b = probeHost();
  assert.equal(a, b);
  assert.deepEqual(await a, await runProbe());
});

test('collectHost: model, vendor, canonical flags, CPUID-only features and the xtest answer', async () => {
  const host = await collectHost();
  const info = parseCpuinfo(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  assert.equal(host.cpu, info.model);
  assert.equal(host.vendor, info.vendor);
  assert.equal(host.probeError, undefined);
  const fromCpuinfo = canonicalFlags(hostFlags());
  for (const f of fromCpuinfo) assert.ok(host.flags.has(f), f);
  for (const f of host.flags) if (!fromCpuinfo.has(f)) assert.ok(host.fromCpuid.includes(f), f);
  const dump = dumpCpuid([[7, 0], [7, 1], [1, 0], [0x80000001, 0]]);
  for (const f of host.fromCpuid) {
    assert.ok(CPUINFO_HIDDEN.has(f), `${f} is not hidden by /proc/cpuinfo`);
    assert.ok(featureBit(f, dump), f);
  }
  // Masked: CPUID says 1, the kernel could print it and does not; never among the host's features.
  for (const f of host.masked) {
    assert.ok(!CPUINFO_HIDDEN.has(f) && featureBit(f, dump) && !fromCpuinfo.has(f) && !host.flags.has(f), f);
  }
  assert.ok(!host.flags.has('constant_tsc') && !host.flags.has('hypervisor'));
  assert.equal(host.xtest, fixtureXtest());
  assert.equal(hostFeatures(host).has('xtest'), host.xtest);
  console.log(`# this host: ${host.cpu} (${host.vendor}), ${host.flags.size} canonical features, from CPUID: ${host.fromCpuid.join(' ') || '-'}, masked: ${host.masked.join(' ') || '-'}`);
});

test('every canonical flag the kernel prints has its CPUID bit set on this CPU', () => {
  const pairs: [number, number][] = [...CPUID_BITS.values()].map((b) => [b.leaf, b.subleaf]);
  const dump = dumpCpuid(pairs);
  const flags = canonicalFlags(hostFlags());
  for (const f of flags) if (f !== 'xtest') assert.ok(featureBit(f, dump), `${f} is in /proc/cpuinfo but CPUID bit ${f} is 0`);
  // The other direction can differ (hidden flags, features the kernel disabled); shown for information.
  const onlyCpuid = [...CPUID_BITS.keys()].filter((f) => featureBit(f, dump) && !flags.has(f));
  console.log(`# CPUID bit set but not in /proc/cpuinfo: ${onlyCpuid.join(' ') || '-'}`);
  for (const f of onlyCpuid) if (!CPUINFO_HIDDEN.has(f)) console.log(`#   ${f}: not hidden by the kernel, so disabled by it or by the hypervisor`);
});

test('parseCpuinfo reads the first processor, and rejects text without flags', () => {
  const text = [
    'processor\t: 0',
    'vendor_id\t: AuthenticAMD',
    'model name\t: AMD EPYC 7R13 Processor',
    'flags\t\t: fpu sse2 avx2 constant_tsc sha_ni',
    '',
    'processor\t: 1',
    'vendor_id\t: AuthenticAMD',
    'model name\t: something else',
    'flags\t\t: fpu',
    '',
  ].join('\n');
  const p = parseCpuinfo(text);
  assert.equal(p.model, 'AMD EPYC 7R13 Processor');
  assert.equal(p.vendorId, 'AuthenticAMD');
  assert.equal(p.vendor, 'amd');
  assert.deepEqual([...p.flags], ['fpu', 'sse2', 'avx2', 'constant_tsc', 'sha_ni']);
  assert.deepEqual([...canonicalFlags(p.flags)].sort(), ['avx2', 'fpu', 'sha_ni', 'sse2']);
  assert.throws(() => parseCpuinfo('processor : 0\nBogoMIPS : 100\n', 'x'), (e) => isNativeError(e) && e.kind === 'malformed');
  assert.deepEqual(parseCpuinfo(fs.readFileSync('/proc/cpuinfo', 'utf8')).flags, hostFlags());
});

test('collectHost from another cpuinfo file does not probe this machine', async () => {
  await withTmp(async (dir) => {
    const file = path.join(dir, 'cpuinfo');
    fs.writeFileSync(file, 'vendor_id : GenuineIntel\nmodel name : Intel(R) Xeon(R) Platinum 8259CL\nflags : fpu avx2 rtm hypervisor\n');
    const h = await collectHost({ cpuinfoPath: file });
    assert.equal(h.vendor, 'intel');
    assert.deepEqual([...h.flags].sort(), ['avx2', 'fpu', 'rtm']);
    assert.equal(h.xtest, true, 'unknown xtest is assumed present on the source (the safe side)');
    assert.match(h.probeError ?? '', /not run/);
    await assert.rejects(collectHost({ cpuinfoPath: path.join(dir, 'nope') }), (e) => isNativeError(e) && e.kind === 'io');
  });
});
