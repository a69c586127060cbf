// Tests of the CPUID-bit table (features/cpuinfo.ts), the XED ISA-SET table and its inference
// (features/xed.ts), and the generator that derives the shipped data files from the shared data.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CPUID_BITS, CPUINFO_HIDDEN, cpuidBitKey, featureOfCpuidBit, reconcileHostFeatures } from '../../native/src/features/cpuinfo';
import { collectHost } from '../../native/src/features/host';
import {
  deriveXedTable,
  inferFeatures,
  isaSetConditions,
  isaSetFeatures,
  parseXedCpuidRecord,
  XED_TABLE,
  xedDecidableFeatures,
} from '../../native/src/features/xed';
import { FEATURES } from '../../native/src/features/vocabulary';
import { deriveData, sharedDataDir, XED_CPUID_FILE, XED_TABLE_OUT, AWS_CATALOG_OUT } from '../../native/src/catalog/derive';
import { isNativeError } from '../../native/src/errors';
import { hostFlags, REPO_ROOT } from '../helpers/fixtures';
import { collectorIsaSets, cpuidPairs, dumpCpuid, featureBit } from '../helpers/cpuid';
import { skipUnless } from '../helpers/skip';

const DATA_DIR = sharedDataDir(REPO_ROOT);
const NO_DATA = skipUnless(DATA_DIR, 'shared data (../shared/data beside the clone, or /work/shared/data) is not available');

test('every vocabulary feature but xtest has exactly one CPUID bit, and no two features share a bit', () => {
  for (const f of Object.keys(FEATURES)) {
    if (f === 'xtest') assert.equal(CPUID_BITS.has(f), false, 'xtest is decided by a probe, not by CPUID');
    else assert.ok(CPUID_BITS.has(f), `${f} has no CPUID bit`);
  }
  for (const f of CPUID_BITS.keys()) assert.ok(f in FEATURES, `${f} is in the CPUID table but not in the vocabulary`);
  const seen = new Map<string, string>();
  for (const [f, b] of CPUID_BITS) {
    const key = cpuidBitKey(b);
    assert.equal(seen.get(key), undefined, `${f} and ${seen.get(key)} share CPUID bit ${key}`);
    seen.set(key, f);
    assert.equal(featureOfCpuidBit(key), f);
    assert.ok(b.bit >= 0 && b.bit < 32);
  }
  // Spot checks of bits that are easy to get wrong.
  assert.equal(cpuidBitKey(CPUID_BITS.get('abm')!), '80000001.0.ecx.5', 'abm is LZCNT');
  assert.equal(cpuidBitKey(CPUID_BITS.get('pni')!), '1.0.ecx.0', 'pni is SSE3');
  assert.equal(cpuidBitKey(CPUID_BITS.get('avx512_bf16')!), '7.1.eax.5');
  assert.equal(cpuidBitKey(CPUID_BITS.get('xsaveopt')!), 'd.1.eax.0');
  for (const f of CPUINFO_HIDDEN) assert.ok(CPUID_BITS.has(f), `hidden feature ${f} needs a CPUID bit`);
});

/**
 * XED names its CPUID records; where a record names one of our features (after these spelling
 * differences), its bit must be the one in our table: two independent sources for the same bits.
 */
const XED_NAME_TO_FEATURE: Record<string, string> = {
  adoxadcx: 'adx',
  amx_tiles: 'amx_tile',
  bf16: 'avx512_bf16',
  cet: 'shstk',
  clflush: 'clflush',
  cmpxchg16b: 'cx16',
  fxsave: 'fxsr',
  icache_prefetch: 'prefetchi',
  intel64: 'lm',
  lahf: 'lahf_lm',
  lzcnt: 'abm',
  monitorx: 'mwaitx',
  movebe: 'movbe',
  prefetchw: '3dnowprefetch',
  rdp: 'rdpid',
  rdwrfsgs: 'fsgsbase',
  sha: 'sha_ni',
  sse3: 'pni',
  sse4: 'sse4_1',
  sse42: 'sse4_2',
  tsx_ldtrk: 'tsxldtrk',
};

test('the CPUID bits agree with the bits Intel XED names for the same features', { skip: NO_DATA }, () => {
  const xed = JSON.parse(fs.readFileSync(path.join(DATA_DIR!, XED_CPUID_FILE), 'utf8')) as { isaSets: Record<string, string[][]> };
  let compared = 0;
  const checked = new Set<string>();
  for (const alts of Object.values(xed.isaSets)) {
    for (const alt of alts) {
      for (const record of alt) {
        const xedName = record.split('.')[0];
        const feature = XED_NAME_TO_FEATURE[xedName] ?? xedName;
        const ours = CPUID_BITS.get(feature);
        if (!ours) continue;
        const c = parseXedCpuidRecord(record);
        assert.equal(c.lo, c.hi, `${record} is a single bit`);
        assert.equal(cpuidBitKey({ leaf: c.leaf, subleaf: c.subleaf, register: c.register, bit: c.lo }), cpuidBitKey(ours), `${record} vs ${feature}`);
        compared++;
        checked.add(feature);
      }
    }
  }
  // Most of the table is covered by this cross-check; the rest (fpu, tsc, syscall, xop, ...) has no XED record.
  assert.ok(checked.size >= 70, `only ${checked.size} features cross-checked`);
  assert.ok(compared > checked.size);
});

