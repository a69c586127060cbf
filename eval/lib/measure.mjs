// One analysis of a live workload in a fresh Node process, so its time and peak RSS are its own (cold
// caches): `ours` (analyzePythonProcess, the product's whole analysis), `plain` (the paper's EPT), `full`.
// After the timed `ours` analysis it can also compute, untimed, the Table I ablations (PVM only, bytecode-
// resolved only) and a replica of ours' walk with the visited extents recorded (coverage diagnostic).
// Usage: node eval/lib/measure.mjs ours|plain|full PID HOST_JSON [--strict] [--ablations] [--visited FILE]
//   [--roots-out FILE | --roots-in FILE]; prints one JSON line. --roots-out saves the bytecode-resolved roots,
//   --roots-in reuses them (addresses in the same live process) instead of resolving them again. --strict runs
//   ours with the strict root policy (the default is precise, as the product's).
import * as fs from 'node:fs';
import { engine } from './engine.mjs';

const argv = process.argv.slice(2);
let [method, pidText, hostFile] = argv;
const pid = Number(pidText);
let ablations = false;
let visitedOut;
let rootsOut;
let rootsIn;
let strict = false;
for (let i = 3; i < argv.length; i++) {
  if (argv[i] === '--ablations') ablations = true;
  else if (argv[i] === '--visited' && i + 1 < argv.length) visitedOut = argv[++i];
  else if (argv[i] === '--roots-out' && i + 1 < argv.length) rootsOut = argv[++i];
  else if (argv[i] === '--roots-in' && i + 1 < argv.length) rootsIn = argv[++i];
  else if (argv[i] === '--strict') strict = true;
  else method = undefined;
}
if (!['ours', 'plain', 'full'].includes(method) || !Number.isInteger(pid) || !hostFile) {
  console.error('usage: measure.mjs ours|plain|full PID HOST_JSON [--strict] [--ablations] [--visited FILE] [--roots-out FILE | --roots-in FILE]');
  process.exit(2);
}

const E = engine();
const host = E.hostFromJson(JSON.parse(fs.readFileSync(hostFile, 'utf8')));
const source = E.hostFeatures(host);

/** The parts of a report the evaluation keeps. */
function summarize(report) {
  return {
    required: report.required,
    notOnHost: report.notOnHost,
    // The feature verdict, as the oracle's (compatibleInstances): the compatible types and those of another
    // vendor with every needed feature, which the report sets apart as unproven (docs/catalog.md).
    accepted: [...report.instances.compatible, ...(report.instances.crossVendor ?? [])],
    stats: report.stats,
    notes: report.notes,
    rootPolicy: report.rootPolicy ?? null,
    features: report.features.map((f) => ({ feature: f.feature, count: f.count, modules: f.modules, sites: f.sites, via: f.via })),
  };
}

/**
 * A requirement from a raw walk, with the rules analyzeProcess applies after its walk: shadow-stack
 * instructions dropped for a process without shadow stacks, then ∩ source host, baseline removed.
 */
function requirementOf(features) {
  const keys = [...features.keys()].filter((f) => f !== 'shstk' || E.shadowStackEnabled(pid));
  return E.effectiveRequirement(keys, source);
}

/** Root kinds of a root list, for the report (how many roots of each origin a walk started from). */
function rootCounts(groups) {
  return Object.fromEntries(Object.entries(groups).map(([k, v]) => [k, v.length]));
}

if (method !== 'ours') {
  const mode = method === 'plain' ? 'ept-plain' : 'full';
  const { report, ept } = await E.analyzeProcess(pid, { mode, withFullScan: false, host });
  const out = { method, ...summarize(report) };
  if (ept) out.unresolvedSample = ept.unresolvedSample.slice(0, 50).map((u) => ({ ...u, address: `0x${u.address.toString(16)}` }));
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------- ours, timed: the product's analysis
const cache = new E.BytecodeCache();
const started = process.hrtime.bigint();
const analysis = await E.analyzePythonProcess(pid, { mode: 'ept', withFullScan: false, host, cache, hostFeatures: source, strict });
const wall = Number(process.hrtime.bigint() - started) / 1e9;
const out = { method, ...summarize(analysis.report) };
// The report's own time covers analyzeProcess (the walk); the wall time adds bytecode tracking and symbol
// resolution. Peak RSS is this Node process's (the Python helper of bytecode tracking is not counted).
out.stats = { ...out.stats, engineSeconds: out.stats.seconds, seconds: wall, peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024) };
if (analysis.ept) out.unresolvedSample = analysis.ept.unresolvedSample.slice(0, 50).map((u) => ({ ...u, address: `0x${u.address.toString(16)}` }));

