// Tests of the compatibility checker with real data: this host's /proc/cpuinfo flags as the source and the
// shipped AWS catalog as targets — Pygration's verdict, CRIU's host-level baseline, the report summary and
// the CRIU restore advice.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { defaultCatalog, type InstanceType } from '../../native/src/catalog/catalog';
import {
  compatibleInstances,
  criuAdvice,
  criuBaseline,
  criuInstructionFeatures,
  effectiveRequirement,
  maskedFeatures,
  maskedReason,
  summarizeInstances,
  vendorLineup,
} from '../../native/src/catalog/compat';
import { collectHost } from '../../native/src/features/host';
import { canonicalFlags } from '../../native/src/features/cpuinfo';
import { BASELINE, FEATURES } from '../../native/src/features/vocabulary';
import * as path from 'node:path';
import { FIXTURE_SRC, hostFlags } from '../helpers/fixtures';

const catalog = defaultCatalog();
const source = canonicalFlags(hostFlags());
const sourceList = [...source].sort();

function subsetOf(a: Iterable<string>, b: InstanceType): boolean {
  return [...a].every((f) => b.features.includes(f));
}

/** Deterministic pseudo-random subsets of the host's features (a small LCG, so failures reproduce). */
function subsets(count: number): string[][] {
  let x = 12345;
  const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: count }, () => sourceList.filter(() => next() < 0.15));
}

test('a requirement of only baseline features is accepted by every type', () => {
  const r = compatibleInstances(BASELINE, source, catalog);
  assert.equal(r.length, catalog.instances.length);
  for (const x of r) assert.deepEqual([x.compatible, x.missing], [true, []], x.instance.name);
  // Also when the source host is a bare baseline CPU.
  for (const x of compatibleInstances(['sse2', 'cmov'], new Set(BASELINE), catalog)) assert.ok(x.compatible);
});

test('a requirement {avx512f} is refused exactly by the types lacking avx512f (when the host has it)', () => {
  const r = compatibleInstances(['avx512f'], source, catalog);
  for (const x of r) {
    if (source.has('avx512f')) {
      const lacks = !x.instance.features.includes('avx512f');
      assert.equal(x.compatible, !lacks, x.instance.name);
      assert.deepEqual(x.missing, lacks ? ['avx512f'] : []);
    } else {
      // Code for a feature the source lacks cannot be running there: it does not count.
      assert.ok(x.compatible, x.instance.name);
    }
  }
  // With a source that has it, whatever this host is: the refusals are the types without avx512f.
  const refused = compatibleInstances(['avx512f'], new Set(['avx512f']), catalog).filter((x) => !x.compatible);
  assert.deepEqual(
    refused.map((x) => x.instance.name),
    catalog.instances.filter((i) => !i.features.includes('avx512f')).map((i) => i.name),
  );
  assert.ok(refused.length > 0 && refused.length < catalog.instances.length);
});

test('Pygration verdict is exactly (required ∩ source − baseline) ⊆ target, and CRIU-accepted ⊆ Pygration-accepted', () => {
  const reqs = [sourceList, ...sourceList.map((f) => [f]), ...subsets(25)];
  const criu = criuBaseline(source, catalog);
  for (const req of reqs) {
    const ours = compatibleInstances(req, source, catalog);
    const need = req.filter((f) => source.has(f) && !BASELINE.has(f));
    ours.forEach((x, i) => {
      assert.equal(x.instance, catalog.instances[i]);
      assert.equal(x.compatible, subsetOf(need, x.instance), `${x.instance.name} for ${req.join(',')}`);
      assert.deepEqual([...x.missing].sort(), need.filter((f) => !x.instance.features.includes(f)).sort());
      if (criu[i].compatible) assert.ok(x.compatible, `CRIU accepts ${x.instance.name} but Pygration refuses it for ${req.join(',')}`);
    });
  }
  // Features the source lacks never cause a refusal.
  const foreign = Object.keys(FEATURES).filter((f) => !source.has(f) && f !== 'xtest');
  for (const x of compatibleInstances(foreign, source, catalog)) assert.ok(x.compatible);
  assert.deepEqual(effectiveRequirement(['avx2', 'sse2', 'not_on_host_xyz'], new Set(['avx2', 'sse2'])), ['avx2']);
});

