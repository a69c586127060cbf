// Tests of the catalog's derived rows (native/src/catalog/derive.ts, native/data/aws-ec2-families.json): every
// x86 name of the AWS SDK is measured, derived or excluded; measured rows win; the derivation is checked
// against the measured c6i.16xlarge row, the measured EC2 rows of the same CPUs and archspec's bare-metal
// /proc/cpuinfo dumps; provenance reaches the report (JSON and text).

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultCatalog, parseCatalog, toCatalogFile } from '../../native/src/catalog/catalog';
import { summarizeInstances } from '../../native/src/catalog/compat';
import {
  ARCHSPEC_FILE,
  AWS_ISA_SETS_FILE,
  deriveData,
  FAMILIES_FILE,
  ladderVcpu,
  readFamilyTable,
  sdkInstanceTypes,
  sharedDataDir,
  type DerivedData,
} from '../../native/src/catalog/derive';
import { BASELINE, type Feature } from '../../native/src/features/vocabulary';
import { xedDecidableFeatures } from '../../native/src/features/xed';
import { describeProvenance } from '../../native/src/report';
import { isNativeError } from '../../native/src/errors';
import { REPO_ROOT } from '../helpers/fixtures';
import { skipUnless } from '../helpers/skip';

const DATA_DIR = sharedDataDir(REPO_ROOT);
const NO_DATA = skipUnless(DATA_DIR, 'shared data (../shared/data beside the clone, or /work/shared/data) is not available');

let derivedOnce: DerivedData | undefined;
function derived(): DerivedData {
  derivedOnce ??= deriveData(DATA_DIR!, REPO_ROOT);
  return derivedOnce;
}

const familyOf = (name: string) => name.slice(0, name.indexOf('.'));
const diff = (a: Iterable<Feature>, b: Iterable<Feature>) => {
  const bs = new Set(b);
  return [...a].filter((f) => !bs.has(f)).sort();
};

test('every x86 name of the AWS SDK is measured, derived or excluded, and the catalog size follows from them', { skip: NO_DATA }, () => {
  const d = derived();
  assert.deepEqual(d.unclassified, [], `add these families to ${FAMILIES_FILE}`);
  const table = readFamilyTable(path.join(REPO_ROOT, FAMILIES_FILE));
  const sdk = sdkInstanceTypes(REPO_ROOT);
  const measuredNames = new Set(Object.keys((JSON.parse(fs.readFileSync(path.join(DATA_DIR!, AWS_ISA_SETS_FILE), 'utf8')) as { instances: object }).instances));
  measuredNames.add('c6i.16xlarge');
  // Every measured name is an SDK name (the SDK is the authority on names).
  for (const n of measuredNames) assert.ok(sdk.includes(n), `${n} is not an AWS SDK name`);
  const derivable = sdk.filter((n) => !measuredNames.has(n) && table.families[familyOf(n)] !== undefined);
  const excluded = new Set([...table.excluded.arm, ...table.excluded.previous, ...table.excluded.unknown]);
  for (const fam of excluded) assert.equal(table.families[fam], undefined, `${fam} is both excluded and described`);
  const c = defaultCatalog();
  assert.equal(c.instances.length, measuredNames.size + derivable.length);
  assert.equal(d.counts.measured, measuredNames.size);
  assert.equal(d.counts.derived, derivable.length);
  assert.equal(d.counts.excluded, sdk.filter((n) => excluded.has(familyOf(n))).length);
  // The families the issue names are all there.
  for (const fam of ['m6i', 'c6i', 'r6i', 'm6id', 'c6id', 'r6id', 'm6in', 'c6in', 'r6in', 'i4i', 'x2idn', 'x2iedn', 'm7i', 'c7i', 'r7i', 'm7i-flex', 'c7i-flex', 'r7iz', 'i7ie', 'm8i', 'c8i', 'r8i', 'm8a', 'c8a', 'r8a']) {
    assert.ok(c.instances.some((i) => i.family === fam), `${fam} is in the catalog`);
  }
  console.log(`# catalog: ${c.instances.length} types = ${measuredNames.size} measured + ${derivable.length} derived; ${d.counts.excluded} SDK names excluded`);
});