if (ablations || visitedOut || rootsOut) {
  // The bytecode-resolved native roots, as analyzePythonProcess computed them (the cache makes bytecode
  // tracking warm; resolution runs again in the live process), or those an earlier measurement saved.
  const program = E.programOf(pid);
  let cs;
  const bytecode = { files: program.files, note: program.note ?? null, roots: 0, callSites: 0, resolved: 0, unknown: 0, unknownReasons: [], seconds: 0 };
  let nativeRoots = [];
  if (rootsIn) {
    nativeRoots = JSON.parse(fs.readFileSync(rootsIn, 'utf8'));
    bytecode.roots = nativeRoots.length;
    bytecode.reused = true;
  } else if (program.files.length > 0) {
    try {
      cs = await E.analyzeCallSites({ python: `/proc/${pid}/exe`, files: program.files, pid, cache, hostFeatures: source });
      nativeRoots = cs.nativeRoots;
      Object.assign(bytecode, { roots: nativeRoots.length, callSites: cs.stats.callSites, resolved: cs.stats.resolved, unknown: cs.stats.unknown, seconds: cs.stats.seconds });
      // Why call sites stay unresolved, grouped by reason (module names and counts vary, the kind does not).
      const reasons = new Map();
      for (const list of cs.byFile.values()) {
        for (const s of list) {
          if (s.origin !== 'unknown') continue;
          const key = `${s.callee}: ${s.reason ?? '?'}`;
          reasons.set(key, (reasons.get(key) ?? 0) + 1);
        }
      }
      bytecode.unknownReasons = [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 30);
      bytecode.resolvedNatives = nativeRoots.slice(0, 60).map((r) => r.reason);
    } catch (e) {
      bytecode.error = e instanceof Error ? e.message : String(e);
    } finally {
      cs?.close();
    }
  }
  out.bytecode = bytecode;
  if (rootsOut) fs.writeFileSync(rootsOut, JSON.stringify(nativeRoots.map((r) => ({ address: r.address, reason: r.reason }))));

  const view = new E.ProcessView(pid);
  try {
    const space = new E.ProcessAddressSpace(view);
    const bindNow = view.ldBindNow() === true;
    const pvmRoots = [E.entryRoot(space), E.mainRoot(space)].filter(Boolean);
    const threads = E.threadRoots(view, space).roots;
    const walk = (roots, recordVisited = false) => {
      const t0 = process.hrtime.bigint();
      const r = E.executionPathTracking(space, roots, { mode: 'ept', bindNow, recordVisited });
      return { r, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
    };
    const summary = (r, seconds, groups) => ({
      required: requirementOf(r.features),
      roots: rootCounts(groups),
      functionsVisited: r.functionsVisited,
      addressTakenRoots: r.addressTakenRoots,
      callSites: r.callSites,
      seconds,
    });
    if (ablations) {
      // Paper Table I, "PVM only": the interpreter's entry point, main, and every thread's pc and stack
      // return addresses (live frames only when the process is stopped); no Python-callable roots, no
      // bytecode-resolved roots.
      const pvm = walk([...pvmRoots, ...threads]);
      out.pvm = summary(pvm.r, pvm.seconds, { entry: pvmRoots, threads });
      // Paper Table I, "bytecode-resolved only": the native functions bytecode tracking resolved for the
      // program's files, nothing else.
      const bc = walk(nativeRoots);
      out.bytecodeOnly = summary(bc.r, bc.seconds, { bytecode: nativeRoots });
    }
    if (visitedOut) {
      // A replica of ours' walk (the roots analyzeProcess takes, in its order) with the visited extents
      // recorded: the path coverage diagnostic. Thread roots are read again, so on a running process it can
      // differ slightly from the timed analysis; `required` is kept to show that.
      // Under the precise policy, the Python-callable roots its gate admitted (none was gated when it fell back).
      const gate = analysis.report.rootPolicy === 'precise' ? analysis.pythonGate : undefined;
      const py = analysis.report.target.python ? E.pythonEntryRoots(space, gate).roots : [];
      const groups = { entry: pvmRoots, threads, bytecode: nativeRoots, python: py };
      const rep = walk([...pvmRoots, ...threads, ...nativeRoots, ...py], true);
      out.replica = summary(rep.r, rep.seconds, groups);
      fs.writeFileSync(visitedOut, JSON.stringify(rep.r.visited.map((v) => [v.module, v.start, v.end, v.reason])));
    }
  } finally {
    view.close();
  }
}
process.stdout.write(`${JSON.stringify(out)}\n`);
