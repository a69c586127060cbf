// The live rows alone (issue 12): one fresh language server, live analyses at successive "stops" of a running
// NumPy process over the real protocol (pygration/analyzeProcess), optionally after the client's prewarm.
// Usage: node bench/live.mjs [--stops N] [--sessions N] [--prewarm | --prewarm-lead MS] [--open] [--strict | --precise] [--json] [--workload F.py] [--think MS]   (BENCH_SERVER_ARGS: the server's node flags)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchWorkspace, startServer } from './lib/lsp.mjs';
import { startUntilReady } from './lib/run.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(
    'usage: node bench/live.mjs [--stops N] [--sessions N] [--prewarm | --prewarm-lead MS] [--open] [--strict | --precise] [--json] [--workload F.py] [--think MS]\n' +
      '  --stops N   live analyses of the same session (default 2: the first and the next)\n' +
      '  --sessions N  debug sessions one after the other in the same server, each on a new process of the workload (default 1)\n' +
      '  --prewarm   send pygration/prewarm first and wait until the server says it read the process\n' +
      '  --prewarm-lead MS  send pygration/prewarm, and the first stop MS later without waiting for it\n' +
      '  --open      open the NumPy document first (its static analysis), as npm run bench does\n' +
      '  --strict | --precise  the root policy (pygration.analysis.strict true or false; default: the setting\'s default)\n' +
      '  --json      print the figures as JSON\n' +
      '  --workload F.py  the program analysed at each stop (default test/fixtures/python/numpy_matmul.py); it prints READY\n' +
      '  --cache DIR the server\'s cache directory, kept (default: a fresh one, removed after: cold caches)\n' +
      '  --think MS  wait MS before each stop after the first, as a user reads the lenses before stepping (default 0: back to back)\n' +
      'Prints the wall and the server CPU of each analysis (and of the prewarm).',
  );
  process.exit(0);
}
const value = (n, d) => (argv.includes(n) ? argv[argv.indexOf(n) + 1] : d);
const stops = Number(value('--stops', 2)) || 2;
const think = Number(value('--think', 0)) || 0;
const PYTHON = '/usr/bin/python3';
const serverJs = path.join(root, 'dist', 'server.js');
if (!fs.existsSync(serverJs)) {
  console.error('bench/live: dist/server.js is missing: build first (npx tsc -b && node esbuild.mjs)');
  process.exit(2);
}
const since = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

// --workload F.py: another program to stop (it prints READY when warmed up), e.g. one on which the precise policy holds.
const workloadFile = path.resolve(value('--workload', path.join(root, 'test', 'fixtures', 'python', 'numpy_matmul.py')));
const startWorkload = () =>
  startUntilReady([PYTHON, workloadFile], {
    cwd: path.dirname(workloadFile),
    env: { ...process.env, LD_BIND_NOW: '1', OPENBLAS_NUM_THREADS: '2' },
  });
