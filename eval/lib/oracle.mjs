// The dynamic oracle: runs the ptrace tracer (test/fixtures/c/oracle_tracer.c) over a live workload for a
// few windows spread in time, then decodes the instruction at every address it saw to get F_dyn, the
// features the workload really executed in those windows, with where each came from.
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { engine } from './engine.mjs';

/**
 * @typedef {object} OracleOptions
 * @property {number} windows   how many windows
 * @property {number} steps     single steps per window (all threads together)
 * @property {number} seconds   wall-clock limit per window
 * @property {number} pauseMs   pause between windows (the workload runs free meanwhile)
 */

function runTracer(tracer, pid, steps, seconds) {
  return new Promise((resolve, reject) => {
    execFile(tracer, [String(pid), String(steps), String(seconds)], { maxBuffer: 1 << 28, timeout: (seconds + 30) * 1000 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`oracle_tracer failed on ${pid}: ${err.message} ${stderr}`));
        return;
      }
      const lines = stdout.split('\n');
      const summaryLine = lines.find((l) => l.startsWith('# ')) ?? '';
      const summary = Object.fromEntries(
        summaryLine
          .slice(2)
          .split(' ')
          .map((kv) => kv.split('='))
          .filter((kv) => kv.length === 2),
      );
      const addresses = [];
      for (const l of lines) if (l && l[0] !== '#') addresses.push(parseInt(l, 16));
      resolve({ addresses, summary });
    });
  });
}

/** Traces `pid` for the given windows; returns every distinct address and per-window summaries. */
export async function traceWindows(tracer, pid, options) {
  const all = new Set();
  const windows = [];
  const started = Date.now();
  for (let w = 0; w < options.windows; w++) {
    if (w > 0) await new Promise((r) => setTimeout(r, options.pauseMs));
    const { addresses, summary } = await runTracer(tracer, pid, options.steps, options.seconds);
    for (const a of addresses) all.add(a);
    windows.push({
      threads: Number(summary.threads),
      steps: Number(summary.steps),
      distinct: Number(summary.distinct),
      seconds: Number(summary.seconds),
      stopped: summary.stopped,
      perThread: summary.per_thread === '-' || !summary.per_thread ? [] : summary.per_thread.split(',').map((x) => x.split(':').map(Number)),
    });
  }
  return { addresses: [...all].sort((a, b) => a - b), windows, seconds: (Date.now() - started) / 1000 };
}

/**
 * The function containing a site as `module!symbol`, or `module+0xSTART` (link-time start of its extent,
 * stable across runs and accepted by eval/why.mjs) when it has no symbol.
 */
function functionKey(space, site, address) {
  const r = space.regionAt(address);
  const mod = path.basename(site.module);
  const named = site.function.replace(/\+0x[0-9a-f]+$/, '');
  const m = /^sub_([0-9a-f]+)$/.exec(named);
  if (!m) return `${mod}!${named}`;
  const bias = r?.module?.bias ?? 0;
  return `${mod}+0x${(Number.parseInt(m[1], 16) - bias).toString(16)}`;
}

/** True when link-time address `link` of module `m` lies in a PLT section (.plt, .plt.got, .plt.sec). */
function inPlt(m, link) {
  for (const name of ['.plt', '.plt.got', '.plt.sec']) {
    const sec = m.elf.section(name);
    if (sec && sec.addr <= link && link < sec.addr + sec.size) return true;
  }
  return false;
}

/**
 * Decodes each traced address of live process `pid` (from its module files, or live memory for anonymous
 * code) and collects F_dyn. The [vdso] is excluded (CRIU gives the restored process the target kernel's).
 * Returns per-feature evidence and, per address, its module and features (for the coverage check).
 */
export function decodeTrace(pid, addresses) {
  const { ProcessView, ProcessAddressSpace, decodeOne, describeSite } = engine();
  const view = new ProcessView(pid);
  try {
    const space = new ProcessAddressSpace(view);
    /** @type {Map<string, {count: number, sites: object[], functions: Map<string, number>}>} */
    const features = new Map();
    const perModule = new Map();
    const instructions = [];
    let vdso = 0;
    let undecodable = 0;
    for (const a of addresses) {
      const r = space.regionAt(a);
      if (r && (r.kind === 'vdso' || r.kind === 'vsyscall')) {
        vdso++;
        continue;
      }
      const m = r?.module;
      const bytes = (m && (m.elf.tryReadVirtual(a - m.bias, 15) ?? m.elf.tryReadVirtual(a - m.bias, 1))) ?? space.readMemory(a, 15);
      const d = bytes ? decodeOne(bytes, a) : undefined;
      if (!d) {
        undecodable++;
        continue;
      }
      const module = m?.path ?? r?.name ?? '?';
      perModule.set(module, (perModule.get(module) ?? 0) + 1);
      instructions.push({ address: a, module, features: d.info.features, plt: m ? inPlt(m, a - m.bias) : false });
      for (const f of d.info.features) {
        let ev = features.get(f);
        if (!ev) features.set(f, (ev = { count: 0, sites: [], functions: new Map() }));
        ev.count++;
        const site = describeSite(space, a);
        const fn = functionKey(space, site, a);
        ev.functions.set(fn, (ev.functions.get(fn) ?? 0) + 1);
        if (ev.sites.length < 3) ev.sites.push(site);
      }
    }
    return { features, perModule, instructions, vdso, undecodable, space, view };
  } catch (e) {
    view.close();
    throw e;
  }
}

/**
 * The coverage diagnostic: which traced instructions lie in no function the walk visited (PLT stubs count as
 * covered), grouped by function (module!name), with the features they carry. `visited` rows are [module,
 * start, end, reason].
 */
export function coverage(decoded, visited) {
  const { describeSite } = engine();
  const ranges = visited.map(([, s, e]) => [s, e]).sort((x, y) => x[0] - y[0]);
  // Merge overlapping extents so a binary search answers "inside any".
  const merged = [];
  for (const [s, e] of ranges) {
    const last = merged[merged.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  const inside = (a) => {
    let lo = 0;
    let hi = merged.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (a < merged[mid][0]) hi = mid - 1;
      else if (a >= merged[mid][1]) lo = mid + 1;
      else return true;
    }
    return false;
  };
  let covered = 0;
  const missed = new Map();
  for (const ins of decoded.instructions) {
    // A PLT stub is no function of its own: the walk follows a call through it straight to the target.
    if (ins.plt || inside(ins.address)) {
      covered++;
      continue;
    }
    const site = describeSite(decoded.space, ins.address);
    const key = functionKey(decoded.space, site, ins.address);
    let g = missed.get(key);
    if (!g) missed.set(key, (g = { function: key, module: ins.module, instructions: 0, features: new Set(), example: site }));
    g.instructions++;
    for (const f of ins.features) g.features.add(f);
  }
  const groups = [...missed.values()]
    .map((g) => ({ ...g, features: [...g.features].sort() }))
    .sort((x, y) => y.features.length - x.features.length || y.instructions - x.instructions);
  return { instructions: decoded.instructions.length, covered, missedFunctions: groups };
}
