// The fleet and scheduler exports end to end with the built CLI: catalog import --nfd on recorded node lists
// (unknown NFD-hidden flags never give a silent "compatible"), --format k8s/karpenter/tfvars/list, the CI gate,
// host --catalog-entry, analyze --all in a PID namespace, and the JSON Schemas of docs/schema against real outputs.

import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv from 'ajv';
import type { AnalysisReport } from '../../native/src/report';
import { parseCatalog, type Catalog } from '../../native/src/catalog/catalog';
import { summarizeInstances } from '../../native/src/catalog/compat';
import { BASELINE, FEATURES, isKnownFeature, type Feature } from '../../native/src/features/vocabulary';
import { CPUINFO_TO_NFD, NFD_CPUID_PREFIX, NFD_DEFAULT_BLACKLIST, NFD_TO_CPUINFO, PYGRATION_CPUID_PREFIX, nfdName } from '../../native/src/export/nfd';
import { DEBIAN_PYTHON, REPO_ROOT, haveCommand, startProcess, type StartedProcess } from '../helpers/fixtures';
import { hostSkipUnless } from '../helpers/skip';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const NFD = path.join(REPO_ROOT, 'test', 'fixtures', 'nfd');
const EKS = path.join(NFD, 'eks-icelake-zen3.nodes.json');
const GKE = path.join(NFD, 'gke-with-rule.nodes.json');
const SCHEMAS = path.join(REPO_ROOT, 'docs', 'schema');
// js-yaml (a devDependency of eslint) parses the YAML the k8s and karpenter formats print; it ships no types.
const yaml = createRequire(__filename)('js-yaml') as { loadAll(text: string): unknown[]; load(text: string): unknown };

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: os.tmpdir() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', (e) => resolve({ code: -1, stdout, stderr: `${stderr}spawn failed: ${e.message}` }));
    child.once('close', (code, signal) => resolve({ code: code ?? -1, stdout, stderr: signal ? `${stderr}killed by ${signal}` : stderr }));
  });
}

interface NodeJson {
  metadata: { name: string; labels: Record<string, string> };
}
function nodesOf(file: string): NodeJson[] {
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { items: NodeJson[] }).items;
}

/** The canonical features a node's cpuid labels (NFD's and the NodeFeatureRule's) name. */
function labelledFeatures(node: NodeJson): Set<Feature> {
  const out = new Set<Feature>();
  for (const [k, v] of Object.entries(node.metadata.labels)) {
    const name = k.startsWith(NFD_CPUID_PREFIX) ? k.slice(NFD_CPUID_PREFIX.length) : k.startsWith(PYGRATION_CPUID_PREFIX) ? k.slice(PYGRATION_CPUID_PREFIX.length) : undefined;
    if (name && v === 'true' && NFD_TO_CPUINFO[name]) out.add(NFD_TO_CPUINFO[name]);
  }
  return out;
}

async function importCatalog(file: string, extra: string[] = []): Promise<{ raw: Record<string, unknown> & { instances: Array<Record<string, unknown>>; featureSets: Array<{ features: string[]; undecidable?: string[] }> }; catalog: Catalog; stderr: string }> {
  const r = await cli(['catalog', 'import', '--nfd', file, ...extra]);
  assert.equal(r.code, 0, r.stderr);
  const raw = JSON.parse(r.stdout);
  return { raw, catalog: parseCatalog(raw, file), stderr: r.stderr };
}

function ajv(): Ajv {
  const a = new Ajv({ allErrors: true, strict: false });
  for (const f of fs.readdirSync(SCHEMAS)) a.addSchema(JSON.parse(fs.readFileSync(path.join(SCHEMAS, f), 'utf8')));
  return a;
}

function validate(a: Ajv, schema: string, data: unknown): void {
  const v = a.getSchema(schema);
  assert.ok(v, `schema ${schema} is published`);
  assert.ok(v(data), `${schema}: ${a.errorsText(v.errors, { separator: '\n' })}`);
}

