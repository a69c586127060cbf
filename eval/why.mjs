// Diagnostic: why does execution path tracking reach (or miss) a function of a live process? Walks the roots
// analyzePythonProcess takes (entry, main, threads, bytecode-resolved natives, Python-callable functions),
// or those of an ablation, with the visited extents recorded and prints, for each function asked about, the
// chain of edges from a root to it, or that it was not reached.
// Usage: node eval/why.mjs PID [--mode ept|ept-plain] [--roots ours|pvm|bytecode|python] [--stop] TARGET...
//   --roots: ours (default), pvm (entry, main, threads), bytecode (bytecode-resolved natives), python
//   (Python-callable tables only).
//   --stop: hold the process stopped (SIGSTOP) during the walk, at an instant where every thread runs the
//   interpreter or waits in a system call, as the evaluation's "ours, stopped" does (eval/lib/stop.mjs).
//   TARGET: a symbol (`dgemm_nn`), `module!symbol` (`libc.so.6!pkey_get`), `module+0xOFFSET` (link-time
//   address in a module, e.g. `_multiarray_umath.cpython-311-x86_64-linux-gnu.so+0x29faf0`), a runtime
//   address (`0x7f...`), or `feature:NAME` (the first instruction needing NAME the walk met: why a feature
//   is in the requirement).
import * as path from 'node:path';
import { engine } from './lib/engine.mjs';
import { stopAtInterpreter } from './lib/stop.mjs';

const argv = process.argv.slice(2);
const pid = Number(argv.shift());
let mode = 'ept';
let stop = false;
let rootSet = 'ours';
const targets = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--mode') mode = argv[++i];
  else if (argv[i] === '--roots') rootSet = argv[++i];
  else if (argv[i] === '--stop') stop = true;
  else targets.push(argv[i]);
}
if (!Number.isInteger(pid) || targets.length === 0 || !['ept', 'ept-plain'].includes(mode) || !['ours', 'pvm', 'bytecode', 'python'].includes(rootSet)) {
  console.error('usage: node eval/why.mjs PID [--mode ept|ept-plain] [--roots ours|pvm|bytecode|python] [--stop] TARGET...');
  process.exit(2);
}

const E = engine();
// The bytecode-resolved natives of the program's files (as analyzePythonProcess finds them), when wanted.
let nativeRoots = [];
if (rootSet === 'ours' || rootSet === 'bytecode') {
  const program = E.programOf(pid);
  if (program.files.length > 0) {
    const cs = await E.analyzeCallSites({ python: `/proc/${pid}/exe`, files: program.files, pid });
    nativeRoots = cs.nativeRoots;
    cs.close();
  }
}
const view = new E.ProcessView(pid);
try {
  const space = new E.ProcessAddressSpace(view);
  const roots = rootSet === 'ours' || rootSet === 'pvm' ? [E.entryRoot(space), E.mainRoot(space)].filter(Boolean) : [];
  let r;
  if (stop) {
    const st = await stopAtInterpreter(pid);
    console.log(`stopped after ${st.attempts} attempt(s); threads at: ${st.places.map((x) => x.place).join(', ')}`);
  }
  try {
    if (mode === 'ept' && (rootSet === 'ours' || rootSet === 'pvm')) roots.push(...E.threadRoots(view, space).roots);
    roots.push(...nativeRoots);
    if (mode === 'ept' && (rootSet === 'ours' || rootSet === 'python')) roots.push(...E.pythonEntryRoots(space).roots);
    r = E.executionPathTracking(space, roots, { mode, bindNow: view.ldBindNow() === true, recordVisited: true });
  } finally {
    if (stop) process.kill(pid, 'SIGCONT');
  }
  const visited = r.visited;
  const byModuleLink = new Map(); // `${basename}:0x${linkStart}` → visited row
  const biasOf = new Map(space.modules().map((m) => [m.path, m.bias]));
  for (const v of visited) byModuleLink.set(`${path.basename(v.module)}:0x${(v.start - (biasOf.get(v.module) ?? 0)).toString(16)}`, v);
  const name = (v) => {
    const site = E.describeSite(space, v.start);
    return `${path.basename(v.module)}!${site.function}`;
  };

  const resolve = (t) => {
    if (/^0x[0-9a-f]+$/i.test(t)) return [Number.parseInt(t, 16)];
    if (t.startsWith('feature:')) {
      const ev = r.features.get(t.slice('feature:'.length));
      if (ev) console.log(`\n${t}: ${ev.count} instruction(s), first reached from root: ${ev.root ?? '?'}; e.g. ${ev.sites.slice(0, 3).map((x) => E.describeSite(space, x.address).instruction + ' at 0x' + x.address.toString(16)).join('; ')}`);
      return ev ? ev.sites.slice(0, 1).map((x) => x.address) : [];
    }
    const plus = /^(.+)\+0x([0-9a-f]+)$/i.exec(t);
    if (plus) {
      const m = space.modules().find((x) => path.basename(x.path) === plus[1]);
      return m ? [Number.parseInt(plus[2], 16) + m.bias] : [];
    }
    const [mod, sym] = t.includes('!') ? t.split('!') : [undefined, t];
    const out = [];
    for (const m of space.modules()) {
      if (mod && path.basename(m.path) !== mod) continue;
      const s = m.elf.lookupSymbol(sym) ?? m.elf.findSymbol(sym);
      if (s && s.value) out.push(s.value + m.bias);
    }
    return out;
  };

  console.log(`${visited.length} functions visited from ${roots.length} roots (${mode}, roots: ${rootSet}); ${r.callSites.unresolved} unresolved call sites.`);
  for (const t of targets) {
    const addrs = resolve(t);
    if (addrs.length === 0) {
      console.log(`\n${t}: no such symbol in any module`);
      continue;
    }
    for (const a of addrs) {
      let v = visited.find((x) => x.start <= a && a < x.end);
      const where = E.describeSite(space, a);
      if (!v) {
        console.log(`\n${t} (${path.basename(where.module)} ${where.address}): NOT reached`);
        continue;
      }
      console.log(`\n${t} (${path.basename(where.module)} ${where.address}): reached`);
      const seen = new Set();
      for (let depth = 0; v && depth < 60 && !seen.has(v); depth++) {
        seen.add(v);
        console.log(`  ${'  '.repeat(Math.min(depth, 20))}${name(v)}  ← ${v.reason}`);
        const m = /(?:call|jump|lea|imm|mem) (?:from|in) ([^:\s]+):(0x[0-9a-f]+)/.exec(v.reason) ?? /via ([^:\s]+):(0x[0-9a-f]+)/.exec(v.reason);
        v = m ? byModuleLink.get(`${m[1]}:${m[2]}`) : undefined;
      }
    }
  }
} finally {
  view.close();
}
