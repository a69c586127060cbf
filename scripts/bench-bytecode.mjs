#!/usr/bin/env node
// Benchmark of bytecode tracking: the import closure of `import xgboost` (Debian python3-xgboost), cold (new
// session, empty cache) and warm (same session, nothing changed). Not a test: it prints figures.
// Usage: npx tsc -b && node scripts/bench-bytecode.mjs [--python /usr/bin/python3] [--module xgboost] [--runs 3]
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { BytecodeSession } = require(path.join(root, 'out/server/src/bytecode/index.js'));

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const k = args.indexOf(name);
  return k >= 0 ? args[k + 1] : dflt;
};
const python = opt('--python', '/usr/bin/python3');
const module = opt('--module', 'xgboost');
const runs = Number(opt('--runs', '3'));

/** Peak resident set size of this process so far (VmHWM), in bytes. */
function vmHwm() {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function mb(bytes) {
  return (bytes / 1048576).toFixed(0);
}

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 5);

async function once(session, label) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await session.track({ python, modules: [module], followImports: true });
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  peakRss = Math.max(peakRss, process.memoryUsage.rss(), vmHwm());
  const s = r.stats;
  console.log(
    `${label.padEnd(5)} wall ${wall.toFixed(2)} s  node cpu ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s  ` +
      `[helper ${s.seconds.helper.toFixed(2)} s, simulate ${s.seconds.simulate.toFixed(2)} s, resolve ${s.seconds.resolve.toFixed(2)} s]  ` +
      `node peak RSS ${mb(peakRss)} MB  helper cpu ${s.helper.cpuSeconds ?? '?'} s, max RSS ${s.helper.maxRssKB === null ? '?' : (s.helper.maxRssKB / 1024).toFixed(0)} MB`,
  );
  return r;
}

const results = [];
// Each measured pair runs in a fresh process when --runs is 1 (the default of `npm run bench`-like use);
// with several runs the later cold runs reuse the process (JIT already warm, peak RSS cumulative).
for (let k = 0; k < runs; k++) {
  const session = new BytecodeSession({ python });
  const cold = await once(session, 'cold');
  const warm = await once(session, 'warm');
  session.close();
  results.push({ cold, warm });
}
clearInterval(sampler);
const r = results[results.length - 1].cold;
const s = r.stats;
console.log(`\nimport closure of \`import ${module}\` under ${r.python.executable} (Python ${r.python.version}):`);
console.log(`  modules ${s.modules} (python ${s.pythonModules}, native ${s.nativeModules}, builtin/frozen ${s.builtinModules}, missing ${s.missingModules})`);
console.log(`  code objects ${s.codeObjects}, instructions simulated ${s.instructions}`);
console.log(`  call sites ${s.callSites} + operator sites ${s.operatorSites}; resolved ${s.resolvedSites}; native callees ${s.nativeSites} (ctypes ${s.ctypesSites}); unknown ${s.unknownSites}`);
console.log(`  simulation health: desync ${s.desync}, effect mismatches ${s.effectMismatches}, depth mismatches ${s.depthMismatches}`);
console.log(`  warm run: ${results[results.length - 1].warm.stats.cachedModules} of ${results[results.length - 1].warm.stats.pythonModules} Python modules from the cache`);
