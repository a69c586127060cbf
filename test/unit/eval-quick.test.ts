// The evaluation's quick subset (eval/run.mjs --quick) as a test: real workloads analysed by every method and
// traced by the ptrace oracle. Fails on any safety violation (a feature the oracle saw executed that our
// requirement lacks, analysed running or stopped), on a broken oracle, or on inconsistent metrics.
//
// Determinism: the oracle's windows land at different points of the workloads' loops from run to run, so F_dyn
// varies, but only within what the workload really executes. A safe engine (requirement ⊇ everything the
// process can execute) therefore passes whatever the windows see. The other way round, the quick workloads
// run their feature-bearing kernel (int8dot's AVX512-VNNI/AVX2 loop, rdseed's RDSEED loop) in every loop
// iteration, and one iteration is a few thousand instructions, far fewer than a window's 20,000 steps: every
// window sees the kernel. The stopped analysis is the other source of chance (a stop that lands inside the
// kernel makes it a root and hides a missing edge): eval/lib/stop.mjs stops the workload only where every
// thread runs the interpreter or waits in a system call, so no kernel frame is live. An engine that misses
// the kernel's feature (e.g. without its Python-callable roots) therefore fails every run (3 of 3 with the
// roots removed), not by luck.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT, debianPythonHas, haveCommand, hostFlags } from '../helpers/fixtures';
import { hostSkipUnless, skipUnless } from '../helpers/skip';

interface Score {
  recall: number;
  precision: number;
  accepted: number;
}
interface Method {
  required: string[];
  accepted: string[];
  gaps: string[];
  score: Score;
  /** Against the widened oracle (F_dyn + the IFUNC-selected variants it saw called): recall and the features lacked. */
  scoreWide: Score;
  gapsWide: string[];
}
interface GapEvidence {
  feature: string;
  missedBy: string[];
  functions: [string, number][];
  sites: { function: string; address: string; instruction?: string }[];
}
interface WorkloadResult {
  name: string;
  path?: string;
  error?: string;
  skipped?: string;
  methods?: Record<'criu' | 'full' | 'pvm' | 'bytecode' | 'ours' | 'frozen' | 'plain', Method>;
  oracle?: { required: string[]; featuresAll: string[]; windows: { steps: number; threads: number }[]; decoded: number; compatible: number };
  oracleWide?: { required: string[]; added: string[]; compatible: number };
  gapEvidence?: GapEvidence[];
  callSites?: Record<string, { untraceableShare: number; total: number }>;
  bytecode?: { files: string[]; callSites: number; roots: number; error?: string };
}
interface Run {
  results: WorkloadResult[];
  host: { features: string[] };
}

function ptraceAllowed(): boolean {
  try {
    return Number(fs.readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim()) < 3;
  } catch {
    return true; // no Yama
  }
}

// Tools (installed by scripts/setup.sh: under CI their absence fails) and the kernel (a legitimate skip).
const why =
  skipUnless(haveCommand('gcc'), 'gcc is not installed') ||
  skipUnless(fs.existsSync('/usr/bin/python3-config'), 'python3-dev is not installed (scripts/setup.sh installs it)') ||
  skipUnless(debianPythonHas('ctypes'), "Debian's python3 cannot import ctypes") ||
  hostSkipUnless(ptraceAllowed(), 'ptrace is disabled (kernel.yama.ptrace_scope = 3)') ||
  undefined;