test("CRIU's baseline compares the source's instruction features only, and refuses what Pygration accepts", () => {
  const flags = ['avx2', 'constant_tsc', 'hypervisor', 'nopl', 'rep_good', 'xtest', 'sse2', 'ibrs'];
  assert.deepEqual(criuInstructionFeatures(flags).sort(), ['avx2', 'sse2']);
  // Source = a Zen 4 type: CRIU accepts exactly the types that have every one of its features.
  const zen4 = catalog.instances.find((i) => i.name === 'm7a.large')!;
  const src = new Set(zen4.features);
  const criu = criuBaseline(src, catalog);
  criu.forEach((x) => assert.equal(x.compatible, criuInstructionFeatures(zen4.features).every((f) => x.instance.features.includes(f)), x.instance.name));
  assert.ok(criu.find((x) => x.instance.name === 'm7a.large')!.compatible);
  // A workload that needs only AVX2 could go to every AVX2 type; CRIU keeps it on Zen 4.
  const ours = compatibleInstances(['avx2', 'fma'], src, catalog).filter((x) => x.compatible).length;
  const theirs = criu.filter((x) => x.compatible).length;
  assert.ok(ours > theirs * 3, `${ours} vs ${theirs}`);
  console.log(`# source m7a.large, requirement {avx2, fma}: Pygration accepts ${ours} types, CRIU ${theirs}`);
});

test('xtest is the one exception: CRIU cannot see it, so CRIU may accept a type that lacks it', () => {
  const m5 = catalog.instances.find((i) => i.name === 'm5.large')!;
  const src = new Set([...m5.features, 'xtest']);
  const criu = criuBaseline(src, catalog).find((x) => x.instance.name === 'm5.large')!;
  const ours = compatibleInstances(['xtest'], src, catalog).find((x) => x.instance.name === 'm5.large')!;
  assert.equal(criu.compatible, true);
  assert.deepEqual([ours.compatible, ours.missing], [false, ['xtest']]);
});

test('summarizeInstances fills the report shape consistently, with the optional full-scan verdict', () => {
  const required = subsets(1)[0];
  const s = summarizeInstances({ required, source, catalog, fullScanRequired: sourceList });
  assert.equal(s.catalog, 'aws-ec2');
  assert.equal(s.total, catalog.instances.length);
  assert.deepEqual(s.compatible, s.verdicts.filter((v) => v.compatible).map((v) => v.name));
  assert.deepEqual(s.criu, s.verdicts.filter((v) => v.criu).map((v) => v.name));
  assert.deepEqual(s.fullScan, s.verdicts.filter((v) => v.fullScan).map((v) => v.name));
  for (const v of s.verdicts) {
    const inst = catalog.instances.find((i) => i.name === v.name)!;
    assert.equal(v.family, inst.family);
    assert.equal(v.vendor, inst.vendor);
    assert.equal(v.compatible, v.missing.length === 0 && !v.crossVendor);
    assert.equal(v.criu, v.criuMissing.length === 0);
    assert.equal(v.fullScan, v.fullScanMissing!.length === 0);
    // The full scan's requirement contains the EPT one, so it accepts no more; CRIU accepts no more either.
    if (v.fullScan) assert.ok(v.compatible, v.name);
    if (v.criu) assert.ok(v.compatible, v.name);
  }
  const noFull = summarizeInstances({ required, source, catalog });
  assert.deepEqual(noFull.fullScan, []);
  assert.equal(noFull.verdicts[0].fullScan, undefined);
});