test('measured rows win: every type of the data sets keeps its measured row, derived rows cover only the rest', { skip: NO_DATA }, () => {
  const c = defaultCatalog();
  const byName = new Map(c.instances.map((i) => [i.name, i]));
  const measured = JSON.parse(fs.readFileSync(path.join(DATA_DIR!, AWS_ISA_SETS_FILE), 'utf8')) as { instances: Record<string, unknown> };
  for (const n of Object.keys(measured.instances)) assert.deepEqual(byName.get(n)?.provenance, { kind: 'measured', basis: AWS_ISA_SETS_FILE }, n);
  const c6i = byName.get('c6i.16xlarge')!;
  assert.equal(c6i.provenance?.kind, 'measured');
  assert.equal(byName.get('c6i.8xlarge')?.provenance?.kind, 'derived');
  // Partly measured families: the measured sizes stay measured, the others are derived.
  assert.equal(byName.get('h1.8xlarge')?.provenance?.kind, 'measured');
  assert.equal(byName.get('h1.2xlarge')?.provenance?.kind, 'derived');
  for (const i of c.instances.filter((x) => x.provenance?.kind === 'derived')) {
    assert.equal(i.undecidable, undefined, `${i.name}: a derived row has no undecidable list`);
    assert.ok(i.vcpu > 0 && i.memoryGiB > 0, i.name);
  }
});

test('the derivation against the measured c6i.16xlarge (Ice Lake-SP): every difference is an expected one', { skip: NO_DATA }, () => {
  const d = derived();
  const icelake = d.microarchitectures.icelake;
  const measured = d.c6iMeasured;
  const derivedOnly = diff(icelake, measured);
  const measuredOnly = diff(measured, icelake);
  console.log(`# icelake derived, not proven by the c6i row: ${derivedOnly.join(' ') || '-'}`);
  console.log(`# proven by the c6i row, not derived: ${measuredOnly.join(' ') || '-'}`);
  // The row's collector (an older XED) had no LAHF, LZCNT, RDTSCP or PREFETCHW column: these cannot be
  // observed there, and every Intel CPU since Haswell/Broadwell has them (every measured Intel row from Haswell on reports them).
  assert.deepEqual(derivedOnly, ['3dnowprefetch', 'abm', 'lahf_lm', 'rdtscp']);
  // MONITOR/MWAIT: the Nitro hypervisor reports them on c6i, but they fault in user space unless the kernel
  // enables them (no user-space code can depend on them), and the measured rows of older Intel types report
  // them on some hosts only: the derivation does not claim them.
  assert.deepEqual(measuredOnly, ['monitor']);
  // The hypervisor hides what Ice Lake-SP's silicon has but AWS does not expose: TSX (rtm), and the
  // derivation does not claim it either; xtest executes there (measured) and is claimed.
  assert.ok(!icelake.includes('rtm') && icelake.includes('xtest') && measured.includes('xtest'));
  // The shipped c6i.16xlarge row: the measured features plus the unobservable ones, named in its provenance.
  const row = defaultCatalog().instances.find((i) => i.name === 'c6i.16xlarge')!;
  assert.deepEqual(row.features, [...new Set([...measured, ...derivedOnly])].sort());
  assert.match(row.provenance!.note!, /3dnowprefetch, abm, lahf_lm, rdtscp/);
});

/** archspec's generation labels of the measured EC2 rows, per micro-architecture of the family table. */
const MEASURED_GENERATION: Record<string, string> = {
  haswell: 'Haswell',
  broadwell: 'Broadwell',
  skylake_avx512: 'Skylake',
  cascadelake: 'Cascade Lake',
  zen3: 'Zen 3',
  zen4: 'Zen 4',
};

test('the derivation claims nothing that no measured EC2 row of the same CPU generation has, except what ISA-SET data cannot show', { skip: NO_DATA }, () => {
  const d = derived();
  const decidable = xedDecidableFeatures();
  const measured = defaultCatalog().instances.filter((i) => i.provenance?.basis === AWS_ISA_SETS_FILE);
  for (const [micro, generation] of Object.entries(MEASURED_GENERATION)) {
    const rows = measured.filter((i) => i.generation === generation);
    assert.ok(rows.length > 0, generation);
    const union = new Set(rows.flatMap((i) => i.features));
    const every = [...union].filter((f) => rows.every((i) => i.features.includes(f)));
    const claimed = diff(d.microarchitectures[micro], union);
    // Features no XED condition mentions (clzero, …) are never measured: only those may be claimed beyond the data.
    for (const f of claimed) assert.ok(!decidable.has(f), `${micro}: claims ${f}, which no measured ${generation} row has`);
    const notClaimed = diff(every, d.microarchitectures[micro]);
    console.log(`# ${micro}: beyond the data ${claimed.join(' ') || '-'}; on every measured ${generation} row but not derived: ${notClaimed.join(' ') || '-'}`);
    // What every measured row of the CPU reports and the derivation leaves out: only flags no user-space code
    // can use (monitor: MONITOR/MWAIT fault in user space unless the kernel enables them).
    for (const f of notClaimed) assert.ok(['monitor'].includes(f), `${micro}: every measured ${generation} row has ${f}, the derivation does not`);
  }
});