test('XED CPUID records parse in all three syntaxes and bad ones are rejected', () => {
  assert.deepEqual(parseXedCpuidRecord('avx512f.7.0.ebx.16'), { leaf: 7, subleaf: 0, register: 'ebx', lo: 16, hi: 16, value: 1 });
  assert.deepEqual(parseXedCpuidRecord('avx10_enabled.7.1.edx[19]'), { leaf: 7, subleaf: 1, register: 'edx', lo: 19, hi: 19, value: 1 });
  assert.deepEqual(parseXedCpuidRecord('avx10_ver1.24.0.ebx[0:7]=1'), { leaf: 0x24, subleaf: 0, register: 'ebx', lo: 0, hi: 7, value: 1 });
  assert.deepEqual(parseXedCpuidRecord('xsaveopt.d.1.eax.0'), { leaf: 0xd, subleaf: 1, register: 'eax', lo: 0, hi: 0, value: 1 });
  for (const bad of ['avx2', 'x.7.0.esi.1', 'x.7.0.ebx.32', 'x.7.0.ebx[0:3]=16', 'x.zz.0.ebx.1', '']) {
    assert.throws(() => parseXedCpuidRecord(bad), (e) => isNativeError(e) && e.kind === 'malformed', bad);
  }
  assert.throws(() => deriveXedTable({ isaSets: { X: 'avx2' } }), (e) => isNativeError(e) && e.kind === 'malformed');
  assert.throws(() => deriveXedTable([]), (e) => isNativeError(e) && e.kind === 'malformed');
});

test('the shipped table reads in canonical features', () => {
  assert.deepEqual(isaSetConditions('AVX2'), [['avx2']]);
  assert.deepEqual(isaSetConditions('ADOX_ADCX'), [['adx']]);
  assert.deepEqual(isaSetConditions('LZCNT'), [['abm']]);
  assert.deepEqual(isaSetConditions('XOP'), [[]], 'XED gives XOP no CPUID condition');
  assert.deepEqual(isaSetFeatures('FMA'), ['avx', 'fma']);
  assert.deepEqual(isaSetFeatures('AVX512F_512'), [], 'the AVX10 alternative does not name avx512f');
  assert.equal(isaSetConditions('CLZERO'), undefined, 'XED as shipped has no CLZERO condition');
  const decidable = xedDecidableFeatures();
  for (const f of ['avx2', 'avx512f', 'sha_ni', 'adx', 'amx_tile', 'rtm']) assert.ok(decidable.has(f), f);
  for (const f of ['xop', 'fma4', 'tbm', 'clzero', 'hle', 'tsc']) assert.ok(!decidable.has(f), `${f} has no XED condition`);
});

test('the committed data files are exactly what the generator derives from the shared data', { skip: NO_DATA }, () => {
  const d = deriveData(DATA_DIR!, REPO_ROOT);
  assert.equal(fs.readFileSync(path.join(REPO_ROOT, XED_TABLE_OUT), 'utf8'), d.tableText, `${XED_TABLE_OUT} is stale: run node scripts/derive-data.mjs`);
  assert.equal(fs.readFileSync(path.join(REPO_ROOT, AWS_CATALOG_OUT), 'utf8'), d.catalogText, `${AWS_CATALOG_OUT} is stale: run node scripts/derive-data.mjs`);
  assert.deepEqual(XED_TABLE, d.table);
});

test('inference is sound on out-of-range CPUID garbage: AMX_INT8 without AMX_TILE proves nothing about amx_int8', () => {
  // Ivy Bridge answers leaf 0x1E with leaf 0xD's data, so the 0x1E "mirror" alternative of AMX_INT8 holds.
  const supported = ['AVX', 'AES', 'AVXAES', 'AMX_INT8', 'SSE42'];
  const r = inferFeatures(supported, { evaluated: [...supported, 'AMX_TILE', 'AMX_FP8'] });
  assert.ok(!r.present.includes('amx_int8'));
  assert.ok(!r.present.includes('amx_tile'));
  assert.ok(r.absent.includes('amx_tile'), 'AMX_TILE evaluated and unsupported clears the tile bit');
  assert.ok(r.present.includes('avx') && r.present.includes('aes') && r.present.includes('sse4_2'));
});