describe('NFD names', () => {
  test('map one-to-one onto features of the vocabulary', () => {
    const names = Object.values(CPUINFO_TO_NFD);
    assert.equal(new Set(names).size, names.length, 'no NFD name twice');
    for (const [f, n] of Object.entries(CPUINFO_TO_NFD)) {
      assert.ok(isKnownFeature(f), `${f} is a feature`);
      assert.match(n, /^[A-Z0-9_]+$/);
      assert.equal(NFD_TO_CPUINFO[n], f);
    }
    // Every levelled feature beyond the baseline can be required through a label (or the rule's label).
    for (const f of Object.keys(FEATURES).filter((f) => FEATURES[f].level && FEATURES[f].level! > 1)) assert.ok(nfdName(f), `${f} has an NFD name`);
  });
});

describe('catalog import --nfd (recorded node lists)', () => {
  test('one row per distinct node CPU feature set, named by instance type, with pools and nodes', async () => {
    const { raw, catalog, stderr } = await importCatalog(EKS);
    const nodes = nodesOf(EKS);
    const x86 = nodes.filter((n) => n.metadata.labels['kubernetes.io/arch'] === 'amd64' && Object.keys(n.metadata.labels).some((k) => k.startsWith(NFD_CPUID_PREFIX)));
    // The arm64 node and the node without NFD are skipped, with a line each on stderr.
    for (const n of nodes.filter((n) => !x86.includes(n))) assert.match(stderr, new RegExp(`node ${n.metadata.name.replace(/\./g, '\\.')} skipped`));
    const rows = raw.instances;
    assert.deepEqual(rows.flatMap((r) => r.nodes as string[]).sort(), x86.map((n) => n.metadata.name).sort());
    for (const row of rows) {
      const rowNodes = x86.filter((n) => (row.nodes as string[]).includes(n.metadata.name));
      // Every node of a row has its instance type and its feature set; the row's features are the labels'.
      for (const n of rowNodes) assert.equal(n.metadata.labels['node.kubernetes.io/instance-type'], row.name);
      const inst = catalog.instances.find((i) => i.name === row.name)!;
      for (const n of rowNodes) {
        const expected = new Set([...BASELINE, ...labelledFeatures(n)]);
        assert.deepEqual(new Set(inst.features), expected, `${row.name} features`);
      }
      // Unknown: every feature NFD hides by default whose label the node lacks.
      const hidden = NFD_DEFAULT_BLACKLIST.map((n) => NFD_TO_CPUINFO[n]).filter((f) => f && !BASELINE.has(f));
      assert.deepEqual(new Set(inst.undecidable ?? []), new Set(hidden.filter((f) => !inst.features.includes(f))), `${row.name} unknown`);
      assert.equal(row.provenance, 'measured');
      assert.deepEqual(row.pools, [...new Set(rowNodes.map((n) => n.metadata.labels['eks.amazonaws.com/nodegroup']))].sort());
    }
    // The recorded Ice Lake nodes give AVX-512 and FMA (FMA3), the Zen 3 node SSE4a and no AVX-512.
    const ice = catalog.instances.find((i) => i.name === 'm6i.large')!;
    const zen3 = catalog.instances.find((i) => i.name === 'c6a.xlarge')!;
    assert.ok(ice.features.includes('avx512f') && ice.features.includes('fma') && ice.vendor === 'intel');
    assert.ok(zen3.features.includes('sse4a') && !zen3.features.includes('avx512f') && zen3.vendor === 'amd');
    assert.equal(ice.vcpu, 2);
    assert.ok(Math.abs(ice.memoryGiB - 7934440 / 2 ** 20) < 0.1);
  });

  test('a required feature NFD hides is unknown, never a silent "compatible"', async () => {
    const { catalog } = await importCatalog(EKS);
    const all = new Set(Object.keys(FEATURES));
    const required = ['avx2', 'bmi2'];
    const s = summarizeInstances({ required, source: all, catalog });
    assert.deepEqual(s.compatible, []);
    for (const v of s.verdicts) {
      assert.ok(v.missing.includes('bmi2'), `${v.name} refused for bmi2`);
      assert.deepEqual(v.unknown, ['bmi2'], `${v.name}: bmi2 is unknown, not absent`);
    }
    // Told that the cluster hides nothing, the same labels say bmi2 is absent: refused, not unknown.
    const none = await importCatalog(EKS, ['--nfd-hidden', 'none']);
    for (const v of summarizeInstances({ required, source: all, catalog: none.catalog }).verdicts) {
      assert.deepEqual(v.missing, ['bmi2']);
      assert.equal(v.unknown, undefined);
    }
    // With the labels of --format k8s's NodeFeatureRule, BMI2 is known on every node that has it.
    const gke = await importCatalog(GKE);
    const withRule = summarizeInstances({ required, source: all, catalog: gke.catalog });
    const expected = gke.catalog.instances.filter((i) => required.every((f) => i.features.includes(f))).map((i) => i.name);
    assert.ok(expected.length > 0, 'the GKE fixture has BMI2 through the rule labels');
    assert.deepEqual(withRule.compatible, expected);
  });

  test('usage errors and malformed node lists', async () => {
    assert.equal((await cli(['catalog', 'import'])).code, 2);
    assert.equal((await cli(['catalog', 'frob'])).code, 2);
    const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pyg-nfd-')), 'bad.json');
    fs.writeFileSync(bad, '{"kind": "Pod"}');
    const r = await cli(['catalog', 'import', '--nfd', bad]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not a node list/);
  });
});