test('quick evaluation: every workload is safe against the ptrace oracle and the metrics are consistent', { skip: why ?? false, timeout: 240_000 }, () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-eval-quick-'));
  try {
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'eval', 'run.mjs'), '--quick', '--out', out, '--doc'], {
      encoding: 'utf8',
      timeout: 230_000,
    });
    const resultsFile = path.join(out, 'results.json');
    assert.ok(fs.existsSync(resultsFile), `eval/run.mjs wrote results.json (exit ${r.status}): ${r.stderr.slice(-3000)}`);
    const run = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as Run;
    const flags = hostFlags();

    assert.ok(run.results.length >= 2, 'the quick subset has at least two workloads');
    const failed = run.results.filter((w) => w.error);
    assert.deepEqual(failed.map((w) => `${w.name}: ${w.error}`), [], 'no workload failed');
    const ran = run.results.filter((w) => w.methods);
    assert.ok(ran.length >= 2, `at least two workloads ran (${run.results.map((w) => `${w.name}: ${w.skipped ?? 'ran'}`).join('; ')})`);

    // Safety first, with the evidence in the message.
    const violations = ran.flatMap((w) =>
      (w.gapEvidence ?? []).map(
        (g) =>
          `${w.name}: ${g.feature} missed by ${g.missedBy.map((k) => (k === 'frozen' ? 'ours (process stopped)' : 'ours (running)')).join(' and ')}; ` +
          `executed in ${g.functions.map(([f, n]) => `${f} (${n})`).join(', ')}; ` +
          `e.g. ${g.sites.map((s) => `${s.instruction ?? '?'} at ${s.address} in ${s.function}`).join('; ')}`,
      ),
    );
    assert.deepEqual(
      violations,
      [],
      'F_dyn ⊆ ours on every workload, analysed running and stopped (diagnose with `node eval/why.mjs PID [--stop] module!function`; see docs/evaluation.md, Findings)',
    );

    for (const w of ran) {
      const m = w.methods!;
      const o = w.oracle!;
      // The oracle really traced the workload and decoded what it saw.
      assert.ok(o.windows.every((x) => x.steps > 0 && x.threads >= 1), `${w.name}: every oracle window stepped`);
      assert.ok(o.decoded > 100, `${w.name}: the oracle decoded ${o.decoded} instructions`);
      // F_dyn is part of the host's features, baseline removed.
      for (const f of o.required) assert.ok(run.host.features.includes(f), `${w.name}: ${f} of F_dyn is a host feature`);
      for (const [k, method] of Object.entries(m)) {
        assert.ok(method.score.recall >= 0 && method.score.recall <= 1, `${w.name}/${k}: recall in [0, 1]`);
        // A method that covers F_dyn accepts only oracle-compatible types.
        if (method.gaps.length === 0) assert.equal(method.score.precision, 1, `${w.name}/${k}: safe, so precision 1`);
      }
      // The widened oracle holds F_dyn, so it admits no more types; a method whose requirement covers it accepts
      // only types it admits, so its recall there is at least its plain recall.
      const wide = w.oracleWide!;
      assert.ok(wide, `${w.name}: the widened oracle ran`);
      for (const f of o.required) assert.ok(wide.required.includes(f), `${w.name}: ${f} of F_dyn is in the widened oracle`);
      assert.deepEqual(wide.added, wide.required.filter((f) => !o.required.includes(f)), `${w.name}: the widened oracle's added features`);
      assert.ok(wide.compatible <= o.compatible, `${w.name}: the widened oracle admits at most the plain one's ${o.compatible} types (${wide.compatible})`);
      for (const [k, method] of Object.entries(m)) {
        assert.ok(method.scoreWide.recall >= 0 && method.scoreWide.recall <= 1, `${w.name}/${k}: widened recall in [0, 1]`);
        if (method.gapsWide.length === 0) assert.ok(method.scoreWide.recall >= method.score.recall, `${w.name}/${k}: covers the widened oracle, so its recall there is at least the plain one`);
      }
      // Ours is analyzePythonProcess: bytecode tracking of the workload's script ran and gave roots, and ours
      // (whose roots include the bytecode-resolved ones) requires at least what those roots alone reach.
      assert.ok(w.bytecode && !w.bytecode.error && w.bytecode.files.length === 1 && w.bytecode.callSites > 0, `${w.name}: bytecode tracking of the script ran (${w.bytecode?.error ?? ''})`);
      assert.ok(w.bytecode!.roots > 0, `${w.name}: bytecode tracking resolved native roots`);
      for (const f of m.bytecode.required) assert.ok(m.ours.required.includes(f), `${w.name}: ours has ${f} of the bytecode-resolved roots`);
      // The full scan requires at least what EPT does, CRIU at least what the full scan does.
      for (const f of m.ours.required) assert.ok(m.full.required.includes(f), `${w.name}: full scan has ${f} of ours`);
      for (const f of m.full.required) if (f !== 'xtest') assert.ok(m.criu.required.includes(f), `${w.name}: CRIU has ${f} of the full scan`);
      assert.ok(m.ours.score.recall >= m.full.score.recall, `${w.name}: ours accepts at least what the full scan accepts`);
      assert.ok(m.full.score.recall >= m.criu.score.recall, `${w.name}: the full scan accepts at least what CRIU accepts`);
      assert.ok(w.callSites!.ours.total > 0 && w.callSites!.plain.total > 0, `${w.name}: call sites were counted`);
    }

    // The kernels are chosen at run time: the oracle must see the path this host takes (so a missed feature
    // would show up as a violation, see the note at the top).
    const int8 = ran.find((w) => w.name === 'int8dot');
    if (int8) {
      const expected = flags.has('avx512_vnni') && flags.has('avx512bw') ? 'avx512_vnni' : flags.has('avx2') ? 'avx2' : 'scalar';
      assert.equal(int8.path, expected, 'int8dot chose the path the host flags imply');
      if (expected !== 'scalar') assert.ok(int8.oracle!.required.includes(expected), `the oracle saw ${expected} execute in int8dot`);
    }
    const seed = ran.find((w) => w.name === 'rdseed');
    if (seed) {
      const expected = flags.has('rdseed') ? 'rdseed' : flags.has('rdrand') ? 'rdrand' : 'getrandom';
      assert.equal(seed.path, expected, 'rdseed chose the path the host flags imply');
      if (expected !== 'getrandom') assert.ok(seed.oracle!.required.includes(expected), `the oracle saw ${expected} execute in rdseed`);
    }

    // The report and the plot were written and name every workload that ran.
    const md = fs.readFileSync(path.join(out, 'evaluation.md'), 'utf8');
    const svg = fs.readFileSync(path.join(out, 'evaluation-recall.svg'), 'utf8');
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    for (const w of ran) {
      assert.ok(md.includes(`| ${w.name} |`), `evaluation.md has a row for ${w.name}`);
      assert.ok(svg.includes(`>${w.name}</text>`), `the plot labels ${w.name}`);
    }
    assert.match(md, /\*\*Machine\*\*: /);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
