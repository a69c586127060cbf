#!/usr/bin/env node
// Benchmark of bytecode tracking: the import closure of `import xgboost` (Debian python3-xgboost), each
// measurement in a fresh Node process. Not a test: it prints figures (and JSON with --json).
//
//   roots  what the language server and the CLI ask for: the closure, the roots' call sites, and the walk
//          from each root site into library code (reachableNative, as the call-site analysis does);
//          function bodies elsewhere are simulated only when a walk or a resolution enters them.
//   all    every call site of the closure resolved (the paper's measure).
//
// For each: `cold` = new process, empty disk cache; `warm` = the same session again, nothing changed;
// `disk` = a new process whose disk cache the cold run filled (the language server or CLI started again).
// CPU times are reported beside wall times: on a shared machine wall time mostly measures the neighbours.
//
// Usage: npx tsc -b && node scripts/bench-bytecode.mjs [--python /usr/bin/python3] [--module xgboost | --file F]
//        [--mode roots|all|both] [--runs 3] [--root DIR]... [--json]
// --root measures another build too (a checkout with `out/` built), interleaved with this one.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const k = args.indexOf(name);
  return k >= 0 ? args[k + 1] : dflt;
};
const opts = (name) => args.flatMap((a, k) => (a === name && k + 1 < args.length ? [args[k + 1]] : []));

if (args[0] === '--child') await child(JSON.parse(args[1]));
else await parent();

/** Peak resident set size of this process (VmHWM), in MB. */
function peakRssMb() {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** CPU seconds of this process's main thread and of its other threads (compiler, GC). */
function threadCpu() {
  let main = 0;
  let others = 0;
  const tick = 100; // USER_HZ on Linux
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const s = (Number(f[11]) + Number(f[12])) / tick;
      if (Number(tid) === process.pid) main += s;
      else others += s;
    } catch {
      // The thread ended.
    }
  }
  return { main, others };
}

async function child(config) {
  const require = createRequire(import.meta.url);
  const bc = require(path.join(config.root, 'out/server/src/bytecode/index.js'));
  const session = new bc.BytecodeSession({ python: config.python, cacheDir: config.cacheDir });
  const request = { python: config.python, followImports: true, callSitesOf: config.mode, ...(config.file ? { files: [config.file] } : { modules: [config.module] }) };
  const out = { root: config.root, mode: config.mode, phase: config.phase, runs: [] };
  for (const label of config.phase === 'disk' ? ['disk'] : ['cold', 'warm']) {
    const load = os.loadavg()[0];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await session.track(request);
    // The call-site analysis walks from each root site's Python callee into library code.
    let natives = new Set();
    if (config.mode === 'roots') {
      for (const s of r.callSites) {
        for (const c of s.callee.candidates ?? [s.callee]) {
          const from = c.kind === 'class' ? c.init?.qualifiedName : c.kind === 'function' || c.kind === 'method' ? c.qualifiedName : undefined;
          // (Builds before the call graph took a result take the list of sites.)
          if (from) for (const n of bc.reachableNative(bc.callSitesOfFiles ? r : r.callSites, from)) natives.add(n.qualifiedName ?? n.reference);
          if (bc.isNativeCallee(c)) natives.add(c.qualifiedName ?? c.reference);
        }
      }
    } else for (const s of r.callSites) for (const c of s.callee.candidates ?? [s.callee]) if (bc.isNativeCallee({ ...c, candidates: undefined })) natives.add(c.qualifiedName ?? c.reference);
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const st = r.stats;
    out.runs.push({
      label,
      wall,
      nodeCpu: (cpu.user + cpu.system) / 1e6,
      helperCpu: st.helper.cpuSeconds,
      load,
      modules: st.modules,
      pythonModules: st.pythonModules,
      nativeModules: st.nativeModules,
      callSites: st.callSites,
      operatorSites: st.operatorSites,
      nativeSites: st.nativeSites,
      distinctNatives: natives.size,
      instructions: st.instructions,
      pendingModules: st.pendingModules ?? null,
      diskModules: st.diskModules ?? null,
      cachedModules: st.cachedModules,
      health: [st.desync, st.effectMismatches, st.depthMismatches],
      version: r.python.version,
      executable: r.python.executable,
    });
  }
  session.close();
  await session.disk?.settled?.();
  out.peakRss = peakRssMb();
  out.threads = threadCpu();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function parent() {
  const python = opt('--python', '/usr/bin/python3');
  const module = opt('--module', 'xgboost');
  const file = opt('--file', undefined);
  const runs = Number(opt('--runs', '3'));
  const mode = opt('--mode', 'both');
  const roots = [here, ...opts('--root').map((r) => path.resolve(r))];
  const modes = mode === 'both' ? ['roots', 'all'] : [mode];
  const results = [];
  for (let k = 0; k < runs; k++) {
    for (const m of modes) {
      for (const root of roots) {
        const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyg-bench-'));
        try {
          for (const phase of ['cold', 'disk']) {
            const config = { root, python, module, file: file ? path.resolve(file) : undefined, mode: m, phase, cacheDir };
            const p = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify(config)], { encoding: 'utf8', maxBuffer: 1 << 26 });
            const line = p.stdout.trim().split('\n').pop();
            if (p.status !== 0 || !line) {
              process.stderr.write(`child failed (${root}, ${m}, ${phase}): ${p.stderr}\n`);
              continue;
            }
            results.push(JSON.parse(line));
          }
        } finally {
          fs.rmSync(cacheDir, { recursive: true, force: true });
        }
      }
    }
  }
  if (args.includes('--json')) {
    process.stdout.write(`${JSON.stringify(results, null, 1)}\n`);
    return;
  }
  const median = (xs) => {
    const s = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
    return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
  };
  const range = (xs) => `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;
  const any = results[0]?.runs[0];
  if (!any) return;
  console.log(`import closure of ${file ? file : `\`import ${module}\``} under ${any.executable} (Python ${any.version}); ${runs} run(s), medians (min–max); load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} now`);
  for (const root of roots) {
    for (const m of modes) {
      const mine = results.filter((r) => r.root === root && r.mode === m);
      console.log(`\n${root === here ? 'this build' : root} — ${m}`);
      for (const label of ['cold', 'warm', 'disk']) {
        const rs = mine.flatMap((r) => r.runs.filter((x) => x.label === label));
        if (!rs.length) continue;
        const procs = mine.filter((r) => r.runs.some((x) => x.label === label));
        console.log(
          `  ${label.padEnd(5)} wall ${range(rs.map((x) => x.wall))} s | node cpu ${range(rs.map((x) => x.nodeCpu))} s | helper cpu ${range(rs.map((x) => x.helperCpu ?? NaN))} s | load ${range(rs.map((x) => x.load))}` +
            (label !== 'warm' ? ` | peak RSS ${range(procs.map((x) => x.peakRss))} MB | main thread ${range(procs.map((x) => x.threads.main))} s, other threads ${range(procs.map((x) => x.threads.others))} s` : ''),
        );
      }
      const r = mine[0].runs[0];
      console.log(
        `  modules ${r.modules} (python ${r.pythonModules}, native ${r.nativeModules}); instructions simulated ${r.instructions}; ` +
          `call sites ${r.callSites} + operator sites ${r.operatorSites}; native callees: ${r.nativeSites} sites, ${r.distinctNatives} distinct` +
          `${m === 'roots' ? ' (reached from the roots)' : ''}; function bodies not simulated in ${r.pendingModules ?? '?'} modules; health ${r.health.join('/')}`,
      );
    }
  }
}
