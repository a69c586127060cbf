// One analysis of a live workload in a fresh Node process, so its time and peak RSS are its own (cold
// caches): `ours` (analyzeProcess, default EPT mode), `plain` (the paper's EPT), `full` (full scan).
// After the timed `ours` analysis it also walks the PVM roots alone (entry, main, threads) with the
// visited extents recorded, for the PVM-only column and the coverage diagnostic (not timed).
// Usage: node eval/lib/measure.mjs METHOD PID HOST_JSON [VISITED_OUT]; prints one JSON line.
import * as fs from 'node:fs';
import { engine } from './engine.mjs';

const [method, pidText, hostFile, visitedOut] = process.argv.slice(2);
const pid = Number(pidText);
if (!['ours', 'plain', 'full'].includes(method) || !Number.isInteger(pid) || !hostFile) {
  console.error('usage: measure.mjs ours|plain|full PID HOST_JSON [VISITED_OUT]');
  process.exit(2);
}

const { analyzeProcess, effectiveRequirement, hostFromJson, hostFeatures, ProcessView, ProcessAddressSpace, entryRoot, mainRoot, threadRoots, executionPathTracking } =
  engine();
const host = hostFromJson(JSON.parse(fs.readFileSync(hostFile, 'utf8')));
const source = hostFeatures(host);

/** The parts of a report the evaluation keeps. */
function summarize(report) {
  return {
    required: report.required,
    notOnHost: report.notOnHost,
    accepted: report.instances.compatible,
    stats: report.stats,
    notes: report.notes,
    features: report.features.map((f) => ({ feature: f.feature, count: f.count, modules: f.modules, sites: f.sites })),
  };
}

const mode = method === 'ours' ? 'ept' : method === 'plain' ? 'ept-plain' : 'full';
const { report, ept } = await analyzeProcess(pid, { mode, withFullScan: false, host });
const out = { method, ...summarize(report) };
if (ept) out.unresolvedSample = ept.unresolvedSample.slice(0, 50).map((u) => ({ ...u, address: `0x${u.address.toString(16)}` }));

if (method === 'ours') {
  // The PVM-only walk (the paper's ablation "EPT of the PVM"): the same roots analyzeProcess uses, without
  // any extra (bytecode-resolved) roots, with the visited extents recorded.
  const view = new ProcessView(pid);
  try {
    const space = new ProcessAddressSpace(view);
    const roots = [entryRoot(space), mainRoot(space)].filter(Boolean);
    const tr = threadRoots(view, space);
    roots.push(...tr.roots);
    const started = process.hrtime.bigint();
    const r = executionPathTracking(space, roots, { mode: 'ept', bindNow: view.ldBindNow() === true, recordVisited: true });
    out.pvm = {
      required: effectiveRequirement(r.features.keys(), source),
      roots: roots.length,
      functionsVisited: r.functionsVisited,
      callSites: r.callSites,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    };
    if (visitedOut) {
      const rows = r.visited.map((v) => [v.module, v.start, v.end, v.reason]);
      fs.writeFileSync(visitedOut, JSON.stringify(rows));
    }
  } finally {
    view.close();
  }
}
process.stdout.write(`${JSON.stringify(out)}\n`);
