// Diagnostic: the reflection sites that make the precise root policy fall back to strict on a live Python process, by
// kind (getattr with a computed name, `__dict__` access, eval(), …) and, with --list, each with file:line. Runs the
// bytecode tracking and Python-level reachability the precise policy runs (from the program's files, the live frames
// and the modules its sys.modules names, with the modules reachable functions import tracked in rounds: the policy's own
// closedReachability). How far a program is from the precise policy holding, and what to narrow next.
// Usage: node eval/gate-sites.mjs PID [--list] [--json]   (needs `npx tsc -b`)
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { REPO_ROOT } from './lib/build.mjs';

const argv = process.argv.slice(2);
const pid = Number(argv[0]);
if (!Number.isInteger(pid) || argv.includes('--help')) {
  console.log('usage: node eval/gate-sites.mjs PID [--list] [--json]');
  process.exit(argv.includes('--help') ? 0 : 2);
}
const require = createRequire(import.meta.url);
const server = (p) => require(path.join(REPO_ROOT, 'out', 'server', 'src', p));
const { analyzeCallSites } = server('callSites.js');
const { closedReachability, programOf, readFramesSettled } = server('processAnalysis.js');
const { cCallableNames } = require(path.join(REPO_ROOT, 'out', 'native', 'src', 'trace', 'pythonRoots.js'));

const files = programOf(pid).files;
// As analyzePythonProcess tracks the program (its imports followed, not the lazy ones).
const cs = await analyzeCallSites({ python: `/proc/${pid}/exe`, files, pid, interpreter: false });
try {
  // As the policy does: the modules the process's sys.modules names count as imported (when it can be read).
  let liveModules;
  const rootCodes = [];
  try {
    const frames = readFramesSettled(cs.space);
    if (frames.modules) liveModules = new Set(frames.modules);
    // As the policy does: the live frames of every thread are roots too.
    for (const t of frames.threads) for (const f of t.frames) rootCodes.push({ file: f.file, qualname: f.qualname ?? f.name, lastis: [f.lasti] });
  } catch {
    // The frames cannot be read: the modules the program's imports name count, as in the policy.
  }
  const cNames = cCallableNames(cs.space);
  // The policy's own closure (closedReachability, server/src/processAnalysis.ts): the modules reachable functions
  // import tracked in rounds; exhaustive, so every site is listed.
  const { reach } = await closedReachability(pid, cs.tracking, files, { rootCodes, cNames, exhaustive: true, liveModules });
  const kinds = new Map();
  for (const site of reach.reflections) {
    const kind = site.replace(/ at [^ ]+:\d+.*$/, '');
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  const byKind = [...kinds].sort((a, b) => b[1] - a[1]);
  if (argv.includes('--json')) {
    console.log(JSON.stringify({ pid, files, policy: reach.strictReason ? 'strict' : 'precise', reason: reach.strictReason ?? null, sites: reach.reflections.length, byKind: Object.fromEntries(byKind), list: reach.reflections, stats: reach.stats }));
  } else {
    console.log(`process ${pid} (${files.map((f) => path.basename(f)).join(', ')}): ${reach.strictReason ? 'falls back to strict' : 'precise holds'}; ${reach.reflections.length} reflection site(s) defeat names; ${reach.stats.reachable} of ${reach.stats.codeObjects} code objects reachable`);
    // The early phase (module and class bodies that ran) decides before the closure is taken: its reason names them.
    if (reach.strictReason && reach.reflections.length === 0) console.log(`  ${reach.strictReason}`);
    for (const [kind, n] of byKind) console.log(`${String(n).padStart(6)}  ${kind}`);
    if (argv.includes('--list')) for (const site of reach.reflections) console.log(`  ${site}`);
  }
} finally {
  cs.close();
}
