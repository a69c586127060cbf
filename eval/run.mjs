// `npm run eval`: the evaluation suite. Starts each workload (eval/workloads, Debian's python3 with
// LD_BIND_NOW=1), analyses it with every method (ours = analyzePythonProcess, running and stopped; the Table I
// ablations PVM only and bytecode-resolved only; plain EPT; full scan; CRIU's host-level check), traces it
// with the ptrace oracle (F_dyn; safety) and widens it with the IFUNC-selected variants it saw called (recall
// against both, eval/lib/ifunc.mjs), and writes the results (JSON), docs/evaluation.md and the recall plot. Exits 1 when
// any workload violates safety (F_dyn ⊄ ours) or fails (a miss on a workload marked as a documented limit is
// reported, not counted), 2 on usage errors.
//
// Usage: node eval/run.mjs [--quick] [--only a,b] [--policy strict|precise] [--out DIR] [--doc|--no-doc] [--windows N] [--steps N]
//   --quick      the CI subset (workloads marked quick) with small windows; results in out/eval/quick/
//   --only a,b   run only these workloads (names from eval/lib/workloads.mjs)
//   --policy P   the root policy of ours (running and stopped): precise (default, the product's) or strict
//   --out DIR    where results.json goes (default out/eval/full or out/eval/quick), and the report with --doc
//   --doc        write evaluation.md + the SVG (default for a full run, into docs/ unless --out is given)
//   --no-doc     do not write them
//   --windows N  oracle windows per workload; --steps N  single steps per window
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildLauncher, buildNativeParts, buildOracle, DEBIAN_PYTHON, EVAL_OUT, REPO_ROOT } from './lib/build.mjs';
import { engine } from './lib/engine.mjs';
import { callSiteShare, recallPrecision, safetyGaps } from './lib/metrics.mjs';
import { ifuncVariants } from './lib/ifunc.mjs';
import { coverage, decodeTrace, traceWindows } from './lib/oracle.mjs';
import { writeReport } from './lib/report.mjs';
import { startUntilReady, workloadEnv } from './lib/ready.mjs';
import { whileStopped } from './lib/stop.mjs';
import { WORKLOADS } from './lib/workloads.mjs';

// ------------------------------------------------------------------ arguments

function parseArgs(argv) {
  const o = { quick: false, only: undefined, policy: 'precise', out: undefined, doc: undefined, windows: undefined, steps: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--only') o.only = value().split(',').filter(Boolean);
    else if (a === '--policy') {
      o.policy = value();
      if (o.policy !== 'strict' && o.policy !== 'precise') usage(`--policy wants strict or precise, not ${o.policy}`);
    } else if (a === '--out') o.out = path.resolve(value());
    else if (a === '--doc') o.doc = true;
    else if (a === '--no-doc') o.doc = false;
    else if (a === '--windows') o.windows = positive(value(), a);
    else if (a === '--steps') o.steps = positive(value(), a);
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
  return o;
}

function positive(text, name) {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) usage(`${name} wants a positive integer, not ${text}`);
  return n;
}

