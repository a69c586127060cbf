// Benchmark (not a test) of the packaged extension in code-server + Chromium: activation, the first code lens
// of a numpy-using file cold (fresh server) and warm (re-open, save), and the live update after a breakpoint stop.
// Usage: npm run bench:e2e [-- --runs N]   (needs scripts/e2e-setup.sh; writes test-output/e2e/bench/bench.json)

import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEBIAN_PYTHON, REPO_ROOT } from '../helpers/fixtures';
import { waitFor } from './driver';
import { CodeServer, E2E_FIXTURES, E2E_OUTPUT, packageVsix, Workbench } from './harness';
import { DEBUG_CONFIG, KERNELS, buildExtensionWorkspace, extensionSuiteSkipReason } from './suites/extension';

const NUMPY_APP = 'numpy_app.py';
/** Polling interval of the timed waits: the figures are this precise. */
const POLL_MS = 20;
const OUT = path.join(E2E_OUTPUT, 'bench');

interface Run {
  /** VS Code's figure (Running Extensions): code loading + activate() call, ms. */
  activationVsCode?: number;
  /** The extension's own log: the body of activate(), ms. */
  activationBody?: number;
  /** Language server start (client log), ms. */
  serverStart?: number;
  /** Quick Open of numpy_app.py → its first lens rendered (the server's first analysis), ms. */
  coldLensFromOpen: number;
  /** Workbench ready (folder shown) → that lens, ms. */
  coldLensFromWorkbench: number;
  /** The server's log of its static analyses: seconds each. */
  staticAnalyses: string[];
  /** Close + Quick Open again → lens rendered, ms (each repetition). */
  warmReopen: number[];
  /** Edit (a new numpy call at the end) + save → a lens on the new line, ms. */
  warmSave: number[];
  /** Call Stack "Paused" → the lenses of kernels.py rendered as live, ms (first stop of each session). */
  liveAfterStop: number[];
  /** The client's log of each stop's analysis (request → answer), ms; later stops too. */
  liveAnalysisLogged: number[];
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** The Pygration output channel's log file of this server (a log channel writes `Pygration.log`). */
function pygrationLog(server: CodeServer): string {
  const found: string[] = [];
  const visit = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.name === 'Pygration.log' || /^\d+-Pygration\.log$/.test(e.name)) found.push(p);
    }
  };
  if (fs.existsSync(server.logsDir())) visit(server.logsDir());
  return found.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
}

function numbers(text: string, pattern: RegExp): number[] {
  return [...text.matchAll(new RegExp(pattern.source, 'g'))].map((m) => Number(m[1]));
}

/** A static Pygration lens: the chip icon (live ones have the pulse and end in `· live`; static ones carry no suffix). */
const STATIC_LENS = /^\$\(chip\) /;

/** Polls until a Pygration lens with `pattern` stands above `line` of the active editor; returns when it was seen. */
async function lensSeen(wb: Workbench, line: number, pattern: RegExp, timeoutMs = 180_000): Promise<number> {
  await waitFor(
    `a lens ${pattern} above line ${line}`,
    async () => ((await wb.codeLensesWithLines()).some((l) => l.line === line && pattern.test(l.title)) ? true : undefined),
    timeoutMs,
    POLL_MS,
  );
  return Date.now();
}

function lineOf(file: string, text: string): number {
  return fs.readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(text)) + 1;
}

