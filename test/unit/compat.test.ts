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
  summarizeInstances,
} from '../../native/src/catalog/compat';
import { canonicalFlags } from '../../native/src/features/cpuinfo';
import { BASELINE, FEATURES } from '../../native/src/features/vocabulary';
import { hostFlags } from '../helpers/fixtures';

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
    assert.equal(v.compatible, v.missing.length === 0);
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
