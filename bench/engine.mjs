// Engine benchmark (`npm run bench`): decoder throughput, and on a live NumPy matmul process under Debian's
// python3, the time and peak RSS of execution path tracking (default and plain) and of a full scan, each
// cold in its own fresh Node process, measured in one run so the ratios compare like with like.
// Usage: node bench/engine.mjs [--repeat N] [--json] [--out DIR (a build to measure, default out/)]
//   [--pid N (measure this running process instead of starting the NumPy workload)]
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outArg = process.argv.indexOf('--out');
const out = outArg > 0 ? path.resolve(process.argv[outArg + 1]) : path.join(root, 'out');
const repeat = Number(process.argv[process.argv.indexOf('--repeat') + 1]) || 3;
const json = process.argv.includes('--json');
const pidArg = process.argv.indexOf('--pid');
const givenPid = pidArg > 0 ? Number(process.argv[pidArg + 1]) : undefined;

/** Runs a measurement snippet in a fresh node process and returns its JSON line. */
function measure(snippet) {
  const code = `
    const t0__ = process.hrtime.bigint();
    Promise.resolve(${snippet.trim().startsWith('(async') ? snippet : `(() => { ${snippet}; return result; })()`}).then((result) => {
      const total__ = Number(process.hrtime.bigint() - t0__) / 1e9;
      const cpu__ = process.cpuUsage();
      console.log(JSON.stringify({ totalSeconds: total__, totalCpuSeconds: (cpu__.user + cpu__.system) / 1e6, rssMB: Math.round(process.resourceUsage().maxRSS / 1024), ...result }));
    });`;
  return JSON.parse(execFileSync(process.execPath, ['-e', code], { cwd: out, encoding: 'utf8' }).trim().split('\n').pop());
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function decodeThroughput() {
  return measure(`
    const { CodeDecoder } = require('./native/src/decoder/decoder');
    const { ElfFile } = require('./native/src/elf/elfFile');
    const { openFileSource } = require('./native/src/elf/byteSource');
    const d = new CodeDecoder();
    let n = 0, decodeSeconds = 0, decodeCpuSeconds = 0;
    for (const file of ['/usr/bin/python3.11', '/usr/lib/x86_64-linux-gnu/libc.so.6']) {
      const elf = ElfFile.open(openFileSource(file));
      const text = elf.section('.text');
      const bytes = elf.readVirtual(text.addr, text.size);
      // Three passes: the first warms the JIT; CPU time, unlike wall time, does not count other processes' turns.
      for (let pass = 0; pass < 3; pass++) {
        const s = process.hrtime.bigint();
        const c = process.cpuUsage();
        d.decodeLinear(bytes, text.addr, (v) => { n += v.info.features.length >= 0 ? 1 : 0; });
        const cd = process.cpuUsage(c);
        decodeSeconds += Number(process.hrtime.bigint() - s) / 1e9;
        decodeCpuSeconds += (cd.user + cd.system) / 1e6;
      }
    }
    const result = { instructions: n, decodeSeconds, decodeCpuSeconds, millionPerSecond: n / decodeSeconds / 1e6, millionPerCpuSecond: n / decodeCpuSeconds / 1e6 };`);
}

function analysis(pid, kind) {
  // ept: the product's process analysis without bytecode tracking (entry, main, threads and stacks, and the C
  // functions Python can call), timed by its own stats; warm: the same again in the same process (summaries
  // cached, as in the language server at a second breakpoint stop); ept-plain: the paper's EPT.
  const run =
    kind === 'full'
      ? `const s__ = process.hrtime.bigint(); const c__ = process.cpuUsage(); const r = fullScan(space); const cd__ = process.cpuUsage(c__);
         const result = { seconds: Number(process.hrtime.bigint() - s__) / 1e9, cpuSeconds: (cd__.user + cd__.system) / 1e6, instructions: r.instructionsDecoded, modules: r.modulesScanned };`
      : kind === 'ept-plain'
        ? `const s__ = process.hrtime.bigint(); const c__ = process.cpuUsage();
         const roots = [entryRoot(space), mainRoot(space)].filter(Boolean);
         const r = executionPathTracking(space, roots, { mode: 'ept-plain' });
         const cd__ = process.cpuUsage(c__);
         const result = { seconds: Number(process.hrtime.bigint() - s__) / 1e9, cpuSeconds: (cd__.user + cd__.system) / 1e6, instructions: r.instructionsDecoded, functions: r.functionsVisited, unresolved: r.callSites.unresolved };`
        : `const host = await collectHost();
         const c__ = process.cpuUsage();
         const first = await analyzeProcess(${pid}, { withFullScan: false, host });
         const cd__ = process.cpuUsage(c__);
         const again = await analyzeProcess(${pid}, { withFullScan: false, host });
         const st = first.report.stats;
         const result = { seconds: st.seconds, cpuSeconds: (cd__.user + cd__.system) / 1e6, warmSeconds: again.report.stats.seconds, instructions: st.instructionsDecoded, functions: st.functionsVisited, unresolved: st.callSites.unresolved };`;
  return measure(`
    (async () => {
    const { ProcessView } = require('./native/src/space/processView');
    const { ProcessAddressSpace } = require('./native/src/space/processSpace');
    const { executionPathTracking } = require('./native/src/trace/ept');
    const { fullScan } = require('./native/src/trace/fullScan');
    const { analyzeProcess } = require('./native/src/analyze');
    const { collectHost } = require('./native/src/features/host');
    const { entryRoot, mainRoot } = require('./native/src/trace/pvm');
    const view = new ProcessView(${pid});
    const space = new ProcessAddressSpace(view);
    ${run}
    return result;
    })()`);
}

async function startWorkload() {
  const script = path.join(root, 'test', 'fixtures', 'python', 'numpy_matmul.py');
  const child = spawn('/usr/bin/python3', [script], { env: { ...process.env, LD_BIND_NOW: '1', OPENBLAS_NUM_THREADS: '2' }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      if (buf.includes('READY')) resolve();
    });
    child.once('exit', (c) => reject(new Error(`workload exited (${c})`)));
  });
  return child;
}