async function oneRun(index: number, vsix: { repo: string; helper: string }, reps: number): Promise<Run> {
  const ws = buildExtensionWorkspace(path.join(REPO_ROOT, 'out', 'e2e-workspaces', 'bench'));
  fs.copyFileSync(path.join(E2E_FIXTURES, 'bench', NUMPY_APP), path.join(ws, NUMPY_APP));
  const server = await CodeServer.start({
    name: `bench/run-${index}`,
    workspaceFixture: ws,
    extensions: [vsix.repo, vsix.helper],
    env: { PYGRATION_E2E_PYTHON: DEBIAN_PYTHON, PYGRATION_E2E_HELPER_UI: 'minimal' },
    // The timings are of a lens appearing above np.matmul, whether or not the interpreter needs its features too.
    settings: { 'pygration.codeLens.showSharedWithInterpreter': true },
  });
  let wb: Workbench | undefined;
  try {
    wb = await Workbench.open(server);
    const tReady = Date.now();
    const numpyFile = path.join(server.workspaceDir, NUMPY_APP);
    const matmulLine = lineOf(numpyFile, 'np.matmul');
    await wb.openFile(NUMPY_APP);
    const tOpen = Date.now();
    const tLens = await lensSeen(wb, matmulLine, STATIC_LENS);
    const run: Run = {
      coldLensFromOpen: tLens - tOpen,
      coldLensFromWorkbench: tLens - tReady,
      staticAnalyses: [],
      warmReopen: [],
      warmSave: [],
      liveAfterStop: [],
      liveAnalysisLogged: [],
    };
    await wb.screenshot('cold-lenses');

    // Warm: the analysis is done; re-opening the file asks the server for lenses it already has.
    for (let i = 0; i < reps; i++) {
      await wb.runCommand('View: Close All Editors');
      await wb.page.locator('.part.editor .tab').first().waitFor({ state: 'detached' });
      await wb.openFile(NUMPY_APP);
      const t0 = Date.now();
      run.warmReopen.push((await lensSeen(wb, matmulLine, STATIC_LENS)) - t0);
    }
    // Warm: an edit adds a numpy call; saving re-analyses (the unchanged modules come from the cache).
    for (let i = 0; i < reps; i++) {
      await wb.goTo({ line: 1, column: 1 });
      await wb.page.keyboard.press('Control+End');
      await wb.page.keyboard.type(`\nd${i} = np.dot(c, a)`);
      await wb.page.keyboard.press('Control+S');
      const t0 = Date.now();
      await waitFor('the save to reach the disk', () => (fs.readFileSync(numpyFile, 'utf8').includes(`d${i} = np.dot`) ? true : undefined), 10_000, POLL_MS);
      const newLine = lineOf(numpyFile, `d${i} = np.dot`);
      run.warmSave.push((await lensSeen(wb, newLine, STATIC_LENS)) - t0);
    }

    // Live: a debug session of kernels.py stops at a breakpoint in step(); the kernel lenses turn live.
    const kernels = path.join(server.workspaceDir, KERNELS);
    const shaLine = lineOf(kernels, 'pk.k_sha()');
    const breakpoint = lineOf(kernels, '# breakpoint line');
    await wb.openFile(KERNELS);
    await lensSeen(wb, shaLine, STATIC_LENS);
    await wb.toggleBreakpoint(breakpoint);
    for (let i = 0; i < reps; i++) {
      await wb.startDebugging(DEBUG_CONFIG);
      await waitFor('the debugger to pause', async () => ((await wb!.callStackFrames()).length > 0 ? true : undefined), 120_000, POLL_MS);
      const tStop = Date.now();
      run.liveAfterStop.push((await lensSeen(wb, shaLine, / · live$/, 120_000)) - tStop);
      if (i === 0) await wb.screenshot('live-lenses');
      // Two more stops (step() runs three times): each is analysed again; the log has their times.
      for (let k = 0; k < 2; k++) {
        const before = numbers(pygrationLog(server), /Live analysis of pid \d+ at a stop of '[^']*': done in (\d+) ms/).length;
        await wb.runCommand('Debug: Continue');
        await waitFor('the next analysis to be logged', () => (numbers(pygrationLog(server), /Live analysis of pid \d+ at a stop of '[^']*': done in (\d+) ms/).length > before ? true : undefined), 120_000, 100);
      }
      await wb.stopDebugging();
      await lensSeen(wb, shaLine, STATIC_LENS, 120_000);
    }

    const log = pygrationLog(server);
    run.activationBody = numbers(log, /Pygration activated in (\d+) ms/)[0];
    run.serverStart = numbers(log, /Language server started in (\d+) ms/)[0];
    run.staticAnalyses = [...log.matchAll(/Static analysis: ([^\n]*)/g)].map((m) => m[1]);
    run.liveAnalysisLogged = numbers(log, /Live analysis of pid \d+ at a stop of '[^']*': done in (\d+) ms/);

    await wb.runCommand('Developer: Show Running Extensions');
    const row = await waitFor(
      'the Pygration row of Running Extensions',
      async () => (await wb!.page.$$eval('.runtime-extensions-editor .monaco-list-row', (els) => els.map((e) => (e as HTMLElement).innerText.replace(/\n/g, ' ')))).find((r) => r.startsWith('Pygration')),
      30_000,
    );
    const m = /Activation: (\d+)\s*ms/.exec(row);
    run.activationVsCode = m ? Number(m[1]) : undefined;
    return run;
  } finally {
    await wb?.close();
    await server.stop();
  }
}

function median(xs: number[]): number | undefined {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length === 0 ? undefined : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main(): Promise<void> {
  const skip = extensionSuiteSkipReason();
  if (skip) throw new Error(`cannot run: ${skip}`);
  const runs = arg('--runs', 3);
  const reps = arg('--reps', 3);
  const repo = packageVsix('repo');
  const helper = packageVsix('helper');
  if ('notPackageable' in repo || 'notPackageable' in helper) throw new Error('the extensions must package');
  const results: Run[] = [];
  for (let i = 1; i <= runs; i++) {
    const r = await oneRun(i, { repo: repo.path, helper: helper.path }, reps);
    results.push(r);
    console.log(`run ${i}: ${JSON.stringify(r)}`);
  }
  const all = (f: (r: Run) => number | number[] | undefined) => results.flatMap((r) => f(r) ?? []).filter((x): x is number => typeof x === 'number');
  const summary = {
    'activation (VS Code: load + activate), ms': all((r) => r.activationVsCode),
    'activation (activate() body), ms': all((r) => r.activationBody),
    'language server start, ms': all((r) => r.serverStart),
    'first lens cold, numpy file, from Quick Open, ms': all((r) => r.coldLensFromOpen),
    'first lens cold, from workbench ready, ms': all((r) => r.coldLensFromWorkbench),
    'lens warm, re-open, ms': all((r) => r.warmReopen),
    'lens warm, edit + save, ms': all((r) => r.warmSave),
    'live lenses after a breakpoint stop (UI), ms': all((r) => r.liveAfterStop),
    'live analysis per stop (client log), ms': all((r) => r.liveAnalysisLogged),
  };
  console.log('\nmedian (min–max, n):');
  for (const [k, xs] of Object.entries(summary)) console.log(`  ${k}: ${median(xs)} (${Math.min(...xs)}–${Math.max(...xs)}, n=${xs.length})`);
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'bench.json'), JSON.stringify({ when: new Date().toISOString(), runs: results, summary }, null, 2));
  console.log(`\n${path.join(OUT, 'bench.json')}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
