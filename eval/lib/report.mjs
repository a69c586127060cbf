// Writes the evaluation report from a run's results: docs/evaluation.md (method, machine, tables,
// diagnostics) and evaluation-recall.svg (recall per workload for CRIU, full scan and ours), both
// generated here with no dependencies.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './build.mjs';

export const PLOT_FILE = 'evaluation-recall.svg';

const fmt3 = (x) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(3));
const pct = (x) => `${(100 * x).toFixed(1)} %`;
const secs = (x) => (x === undefined ? '–' : `${x.toFixed(1)} s`);
const list = (fs) => (fs.length ? fs.map((f) => `\`${f}\``).join(' ') : '(none)');
// A table cell: a pipe ends the cell, and brackets would make a link of `models[…](…).fit`.
const esc = (s) => String(s).replace(/[|[\]]/g, '\\$&');

/** Recall plot: grouped bars per workload (CRIU, full scan, ours, ours with the process stopped), y from 0 to 1. */
export function recallSvg(results, policy = 'precise') {
  const rows = results.filter((r) => r.methods);
  const series = [
    { key: 'criu', label: 'CRIU (host-level)', color: '#8c8c8c' },
    { key: 'full', label: 'full scan', color: '#e69f00' },
    { key: 'ours', label: policy === 'strict' ? 'ours (EPT, strict policy)' : 'ours (EPT, default)', color: '#0072b2' },
    { key: 'frozen', label: 'ours, process stopped', color: '#56b4e9' },
  ];
  const left = 56;
  const top = 40;
  const plotH = 240;
  const group = 76;
  const bar = 15;
  const width = Math.max(left + Math.max(1, rows.length) * group + 20, left + 10 + series.length * 170 + 260);
  const height = top + plotH + 120;
  const y = (v) => top + plotH - v * plotH;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="18" font-size="13" font-weight="bold">Recall of oracle-compatible instance types per workload</text>`);
  for (let t = 0; t <= 10; t += 2) {
    const v = t / 10;
    out.push(`<line x1="${left}" x2="${width - 10}" y1="${y(v)}" y2="${y(v)}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#333"/>`);
  out.push(`<line x1="${left}" x2="${width - 10}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`);
  out.push(`<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">recall</text>`);
  rows.forEach((r, i) => {
    const x0 = left + i * group + (group - series.length * bar) / 2;
    series.forEach((s, k) => {
      const v = r.methods[s.key].score.recall;
      const h = Math.max(v * plotH, 0.5);
      out.push(`<rect x="${x0 + k * bar}" y="${y(v)}" width="${bar - 2}" height="${h}" fill="${s.color}"><title>${r.name}, ${s.label}: ${v.toFixed(3)}</title></rect>`);
      // Small values would be invisible: print them above the axis.
      if (r.methods[s.key].gaps.length > 0) {
        out.push(`<text x="${x0 + k * bar + (bar - 2) / 2}" y="${y(v) - (v < 0.05 ? 12 : 3)}" font-size="12" font-weight="bold" text-anchor="middle" fill="#d00000">×<title>${r.name}, ${s.label}: misses ${r.methods[s.key].gaps.join(', ')} (unsafe)</title></text>`);
      }
      if (v < 0.05) out.push(`<text x="${x0 + k * bar + (bar - 2) / 2}" y="${y(v) - 3}" font-size="8" text-anchor="middle" fill="${s.color}">${v === 0 ? '0' : v.toFixed(2).slice(1)}</text>`);
    });
    const cx = left + i * group + group / 2;
    out.push(`<text transform="translate(${cx + 4} ${top + plotH + 10}) rotate(40)" text-anchor="start">${r.name}</text>`);
  });
  out.push(`<text x="${left + 10 + series.length * 170}" y="${height - 7}"><tspan fill="#d00000" font-weight="bold">×</tspan> unsafe: misses a feature the oracle saw</text>`);
  series.forEach((s, k) => {
    const lx = left + 10 + k * 170;
    out.push(`<rect x="${lx}" y="${height - 16}" width="10" height="10" fill="${s.color}"/>`);
    out.push(`<text x="${lx + 14}" y="${height - 7}">${s.label}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/**
 * For a method's requirement, the features beyond F_dyn that refuse oracle-compatible types, each with
 * how many of those types lack it (what limits recall).
 */
function recallLimiters(r, key) {
  const extra = r.methods[key].required.filter((f) => !r.oracle.required.includes(f));
  return extra
    .map((f) => ({ feature: f, refuses: r.limits?.[key]?.[f] ?? 0 }))
    .filter((x) => x.refuses > 0)
    .sort((a, b) => b.refuses - a.refuses);
}

/** How many of the replica walks (running and stopped) found the same requirement as the timed analysis. */
function sameCount(ok) {
  const all = ok.filter((r) => r.replica);
  const differ = all.filter((r) => !r.replica.sameAsOurs).map((r) => r.name);
  return `${all.length - differ.length} of ${all.length} workloads${differ.length ? `; not on ${differ.join(', ')}` : ''}`;
}

function machineLine(m) {
  return (
    `${m.cpu}, ${m.cores} vCPU, ${m.memoryGiB} GiB` +
    `${m.virtualization && m.virtualization !== 'none' ? ` (${m.virtualization} guest)` : ''}; ${m.distro}, Linux ${m.kernel}; ${m.python} (Debian); Node ${m.node}`
  );
}

/**
 * Recall against the widened oracle (F_dyn + the IFUNC-selected variants it saw called), beside the plain one,
 * and the evidence for every added feature: the instruction, its variant and the IFUNC that selected it. Left
 * out for results written before the widened oracle existed.
 */
function wideSection(measured, p) {
  const rows = measured.filter((r) => r.oracleWide);
  if (rows.length === 0) return;
  p('### Recall against F_dyn + IFUNC-selected variants');
  p();
  p('The widened oracle (see "The oracle" above): F_dyn plus the whole bodies of the IFUNC-selected variants the ' +
    'oracle saw called. Safety stays against plain F_dyn; an added feature a method lacks is listed for information ' +
    '(a path of a seen variant the method does not reach), not as a safety verdict.');
  p();
  p('| workload | F_dyn | F_dyn + IFUNC | added | oracle-compatible (plain → widened) | variants bound / seen | recall full | **recall ours** | recall ours, stopped | recall plain | added features a method lacks |');
  p('| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  const pair = (m) => `${fmt3(m.score.recall)} → ${fmt3(m.scoreWide.recall)}`;
  for (const r of rows) {
    const w = r.oracleWide;
    const m = r.methods;
    const seen = w.variants.filter((v) => v.seen.instructions + v.seen.pltStubs > 0).length;
    const lacks = ['ours', 'frozen', 'full', 'plain']
      .map((k) => [k, (m[k].gapsWide ?? []).filter((f) => w.added.includes(f))])
      .filter(([, fs]) => fs.length > 0)
      .map(([k, fs]) => `${{ ours: 'ours', frozen: 'ours stopped', full: 'full scan', plain: 'plain' }[k]}: ${list(fs)}`)
      .join('; ');
    p(
      `| ${r.name} | ${r.oracle.required.length} | ${w.required.length} | ${list(w.added)} | ${r.oracle.compatible} → ${w.compatible} | ${w.bound} / ${seen} | ` +
        `${pair(m.full)} | **${pair(m.ours)}** | ${pair(m.frozen)} | ${pair(m.plain)} | ${lacks || '–'} |`,
    );
  }
  p();
  p('Why each added feature will run: the instruction in the selected variant, the IFUNC that selected it, and how ' +
    'the oracle saw the variant called (instructions of its entry function executed; PLT stubs through its slots).');
  p();
  for (const r of rows) {
    const w = r.oracleWide;
    if (w.added.length === 0) continue;
    const seen = w.variants.filter((v) => v.seen.instructions + v.seen.pltStubs > 0);
    const how = seen
      .filter((v) => v.features.some((f) => w.added.includes(f)))
      .map((v) => `\`${v.variant}\`${v.name ? ` (\`${v.name}\`)` : ''}, selected for ${v.ifuncs.map((f) => `\`${f}\``).join('/')}: ${v.seen.instructions} of its instructions and ${v.seen.pltStubs} PLT stub(s) through its slots executed`);
    p(`- **${r.name}**: ${how.join('; ')}.`);
    for (const f of w.added) {
      const ev = w.features[f];
      if (!ev) continue;
      p(`  - \`${f}\`: ${ev.count} instruction(s) in ${ev.functions.map(([fn, n]) => `\`${fn}\` (${n})`).join(', ')}; e.g. ${ev.sites.map((s) => `\`${s.instruction ?? '?'}\` at ${s.at}`).join('; ')}.`);
    }
  }
  p();
}

/** Hand-written findings about the latest full run (eval/findings.md), included in the report. */
export const FINDINGS_FILE = path.join(REPO_ROOT, 'eval', 'findings.md');

/** The Markdown report; `findings` (Markdown) is included as its own section when given. */
export function evaluationMarkdown(run, findings) {
  const measured = run.results.filter((r) => r.methods);
  // Workloads marked as a documented limit (code loaded after the analysis) are reported on their own: a miss
  // there is expected, so they count neither for safety nor for recall.
  const ok = measured.filter((r) => !r.limit);
  const limited = measured.filter((r) => r.limit);
  const skipped = run.results.filter((r) => !r.methods);
  const L = [];
  const p = (s = '') => L.push(s);
  p('# Evaluation');
  p();
  p('<!-- Generated by `npm run eval` (eval/run.mjs, eval/lib/report.mjs); edit those, not this file. -->');
  p();
  p(
    'Is the analysis **safe** (it never misses a CPU feature the workload executes) and **better than the baselines** ' +
      '(it accepts more of the instance types the workload could really move to)? Each workload below is one of our ' +
      'Python programs (`eval/workloads/`), started with `LD_BIND_NOW=1` under Debian\'s `python3`, analysed live by every ' +
      'method, and then traced instruction by instruction by a dynamic oracle that gives the ground truth of the features ' +
      'it executed.',
  );
  p();
  p(`- **Run**: ${run.date.slice(0, 16).replace('T', ' ')} UTC, ${run.quick ? 'quick subset' : 'full suite'}, ${measured.length} workload(s), ${(run.seconds / 60).toFixed(1)} min in all.`);
  p(`- **Root policy of ours**: ${run.policy === 'strict' ? 'strict (every C function Python can call is a root; `--policy strict`)' : 'precise (the product\'s default: the C functions the Python code that ran or can run names, calls through a protocol, or C code may look up are roots; it falls back to strict, saying why, where that code uses reflection)'}.`);
  if (run.engine) p(`- **Engine**: commit ${run.engine.commit}${run.engine.dirty.length ? ` with uncommitted changes to ${run.engine.dirty.map((f) => `\`${f}\``).join(', ')}` : ''}.`);
  p(`- **Machine**: ${machineLine(run.machine)}.`);
  if (run.machine.load) p(`- **Load**: 1-minute load average ${run.machine.load.start.toFixed(1)} at the start and ${run.machine.load.end.toFixed(1)} at the end (other work shared the machine: times are indicative).`);
  p(`- **Source host features** (${run.host.features.length}, what CRIU compares): ${run.host.features.map((f) => `\`${f}\``).join(' ')}.`);
  p(`- **Catalog**: ${run.catalog.name}, ${run.catalog.total} instance types.`);
  p(
    `- **Oracle windows**: ${run.oracle.windows} window(s) per workload (${run.oracle.heavyWindows} for workloads with long iterations) of ` +
      `${run.oracle.steps.toLocaleString('en')} single steps each (all threads together), ${run.oracle.pauseMs} ms apart.`,
  );
  p('- **Reproduce**: `npm run eval` (this file and the plot), `npm run eval -- --quick` (the CI subset, `test/unit/eval-quick.test.ts`); `--only a,b` runs some workloads; `--policy strict` runs ours with the strict root policy.');
  p();

  // ---------------------------------------------------------------- headline
  const allSafe = ok.every((r) => r.safe);
  const minRecall = Math.min(...ok.map((r) => r.methods.ours.score.recall));
  const meanOf = (k) => ok.reduce((s, r) => s + r.methods[k].score.recall, 0) / Math.max(1, ok.length);
  const maxUntraceable = Math.max(...ok.map((r) => r.callSites.ours.untraceableShare));
  p('## Summary against the goals');
  p();
  p('| goal | result |');
  p('| --- | --- |');
  const violated = (k) => ok.filter((r) => r.methods[k].gaps.length > 0).map((r) => r.name);
  p(`| safety: F_dyn ⊆ ours on every workload (analysed running) | ${violated('ours').length === 0 ? '**holds** on all ' + ok.length : `**violated** on ${violated('ours').join(', ')}`} |`);
  p(`| safety, analysed with the process stopped | ${violated('frozen').length === 0 ? '**holds** on all ' + ok.length : `**violated** on ${violated('frozen').join(', ')}`} |`);
  const ablation = (k) => (violated(k).length === 0 ? 'safe on all' : `misses features on ${violated(k).join(', ')}`);
  p(`| Table I: neither half alone suffices | PVM only: ${ablation('pvm')}; bytecode-resolved only: ${ablation('bytecode')} |`);
  p(`| recall of ours ≥ 0.98 on every workload | ${minRecall >= 0.98 ? '**met**' : '**not met**'}: minimum ${fmt3(minRecall)}, mean ${fmt3(meanOf('ours'))} |`);
  p(`| untraceable call sites ≤ 2 % (paper: ~6 %) | ${maxUntraceable <= 0.02 ? '**met**' : '**not met**'}: at most ${pct(maxUntraceable)} with live-memory resolution |`);
  p(`| CRIU baseline for contrast (paper ≈ 0.10) | mean recall ${fmt3(meanOf('criu'))}; full scan ${fmt3(meanOf('full'))} |`);
  if (limited.length) {
    const cell = (r) => {
      const missedBy = ['ours', 'frozen', 'full', 'criu'].filter((k) => r.methods[k].gaps.length > 0).map((k) => ({ ours: 'ours', frozen: 'ours stopped', full: 'full scan', criu: 'CRIU' })[k]);
      return `${r.name}: ${missedBy.length ? `missed by ${missedBy.join(', ')}` : 'missed by none (the limit was not exercised)'}`;
    };
    p(`| documented limits (not counted above) | ${limited.map(cell).join('; ')} |`);
  }
  p();
  p(`![Recall per workload](${PLOT_FILE})`);
  p();

  // ---------------------------------------------------------------- method
  p('## Method');
  p();
  p('### Workloads');
  p();
  p('| workload | what it does | native path chosen on this host |');
  p('| --- | --- | --- |');
  for (const r of run.results) p(`| ${r.name} | ${esc(r.about)} | ${r.path ?? (r.skipped ? `skipped: ${esc(r.skipped)}` : r.error ? 'failed' : '–')} |`);
  p();
  p('Each workload prints `READY` once warmed up (every module it uses is imported by then) and then loops on a small ' +
    'iteration until killed, so a short oracle window covers many iterations including the Python overhead around the ' +
    'kernels. Our native parts (`eval/workloads/native/`) choose their path at run time with `__builtin_cpu_supports`, ' +
    'so a host without a feature still runs them and the oracle sees what ran. Network use is 127.0.0.1 only.');
  p();
  p('### The oracle (ground truth F_dyn)');
  p();
  p('`test/fixtures/c/oracle_tracer.c` attaches with ptrace to every thread of the workload (and to threads created ' +
    'meanwhile) *after* the analysis point, single-steps all of them concurrently, records every distinct instruction ' +
    'address, and detaches. The runner decodes the instruction at each address (from the module file, or live memory ' +
    'for anonymous code) with the same decoder and feature table as the analysis. F_dyn is the union of their features ' +
    'minus the x86-64 baseline, intersected with the source host\'s features; the `[vdso]` is left out, as in the analysis ' +
    '(CRIU restores with the target kernel\'s vDSO).');
  p();
  p('Limits: the oracle sees **windows** of execution, not every future path: a feature the workload would execute ' +
    'only later (another branch, a later phase) is not in F_dyn. F_dyn is therefore a lower bound (a subset) of the true ' +
    'requirement F_true, with three consequences. (1) Safety checked against it (F_dyn ⊆ requirement) is a necessary ' +
    'condition, not a proof: a method can pass it and still miss a feature of a path the windows did not see. (2) Every ' +
    'type that is truly compatible (has F_true ∩ source) also has F_dyn ∩ source, so the oracle-compatible set is a ' +
    '**superset** of the truly compatible set. (3) For a method that is truly safe, every type it accepts is truly ' +
    'compatible, hence oracle-compatible, so its measured recall |accepted| / |oracle-compatible| is at most |accepted| / ' +
    '|truly compatible|: measured recall is a **lower bound** of the true recall (the true recall can only be higher), ' +
    'and measured precision, an upper bound of the true one, is 1. For a method that is not safe (plain EPT, the ' +
    'ablations) neither bound holds. Several windows spread in time cover different phases of an iteration. ' +
    'Single-stepping costs tens of microseconds per instruction in this virtual machine (the trap goes through the ' +
    'hypervisor; block stepping with BTF is ignored by KVM guests), so windows are a few hundred thousand instructions. ' +
    'Threads blocked in the kernel do not advance.');
  p();
  p('**The widened oracle (F_dyn + IFUNC), for recall only.** Part of what the windows miss is likely to run: ' +
    'the string and math functions glibc\'s IFUNC resolvers selected for this CPU (`__memmove_avx512_unaligned_erms`, ' +
    '`__strlen_evex`, ...), which the process calls through its GOT with other sizes and alignments than the ' +
    'windows saw, and which take other paths through the same body. `eval/lib/ifunc.mjs` reads every GOT slot of ' +
    'every loaded module in the live process and keeps those the dynamic linker bound to a resolver\'s pick: an ' +
    '`IRELATIVE` slot, or a `JUMP_SLOT`/`GLOB_DAT` slot whose symbol is `STT_GNU_IFUNC` in the module that defines ' +
    'its live value (looked up with its version) and whose value is not the resolver itself. A variant counts when ' +
    'the oracle saw it called: an instruction of its entry function executed, or a PLT stub jumping through one of ' +
    'its slots did (single-stepping records the callee\'s first instruction right after the stub, so the stub test ' +
    'adds only calls cut off by a window\'s end). Its whole body is then added: every instruction of its extent (symbol or ' +
    '`.eh_frame`) and of the extents its direct jumps enter or it falls through into, unless the module exports ' +
    'them (a tail call to `__chk_fail` is another function): `__mempcpy_*` and `__memmove_chk_*` share ' +
    '`__memmove_*`\'s body this way. Variants bound but never seen add nothing. **Safety is still checked against ' +
    'plain F_dyn**: a method is unsafe only if it misses a feature the oracle saw execute; the widened set can hold ' +
    'features of paths that never run here (a body\'s large-size path when the process copies only small buffers), ' +
    'so it is neither a subset of F_true nor a proof, and recall against it is an estimate that counts ' +
    'the selected variants\' features as required. As F_dyn + IFUNC ⊇ F_dyn, its oracle-compatible set is a subset ' +
    'of the plain one, so for a method whose requirement contains the widened set, recall against it is at least ' +
    'the plain recall.');
  p();
  p('### Methods compared');
  p();
  p('| method | what it requires |');
  p('| --- | --- |');
  p('| CRIU | every instruction feature of the source host (`criu restore` with its default `--cpu-cap=fpu,ins`): host-level |');
  p('| full scan | every instruction of every executable mapping (paper Algorithm 1) |');
  p('| **ours** | `analyzePythonProcess(pid)`, the product\'s whole analysis (CLI, language server): finds the program\'s script from the command line, runs bytecode tracking on it with the process\'s own interpreter, resolves its native callees in the live process, then `analyzeProcess` in its default `ept` mode from the roots listed below |');
  p('| ours, stopped | the same analysis with the workload stopped (SIGSTOP), as CRIU\'s freezer holds a process, at an instant where every thread runs the interpreter itself or waits in a system call (`eval/lib/stop.mjs` stops, checks each thread\'s pc, and continues and stops again until so, up to 80 times): every thread\'s pc and stack pointer are known, so only live frames are thread roots, and no thread is executing extension code (a thread waiting in a system call can still have extension frames below it, as at any freeze) |');
  p('| PVM only | Table I ablation, on the stopped process: the same EPT (default mode) from the PVM roots alone: `_start`, `main`, and every thread\'s pc and the return addresses in its live stack frames; no Python-callable roots, no bytecode-resolved roots |');
  p('| bytecode-resolved only | Table I ablation, on the stopped process: the same EPT (default mode) from the bytecode-resolved native roots alone: the native functions `analyzeCallSites` resolves, in the live process, for the call sites of the program\'s file (`programOf(pid).files`, the script on its command line), directly or through the Python functions of imported modules they call; no PVM, thread or Python-callable roots |');
  p('| plain EPT | the paper\'s Algorithm 2 (`--mode ept-plain`): from `_start` and `main`, GOT slots only, unresolved indirect calls ignored |');
  p();
  p('Roots of ours\' walk, in the order it takes them: (a) the executable\'s entry point `_start` and `main`; (b) every ' +
    'thread\'s pc and the return addresses of its live frames — the threads are frozen for milliseconds with ptrace ' +
    '(`dist/pygration-freeze`) and unwound with .eh_frame CFI; only where ptrace is refused is every stack-like region ' +
    'scanned instead; (c) the bytecode-resolved native functions (as in the ' +
    'column "bytecode-resolved only"); (d) every C function Python can call in the loaded extension modules and the ' +
    'interpreter: `PyMethodDef` tables (module functions and `tp_methods`), static types\' slot functions and ' +
    'getters/setters, and cffi tables (`native/src/trace/pythonRoots.ts`). EPT in the default `ept` mode follows ' +
    'direct calls and jumps, PLT and GOT slots, data slots and two-step dispatch chains read from live memory (a ' +
    'callee-saved register loaded once keeps its value for the whole function), and, for a call it cannot resolve, ' +
    'takes as roots the functions whose address the modules it entered can produce (module-local RTA). After the walk, ' +
    '`shstk` is dropped when the process runs without shadow stacks (its instructions fault there, so they never run), ' +
    'and the requirement is intersected with the source host and stripped of the x86-64 baseline. The two ablations ' +
    'apply the same rules, so the three walks differ only in their roots. They are computed with the process stopped, ' +
    'right after "ours, stopped": on a running process the scan of whole stack regions also finds stale return ' +
    'addresses, which can hide a missing edge by luck.');
  p();
  p('Why both "ours" rows: the running row freezes the threads with ptrace to read their exact pc and stack pointer; ' +
    'where ptrace is refused, /proc does not give a running thread\'s stack pointer, and the analysis scans the top ' +
    'of every stack-like region for return addresses instead. That region also holds ' +
    '**stale** return addresses of calls that returned long ago (import-time initialisation, earlier calls into ' +
    'extension modules): they add roots that can never resume (less recall) and, by luck, roots for functions the ' +
    'workload calls again (hiding missing edges). Stopping the process removes that luck: it shows what the walk ' +
    'reaches from live frames alone. Stopping it while it runs the interpreter (or waits in the kernel) removes the ' +
    'other luck, a stop that lands inside the kernel a workload loops on and makes that kernel a root, and makes the ' +
    'check the same from run to run: the calls from Python into C must then come from the analysis\'s own roots. ' +
    'Safety must hold for both.');
  p();
  p('Recall: a type is **oracle-compatible** when it has every feature of F_dyn ∩ source; a method **accepts** a type ' +
    'when it has every feature of the method\'s requirement ∩ source. Recall = |accepted ∩ oracle-compatible| / ' +
    '|oracle-compatible|; precision = |accepted ∩ oracle-compatible| / |accepted| (below 1 only for an unsafe method).');
  p();

  // ---------------------------------------------------------------- results
  p('## Results');
  p();
  p('### Safety and recall');
  p();
  p('| workload | F_dyn | oracle-compatible | recall CRIU | recall full | recall PVM only | recall bytecode only | **recall ours** | ours safe | recall ours, stopped | stopped safe | recall plain | precision plain |');
  p('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: | ---: | :---: | ---: | ---: |');
  const safeCell = (m, r) => (m.gaps.length === 0 ? 'yes' : r?.limit ? `no, documented limit (${m.gaps.join(', ')})` : `**NO** (${m.gaps.join(', ')})`);
  const ablationCell = (m) => `${fmt3(m.score.recall)}${m.gaps.length ? ` ✗ (misses ${m.gaps.join(', ')})` : ''}`;
  for (const r of measured) {
    const m = r.methods;
    p(
      `| ${r.name} | ${r.oracle.required.length} | ${r.oracle.compatible} | ${fmt3(m.criu.score.recall)} | ${fmt3(m.full.score.recall)} | ` +
        `${ablationCell(m.pvm)} | ${ablationCell(m.bytecode)} | **${fmt3(m.ours.score.recall)}** | ${safeCell(m.ours, r)} | ${fmt3(m.frozen.score.recall)} | ${safeCell(m.frozen, r)} | ${fmt3(m.plain.score.recall)} | ${fmt3(m.plain.score.precision)} |`,
    );
  }
  p();
  p('Feature counts exclude the x86-64 baseline and are intersected with the source host. ✗: the ablation misses ' +
    'features the oracle saw execute (so its recall says nothing). Plain EPT can accept types the workload cannot run ' +
    'on (precision < 1): it ignores calls it cannot resolve. Recall of a safe method is a lower bound of its true ' +
    'recall (see the oracle\'s limits above).');
  p();
  wideSection(measured, p);

  const attacks = measured.filter((r) => r.routes);
  if (attacks.length) {
    p('### Gate-attack workloads');
    p();
    p('Each route of these workloads ends in a kernel of ours (`eval/workloads/native/gatekern.c`, `gatelate.c`) whose ' +
      'instructions need one CPU feature no other code of the process runs, so a missed feature names the missed route. ' +
      '"admitted by" is the root through which ours (running) first reached the feature: under the precise policy, the ' +
      'gate that let the C function in; "decided" is the root policy that ran and, for a fallback, why.');
    p();
    p('| workload | route | feature | oracle saw it | ours | ours, stopped | full scan | CRIU | admitted by (ours) |');
    p('| --- | --- | --- | :---: | :---: | :---: | :---: | :---: | --- |');
    const yes = (b) => (b ? 'yes' : '**no**');
    for (const r of attacks) {
      for (const x of r.routes) {
        const cell = (k) => (x.required[k] ? 'yes' : x.seen ? (r.limit ? 'no (limit)' : '**MISSED**') : 'no');
        p(`| ${r.name} | ${esc(x.route)} | \`${x.feature}\` | ${yes(x.seen)} | ${cell('ours')} | ${cell('frozen')} | ${cell('full')} | ${cell('criu')} | ${esc(x.via.ours ?? '–')} |`);
      }
    }
    p();
    for (const r of attacks) {
      const note = r.rootPolicy?.note;
      if (note) p(`- ${r.name}, decided: ${esc(note.replace(/: \d+ C function.*$/, ''))}${r.limit ? `. Documented limit: ${esc(r.limit)}` : ''}`);
    }
    p();
  }

  p('### Required features per method');
  p();
  p('| workload | CRIU | full scan | PVM only | bytecode only | ours | ours, stopped | plain EPT | F_dyn (oracle) |');
  p('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of ok) {
    const m = r.methods;
    p(`| ${r.name} | ${m.criu.required.length} | ${m.full.required.length} | ${m.pvm.required.length} | ${m.bytecode.required.length} | ${m.ours.required.length} | ${m.frozen.required.length} | ${m.plain.required.length} | ${r.oracle.required.length} |`);
  }
  p();
  p('<details><summary>Feature lists</summary>');
  p();
  for (const r of ok) {
    const m = r.methods;
    p(`**${r.name}**`);
    p();
    p(`- F_dyn: ${list(r.oracle.required)}`);
    p(`- ours: ${list(m.ours.required)}`);
    p(`- ours, stopped: ${list(m.frozen.required)}`);
    p(`- PVM only: ${list(m.pvm.required)}`);
    p(`- bytecode-resolved only: ${list(m.bytecode.required)}`);
    // Features grouped by the root that first reached them (thread ids vary from run to run: left out).
    const byVia = new Map();
    for (const f of (r.oursFeaturesFrozen ?? []).filter((x) => x.via)) {
      const via = f.via.replace(/ of thread \d+( \(main\))?/, ' of a thread');
      byVia.set(via, [...(byVia.get(via) ?? []), f.feature]);
    }
    if (byVia.size) p(`- root that first reached each of ours' features (stopped): ${[...byVia].map(([via, fs]) => `${esc(via)}: ${list(fs)}`).join('; ')}`);
    p(`- plain EPT: ${list(m.plain.required)}`);
    p(`- full scan: ${list(m.full.required)}`);
    p();
  }
  p(`CRIU (every workload): ${list(ok[0]?.methods.criu.required ?? [])}`);
  p();
  p('</details>');
  p();

  p('### Call sites (paper Table II)');
  p();
  p('Call and jump sites met by the walk: traceable (direct, PLT, GOT/data slot, dispatch table) and untraceable ' +
    '(register or heap pointer). Plain EPT resolves GOT slots only; ours also reads data slots and dispatch chains from ' +
    'live memory, and visits more functions (its sound mode adds address-taken functions), so its totals are larger.');
  p();
  p('| workload | plain: traceable | plain: untraceable | plain: share | ours: traceable | ours: untraceable | **ours: share** | ours: slot + dispatch resolved live |');
  p('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of ok) {
    const a = r.callSites.plain;
    const b = r.callSites.ours;
    const live = r.stats.ours.callSites.memorySlot + r.stats.ours.callSites.dispatchTable;
    p(`| ${r.name} | ${a.traceable} | ${a.untraceable} | ${pct(a.untraceableShare)} | ${b.traceable} | ${b.untraceable} | **${pct(b.untraceableShare)}** | ${live} |`);
  }
  p();

  p('### Bytecode tracking');
  p();
  p('What `analyzePythonProcess` got from the program\'s file: its call sites, how many were resolved to native ' +
    'code in the live process, the native functions that became roots, and the most frequent reasons the rest were not.');
  p();
  p('| workload | program file | call sites | resolved | unresolved | native roots | top reasons for unresolved sites |');
  p('| --- | --- | ---: | ---: | ---: | ---: | --- |');
  for (const r of ok) {
    const b = r.bytecode;
    if (!b) continue;
    // A reason often repeats its callee ("m.f: m.f: module m was not found"): once is enough.
    const short = (why) => {
      const t = why.replace(/^([^:]+): \1: /, '$1: ');
      return t.length > 140 ? `${t.slice(0, 139)}…` : t;
    };
    const reasons = b.error
      ? `failed: ${esc(b.error)}`
      : (b.unknownReasons ?? [])
          .slice(0, 3)
          .map(([why, n]) => `${esc(short(why))} (${n})`)
          .join('; ') || '–';
    p(`| ${r.name} | ${b.files.map((f) => `\`${path.basename(f)}\``).join(', ') || esc(b.note ?? '–')} | ${b.callSites} | ${b.resolved} | ${b.unknown} | ${b.roots} | ${reasons} |`);
  }
  p();

  p('### Cost');
  p();
  p('Each analysis runs in a fresh Node process (cold caches, and an empty on-disk cache of bytecode tracking: ' +
    '`PYGRATION_CACHE_DIR` points to a new directory) while the workload runs; peak RSS is that process\'s ' +
    '(the Python helper of bytecode tracking, a separate process, is not included). "ours" is the wall time of ' +
    '`analyzePythonProcess`: bytecode tracking and resolution, then the walk ("of it, walk" is `analyzeProcess` alone).');
  p();
  p('| workload | ours | of it, walk | ours RSS | ours, stopped | plain EPT | plain RSS | full scan | full RSS | ours / full | functions (ours) | instructions decoded (ours / full) |');
  p('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of ok) {
    const s = r.stats;
    p(
      `| ${r.name} | ${secs(s.ours.seconds)} | ${secs(s.ours.engineSeconds)} | ${s.ours.peakRssMB} MB | ${secs(s.frozen.seconds)} | ${secs(s.plain.seconds)} | ${s.plain.peakRssMB} MB | ${secs(s.full.seconds)} | ${s.full.peakRssMB} MB | ` +
        `${(s.ours.seconds / s.full.seconds).toFixed(2)} | ${s.ours.functionsVisited.toLocaleString('en')} | ${(s.ours.instructionsDecoded / 1e6).toFixed(2)} M / ${(s.full.instructionsDecoded / 1e6).toFixed(2)} M |`,
    );
  }
  p();

  if (findings) {
    p('## Findings');
    p();
    p(findings.trim());
    p();
  }

  // ---------------------------------------------------------------- diagnostics
  p('## Diagnostics');
  p();
  p('### Safety violations');
  p();
  const bad = measured.filter((r) => !r.safe);
  if (bad.length === 0) {
    p('None: every feature the oracle saw executed is in our requirement, on every workload, running or stopped.');
    p();
  }
  for (const r of bad) {
    p(`**${r.name}**${r.limit ? ` (documented limit: ${esc(r.limit)})` : ''}:`);
    p();
    for (const g of r.gapEvidence) {
      const who = g.missedBy.map((k) => (k === 'frozen' ? 'ours, stopped' : 'ours')).join(' and ');
      p(
        `- \`${g.feature}\` missed by ${who}: the oracle saw ${g.count} instruction(s) in ${g.functions.map(([f, n]) => `\`${f}\` (${n})`).join(', ')}; ` +
          `e.g. ${g.sites.map((s) => `\`${s.instruction ?? '?'}\` at ${s.address} in \`${s.function}\``).join('; ')}.`,
      );
    }
    p();
  }
  p('Trace why the walk reaches or misses a function with `node eval/why.mjs PID [--stop] [--roots ours|pvm|bytecode|python] module!function` on a running workload.');
  p();
  p();
  p('### Path coverage of ours\' walk');
  p();
  p('Feature-level safety can hold by luck (a missed function whose features come in from elsewhere). This stricter ' +
    'check asks, for every instruction the oracle saw, whether it lies in a function ours\' walk visited, with the ' +
    'process stopped (live frames only: no stale return addresses to help). The walk is a replica of ours\' with the ' +
    'same roots, recorded right after the timed analysis of the stopped process; its requirement equalled ours\' on ' +
    `${sameCount(ok)}. Missed functions point at edges the walk did not follow.`);
  p();
  p('| workload | traced instructions | in visited functions, stopped | missed functions that carry features (instructions; features) | other top missed functions |');
  p('| --- | ---: | ---: | --- | --- |');
  const fn = (g) => `\`${g.function}\` (${g.instructions}${g.features.length ? `; ${g.features.join(' ')}` : ''})`;
  for (const r of ok) {
    const z = r.coverageFrozen;
    if (!z) {
      p(`| ${r.name} | – | not measured (quick run) | – | – |`);
      continue;
    }
    const withFeatures = z.missedFunctions.filter((g) => g.features.length > 0);
    const others = z.missedFunctions.filter((g) => g.features.length === 0).sort((a, b) => b.instructions - a.instructions);
    p(
      `| ${r.name} | ${z.instructions} | ${z.covered} (${pct(z.covered / Math.max(1, z.instructions))}) | ` +
        `${withFeatures.slice(0, 6).map(fn).join(', ') || '–'} | ${others.slice(0, 3).map(fn).join(', ') || '–'} |`,
    );
  }
  p();
  p('### What limits recall');
  p();
  p('Features in a requirement but not in F_dyn, with how many oracle-compatible types each one refuses (a type can ' +
    'be refused by several), and for ours the modules whose visited code contains them.');
  p();
  p('| workload | ours: features beyond F_dyn (types refused) | where in ours (modules) | full scan: top features beyond F_dyn (types refused) |');
  p('| --- | --- | --- | --- |');
  for (const r of ok) {
    const ours = recallLimiters(r, 'ours');
    const full = recallLimiters(r, 'full').slice(0, 6);
    const where = ours
      .slice(0, 4)
      .map((x) => {
        const ev = r.oursFeatures.find((f) => f.feature === x.feature);
        const mods = (ev?.modules ?? []).slice(0, 2).map((m) => `${path.basename(m.module)} (${m.count})`);
        return `\`${x.feature}\`: ${mods.join(', ')}`;
      })
      .join('; ');
    p(
      `| ${r.name} | ${ours.map((x) => `\`${x.feature}\` (${x.refuses})`).join(' ') || '–'} | ${where || '–'} | ${full.map((x) => `\`${x.feature}\` (${x.refuses})`).join(' ') || '–'} |`,
    );
  }
  p();
  if (skipped.length) {
    p('### Not run');
    p();
    for (const r of skipped) p(`- ${r.name}: ${esc(r.skipped ?? r.error ?? '')}`);
    p();
  }
  p('### Oracle windows');
  p();
  p('| workload | threads | steps | distinct addresses | decoded | [vdso] | oracle time | stop for "ours, stopped": attempts; where the threads stood |');
  p('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of ok) {
    const w = r.oracle.windows;
    const steps = w.reduce((s, x) => s + x.steps, 0);
    const threads = Math.max(...w.map((x) => x.threads));
    const st = r.stop ? `${r.stop.attempts}${r.stop.atInterpreter ? '' : ' (gave up)'}; ${r.stop.places.map((x) => x.place).join(', ')}` : '–';
    p(`| ${r.name} | ${threads} | ${steps.toLocaleString('en')} | ${r.oracle.distinct.toLocaleString('en')} | ${r.oracle.decoded.toLocaleString('en')} | ${r.oracle.vdso} | ${secs(r.oracle.seconds)} | ${esc(st)} |`);
  }
  p();
  return `${L.join('\n')}\n`;
}

/** Writes evaluation.md and the plot into `dir`; returns the files written. */
export function writeReport(run, dir) {
  fs.mkdirSync(dir, { recursive: true });
  const md = path.join(dir, 'evaluation.md');
  const svg = path.join(dir, PLOT_FILE);
  fs.writeFileSync(svg, recallSvg(run.results, run.policy));
  const findings = !run.quick && fs.existsSync(FINDINGS_FILE) ? fs.readFileSync(FINDINGS_FILE, 'utf8') : undefined;
  fs.writeFileSync(md, evaluationMarkdown(run, findings));
  return [md, svg];
}

// Run directly, it regenerates the report from a saved run: node eval/lib/report.mjs RESULTS_JSON [DIR].
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const [file, dir] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node eval/lib/report.mjs RESULTS_JSON [DIR]');
    process.exit(2);
  }
  const run = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const f of writeReport(run, dir ?? path.dirname(file))) console.log(f);
}