test('CRIU advice appears exactly when Pygration accepts a type that CRIU refuses', () => {
  const s = summarizeInstances({ required: [...BASELINE], source, catalog });
  const gap = s.verdicts.filter((v) => v.compatible && !v.criu);
  const advice = criuAdvice(s);
  if (gap.length === 0) assert.equal(advice, undefined);
  else {
    assert.deepEqual(advice?.flags, ['--cpu-cap=none']);
    assert.match(advice!.why, /--cpu-cap=fpu,ins/);
    assert.match(advice!.why, /XSAVE/);
    assert.ok(advice!.why.includes(gap[0].name));
    assert.deepEqual(criuAdvice(s, gap[0].name)?.flags, ['--cpu-cap=none']);
  }
  const accepted = s.verdicts.find((v) => v.criu);
  if (accepted) assert.equal(criuAdvice(s, accepted.name), undefined);
  // A synthetic source that is a Skylake type: moving a baseline workload to Zen needs the advice.
  const m5 = catalog.instances.find((i) => i.name === 'm5.large')!;
  const s2 = summarizeInstances({ required: ['avx2'], source: new Set(m5.features), catalog });
  const a2 = criuAdvice(s2, 'm5a.large');
  assert.ok(a2 && a2.why.includes('m5a.large'));
  assert.equal(criuAdvice(s2, 'm5.large'), undefined, 'CRIU accepts the same type');
});

const row = (name: string): InstanceType => {
  const r = catalog.instances.find((i) => i.name === name);
  assert.ok(r, `${name} is in the shipped catalog`);
  return r;
};

test('masked features: hidden by the CPUID with nothing else gating them, on real CPUs (catalog rows and the recorded AMD VM)', async () => {
  // The recorded AMD EPYC VM (Zen 5) hides RDSEED and LZCNT (abm): both are masked there.
  const vm = await collectHost({ cpuinfoPath: path.join(FIXTURE_SRC, 'cpuinfo', 'amd-epyc-vm-masked-rdseed-abm') });
  assert.equal(vm.vendor, 'amd');
  assert.ok(!vm.flags.has('rdseed') && !vm.flags.has('abm'));
  const used = ['rdseed', 'abm', 'avx2', 'avx512f', 'avx512bw', 'rtm', 'pku', 'sse2'];
  assert.deepEqual(maskedFeatures(used, vm.flags, 'amd').sort(), ['abm', 'rdseed']);
  // Left out of the requirement unless counted.
  const vmSource = new Set(vm.flags);
  assert.ok(!effectiveRequirement(used, vmSource).includes('rdseed'));
  assert.deepEqual(effectiveRequirement(used, vmSource, maskedFeatures(used, vmSource, 'amd')).filter((f) => f === 'rdseed' || f === 'abm').sort(), ['abm', 'rdseed']);

  // A Zen 3 type whose hypervisor hid RDSEED, ADX and LZCNT: those three are masked; AVX-512F, whose ZMM
  // state the kernel only enables when it is reported, is absent (it faults); TSX is on no AMD CPU.
  const zen3 = new Set(row('c6a.large').features);
  for (const f of ['rdseed', 'adx', 'abm']) zen3.delete(f);
  assert.deepEqual(maskedFeatures(['rdseed', 'adx', 'abm', 'avx512f', 'avx512vl', 'rtm', 'sha_ni'], zen3, 'amd').sort(), ['abm', 'adx', 'rdseed']);
  assert.ok(!vendorLineup('amd')!.has('rtm') && vendorLineup('intel')!.has('rtm'));
  // Without the vendor, RTM on an AMD source cannot be told from a hidden one.
  assert.ok(maskedFeatures(['rtm'], zen3).includes('rtm'));
  // An Intel Skylake type (m5.large): AVX-512 extensions are gated by AVX-512F, which it reports, so a hidden
  // one could run (masked); with AVX-512F itself hidden, none of them can.
  const skx = new Set(row('m5.large').features);
  assert.ok(skx.has('avx512f') && !skx.has('avx512_vnni'));
  assert.deepEqual(maskedFeatures(['avx512_vnni'], skx, 'intel'), ['avx512_vnni']);
  skx.delete('avx512f');
  assert.deepEqual(maskedFeatures(['avx512f', 'avx512_vnni', 'avx512bw'], skx, 'intel'), []);
  // xtest is decided by executing it (the host probe), never masked; baseline and reported features never are.
  assert.deepEqual(maskedFeatures(['xtest', 'sse2', 'avx2'], new Set(row('c6a.large').features), 'intel'), []);
  assert.match(maskedReason('abm'), /BSR/);
  assert.match(maskedReason('rdseed'), /SIGILL/);
  assert.match(maskedReason('rdseed'), /--count-masked/);
});

