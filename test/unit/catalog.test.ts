// Tests of the instance catalog: the shipped AWS EC2 catalog (structure, facts about well-known types,
// what the data could not decide), loading user catalogs in every accepted form, validation errors, and
// that the shipped catalog is bundled so the CLI needs no data file at run time.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultCatalog, loadCatalog, parseCatalog, type Catalog, type InstanceType } from '../../native/src/catalog/catalog';
import { AWS_CATALOG_OUT } from '../../native/src/catalog/derive';
import { BASELINE } from '../../native/src/features/vocabulary';
import { xedDecidableFeatures } from '../../native/src/features/xed';
import { isNativeError } from '../../native/src/errors';
import { REPO_ROOT } from '../helpers/fixtures';
import { collectorIsaSets, cpuidPairs, dumpCpuid, featureBit } from '../helpers/cpuid';
import { CatalogState } from '../../server/src/catalogState';

function byName(c: Catalog, name: string): InstanceType {
  const i = c.instances.find((x) => x.name === name);
  assert.ok(i, `${name} is in the catalog`);
  return i;
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-catalog-test-'));
}

/** The shipped catalog's size as the generated file states it (derive-catalog.test.ts derives it from the SDK and the data). */
function shippedSize(): number {
  return (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, AWS_CATALOG_OUT), 'utf8')) as { instances: unknown[] }).instances.length;
}

test('the shipped catalog: every AWS type once, baseline everywhere, vendors and families from the data, a provenance on every row, small and fast to load', () => {
  const file = path.join(REPO_ROOT, AWS_CATALOG_OUT);
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { featureSets: unknown[] };
  const t0 = performance.now();
  const parsed = parseCatalog(json, file);
  const ms = performance.now() - t0;
  const c = defaultCatalog();
  assert.equal(c.name, 'aws-ec2');
  assert.ok(c.instances.length > 383, 'more than the 383 measured types');
  assert.deepEqual(parsed.instances, c.instances);
  assert.equal(new Set(c.instances.map((i) => i.name)).size, c.instances.length);
  for (const i of c.instances) {
    for (const f of BASELINE) assert.ok(i.features.includes(f), `${i.name} lacks baseline ${f}`);
    assert.equal(i.family, i.name.split('.')[0]);
    assert.equal(i.vendor, /^AMD /.test(i.cpu) ? 'amd' : /^Intel /.test(i.cpu) ? 'intel' : 'other', i.name);
    assert.notEqual(i.vendor, 'other');
    assert.ok(i.vcpu > 0 && i.memoryGiB > 0 && i.generation.length > 0, i.name);
    for (const f of i.undecidable ?? []) assert.ok(!i.features.includes(f), `${i.name}: ${f} is both present and undecidable`);
    assert.ok(i.provenance && (i.provenance.kind === 'measured' || i.provenance.kind === 'derived') && i.provenance.basis, `${i.name}: provenance`);
  }
  const distinct = new Set(c.instances.map((i) => i.features.join(' ')));
  console.log(`# shipped catalog: ${fs.statSync(file).size} bytes, ${json.featureSets.length} stored feature sets, ${distinct.size} distinct feature sets, parsed in ${ms.toFixed(1)} ms`);
  assert.ok(ms < 200, `parsing took ${ms} ms`);
});