/** archspec's real /proc/cpuinfo dumps (bare metal), per micro-architecture of the family table. */
const SILICON: Record<string, string> = {
  haswell: 'linux-rhel7-haswell',
  broadwell: 'linux-rhel7-broadwell',
  skylake_avx512: 'linux-rhel7-skylake_avx512',
  cascadelake: 'linux-centos7-cascadelake',
  sapphirerapids: 'linux-unknown-sapphirerapids',
  zen3: 'linux-ubuntu20.04-zen3',
  zen4: 'linux-rocky8.5-zen4',
  zen5: 'linux-rocky9-zen5',
};

/**
 * Flags a dump's kernel does not report although the CPU has them: RHEL/CentOS 7's Linux 3.10 knows no `pku`
 * (Linux 4.6) and does not report `xsaves` (its XSAVES support is off); every measured EC2 Skylake and
 * Cascade Lake row reports both. Rocky 8.5 (Linux 4.18) and Ubuntu 20.04 (Linux 5.4) print no `rdpru`
 * (a newer kernel's flag; Zen 2 and later have the instruction), which every measured EC2 Zen 2, 3 and 4 row reports.
 */
const KERNEL_TOO_OLD: Record<string, Feature[]> = {
  'linux-rhel7-skylake_avx512': ['pku', 'xsaves'],
  'linux-centos7-cascadelake': ['xsaves'],
  'linux-ubuntu20.04-zen3': ['rdpru'],
  'linux-rocky8.5-zen4': ['rdpru'],
};

test('the derivation claims nothing the silicon lacks: every derived feature is in a real /proc/cpuinfo of that micro-architecture', { skip: NO_DATA }, () => {
  const d = derived();
  for (const [micro, dump] of Object.entries(SILICON)) {
    const text = fs.readFileSync(path.join(DATA_DIR!, path.dirname(ARCHSPEC_FILE), 'targets', dump), 'utf8');
    const flags = new Set(/^flags\s*:\s*(.*)$/m.exec(text)![1].split(/\s+/));
    // xtest is no flag: it executes wherever rtm does; the derivation claims it only on Ice Lake (measured there).
    const missing = diff(d.microarchitectures[micro], flags).filter((f) => !(f === 'xtest' && flags.has('rtm')));
    const old = KERNEL_TOO_OLD[dump] ?? [];
    assert.deepEqual(diff(old, missing), [], `${dump}: the kernel-age exceptions still apply`);
    assert.deepEqual(diff(missing, old), [], `${micro} (${dump}): derived features the CPU does not report`);
    console.log(`# ${micro} (${dump}): every derived feature reported${old.length ? `, but ${old.join(' ')} (kernel too old)` : ''}`);
  }
  // Every micro-architecture used by a family is checked against silicon or a measurement (icelake: the c6i row).
  const table = readFamilyTable(path.join(REPO_ROOT, FAMILIES_FILE));
  for (const f of Object.values(table.families)) assert.ok(f.microarchitecture in SILICON || f.microarchitecture === 'icelake', f.microarchitecture);
});

test('Sapphire Rapids and later: AMX and AVX512_FP16 on the derived rows, and what the derivation withholds', { skip: NO_DATA }, () => {
  const c = defaultCatalog();
  const get = (n: string) => c.instances.find((i) => i.name === n)!;
  for (const n of ['m7i.large', 'c7i.48xlarge', 'r7iz.metal-32xl', 'm7i-flex.large', 'i7ie.large', 'm8i.large']) {
    const i = get(n);
    for (const f of ['amx_tile', 'amx_int8', 'amx_bf16', 'avx512_fp16', 'avx512_bf16', 'avx_vnni', 'avx512f', 'avx512vl']) assert.ok(i.features.includes(f), `${n} has ${f}`);
    for (const f of ['waitpkg', 'rtm', 'xtest', 'amx_fp16']) assert.ok(!i.features.includes(f), `${n} does not claim ${f}`);
    assert.equal(i.vendor, 'intel');
  }
  // Zen 5 (m8a): AVX-512 with VP2INTERSECT and AVX-VNNI; no AMX, no AVX512_FP16, no TSX; AMD's SSE4a and CLZERO.
  const z5 = get('m8a.large');
  for (const f of ['avx512f', 'avx512_vp2intersect', 'avx_vnni', 'sse4a', 'clzero']) assert.ok(z5.features.includes(f), f);
  for (const f of ['amx_tile', 'avx512_fp16', 'rtm', 'xtest']) assert.ok(!z5.features.includes(f), f);
  assert.equal(z5.vendor, 'amd');
  // Zen 3 derived rows withhold pku (no measured Zen 3 row proves it).
  assert.ok(!get('hpc6a.48xlarge').features.includes('pku'));
  // Ice Lake derived rows equal the Ice Lake derivation.
  assert.ok(get('m6i.large').features.includes('avx512_vbmi2') && !get('m6i.large').features.includes('amx_tile'));
});