// The pairs of the published CRIU restores (github.com/ddps-lab/LiveMigrate-Detector,
// old/compatibility_checker/verification/pymatmul.csv) whose target has every instruction feature of the
// source in this catalog, Intel to AMD: the 5 that failed came from r4 and i3, the 5 that succeeded from
// m4, h1 and c4 (docs/catalog.md, "Cross-vendor restores").
const CROSS_VENDOR_PAIRS: Array<[string, string, boolean]> = [
  ['r4.xlarge', 'c6a.xlarge', false],
  ['r4.xlarge', 'c6a.24xlarge', false],
  ['i3.xlarge', 'c6a.xlarge', false],
  ['i3.xlarge', 'c6a.24xlarge', false],
  ['r4.8xlarge', 'c6a.24xlarge', false],
  ['m4.xlarge', 'c6a.xlarge', true],
  ['m4.xlarge', 'c6a.24xlarge', true],
  ['h1.16xlarge', 'c6a.24xlarge', true],
  ['h1.8xlarge', 'c6a.24xlarge', true],
  ['c4.8xlarge', 'c6a.24xlarge', true],
];

test('cross-vendor restores: feature-compatible types of another vendor get their own verdict, never counted as compatible (published pairs)', () => {
  for (const [src, dst] of CROSS_VENDOR_PAIRS) {
    const source = new Set(row(src).features);
    // The premise: CRIU's instruction check, on these catalog rows, accepts the target.
    assert.ok(criuBaseline(source, catalog).find((x) => x.instance.name === dst)!.compatible, `${src} → ${dst} passes CRIU's check`);
    // The worst case for the verdict: the process needs every feature of its source.
    const s = summarizeInstances({ required: source, source, catalog, sourceVendor: 'intel' });
    const v = s.verdicts.find((x) => x.name === dst)!;
    assert.deepEqual([v.compatible, v.crossVendor, v.missing], [false, true, []], `${src} → ${dst}`);
    assert.ok(!s.compatible.includes(dst) && s.crossVendor!.includes(dst));
    assert.match(s.crossVendorEvidence!, /5 of the 10/);
    // Every type is in exactly one of: compatible, another vendor, refused for a feature.
    for (const x of s.verdicts) assert.equal(Number(x.compatible) + Number(x.crossVendor === true) + Number(x.missing.length > 0), 1, x.name);
    assert.ok(s.verdicts.filter((x) => x.crossVendor).every((x) => x.vendor !== 'intel'));
    assert.ok(s.verdicts.filter((x) => x.compatible).every((x) => x.vendor === 'intel'));
    // Without the source's vendor there is no such distinction (older callers).
    assert.ok(summarizeInstances({ required: source, source, catalog }).compatible.includes(dst));
    // The full scan's verdict is counted the same way: a type of another vendor is never among its compatible types,
    // so it accepts no more than ours whenever it requires at least as much.
    const withFull = summarizeInstances({ required: source, source, catalog, sourceVendor: 'intel', fullScanRequired: source });
    assert.ok(!withFull.fullScan.includes(dst), `${src} → ${dst}: full scan`);
    assert.deepEqual(withFull.fullScan, withFull.compatible);
  }
  // Same vendor, same check: an ordinary verdict (the published same-vendor pairs all succeeded).
  const r4 = new Set(row('r4.xlarge').features);
  const same = summarizeInstances({ required: r4, source: r4, catalog, sourceVendor: 'intel' }).verdicts.find((x) => x.name === 'h1.8xlarge')!;
  assert.deepEqual([same.compatible, same.crossVendor], [true, undefined]);
  // The cause of the 5 failures: those sources reported TSX when they ran; glibc's *_rtm string functions then
  // run XTEST, which no AMD type executes. A source that reports it (r4.large's row) needs xtest: refused.
  const tsx = new Set(row('r4.large').features);
  assert.ok(tsx.has('rtm') && tsx.has('xtest'));
  const withXtest = summarizeInstances({ required: ['avx2', 'xtest'], source: tsx, catalog, sourceVendor: 'intel' });
  for (const v of withXtest.verdicts.filter((x) => x.vendor === 'amd')) assert.deepEqual([v.compatible, v.crossVendor, v.missing], [false, undefined, ['xtest']], v.name);
});
