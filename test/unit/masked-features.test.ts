// Masked features on a real process: a gcc-built program runs RDSEED and LZCNT with no CPUID check, and is
// analysed as if its source host's CPUID hid them (the recorded AMD VM, or this host minus a flag): the
// report warns with the function and the instruction, --count-masked counts them, the CLI prints both; and
// the hover of a Python call whose native code uses a hidden feature (a real C-API extension) warns too.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyzeProcess } from '../../native/src/analyze';
import { defaultCatalog } from '../../native/src/catalog/catalog';
import { formatReport } from '../../native/src/cli/format';
import { collectHost, FEATURE_PROBES, featureProbeCode, probeFeatures, type HostInfo } from '../../native/src/features/host';
import { decodeOne } from '../../native/src/decoder/decoder';
import { vendorLineup } from '../../native/src/catalog/compat';
import type { AnalysisReport } from '../../native/src/report';
import { analyzeCallSites } from '../../server/src/callSites';
import { catalogRarity, computeHover } from '../../server/src/presentation';
import { buildC, DEBIAN_PYTHON, FIXTURE_SRC, REPO_ROOT, startProcess, type StartedProcess } from '../helpers/fixtures';

const RECORDED_VM = path.join(FIXTURE_SRC, 'cpuinfo', 'amd-epyc-vm-masked-rdseed-abm');
const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');

/**
 * Starts the fixture once it has executed RDSEED and LZCNT. A CPU that really lacks RDSEED kills it with
 * SIGILL (LZCNT would run as BSR): the test is then skipped with that reason, the one thing no host can fake.
 */
async function startMasked(t: { skip(message: string): void }): Promise<StartedProcess | undefined> {
  const exe = buildC('c/masked_features.c', { flags: ['-mrdseed', '-mlzcnt'] });
  try {
    return await startProcess(exe, []);
  } catch (e) {
    if (/SIGILL/.test(String(e))) {
      t.skip('this CPU really lacks RDSEED: the fixture cannot run here');
      return undefined;
    }
    throw e;
  }
}

function maskedOf(report: AnalysisReport, feature: string) {
  return report.maskedFeatures?.find((m) => m.feature === feature);
}

function assertWarned(report: AnalysisReport, feature: string, instruction: RegExp): void {
  const m = maskedOf(report, feature);
  assert.ok(m, `${feature} is a masked feature: ${JSON.stringify(report.maskedFeatures?.map((x) => x.feature))}`);
  const site = m.sites.find((s) => s.function.startsWith('masked_seed_and_count'));
  assert.ok(site, `a site in masked_seed_and_count: ${JSON.stringify(m.sites)}`);
  assert.match(site.instruction ?? '', instruction);
  assert.ok(m.count >= 1);
  assert.ok(report.notOnHost.includes(feature));
}

test('a process running RDSEED and LZCNT unguarded, on the recorded AMD VM that hides both: warnings with function and instruction, not required unless counted', async (t) => {
  const p = await startMasked(t);
  if (!p) return;
  try {
    const host = await collectHost({ cpuinfoPath: RECORDED_VM });
    assert.ok(!host.flags.has('rdseed') && !host.flags.has('abm'));
    const { report } = await analyzeProcess(p.pid, { host, withFullScan: false });
    assertWarned(report, 'rdseed', /^rdseed /);
    // The fixture ran RDSEED, so the probe executes it too.
    assert.equal(maskedOf(report, 'rdseed')!.executes, true);
    assert.match(maskedOf(report, 'rdseed')!.reason, /A probe executed RDSEED on this machine/);
    // LZCNT never faults: the probe tells it from BSR by its result (every CPU with RDSEED has LZCNT so far).
    const lzcnt = (await probeFeatures(['abm'])).get('abm');
    if (lzcnt !== false) assertWarned(report, 'abm', /^lzcnt /);
    else assert.equal(maskedOf(report, 'abm'), undefined, 'LZCNT runs as BSR here: absent, not masked');
    assert.ok(!report.required.includes('rdseed') && !report.required.includes('abm'), 'dropped from the requirement by default');
    assert.equal(report.maskedCounted, false);
    // The text output: the warning, each feature with its function and instruction.
    const text = formatReport(report);
    assert.match(text, /Warning: \d+ masked feature\(s\) left out of the requirement/);
    assert.match(text, /! RDSEED[\s\S]*in masked_seed_and_count\S* \(masked_features-[0-9a-f]+\): rdseed /);
    assert.match(text, /! LZCNT[\s\S]*in masked_seed_and_count\S* \(masked_features-[0-9a-f]+\): lzcnt /);
    assert.doesNotMatch(text, /absent on this host[^\n]*\brdseed\b/);
    // The source is AMD: feature-compatible Intel types are their own verdict, never counted.
    const inst = report.instances;
    assert.equal(inst.sourceVendor, 'amd');
    assert.ok(inst.verdicts.filter((v) => v.compatible).every((v) => v.vendor === 'amd'));
    assert.deepEqual(inst.crossVendor, inst.verdicts.filter((v) => v.crossVendor).map((v) => v.name));
    if (inst.crossVendor!.length > 0) assert.match(text, /Feature-compatible, another vendor, unproven: \d+ type/);

    // Counted: both are required, and every type still compatible has them.
    const counted = (await analyzeProcess(p.pid, { host, withFullScan: false, countMasked: true })).report;
    assert.equal(counted.maskedCounted, true);
    assert.ok(counted.required.includes('rdseed') && counted.required.includes('abm') === (lzcnt !== false), counted.required.join(','));
    assertWarned(counted, 'rdseed', /^rdseed /);
    let newlyRefused = 0;
    for (const v of counted.instances.verdicts) {
      const before = report.instances.verdicts.find((x) => x.name === v.name)!;
      if (before.missing.length > 0 || v.missing.length === 0) continue;
      newlyRefused++;
      assert.ok(v.missing.every((f) => f === 'rdseed' || f === 'abm'), `${v.name} is refused only for the counted features: ${v.missing.join(',')}`);
    }
    // Exactly the types without RDSEED or LZCNT (Haswell lacks RDSEED) that accepted the uncounted requirement refuse it now.
    const lacking = defaultCatalog().instances.filter((i) => !i.features.includes('rdseed') || !i.features.includes('abm')).map((i) => i.name);
    const expected = report.instances.verdicts.filter((v) => v.missing.length === 0 && lacking.includes(v.name)).length;
    assert.equal(newlyRefused, expected);
    assert.ok(counted.instances.compatible.length <= report.instances.compatible.length);
    assert.match(formatReport(counted), /counted as required \(--count-masked\)/);
  } finally {
    await p.stop();
  }
});