test('inference combines observations: AVX512F_512 proves avx512f only once the AVX10 alternative is excluded', () => {
  // Evaluated alone, AVX512F_512 could be explained by AVX10.1 (CPUID 7.1.EDX[19] and leaf 0x24).
  const alone = inferFeatures(['AVX512F_512'], { evaluated: ['AVX512F_512'] });
  assert.ok(alone.undecidable.includes('avx512f'));
  assert.ok(!alone.present.includes('avx512f'));
  // With AVX512_FP16_512 evaluated and unsupported, (AVX10 ∧ version 1) is impossible, so avx512f is proven.
  const both = inferFeatures(['AVX512F_512'], { evaluated: ['AVX512F_512', 'AVX512_FP16_512'] });
  assert.ok(both.present.includes('avx512f'));
  assert.ok(both.absent.includes('avx512_fp16'));
});

test('contradictory observations are set aside as a minimal group instead of proving anything', () => {
  // In the shipped table these two sets have the same conditions, so one supported and the other not is
  // impossible (the AWS metal types show it: their collector's XED had other conditions for them).
  const r = inferFeatures(['AVX512_VNNI_INT8_512', 'AVX2'], { evaluated: ['AVX512_VNNI_INT8_512', 'AVX512_FP8_CONVERT_512', 'AVX2'] });
  assert.deepEqual(r.ignoredIsaSets, ['AVX512_FP8_CONVERT_512', 'AVX512_VNNI_INT8_512']);
  assert.deepEqual(r.present, ['avx2']);
});

test("inference on this machine's real CPUID (evaluated like the collector) is sound and decides the simple features", async () => {
  const dump = dumpCpuid(cpuidPairs());
  const supported = collectorIsaSets(dump);
  const r = inferFeatures(supported);
  assert.deepEqual(r.ignoredIsaSets, [], 'the same table cannot contradict itself');
  for (const f of r.present) assert.equal(featureBit(f, dump), true, `${f} inferred present but its CPUID bit is 0`);
  for (const f of r.absent) assert.equal(featureBit(f, dump), false, `${f} inferred absent but its CPUID bit is 1`);
  // Features that some ISA-SET conditions on them alone are decided exactly.
  const simple = new Set(Object.values(XED_TABLE.isaSets).filter((a) => a.length === 1 && a[0].length === 1).map((a) => a[0][0]));
  for (const f of simple) {
    if (!CPUID_BITS.has(f)) continue;
    assert.ok(!r.undecidable.includes(f), `${f} should be decided`);
    assert.equal(r.present.includes(f), featureBit(f, dump), f);
  }
  // The kernel may print less than CPUID says: some features it never prints (CPUINFO_HIDDEN), others a
  // kernel or hypervisor masks (an AMD EPYC VM printed neither abm nor rdseed while user-space CPUID reported
  // both). The host model keeps the kernel's word: a masked feature is absent for compatibility.
  const flags = hostFlags();
  const view = reconcileHostFeatures(flags, (f) => featureBit(f, dump));
  const host = await collectHost();
  for (const f of r.present) {
    if (flags.has(f)) assert.ok(host.flags.has(f), `${f} is in /proc/cpuinfo but not among the host's features`);
    else if (CPUINFO_HIDDEN.has(f)) assert.ok(host.flags.has(f) === host.fromCpuid.includes(f), f);
    else {
      assert.ok(view.masked.includes(f), `${f} inferred present, not in /proc/cpuinfo, yet not called masked`);
      assert.ok(!host.flags.has(f), `${f} is masked on this host but the collector counts it as present`);
    }
  }
  // The collector names the masked features of the leaves its probe reads (1, 7, 0x80000001), exactly.
  const probed = new Set(['1.0', '7.0', '7.1', '80000001.0']);
  const expectMasked = view.masked.filter((f) => probed.has(`${CPUID_BITS.get(f)!.leaf.toString(16)}.${CPUID_BITS.get(f)!.subleaf}`));
  assert.deepEqual(host.masked, expectMasked);
  console.log(`# this host: ${supported.length} ISA-SETs supported; ${r.present.length} features present; undecidable: ${r.undecidable.join(' ') || '-'}; masked by the kernel: ${view.masked.join(' ') || '-'}`);
});

test('garbage observations (random ISA-SET subsets) never hang and never prove a feature twice', () => {
  const all = Object.keys(XED_TABLE.isaSets);
  let x = 7;
  const rnd = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 24; i++) {
    const p = [0.05, 0.3, 0.5, 0.9][i % 4];
    const supported = all.filter(() => rnd() < p);
    const t0 = performance.now();
    const r = inferFeatures(supported);
    const ms = performance.now() - t0;
    assert.ok(ms < 2000, `${ms} ms`);
    const seen = [...r.present, ...r.absent, ...r.undecidable];
    assert.equal(new Set(seen).size, seen.length, 'present, absent and undecidable are disjoint');
  }
});