function usage(error) {
  const text = 'usage: node eval/run.mjs [--quick] [--only a,b] [--policy strict|precise] [--out DIR] [--doc|--no-doc] [--windows N] [--steps N]';
  if (error) {
    console.error(`eval: ${error}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

const args = parseArgs(process.argv.slice(2));
const log = (msg) => process.stderr.write(`[eval ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

// Oracle windows: many short windows spread over time sample different phases of each loop iteration;
// workloads with long iterations (heavy) get more of them.
const ORACLE = args.quick
  ? { windows: args.windows ?? 4, heavyWindows: args.windows ?? 4, steps: args.steps ?? 20_000, seconds: 10, pauseMs: 150 }
  : { windows: args.windows ?? 10, heavyWindows: args.windows ?? 16, steps: args.steps ?? 40_000, seconds: 20, pauseMs: 200 };

// ------------------------------------------------------------------ helpers

function pythonHas(modules) {
  if (modules.length === 0) return true;
  try {
    execFileSync(DEBIAN_PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ')], { stdio: 'ignore', timeout: 120_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a workload through the launcher; resolves once it printed READY (with what it printed). A workload
 * with a `trigger` gets PYGRATION_EVAL_TRIGGER, a file that does not exist yet (`triggerFile`).
 */
function startWorkload(launcher, w, nativeDir, triggerFile) {
  const script = path.join(REPO_ROOT, 'eval', 'workloads', w.script);
  const env = { ...workloadEnv(w, nativeDir, os.tmpdir()), ...(triggerFile ? { PYGRATION_EVAL_TRIGGER: triggerFile } : {}) };
  return startUntilReady([launcher, DEBIAN_PYTHON, script], { env, cwd: os.tmpdir(), timeoutMs: w.readyTimeoutMs ?? 60_000, label: w.name });
}

/** Resolves once the started workload `proc` printed the line `line`; rejects when it exits first or after `timeoutMs`. */
function waitForLine(proc, line, timeoutMs) {
  return new Promise((resolve, reject) => {
    const printed = () => proc.stdout().split('\n').includes(line);
    const done = (err) => {
      clearTimeout(timer);
      proc.child.stdout.off('data', onData);
      proc.child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    const onData = () => {
      if (printed()) done();
    };
    const onExit = () => done(new Error(`exited before printing ${line}. stderr: ${proc.stderr().slice(-1000)}`));
    const timer = setTimeout(() => done(new Error(`did not print ${line} within ${timeoutMs / 1000} s`)), timeoutMs);
    proc.child.stdout.on('data', onData);
    proc.child.once('exit', onExit);
    if (printed()) done();
  });
}

/**
 * Per route of a gate-attack workload: whether the oracle saw its feature, which methods require it, and the
 * root through which ours (running and stopped) first reached it (the gate that admitted its C function).
 */
function routeResults(w, dyn, methods, ours, frozen) {
  if (!w.routes) return undefined;
  const via = (m, f) => m.features.find((x) => x.feature === f)?.via ?? null;
  return Object.entries(w.routes).map(([feature, route]) => ({
    feature,
    route,
    seen: dyn.includes(feature),
    required: Object.fromEntries(Object.entries(methods).map(([k, m]) => [k, m.required.includes(feature)])),
    via: { ours: via(ours, feature), frozen: via(frozen, feature) },
  }));
}

/** The note of an analysis that says which root policy decided and why (strict fallback reasons included). */
const policyNote = (notes) => notes.find((n) => n.startsWith('Root policy ')) ?? null;

/** Runs one measurement in a fresh Node process (eval/lib/measure.mjs) and returns its JSON. */
function measure(method, pid, hostFile, extra = []) {
  const script = path.join(REPO_ROOT, 'eval', 'lib', 'measure.mjs');
  const argv = [script, method, String(pid), hostFile, ...extra];
  // Bytecode tracking keeps module records on disk across processes: give each measurement an empty cache
  // directory, so every analysis is timed cold (as the first one on a machine) and ~/.cache stays untouched.
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-eval-cache-'));
  const env = { ...process.env, PYGRATION_CACHE_DIR: cacheDir };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, argv, { maxBuffer: 1 << 28, timeout: 600_000, env }, (err, stdout, stderr) => {
      fs.rmSync(cacheDir, { recursive: true, force: true });
      if (err) return reject(new Error(`measure ${method} failed: ${err.message}\n${stderr}`));
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop()));
      } catch (e) {
        reject(new Error(`measure ${method} printed no JSON: ${stdout.slice(-500)} ${stderr.slice(-500)}`));
      }
    });
  });
}

const stopText = (s) => `stopped after ${s.attempts} attempt(s)${s.atInterpreter ? '' : ', not all threads in the interpreter'}: ${s.places.map((p) => p.place).join(', ')}`;

const sameSet = (a, b) => a.length === b.length && a.every((x) => b.includes(x));

/** The engine the run measured: the commit and any uncommitted change to it (others work in the same tree). */
function engineVersion() {
  const gitRaw = (args) => {
    try {
      return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' });
    } catch {
      return '';
    }
  };
  const git = (args) => gitRaw(args).trim();
  const dirty = gitRaw(['status', '--porcelain', '--', 'native/src', 'server/src'])
    .split('\n')
    .filter(Boolean)
    .map((l) => l.slice(3));
  return { commit: git(['rev-parse', '--short', 'HEAD']), dirty };
}

function machine(hostInfo) {
  const cpu = hostInfo.cpu;
  let kernel = os.release();
  let distro = '';
  try {
    distro = /PRETTY_NAME="([^"]+)"/.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {
    /* not Linux-standard: leave it out */
  }
  let python = '';
  try {
    python = execFileSync(DEBIAN_PYTHON, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    /* reported as unknown */
  }
  let virt = '';
  try {
    virt = execFileSync('systemd-detect-virt', { encoding: 'utf8' }).trim();
  } catch {
    /* none or unknown */
  }
  return { cpu, cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), kernel, distro, python, node: process.version, virtualization: virt };
}