test('this host minus the RDSEED flag: the same process gets the warning', async (t) => {
  const p = await startMasked(t);
  if (!p) return;
  try {
    const real = await collectHost();
    const host: HostInfo = { ...real, flags: new Set(real.flags) };
    host.flags.delete('rdseed');
    const { report } = await analyzeProcess(p.pid, { host, withFullScan: false });
    assertWarned(report, 'rdseed', /^rdseed /);
    assert.ok(!report.required.includes('rdseed'));
    // LZCNT is masked only where this host's CPUID hides it too (the expectation follows the host).
    assert.equal(maskedOf(report, 'abm') !== undefined, !real.flags.has('abm'));
    // With the host as it is, RDSEED is required when the CPUID reports it, else masked.
    const asIs = (await analyzeProcess(p.pid, { host: real, withFullScan: false })).report;
    assert.equal(asIs.required.includes('rdseed'), real.flags.has('rdseed'));
    assert.equal(maskedOf(asIs, 'rdseed') !== undefined, !real.flags.has('rdseed'));
  } finally {
    await p.stop();
  }
});

test('a candidate whose instruction faults on this machine is absent, not masked (the probe decides)', async (t) => {
  const p = await startMasked(t);
  if (!p) return;
  try {
    // The fixture's AVX-512FP16 function is reachable (behind argc > 100) and never runs. With no vendor
    // line-up to rule it out and the flag removed, only the probe on this machine decides.
    const real = await collectHost();
    const host: HostInfo = { ...real, vendor: 'other', flags: new Set(real.flags) };
    host.flags.delete('avx512_fp16');
    const { report } = await analyzeProcess(p.pid, { host, withFullScan: false });
    assert.ok(report.notOnHost.includes('avx512_fp16'), `the walk reaches masked_fp16_path: ${report.notOnHost.join(',')}`);
    const runs = (await probeFeatures(['avx512_fp16'])).get('avx512_fp16');
    const fp16 = maskedOf(report, 'avx512_fp16');
    if (!real.flags.has('avx512f')) assert.equal(fp16, undefined, 'without AVX-512F no EVEX code is masked');
    else if (runs === false) assert.equal(fp16, undefined, 'VADDPH faults here: absent, not a warning');
    else {
      assert.ok(fp16, 'VADDPH runs here: a masked feature');
      assert.equal(fp16.executes, true);
      assert.ok(fp16.sites.some((s) => s.function.startsWith('masked_fp16_path')));
    }
    // Without the probe every candidate is reported, unconfirmed.
    const unprobed = (await analyzeProcess(p.pid, { host, withFullScan: false, probeMasked: false })).report;
    if (real.flags.has('avx512f')) {
      assert.ok(maskedOf(unprobed, 'avx512_fp16'));
      assert.equal(maskedOf(unprobed, 'avx512_fp16')!.executes, undefined);
    }
  } finally {
    await p.stop();
  }
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: os.tmpdir() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

test('the CLI: --count-masked is documented and reaches the analysis', { skip: fs.existsSync(CLI) ? false : 'dist/cli.js is not built (node esbuild.mjs)' }, async (t) => {
  const help = await cli(['--help']);
  assert.match(help.stdout, /--count-masked/);
  const p = await startMasked(t);
  if (!p) return;
  try {
    for (const [flags, counted] of [[[], false], [['--count-masked'], true]] as const) {
      const r = await cli(['analyze', '--pid', String(p.pid), '--no-full-scan', '--quiet', '--json', ...flags]);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as AnalysisReport;
      assert.equal(report.maskedCounted, counted);
      assert.ok(Array.isArray(report.maskedFeatures));
      assert.ok(Array.isArray(report.instances.crossVendor));
    }
  } finally {
    await p.stop();
  }
});

const HAVE_HEADERS = fs.existsSync('/usr/include/python3.11/Python.h');

test('the hover of a call whose native code uses a feature the host hides: a warning with function and instruction', { skip: HAVE_HEADERS ? false : 'python3-dev headers missing' }, async () => {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-masked-'));
  try {
    const so = buildC('c/pyext_kernels.c', { shared: true, flags: ['-I/usr/include/python3.11', '-fno-stack-protector'], outName: 'masked/pyext_kernels.so' });
    fs.copyFileSync(so, path.join(ws, 'pyext_kernels.so'));
    const app = path.join(ws, 'app.py');
    fs.writeFileSync(app, ['import pyext_kernels as pk', '', 'pk.k_sha()', ''].join('\n'));
    // This host with SHA hidden (k_sha runs SHA256RNDS2 whatever the host: the code is built for it).
    const real = await collectHost();
    const host = new Set(real.flags);
    host.delete('sha_ni');
    const rarity = catalogRarity(defaultCatalog());
    const shaRuns = (await probeFeatures(['sha_ni'])).get('sha_ni');
    for (const countMasked of [false, true]) {
      const r = await analyzeCallSites({ python: DEBIAN_PYTHON, files: [app], hostFeatures: host, hostVendor: real.vendor, countMasked, workspaceRoot: ws });
      try {
        const site = (r.byFile.get(app) ?? []).find((s) => s.range.line === 2);
        assert.ok(site && site.origin !== 'unknown', JSON.stringify(site));
        const sha = site.masked?.find((m) => m.feature === 'sha_ni');
        if (shaRuns === false) {
          // This CPU really lacks SHA (the probe faults): absent, not masked.
          assert.equal(sha, undefined);
          assert.ok(!site.features.includes('sha_ni'));
          continue;
        }
        assert.ok(sha, `sha_ni is masked on this call's path: ${JSON.stringify(site.masked)}`);
        assert.ok(sha.sites.some((s) => s.function.startsWith('k_sha') && /^sha256/.test(s.instruction ?? '')), JSON.stringify(sha.sites));
        assert.equal(site.features.includes('sha_ni'), countMasked);
        const text = (computeHover(site, rarity).contents as { value: string }).value;
        assert.match(text, /Warning — masked on this host/);
        assert.match(text, /SHA-NI: `k_sha[^`]*` \(pyext_kernels\.so\): `sha256/);
        assert.match(text, countMasked ? /counted as required/ : /not counted as required/);
      } finally {
        r.close();
      }
    }
  } finally {
    fs.rmSync(ws, { recursive: true, force: true });
  }
});

test('the feature probes: each runs one instruction of exactly its feature, and agrees with this host', async () => {
  for (const [f, bytes] of Object.entries(FEATURE_PROBES)) {
    const d = decodeOne(Uint8Array.from(bytes));
    assert.ok(d && d.length === bytes.length, `${f}: one whole instruction`);
    // Exactly its feature, or with AVX-512F for an EVEX one at 128/256 bits (AVX-512VL extends AVX-512F).
    assert.ok(d.info.features.includes(f) && d.info.features.every((x) => x === f || x === 'avx512f'), `${f}: ${d.text} needs ${d.info.features.join(',')}`);
  }
  const lz = decodeOne(Uint8Array.from(featureProbeCode('abm')!.slice(5)));
  assert.deepEqual([...lz!.info.features], ['abm'], lz!.text);
  const host = await collectHost();
  const probed = await probeFeatures(['abm', ...Object.keys(FEATURE_PROBES)]);
  // What the CPUID reports executes (its state is enabled); the CPUID may hide more, so only this direction holds.
  for (const f of host.flags) if (probed.has(f)) assert.equal(probed.get(f), true, `${f} is reported and executes`);
  // And an instruction set no CPU of this vendor has faults, so the probe tells absence apart: SSE4a is AMD's
  // only, AVX-512FP16 Intel's only (Zen 5 has neither AVX-512FP16 nor, on Intel, any SSE4a); the shipped
  // catalog's line-ups agree.
  const foreign = host.vendor === 'intel' ? 'sse4a' : host.vendor === 'amd' ? 'avx512_fp16' : undefined;
  if (foreign) {
    assert.ok(!vendorLineup(host.vendor)!.has(foreign));
    assert.equal(probed.get(foreign), false, `${foreign} faults on this ${host.vendor} CPU`);
  }
  console.log(`# probes on this host: ${[...probed].map(([f, v]) => `${f}=${v ? 'runs' : 'faults'}`).join(' ')}`);
});