test('sizes follow AWS\'s ladder: checked against every measured row on the ladder, and memory per vCPU against the measured rows of partly measured families', { skip: NO_DATA }, () => {
  assert.equal(ladderVcpu('medium'), 1);
  assert.equal(ladderVcpu('large'), 2);
  assert.equal(ladderVcpu('xlarge'), 4);
  assert.equal(ladderVcpu('24xlarge'), 96);
  assert.equal(ladderVcpu('metal-48xl'), 192);
  assert.equal(ladderVcpu('metal', 128), 128);
  assert.equal(ladderVcpu('metal'), undefined);
  assert.equal(ladderVcpu('nano'), undefined);
  assert.equal(ladderVcpu('48xl'), undefined);
  const c = defaultCatalog();
  const measured = c.instances.filter((i) => i.provenance?.kind === 'measured');
  // The ladder holds for the measured types except the few families AWS sizes otherwise (the measured data's own figures).
  const offLadder = measured.filter((i) => {
    const v = ladderVcpu(i.name.slice(i.name.indexOf('.') + 1));
    return v !== undefined && v !== i.vcpu;
  });
  console.log(`# measured types off the vCPU ladder: ${offLadder.map((i) => `${i.name}=${i.vcpu}`).join(' ') || '-'}`);
  assert.ok(offLadder.length <= measured.length * 0.05, `${offLadder.length} measured types are off the ladder`);
  const table = readFamilyTable(path.join(REPO_ROOT, FAMILIES_FILE));
  for (const [fam, f] of Object.entries(table.families)) {
    for (const i of c.instances.filter((x) => x.family === fam)) {
      if (f.memoryPerVcpu !== undefined && !f.sizes?.[i.name.slice(fam.length + 1)]) assert.equal(i.memoryGiB, i.vcpu * f.memoryPerVcpu, `${i.name} (${i.provenance?.kind})`);
    }
  }
});

test('provenance: parsed in both forms, kept by the compact file, refused when malformed', () => {
  const c = parseCatalog(
    {
      name: 'p',
      instances: [
        { name: 'a.large', features: ['avx2'], provenance: 'measured' },
        { name: 'b.large', features: ['avx2'], provenance: { kind: 'derived', basis: 'icelake', confidence: 'low', note: 'n' } },
        { name: 'c.large', features: ['avx2'] },
      ],
    },
    'p.json',
  );
  assert.deepEqual(c.instances[0].provenance, { kind: 'measured', basis: 'p.json' });
  assert.deepEqual(c.instances[1].provenance, { kind: 'derived', basis: 'icelake', confidence: 'low', note: 'n' });
  assert.equal(c.instances[2].provenance, undefined);
  const again = parseCatalog(toCatalogFile(c), 'again');
  assert.deepEqual(again.instances.map((i) => i.provenance), c.instances.map((i) => i.provenance));
  for (const bad of ['guessed', { kind: 'derived', basis: 3 }, { kind: 'derived', basis: 'x', confidence: 'sure' }]) {
    assert.throws(
      () => parseCatalog({ name: 'p', instances: [{ name: 'a.large', features: ['avx2'], provenance: bad }] }, 'p.json'),
      (e) => isNativeError(e) && e.kind === 'malformed' && /provenance/.test(e.message),
    );
  }
  assert.match(describeProvenance(c.instances[1].provenance), /derived from the icelake micro-architecture, not measured; confidence low\. n/);
  assert.equal(describeProvenance(c.instances[0].provenance), 'measured (p.json)');
});

test('the report carries provenance: per verdict and counted in the summary', () => {
  const c = defaultCatalog();
  const source = new Set<Feature>([...BASELINE, 'avx2', 'avx', 'fma']);
  const s = summarizeInstances({ required: ['avx2'], source, catalog: c });
  const measured = c.instances.filter((i) => i.provenance?.kind === 'measured').length;
  assert.deepEqual(s.provenance, { measured, derived: c.instances.length - measured });
  for (const v of s.verdicts) assert.deepEqual(v.provenance, c.instances.find((i) => i.name === v.name)!.provenance);
  // A catalog without provenance gives a report without it.
  const plain = parseCatalog({ name: 'p', instances: [{ name: 'a.large', features: ['avx2'] }] }, 'p.json');
  const s2 = summarizeInstances({ required: ['avx2'], source, catalog: plain });
  assert.equal(s2.provenance, undefined);
  assert.equal(s2.verdicts[0].provenance, undefined);
});