// ------------------------------------------------------------------ main

async function main() {
  const started = Date.now();
  const loadStart = os.loadavg()[0];
  const E = engine();
  const engineAtStart = engineVersion();
  let workloads = WORKLOADS.filter((w) => (args.quick ? w.quick : true));
  if (args.only) {
    const unknown = args.only.filter((n) => !WORKLOADS.some((w) => w.name === n));
    if (unknown.length) usage(`unknown workload(s): ${unknown.join(', ')}`);
    workloads = WORKLOADS.filter((w) => args.only.includes(w.name));
  }
  const outDir = args.out ?? (args.quick ? path.join(EVAL_OUT, 'quick') : path.join(EVAL_OUT, 'full'));
  const writeDoc = args.doc ?? !args.quick;
  const docDir = args.out ?? path.join(REPO_ROOT, 'docs');
  fs.mkdirSync(outDir, { recursive: true });

  log('building native parts and the oracle');
  const nativeDir = buildNativeParts();
  const tracer = buildOracle();
  const launcher = buildLauncher();

  log('collecting the source host');
  const hostInfo = await E.collectHost();
  const source = E.hostFeatures(hostInfo);
  const hostFile = path.join(outDir, 'host.json');
  fs.writeFileSync(hostFile, JSON.stringify(E.hostToJson(hostInfo)));
  const catalog = E.defaultCatalog();
  const criuAccepted = E.criuBaseline(source, catalog)
    .filter((c) => c.compatible)
    .map((c) => c.instance.name);
  const criuRequired = E.criuInstructionFeatures(source).filter((f) => !E.BASELINE.has(f));

  const results = [];
  const oursArgs = args.policy === 'strict' ? ['--strict'] : [];
  for (const w of workloads) {
    const lacking = (w.hostFeatures ?? []).filter((f) => !source.has(f));
    if (lacking.length) {
      log(`${w.name}: skipped (the source host lacks ${lacking.join(', ')})`);
      results.push({ name: w.name, about: w.about, skipped: `the source host lacks ${lacking.join(', ')} (CPUID), which its kernels need` });
      continue;
    }
    if (!pythonHas(w.modules)) {
      log(`${w.name}: skipped (Debian's python3 cannot import ${w.modules.join(', ')})`);
      results.push({ name: w.name, about: w.about, skipped: `python3 cannot import ${w.modules.join(', ')}` });
      continue;
    }
    const t0 = Date.now();
    log(`${w.name}: starting ${w.script}`);
    let proc;
    const triggerFile = w.trigger ? path.join(outDir, `${w.name}.trigger`) : undefined;
    if (triggerFile) fs.rmSync(triggerFile, { force: true });
    try {
      proc = await startWorkload(launcher, w, nativeDir, triggerFile);
    } catch (e) {
      log(`${w.name}: ${e.message}`);
      results.push({ name: w.name, about: w.about, error: e.message });
      continue;
    }
    try {
      const printed = proc.stdout();
      const pathLine = /^PATH (\S+)$/m.exec(printed)?.[1];
      const rootsFile = path.join(outDir, `${w.name}.bytecode-roots.json`);
      const visitedFrozenFile = path.join(outDir, `${w.name}.visited-frozen.json`);
      log(`${w.name}: pid ${proc.pid} ready${pathLine ? ` (path ${pathLine})` : ''}; analysing (ours)`);
      const ours = await measure('ours', proc.pid, hostFile, [...oursArgs, '--roots-out', rootsFile]);
      log(
        `${w.name}: ours ${ours.stats.seconds.toFixed(1)} s (bytecode: ${ours.bytecode.roots} native roots from ${ours.bytecode.callSites} call sites, ${ours.bytecode.unknown} unresolved); ours with the process stopped`,
      );
      // With the process stopped (only live frames as thread roots, no stale return addresses to help): the
      // Table I ablations and the coverage walk, a replica of ours' roots. The bytecode-resolved roots are those
      // the running analysis found (the same live addresses). The quick subset skips the coverage walk, and runs
      // the two baselines side by side: CI wants safety fast, not their times.
      const [frozen, stop] = await whileStopped(proc.pid, () =>
        measure('ours', proc.pid, hostFile, [...oursArgs, '--ablations', '--roots-in', rootsFile, ...(args.quick ? [] : ['--visited', visitedFrozenFile])]),
      );
      let plain;
      let full;
      if (args.quick) {
        log(`${w.name}: frozen ${frozen.stats.seconds.toFixed(1)} s (${stopText(stop)}); plain EPT and full scan`);
        [plain, full] = await Promise.all([measure('plain', proc.pid, hostFile), measure('full', proc.pid, hostFile)]);
      } else {
        log(`${w.name}: frozen ${frozen.stats.seconds.toFixed(1)} s (${stopText(stop)}); plain EPT`);
        plain = await measure('plain', proc.pid, hostFile);
        log(`${w.name}: full scan`);
        full = await measure('full', proc.pid, hostFile);
      }
      if (triggerFile) {
        // Code loaded after the analysis: let the workload load it now, before the oracle looks.
        log(`${w.name}: static analyses done; triggering the late load and waiting for ${w.trigger}`);
        fs.writeFileSync(triggerFile, '');
        await waitForLine(proc, w.trigger, 60_000);
      }
      const windows = w.heavy ? ORACLE.heavyWindows : ORACLE.windows;
      log(`${w.name}: oracle, ${windows} window(s) of ${ORACLE.steps} steps`);
      const trace = await traceWindows(tracer, proc.pid, { ...ORACLE, windows });
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
        throw new Error(`${w.name} died during the oracle (${proc.child.exitCode ?? proc.child.signalCode}). stderr: ${proc.stderr().slice(-1000)}`);
      }
      const decoded = decodeTrace(proc.pid, trace.addresses);
      let covFrozen;
      let wide;
      try {
        if (frozen.replica) covFrozen = coverage(decoded, JSON.parse(fs.readFileSync(visitedFrozenFile, 'utf8')));
        // The widened oracle (recall only): F_dyn + the whole bodies of the IFUNC-selected variants it saw called.
        wide = ifuncVariants(decoded);
      } finally {
        decoded.view.close();
      }

      const dynAll = E.sortFeatures(decoded.features.keys());
      const dyn = E.effectiveRequirement(dynAll, source);
      const accept = (required) =>
        E.compatibleInstances(required, source, catalog)
          .filter((c) => c.compatible)
          .map((c) => c.instance.name);
      const oracleCompatible = E.compatibleInstances(dyn, source, catalog)
        .filter((c) => c.compatible)
        .map((c) => c.instance.name);
      const dynWide = E.effectiveRequirement(E.sortFeatures(new Set([...dynAll, ...wide.features.keys()])), source);
      const wideCompatible = E.compatibleInstances(dynWide, source, catalog)
        .filter((c) => c.compatible)
        .map((c) => c.instance.name);
      const methods = {
        criu: { required: criuRequired, accepted: criuAccepted },
        full: { required: full.required, accepted: full.accepted, seconds: full.stats.seconds, peakRssMB: full.stats.peakRssMB },
        pvm: { required: frozen.pvm.required, accepted: accept(frozen.pvm.required) },
        bytecode: { required: frozen.bytecodeOnly.required, accepted: accept(frozen.bytecodeOnly.required) },
        ours: { required: ours.required, accepted: ours.accepted, seconds: ours.stats.seconds, peakRssMB: ours.stats.peakRssMB },
        frozen: { required: frozen.required, accepted: frozen.accepted, seconds: frozen.stats.seconds, peakRssMB: frozen.stats.peakRssMB },
        plain: { required: plain.required, accepted: plain.accepted, seconds: plain.stats.seconds, peakRssMB: plain.stats.peakRssMB },
      };
      for (const m of Object.values(methods)) {
        m.gaps = safetyGaps(dyn, m.required);
        m.score = recallPrecision(m.accepted, oracleCompatible);
        // Against the widened oracle: recall, and (no safety verdict) the features of seen variants it lacks.
        m.scoreWide = recallPrecision(m.accepted, wideCompatible);
        m.gapsWide = safetyGaps(dynWide, m.required);
      }
      // What limits recall: per method, each feature beyond F_dyn and how many oracle-compatible types lack it.
      const compatibleTypes = catalog.instances.filter((i) => oracleCompatible.includes(i.name)).map((i) => new Set(i.features));
      const limits = {};
      for (const [key, m] of Object.entries(methods)) {
        limits[key] = {};
        for (const f of m.required) {
          if (dyn.includes(f)) continue;
          limits[key][f] = compatibleTypes.filter((t) => !t.has(f)).length;
        }
      }
      // Evidence for every feature ours misses (running or stopped): where the oracle saw it execute.
      const gapEvidence = [...new Set([...methods.ours.gaps, ...methods.frozen.gaps])].map((f) => {
        const ev = decoded.features.get(f);
        return {
          feature: f,
          missedBy: ['ours', 'frozen'].filter((k) => methods[k].gaps.includes(f)),
          count: ev.count,
          sites: ev.sites,
          functions: [...ev.functions].sort((a, b) => b[1] - a[1]).slice(0, 10),
        };
      });
      const r = {
        name: w.name,
        about: w.about,
        ...(w.limit ? { limit: w.limit } : {}),
        path: pathLine,
        pid: proc.pid,
        oracle: {
          windows: trace.windows,
          seconds: trace.seconds,
          distinct: trace.addresses.length,
          decoded: decoded.instructions.length,
          vdso: decoded.vdso,
          undecodable: decoded.undecodable,
          featuresAll: dynAll,
          required: dyn,
          features: Object.fromEntries(
            [...decoded.features].map(([f, ev]) => [f, { count: ev.count, functions: [...ev.functions].sort((a, b) => b[1] - a[1]).slice(0, 5), sites: ev.sites }]),
          ),
          modules: [...decoded.perModule].sort((a, b) => b[1] - a[1]).slice(0, 12),
          compatible: oracleCompatible.length,
        },
        oracleWide: {
          required: dynWide,
          added: dynWide.filter((f) => !dyn.includes(f)),
          compatible: wideCompatible.length,
          bound: wide.variants.length,
          notes: wide.notes,
          // The variants the oracle saw called (their whole bodies are in the widened set), then the bound ones it did not see.
          variants: [...wide.variants.filter((v) => v.seen.instructions + v.seen.pltStubs > 0), ...wide.variants.filter((v) => v.seen.instructions + v.seen.pltStubs === 0).slice(0, 40)],
          features: Object.fromEntries(
            [...wide.features].filter(([f]) => dynWide.includes(f) && !dyn.includes(f)).map(([f, ev]) => [f, { count: ev.count, functions: [...ev.functions].sort((a, b) => b[1] - a[1]).slice(0, 5), sites: ev.sites }]),
          ),
        },
        methods,
        safe: methods.ours.gaps.length === 0 && methods.frozen.gaps.length === 0,
        rootPolicy: { ours: ours.rootPolicy, frozen: frozen.rootPolicy, note: policyNote(ours.notes), frozenNote: policyNote(frozen.notes) },
        routes: routeResults(w, dyn, methods, ours, frozen),
        limits,
        gapEvidence,
        coverageFrozen: covFrozen && { instructions: covFrozen.instructions, covered: covFrozen.covered, missedFunctions: covFrozen.missedFunctions.slice(0, 25) },
        callSites: { plain: callSiteShare(plain.stats.callSites), ours: callSiteShare(ours.stats.callSites), frozen: callSiteShare(frozen.stats.callSites) },
        stats: { ours: ours.stats, frozen: frozen.stats, plain: plain.stats, full: full.stats, pvm: frozen.pvm, bytecode: frozen.bytecodeOnly },
        bytecode: ours.bytecode,
        // The coverage walk replicates ours' roots on the stopped process; its requirement should equal ours'.
        replica: frozen.replica && { ...frozen.replica, sameAsOurs: sameSet(frozen.replica.required, frozen.required) },
        frozenNotes: frozen.notes,
        stop,
        oursFeaturesFrozen: frozen.features,
        oursFeatures: ours.features,
        notes: ours.notes,
        unresolvedSample: ours.unresolvedSample,
        seconds: (Date.now() - t0) / 1000,
      };
      results.push(r);
      const rec = (m) => `${m.score.recall.toFixed(3)}${m.gaps.length ? ` (misses ${m.gaps.join(', ')})` : ''}`;
      const unseen = (r.routes ?? []).filter((x) => !x.seen).map((x) => x.feature);
      if (unseen.length) log(`${w.name}: the oracle did not see the feature of route(s) ${unseen.join(', ')}: they were not checked`);
      log(
        `${w.name}: ${r.safe ? 'safe' : `${w.limit ? 'documented limit, missed as expected' : 'SAFETY VIOLATION'} (${r.gapEvidence.map((g) => `${g.feature} missed by ${g.missedBy.join('+')}`).join(', ')})`}; recall ours ${methods.ours.score.recall.toFixed(3)} (stopped ${methods.frozen.score.recall.toFixed(3)}), ` +
          `PVM only ${rec(methods.pvm)}, bytecode only ${rec(methods.bytecode)}, full ${methods.full.score.recall.toFixed(3)}, criu ${methods.criu.score.recall.toFixed(3)}; oracle ${dyn.length} features from ${trace.addresses.length} addresses; ` +
          `F_dyn + IFUNC variants (+${r.oracleWide.added.join(' ') || 'nothing'}): recall ours ${methods.ours.scoreWide.recall.toFixed(3)}, full ${methods.full.scoreWide.recall.toFixed(3)}, plain ${methods.plain.scoreWide.recall.toFixed(3)}; ${r.seconds.toFixed(0)} s`,
      );
    } catch (e) {
      log(`${w.name}: ${e.stack ?? e.message}`);
      results.push({ name: w.name, about: w.about, error: e.message });
    } finally {
      await proc.stop();
      if (triggerFile) fs.rmSync(triggerFile, { force: true });
    }
  }

  const run = {
    date: new Date().toISOString(),
    quick: args.quick,
    machine: { ...machine(hostInfo), load: { start: loadStart, end: os.loadavg()[0] } },
    engine: engineAtStart,
    host: { cpu: hostInfo.cpu, features: E.sortFeatures(source), probeError: hostInfo.probeError ?? null },
    catalog: { name: catalog.name, total: catalog.instances.length },
    oracle: ORACLE,
    policy: args.policy,
    seconds: (Date.now() - started) / 1000,
    results,
  };
  fs.writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify(run, null, 1)}\n`);
  if (writeDoc) {
    const written = writeReport(run, docDir);
    log(`wrote ${written.map((f) => path.relative(process.cwd(), f)).join(', ')}`);
  }
  log(`results in ${path.relative(process.cwd(), path.join(outDir, 'results.json'))}; ${run.seconds.toFixed(0)} s in all`);
  const violations = results.filter((r) => r.safe === false && !r.limit);
  const limits = results.filter((r) => r.safe === false && r.limit);
  if (limits.length) log(`documented limits, missed as expected: ${limits.map((r) => `${r.name} (${r.gapEvidence.map((g) => g.feature).join(', ')})`).join('; ')}`);
  const failed = results.filter((r) => r.error);
  if (violations.length) log(`SAFETY VIOLATIONS: ${violations.map((r) => `${r.name} (${r.gapEvidence.map((g) => `${g.feature}: ${g.missedBy.join('+')}`).join(', ')})`).join('; ')}`);
  if (failed.length) log(`FAILED: ${failed.map((r) => r.name).join(', ')}`);
  process.exitCode = violations.length || failed.length ? 1 : 0;
}

main().catch((e) => {
  console.error(e.stack ?? String(e));
  process.exitCode = 1;
});