if (!fs.existsSync(path.join(out, 'native', 'src', 'trace', 'ept.js'))) {
  console.error('bench: build first (npx tsc -b)');
  process.exit(2);
}
const results = { machine: `${execFileSync('nproc').toString().trim()} cores, ${fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)[1]}` };
results.decode = decodeThroughput();
const child = givenPid ? undefined : await startWorkload();
const pid = givenPid ?? child.pid;
try {
  for (const kind of ['ept', 'ept-plain', 'full']) {
    const runs = [];
    for (let i = 0; i < repeat; i++) runs.push(analysis(pid, kind));
    results[kind] = { ...runs[0], seconds: median(runs.map((r) => r.seconds)), cpuSeconds: median(runs.map((r) => r.cpuSeconds)), rssMB: Math.max(...runs.map((r) => r.rssMB)), runs: runs.map((r) => +r.seconds.toFixed(3)) };
  }
} finally {
  child?.kill('SIGKILL');
}
results.ratioFullOverEpt = results.full.seconds / results.ept.seconds;
if (json) console.log(JSON.stringify(results, null, 2));
else {
  console.log(`machine: ${results.machine}`);
  console.log(`decoder: ${results.decode.instructions.toLocaleString()} instructions in ${results.decode.decodeSeconds.toFixed(3)} s = ${results.decode.millionPerSecond.toFixed(2)} M instructions/s (${results.decode.millionPerCpuSecond.toFixed(2)} M per CPU second)`);
  for (const k of ['ept', 'ept-plain', 'full']) {
    const r = results[k];
    console.log(`${k.padEnd(9)}: ${r.seconds.toFixed(3)} s analysis, ${r.cpuSeconds.toFixed(3)} s CPU (median of ${r.runs.join(', ')}; ${r.totalSeconds.toFixed(2)} s, ${r.totalCpuSeconds.toFixed(2)} s CPU with start-up and /proc setup${r.warmSeconds ? `; warm ${r.warmSeconds.toFixed(3)} s` : ''}), peak RSS ${r.rssMB} MB, ${r.instructions.toLocaleString()} instructions${r.functions ? `, ${r.functions.toLocaleString()} functions, ${r.unresolved} unresolved sites` : ''}`);
  }
  console.log(`full scan / EPT time: ${results.ratioFullOverEpt.toFixed(2)}x`);
}