test('the shipped catalog agrees with well-known facts about the CPUs behind the types', () => {
  const c = defaultCatalog();
  const has = (name: string, ...fs: string[]) => {
    const i = byName(c, name);
    for (const f of fs) assert.ok(i.features.includes(f), `${name} (${i.cpu}) should have ${f}`);
  };
  const lacks = (name: string, ...fs: string[]) => {
    const i = byName(c, name);
    for (const f of fs) assert.ok(!i.features.includes(f), `${name} (${i.cpu}) should lack ${f}`);
  };
  // Ivy Bridge (E5-2680v2) brought F16C, RDRAND and FSGSBASE; AVX2 came with Haswell. The data says
  // AMX_INT8 is "supported" (leaf 0x1E answered with leaf 0xD's data); the catalog must not believe it.
  has('c3.large', 'avx', 'f16c', 'rdrand', 'fsgsbase', 'aes', 'pclmulqdq', 'xsaveopt');
  lacks('c3.large', 'avx2', 'amx_int8', 'amx_tile', 'avx512f');
  // Haswell (E5-2666v3): AVX2, FMA, BMI1/2, MOVBE, LZCNT; ADX and RDSEED only from Broadwell.
  has('c4.large', 'avx2', 'fma', 'bmi1', 'bmi2', 'movbe', 'abm', 'invpcid');
  lacks('c4.large', 'adx', 'rdseed', 'avx512f', 'sha_ni');
  // Broadwell (E5-2686v4): ADX, RDSEED, PREFETCHW.
  has('r4.large', 'adx', 'rdseed', '3dnowprefetch', 'avx2');
  // Skylake-SP (8175): AVX-512 F/CD/BW/DQ/VL, CLWB, PKU; VNNI came with Cascade Lake, SHA/GFNI/VAES with Ice Lake.
  has('m5.large', 'avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl', 'clflushopt', 'clwb', 'pku', 'xsavec', 'xsaves');
  lacks('m5.large', 'avx512_vnni', 'sha_ni', 'gfni', 'vaes', 'avx512_bf16', 'avx512ifma');
  // Cascade Lake (8259CL): AVX512_VNNI; BF16 was Cooper Lake only.
  has('m5n.large', 'avx512f', 'avx512_vnni');
  lacks('m5n.large', 'avx512_bf16', 'amx_tile');
  // Zen (EPYC 7571): SHA, ADX, CLFLUSHOPT, SSE4a; no CLWB (Zen 2) and no AVX-512.
  has('m5a.large', 'avx2', 'sha_ni', 'adx', 'rdseed', 'clflushopt', 'sse4a', 'abm');
  lacks('m5a.large', 'clwb', 'avx512f', 'rtm', 'xtest');
  // Zen 2 (EPYC 7R32): CLWB, RDPID, WBNOINVD; VAES only from Zen 3.
  has('c5a.large', 'clwb', 'rdpid', 'wbnoinvd', 'sha_ni');
  lacks('c5a.large', 'vaes', 'avx512f');
  // Zen 3 (EPYC 7R13): VAES, VPCLMULQDQ, INVPCID; still no AVX-512.
  has('m6a.large', 'vaes', 'vpclmulqdq', 'invpcid');
  lacks('m6a.large', 'avx512f');
  // Zen 4 (EPYC 9R14): AVX-512 with BF16, VNNI, IFMA, VBMI/VBMI2, BITALG, VPOPCNTDQ, GFNI; no AVX512_FP16, no AMX.
  has('m7a.large', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_bf16', 'avx512_vnni', 'avx512ifma', 'avx512vbmi', 'avx512_vbmi2', 'avx512_bitalg', 'avx512_vpopcntdq', 'gfni', 'vaes');
  lacks('m7a.large', 'avx512_fp16', 'amx_tile', 'avx512_vp2intersect');
  // Haswell-EX (E7-8880v3) kept TSX: RTM, and therefore xtest.
  has('x1e.xlarge', 'rtm', 'xtest');
  // No measured type has AMX or AVX512_FP16 (the data set has no Sapphire Rapids); AMD never has TSX.
  for (const i of c.instances) {
    if (i.provenance?.kind === 'measured') assert.ok(!i.features.includes('amx_tile') && !i.features.includes('avx512_fp16'), i.name);
    if (i.vendor === 'amd') assert.ok(!i.features.includes('rtm') && !i.features.includes('xtest'), i.name);
    if (i.features.includes('rtm')) assert.ok(i.features.includes('xtest'), `${i.name}: RTM implies xtest`);
  }
});

test('what the AWS data could not decide, per distinct feature set', () => {
  const c = defaultCatalog();
  const decidable = xedDecidableFeatures();
  const groups = new Map<string, InstanceType[]>();
  for (const i of c.instances) {
    const key = (i.undecidable ?? []).join(' ');
    groups.set(key, [...(groups.get(key) ?? []), i]);
  }
  const lines = [...groups].map(([key, insts]) => {
    const families = [...new Set(insts.map((i) => i.family))].join(',');
    return `#   ${String(insts.length).padStart(3)} types [${families}]: ${key || '-'}`;
  });
  console.log(`# undecidable features (treated as absent), by group of types:\n${lines.join('\n')}`);
  for (const i of c.instances) for (const f of i.undecidable ?? []) assert.ok(decidable.has(f), `${f} cannot be undecidable: no XED condition mentions it`);
  // The inference leaves nothing that matters to these CPUs undecided: the AMX bits are behind AMX_TILE,
  // and avx512vl/pku are only undecided on types that lack avx512f/ospke anyway.
  for (const i of c.instances) {
    for (const f of i.undecidable ?? []) {
      assert.ok(['amx_bf16', 'amx_fp16', 'amx_int8', 'amx_complex', 'avx512vl', 'pku', 'fma', 'xsave', 'sha512', 'sm3', 'sm4'].includes(f), `${i.name}: ${f} undecidable`);
    }
  }
});

test('user catalogs load in the features form, the XED form, the compact form and the keyed-object form', () => {
  const dir = tmpDir();
  try {
    const featuresFile = path.join(dir, 'mine.json');
    fs.writeFileSync(
      featuresFile,
      JSON.stringify({
        name: 'lab',
        instances: [
          { name: 'box.small', cpu: 'AMD EPYC 7763', vcpu: 4, memoryGiB: 16, features: ['avx2', 'fma', 'constant_tsc', 'hypervisor'] },
          { name: 'tsx.large', cpu: 'Intel Xeon E7-8880v3', features: ['avx2', 'rtm'] },
          { name: 'odd.one', features: ['avx2'], xtest: true },
        ],
      }),
    );
    const a = loadCatalog(featuresFile);
    assert.equal(a.name, 'lab');
    assert.equal(a.source, featuresFile);
    const box = byName(a, 'box.small');
    assert.equal(box.vendor, 'amd');
    assert.equal(box.family, 'box');
    assert.ok(box.features.includes('avx2') && box.features.includes('sse2'));
    assert.ok(!box.features.includes('constant_tsc'), 'non-instruction flags are dropped');
    assert.ok(a.warnings?.some((w) => w.includes('constant_tsc') && w.includes('instances[0]')));
    assert.ok(byName(a, 'tsx.large').features.includes('xtest'), 'RTM implies xtest');
    assert.ok(byName(a, 'odd.one').features.includes('xtest'), 'explicit xtest');
    assert.equal(byName(a, 'odd.one').vendor, 'other');

    // XED form: ISA-SETs converted by inference, with the collector's evaluated list.
    const xedFile = path.join(dir, 'xed.json');
    fs.writeFileSync(
      xedFile,
      JSON.stringify({
        name: 'xedlab',
        isaSets: ['AVX', 'AVX2', 'AES', 'AVXAES', 'FMA', 'AVX512F_512', 'AVX512_FP16_512', 'RTM'],
        instances: [{ name: 'x.large', cpu: 'Intel Xeon', isaSets: ['AVX', 'AVX2', 'AES', 'AVXAES', 'FMA', 'AVX512F_512'] }],
      }),
    );
    const x = byName(loadCatalog(xedFile), 'x.large');
    for (const f of ['avx', 'avx2', 'aes', 'fma', 'avx512f']) assert.ok(x.features.includes(f), f);
    assert.ok(!x.features.includes('rtm') && !x.features.includes('xtest'));

    // The compact form and the AWS dataset's keyed-object form.
    const compact = path.join(dir, 'compact.json');
    fs.writeFileSync(compact, JSON.stringify({ name: 'c', featureSets: [['avx2'], { features: ['avx512f'], undecidable: ['pku'] }], instances: [{ name: 'p.a', featureSet: 1 }] }));
    const p = byName(loadCatalog(compact), 'p.a');
    assert.ok(p.features.includes('avx512f'));
    assert.deepEqual(p.undecidable, ['pku']);
    const keyed = path.join(dir, 'keyed.json');
    fs.writeFileSync(keyed, JSON.stringify({ name: 'k', instances: { 'k.one': { supported: ['AVX', 'AVX2', 'AVX2GATHER'] }, 'k.two': { features: ['sse4_2'] } } }));
    const k = loadCatalog(keyed);
    assert.deepEqual(k.instances.map((i) => i.name), ['k.one', 'k.two']);
    assert.ok(byName(k, 'k.one').features.includes('avx2'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a catalog in XED ISA-SETs collected from this machine converts to features its CPU really has', () => {
  const dump = dumpCpuid(cpuidPairs());
  const isaSets = collectorIsaSets(dump);
  const c = parseCatalog({ name: 'here', instances: [{ name: 'this.host', isaSets }] }, 'this-host.json');
  const inst = byName(c, 'this.host');
  for (const f of inst.features) {
    if (BASELINE.has(f) || f === 'xtest') continue;
    assert.equal(featureBit(f, dump), true, `${f} converted but its CPUID bit is 0`);
  }
  for (const f of ['sse4_2', 'avx', 'avx2', 'aes', 'bmi2']) assert.equal(inst.features.includes(f), featureBit(f, dump), f);
});

test('invalid catalogs fail with a malformed NativeError naming the file and the entry', () => {
  const dir = tmpDir();
  const cases: [string, unknown, RegExp][] = [
    ['not-object.json', [1, 2], /must be a JSON object/],
    ['no-instances.json', { name: 'x' }, /"instances" must be an array/],
    ['empty.json', { name: 'x', instances: [] }, /"instances" is empty/],
    ['no-name.json', { name: 'x', instances: [{ features: ['avx2'] }] }, /instances\[0\]: missing or invalid "name"/],
    ['two-sources.json', { name: 'x', instances: [{ name: 'a.b', features: [], isaSets: [] }] }, /instances\[0\] \("a\.b"\): give exactly one of/],
    ['no-source.json', { name: 'x', instances: [{ name: 'a.b' }] }, /found none/],
    ['bad-flag.json', { name: 'x', instances: [{ name: 'a.b', features: ['AVX2'] }] }, /"AVX2" is not a feature name/],
    ['bad-isa.json', { name: 'x', instances: [{ name: 'a.b', isaSets: ['avx2'] }] }, /"avx2" is not an XED ISA-SET name/],
    ['not-strings.json', { name: 'x', instances: [{ name: 'a.b', features: [3] }] }, /"features"\[0\] is not a string/],
    ['dup.json', { name: 'x', instances: [{ name: 'a.b', features: [] }, { name: 'a.b', features: [] }] }, /instances\[1\]: duplicate instance name "a\.b"/],
    ['set-range.json', { name: 'x', featureSets: [['avx2']], instances: [{ name: 'a.b', featureSet: 2 }] }, /"featureSet" must be an index/],
    ['vcpu.json', { name: 'x', instances: [{ name: 'a.b', features: [], vcpu: -1 }] }, /"vcpu" must be a non-negative number/],
    ['xtest.json', { name: 'x', instances: [{ name: 'a.b', features: [], xtest: 'yes' }] }, /"xtest" must be true or false/],
    ['evaluated.json', { name: 'x', isaSets: 'AVX2', instances: [{ name: 'a.b', features: [] }] }, /"isaSets" \(the ISA-SETs the collector evaluated\)/],
  ];
  try {
    for (const [file, json, re] of cases) {
      const p = path.join(dir, file);
      fs.writeFileSync(p, JSON.stringify(json));
      assert.throws(
        () => loadCatalog(p),
        (e) => isNativeError(e) && e.kind === 'malformed' && e.message.startsWith(p) && re.test(e.message),
        file,
      );
    }
    const broken = path.join(dir, 'broken.json');
    fs.writeFileSync(broken, '{"name": "x", "instances": [');
    assert.throws(() => loadCatalog(broken), (e) => isNativeError(e) && e.kind === 'malformed' && e.message.includes(broken) && /not valid JSON/.test(e.message));
    assert.throws(() => loadCatalog(path.join(dir, 'missing.json')), (e) => isNativeError(e) && e.kind === 'io');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the shipped catalog is bundled: an esbuild bundle of the catalog module works with no data file around', async () => {
  const esbuild = await import('esbuild');
  const dir = tmpDir();
  try {
    const entry = path.join(dir, 'entry.ts');
    fs.writeFileSync(
      entry,
      `import { defaultCatalog } from ${JSON.stringify(path.join(REPO_ROOT, 'native', 'src', 'catalog', 'catalog'))};\n` +
        'const c = defaultCatalog();\nconsole.log(JSON.stringify({ n: c.instances.length, m7a: c.instances.find((i) => i.name === "m7a.large")?.features.includes("avx512f") }));\n',
    );
    const out = path.join(dir, 'bundle.js');
    await esbuild.build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: out, logLevel: 'silent' });
    // Run it from an empty directory: nothing but the bundle exists there.
    const result = JSON.parse(execFileSync(process.execPath, [out], { cwd: dir, encoding: 'utf8' }));
    assert.deepEqual(result, { n: shippedSize(), m7a: true });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the language server's catalog: the shipped one until settings name a file, that file once loaded, the shipped one and a message when it cannot be read", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-catalog-state-'));
  try {
    const state = new CatalogState();
    assert.equal(state.catalog, defaultCatalog(), 'the shipped catalog before any setting');
    assert.ok(state.rarity, 'and its rarity');
    const file = path.join(dir, 'mine.json');
    fs.writeFileSync(file, JSON.stringify({ name: 'mine', instances: { 'm.one': { features: ['avx2'] } } }));
    assert.equal(state.load(file), undefined);
    assert.deepEqual(state.catalog.instances.map((i) => i.name), ['m.one']);
    const error = state.load(path.join(dir, 'missing.json'));
    assert.match(error ?? '', /missing\.json/);
    assert.equal(state.catalog, defaultCatalog(), 'the shipped catalog again');
    assert.equal(state.load(undefined), undefined);
    assert.equal(state.catalog, defaultCatalog());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