describe('exports and the CI gate on a real process', () => {
  let proc: StartedProcess;
  let report: AnalysisReport;
  let reportFile: string;
  let eksCatalogFile: string;
  let eks: Catalog;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyg-exports-'));

  before(async () => {
    proc = await startProcess(DEBIAN_PYTHON, ['-c', 'import time; print("READY", flush=True); time.sleep(600)'], { env: { ...process.env, LD_BIND_NOW: '1' } });
    const imported = await importCatalog(EKS);
    eks = imported.catalog;
    eksCatalogFile = path.join(dir, 'eks.catalog.json');
    fs.writeFileSync(eksCatalogFile, JSON.stringify(imported.raw));
    const r = await cli(['analyze', '--pid', String(proc.pid), '--no-full-scan', '--quiet', '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    report = JSON.parse(r.stdout);
    reportFile = path.join(dir, 'report.json');
    fs.writeFileSync(reportFile, r.stdout);
  });

  after(async () => {
    await proc?.stop();
  });

  test('--json and --format json print the same report; they cannot disagree', async () => {
    const r = await cli(['analyze', '--pid', String(proc.pid), '--no-full-scan', '--quiet', '--json', '--format', 'k8s']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--json is --format json/);
    const e = await cli(['export', '--report', reportFile, '--json']);
    assert.equal(e.code, 0);
    assert.deepEqual(JSON.parse(e.stdout), report);
  });

  test('against the imported cluster catalog: verdicts follow the rows, unknown features are marked', async () => {
    const r = await cli(['analyze', '--pid', String(proc.pid), '--no-full-scan', '--quiet', '--format', 'json', '--catalog', eksCatalogFile]);
    assert.equal(r.code, 0, r.stderr);
    const onCluster = JSON.parse(r.stdout) as AnalysisReport;
    validate(ajv(), 'report.schema.json', onCluster);
    for (const v of onCluster.instances.verdicts) {
      const row = eks.instances.find((i) => i.name === v.name)!;
      const missing = onCluster.required.filter((f) => !row.features.includes(f));
      assert.deepEqual(new Set(v.missing), new Set(missing), v.name);
      const unknown = missing.filter((f) => row.undecidable?.includes(f));
      assert.deepEqual(new Set(v.unknown ?? []), new Set(unknown), `${v.name} unknown`);
      assert.equal(v.compatible, missing.length === 0 && row.vendor === onCluster.instances.sourceVendor, v.name);
    }
    const text = await cli(['export', '--report', '-', '--format', 'text'].map((a) => (a === '-' ? writeTemp(dir, 'cluster.json', r.stdout) : a)));
    assert.equal(text.code, 0, text.stderr);
    assert.equal(/\(unknown\)/.test(text.stdout), onCluster.instances.verdicts.some((v) => v.unknown?.length), 'the text marks unknown features');
  });

  test('--format k8s: a NodeFeatureRule for the hidden labels and an affinity the matching nodes satisfy', async () => {
    const r = await cli(['export', '--report', reportFile, '--format', 'k8s']);
    assert.equal(r.code, 0, r.stderr);
    const docs = yaml.loadAll(r.stdout) as Array<Record<string, any>>;
    const mapped = report.required.filter((f) => nfdName(f));
    const hidden = mapped.filter((f) => NFD_DEFAULT_BLACKLIST.includes(nfdName(f)!));
    const unmapped = report.required.filter((f) => !nfdName(f) && f !== 'xtest');
    const rule = docs.find((d) => d.kind === 'NodeFeatureRule');
    if (hidden.length === 0) assert.equal(rule, undefined);
    else {
      assert.equal(rule!.apiVersion, 'nfd.k8s-sigs.io/v1alpha1');
      const ruled = rule!.spec.rules.map((x: any) => Object.keys(x.matchFeatures[0].matchExpressions)[0]);
      assert.deepEqual(new Set(ruled), new Set(hidden.map((f) => nfdName(f))));
      for (const x of rule!.spec.rules) {
        assert.equal(x.matchFeatures[0].feature, 'cpu.cpuid');
        assert.deepEqual(Object.values(x.labels), ['true']);
      }
    }
    for (const f of unmapped) assert.match(r.stdout, new RegExp(`NOT ENFORCED: .*${FEATURES[f]?.label ?? f}`));
    // Schedule onto the recorded nodes (with the rule's labels): a node is admitted iff it has every needed feature.
    assertSchedules(docs, report.required);
  });

  test('--format k8s requires XTEST as RTM or HLE (two node selector terms)', async () => {
    const withXtest = { ...report, required: [...report.required, 'xtest'] };
    const file = writeTemp(dir, 'xtest.json', JSON.stringify(withXtest));
    const r = await cli(['export', '--report', file, '--format', 'k8s']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /NOT ENFORCED: .*XTEST/);
    const docs = yaml.loadAll(r.stdout) as Array<Record<string, any>>;
    assert.equal(docs.find((d) => d.affinity)!.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.length, 2);
    assertSchedules(docs, withXtest.required);
    // A requirement the recorded TSX node (Cascade Lake, RTM and HLE) meets and the others do not.
    const small = { ...report, required: ['avx2', 'bmi2', 'xtest'] };
    const s = await cli(['export', '--report', writeTemp(dir, 'small.json', JSON.stringify(small)), '--format', 'k8s']);
    const admitted = assertSchedules(yaml.loadAll(s.stdout) as Array<Record<string, any>>, small.required);
    assert.deepEqual(admitted, nodesOf(GKE).filter((n) => labelledFeatures(n).has('rtm')).map((n) => n.metadata.name));
    assert.ok(admitted.length > 0);
  });

  test('--format karpenter, tfvars and list name the compatible types', async () => {
    const compatible = [...report.instances.compatible].sort();
    const k = await cli(['export', '--report', reportFile, '--format', 'karpenter']);
    const req = yaml.load(k.stdout) as Array<{ key: string; operator: string; values: string[] }>;
    assert.deepEqual(req, [{ key: 'node.kubernetes.io/instance-type', operator: 'In', values: compatible }]);
    const t = await cli(['export', '--report', reportFile, '--format', 'tfvars']);
    const m = /pygration_compatible_instance_types = \[([^\]]*)\]/.exec(t.stdout);
    assert.ok(m);
    assert.deepEqual(JSON.parse(`[${m[1].trim().replace(/,$/, '')}]`), compatible);
    const l = await cli(['export', '--report', reportFile, '--format', 'list']);
    assert.deepEqual(l.stdout.split('\n').filter(Boolean), report.instances.compatible);
  });

  test('the gate: --require-compatible and --max-level exit 4 when not met, 0 when met, 2 on bad values', async () => {
    const ok = report.instances.verdicts.find((v) => v.compatible);
    const refused = report.instances.verdicts.find((v) => !v.compatible)!;
    if (ok) assert.equal((await cli(['export', '--report', reportFile, '--format', 'list', '--require-compatible', ok.name])).code, 0);
    const r = await cli(['export', '--report', reportFile, '--format', 'list', '--require-compatible', ok ? `${ok.name},${refused.name}` : refused.name]);
    assert.equal(r.code, 4);
    assert.match(r.stderr, new RegExp(`gate not met: ${refused.name.replace('.', '\\.')} is not`));
    assert.equal(r.stdout.split('\n').filter(Boolean).length, report.instances.compatible.length, 'the output is printed as usual');
    const level = Number(/v(\d)$/.exec(report.level)![1]);
    assert.equal((await cli(['export', '--report', reportFile, '--max-level', `v${level}`])).code, 0);
    if (level > 1) {
      const low = await cli(['export', '--report', reportFile, '--max-level', `v${level - 1}`]);
      assert.equal(low.code, 4);
      assert.match(low.stderr, new RegExp(`requirement is ${report.level}, above x86-64-v${level - 1}`));
    }
    assert.equal((await cli(['export', '--report', reportFile, '--max-level', 'v9'])).code, 2);
    assert.equal((await cli(['export', '--report', reportFile, '--require-compatible', 'no.such-type'])).code, 2);
    // On analyze itself, with the catalog's names checked before the analysis.
    assert.equal((await cli(['analyze', '--pid', String(proc.pid), '--require-compatible', 'no.such-type'])).code, 2);
    const a = await cli(['analyze', '--pid', String(proc.pid), '--no-full-scan', '--quiet', '--format', 'list', '--require-compatible', refused.name]);
    assert.equal(a.code, 4, a.stderr);
    const help = await cli(['--help']);
    assert.match(help.stdout, /4 a CI gate \(--require-compatible, --max-level\) was not met/);
  });

  test('JSON Schemas: report, host, instances, plan (with criuSteps) and a schema that can fail', async () => {
    const a = ajv();
    validate(a, 'report.schema.json', report);
    const broken = { ...report } as Partial<AnalysisReport>;
    delete broken.required;
    assert.equal(a.getSchema('report.schema.json')!(broken), false, 'a report without "required" is refused');
    const host = await cli(['host', '--json']);
    validate(a, 'host.schema.json', JSON.parse(host.stdout));
    for (const args of [['instances', '--json'], ['instances', '--json', '--catalog', eksCatalogFile]]) {
      const r = await cli(args);
      assert.equal(r.code, 0, r.stderr);
      validate(a, 'instances.schema.json', JSON.parse(r.stdout));
    }
    const plan = await cli(['plan', '--pid', String(proc.pid), '--seconds', '1', '--interval', '250', '--quiet', '--format', 'json']);
    assert.equal(plan.code, 0, plan.stderr);
    const p = JSON.parse(plan.stdout) as AnalysisReport;
    validate(a, 'plan.schema.json', p);
    assert.ok(p.migration?.criuSteps?.some((s) => s.command.startsWith('criu restore')), 'criuSteps has the restore');
    const only = await cli(['plan', '--pid', String(proc.pid), '--seconds', '1', '--interval', '250', '--quiet', '--no-analysis', '--format', 'json']);
    const m = JSON.parse(only.stdout) as { migration: NonNullable<AnalysisReport['migration']> };
    validate(a, 'plan.schema.json', m);
    // The JSON's commands are the ones the text prints: compared when both runs recommend the same strategy
    // (a sleeping process dirties nothing, so they do).
    const text = await cli(['plan', '--pid', String(proc.pid), '--seconds', '1', '--interval', '250', '--quiet', '--no-analysis']);
    if (text.stdout.includes(`Recommendation: ${m.migration.plan.recommendation}`)) {
      for (const s of m.migration.criuSteps!) assert.ok(text.stdout.includes(`[${s.host}] ${s.command}`), s.command);
    }
    assert.equal((await cli(['plan', '--pid', String(proc.pid), '--no-analysis', '--format', 'k8s'])).code, 2);
  });

  test('host --catalog-entry NAME: this machine as a catalog row, measured', async () => {
    const r = await cli(['host', '--catalog-entry', 'lab.box']);
    assert.equal(r.code, 0, r.stderr);
    const row = JSON.parse(r.stdout);
    const host = JSON.parse((await cli(['host', '--json'])).stdout) as { features: string[]; xtest: boolean; probeError?: string };
    const cat = parseCatalog({ name: 'mine', instances: [row] }, 'entry');
    const expected = new Set([...BASELINE, ...host.features.filter((f) => f !== 'xtest'), ...(host.xtest && !host.probeError ? ['xtest'] : [])]);
    assert.deepEqual(new Set(cat.instances[0].features), expected);
    assert.equal(row.provenance, 'measured');
    assert.equal(row.measured.host, os.hostname());
    assert.ok(Math.abs(Date.parse(row.measured.date) - Date.now()) < 120_000);
    assert.equal(row.vcpu, os.cpus().length);
    assert.equal((await cli(['host', '--catalog-entry', 'two words'])).code, 2);
  });
});

/**
 * Schedules the k8s export's affinity onto the recorded GKE nodes (which carry the NodeFeatureRule's labels), as
 * the scheduler does: a node is admitted when one term's expressions all hold. Admitted must equal "has every
 * needed feature", xtest counting as RTM or HLE.
 */
function assertSchedules(docs: Array<Record<string, any>>, required: readonly string[]): string[] {
  const admittedNames: string[] = [];
  const terms = docs.find((d) => d.affinity)!.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms as Array<{ matchExpressions: Array<{ key: string; operator: string; values: string[] }> }>;
  for (const n of nodesOf(GKE)) {
    const admitted = terms.some((t) => t.matchExpressions.every((e) => e.operator === 'In' && e.values.includes(n.metadata.labels[e.key])));
    const has = labelledFeatures(n);
    const needed = required.filter((f) => nfdName(f));
    const expected = needed.every((f) => has.has(f)) && (!required.includes('xtest') || has.has('rtm') || has.has('hle'));
    assert.equal(admitted, expected, n.metadata.name);
    if (admitted) admittedNames.push(n.metadata.name);
  }
  return admittedNames;
}

function writeTemp(dir: string, name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

describe('analyze --all', () => {
  const root = process.getuid?.() === 0;
  const canUnshare = root && haveCommand('unshare') && haveCommand('setpriv') && spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;

  test(
    'in a PID namespace: one NDJSON line per Python process, the unreadable one skipped',
    { skip: hostSkipUnless(canUnshare, 'needs root and unshare --pid --mount-proc (a PID namespace keeps the other Python processes of this machine out of --all)'), timeout: 180_000 },
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyg-all-'));
      fs.chmodSync(dir, 0o777);
      const out = path.join(dir, 'all.ndjson');
      const err = path.join(dir, 'all.stderr');
      // Two sleepers, root's and nobody's, each touching a file once running; pygration runs as nobody.
      const sleeper = (flag: string) => `${DEBIAN_PYTHON} -c 'import time; open("${path.join(dir, flag)}", "w").close(); time.sleep(120)'`;
      const nobody = 'setpriv --reuid=65534 --regid=65534 --clear-groups';
      const script = [
        `${sleeper('a')} &`,
        `${nobody} ${sleeper('b')} &`,
        `while [ ! -e ${dir}/a ] || [ ! -e ${dir}/b ]; do sleep 0.05; done`,
        `${nobody} ${process.execPath} ${CLI} analyze --all --format json --no-full-scan --quiet > ${out} 2> ${err}; echo "rc=$?"`,
      ].join('\n');
      const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'sh', '-c', script], { encoding: 'utf8', timeout: 170_000 });
      assert.match(r.stdout, /rc=0/, `${r.stdout}${r.stderr}${fs.readFileSync(err, 'utf8')}`);
      const lines = fs.readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { pid: number; command: string; report?: AnalysisReport; error?: { kind: string } });
      assert.equal(lines.length, 2, fs.readFileSync(err, 'utf8'));
      const a = ajv();
      for (const l of lines) validate(a, 'analyze-all.schema.json', l);
      const denied = lines.filter((l) => l.error);
      const analysed = lines.filter((l) => l.report);
      assert.equal(denied.length, 1);
      assert.equal(denied[0].error!.kind, 'permission');
      assert.equal(analysed.length, 1);
      assert.equal(analysed[0].report!.target.pid, analysed[0].pid);
      assert.match(fs.readFileSync(err, 'utf8'), /analysed 1 of 2 Python processes, 1 skipped/);
    },
  );

  test('--all prints text or json only, and not with --pid', async () => {
    assert.equal((await cli(['analyze', '--all', '--format', 'k8s'])).code, 2);
    assert.equal((await cli(['analyze', '--all', '--pid', '1'])).code, 2);
  });
});