let workload = await startWorkload();
const sessions = Number(value('--sessions', 1)) || 1;
const file = path.join(root, 'test', 'e2e', 'fixtures', 'bench', 'numpy_app.py');
const workspace = benchWorkspace(file);
const keptCache = value('--cache', undefined);
if (keptCache) fs.mkdirSync(keptCache, { recursive: true });
const cacheDir = keptCache ?? fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-bench-cache-'));
const out = { pid: workload.pid, load: os.loadavg().map((x) => +x.toFixed(2)), stops: [] };
let s;
try {
  const policy = argv.includes('--strict') ? { analysisStrict: true } : argv.includes('--precise') ? { analysisStrict: false } : undefined;
  s = await startServer({ serverJs, workspace, python: PYTHON, cacheDir, root, settings: policy });
  const logs = [];
  const waiters = new Set();
  s.conn.onNotification('window/logMessage', (p) => {
    logs.push(p.message);
    for (const w of waiters) w(p.message);
  });
  s.conn.sendNotification('initialized', {});
  if (argv.includes('--open')) {
    const uri = pathToFileURL(path.join(workspace, path.basename(file))).href;
    const c = s.cpuSeconds();
    const t = process.hrtime.bigint();
    s.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'python', version: 1, text: fs.readFileSync(file, 'utf8') } });
    const line = fs.readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes('np.matmul'));
    await s.lensOn(uri, line, /^\$\(chip\) /);
    out.open = { seconds: since(t), cpuSeconds: s.cpuSeconds() - c };
  }
  if (argv.includes('--prewarm-lead')) {
    // The prewarm, then the first stop MS later, while it may still run (a breakpoint hit soon after launch).
    s.conn.sendNotification('pygration/prewarm', { pid: workload.pid });
    await new Promise((resolve) => setTimeout(resolve, Number(value('--prewarm-lead', 1000))));
  } else if (argv.includes('--prewarm')) {
    const c = s.cpuSeconds();
    const t = process.hrtime.bigint();
    const done = new Promise((resolve) => {
      const w = (m) => {
        if (/ahead of its first stop/.test(m)) {
          waiters.delete(w);
          resolve();
        }
      };
      waiters.add(w);
    });
    s.conn.sendNotification('pygration/prewarm', { pid: workload.pid });
    await done;
    out.prewarm = { seconds: since(t), cpuSeconds: s.cpuSeconds() - c, fromUs: Number(t / 1000n), toUs: Number(process.hrtime.bigint() / 1000n) };
  }
  out.logs = logs.filter((l) => /^(Analysed|Read pid)/.test(l));
  for (let session = 1; session <= sessions; session++) {
    // A later session debugs a new process of the same program (the language server and its caches stay).
    if (session > 1) {
      await workload.stop();
      workload = await startWorkload();
    }
    for (let i = 0; i < stops; i++) {
      if (i > 0 && think > 0) await new Promise((resolve) => setTimeout(resolve, think));
      const c = s.cpuSeconds();
      const t = process.hrtime.bigint();
      const r = await s.conn.sendRequest('pygration/analyzeProcess', { pid: workload.pid, reason: 'debug-stop', sessionId: `bench-${session}`, label: 'bench' });
      if (!r.ok) throw new Error(`live analysis failed: ${JSON.stringify(r.error ?? r)}`);
      out.stops.push({ session, seconds: since(t), cpuSeconds: s.cpuSeconds() - c, policy: r.report.rootPolicy, required: r.report.required.length, functions: r.report.stats.functionsVisited, fromUs: Number(t / 1000n), toUs: Number(process.hrtime.bigint() / 1000n) });
    }
  }
  out.logs = logs.filter((l) => /^(Analysed|Read pid)/.test(l));
  // A kept cache is for a later run: the server saves new function summaries once idle for a second (wait for it).
  if (keptCache) {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, 5000);
      waiters.add((m) => /^Saved the function summaries/.test(m) && (clearTimeout(timer), resolve()));
    });
  }
} finally {
  await s?.stop();
  await workload.stop();
  fs.rmSync(workspace, { recursive: true, force: true });
  if (!keptCache) fs.rmSync(cacheDir, { recursive: true, force: true });
}
const ms = (x) => `${Math.round(x * 1000)} ms`;
if (argv.includes('--json')) console.log(JSON.stringify(out));
else {
  if (out.open) console.log(`open (static lens)  ${ms(out.open.seconds)} wall, ${ms(out.open.cpuSeconds)} CPU`);
  if (out.prewarm) console.log(`prewarm             ${ms(out.prewarm.seconds)} wall, ${ms(out.prewarm.cpuSeconds)} CPU`);
  for (const l of out.logs ?? []) console.log(`server: ${l}`);
  out.stops.forEach((x, i) => console.log(`${sessions > 1 ? `session ${x.session} ` : ''}stop ${(i % stops) + 1}              ${ms(x.seconds)} wall, ${ms(x.cpuSeconds)} CPU (${x.functions} functions, ${x.required} features)`));
  console.log(`load ${out.load.join(' ')}`);
}
