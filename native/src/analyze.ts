// The whole analysis of a live process, as the CLI and the language server run it: open the process,
// collect the source host, track the PVM (entry point, threads, stacks) plus any extra roots with EPT (or
// run a full scan), compare with the instance catalog, and build the AnalysisReport.

import * as path from 'node:path';
import { compatibleInstances, criuAdvice, effectiveRequirement, maskedFeatures, maskedReason, summarizeInstances } from './catalog/compat';
import { type Catalog, defaultCatalog } from './catalog/catalog';
import { decodeOne } from './decoder/decoder';
import { CancelledError, NativeError } from './errors';
import { FEATURE_REASONS } from './features/iced';
import { type Feature, isBaseline, sortFeatures, x86Level } from './features/vocabulary';
import { collectHost, hostFeatures, probeFeatures, type HostInfo } from './features/host';
import { ProcessView } from './space/processView';
import { readStatus } from './space/procfs';
import type { AnalysisMode, AnalysisReport, FeatureSite, MaskedFeature, RequiredFeature, TargetInfo } from './report';
import { VERSION } from './version';
import type { EptResult, FeatureEvidence, Root, SummaryStore } from './trace/ept';
import { type FullScanStore, fullScanAsync } from './trace/fullScan';
import { ProcessAddressSpace } from './space/processSpace';
import { destructorRoots, entryRoot, mainRoot, mangledPointerRoots, threadRoots } from './trace/pvm';
import { heldFunctionRoots } from './trace/heldRoots';
import { kernelHeldWords } from './space/kernelHeld';
import { type PythonGate, pythonEntryRoots } from './trace/pythonRoots';
import type { TablesStore } from './cpython/tables';
import type { AddressSpace } from './space/space';
import { type StopWalkCache, walkPhases } from './trace/stopWalk';
import { primeCensuses } from './trace/liveCensus';

export interface AnalyzeOptions {
  /** 'ept' (default, sound for unresolved calls), 'ept-plain' (the paper's EPT) or 'full' (full scan). */
  mode?: AnalysisMode;
  catalog?: Catalog;
  /** Extra EPT roots, e.g. native functions resolved by bytecode tracking (runtime addresses). */
  extraRoots?: Root[];
  /**
   * The root policy for the C functions Python can call. Strict (`true`, and whenever no `pythonGate` is given: the
   * engine alone does not track Python code): every one in every loaded extension module is a root. Otherwise the
   * precise policy, the product's default (server/src/processAnalysis.ts gives the gate): gated by Python-level
   * reachability (`pythonGate`), falling back to strict with a note when the gate says so.
   */
  strict?: boolean;
  /**
   * Python-level reachability (server/src/pythonGate.ts): narrows the Python-callable roots unless `strict`.
   * Without it the policy is strict (nothing says which names the program can still use). `notes` explain it.
   */
  pythonGate?: PythonGate & { notes?: string[]; strictReason?: string };
  /** Also run a full scan for the third verdict (default true; cached per file). */
  withFullScan?: boolean;
  /** Use this host description instead of collecting it (tests, or a remote source host). */
  host?: HostInfo;
  /**
   * Count the masked features (used by reachable code, hidden by the source's CPUID, yet executable there)
   * as required (default false: they are reported as warnings only).
   */
  countMasked?: boolean;
  /**
   * Execute an instruction of each masked candidate on this machine, where the process runs (default true):
   * one that faults is absent, not masked. Off: every candidate is reported, unconfirmed.
   */
  probeMasked?: boolean;
  isCancelled?: () => boolean;
  /** Progress messages for long work (called at most every 100 ms). */
  onProgress?: (message: string) => void;
  /** Second levels of the engine's per-file caches (on disk in the bundled CLI and server); none by default. */
  stores?: AnalysisStores;
  /**
   * The walk kept from the previous analysis of the same process (a debug session's earlier stop): its first phase is
   * reused when nothing it read has changed (trace/stopWalk.ts). The result is the same with or without it.
   */
  stopWalk?: StopWalkCache;
}

/** The caches a caller may lend the analysis: function summaries (EPT) and per-file full-scan results. */
export interface AnalysisStores {
  summaries?: SummaryStore;
  fullScans?: FullScanStore;
  /** Discovered Python tables of the extension modules (the Python-callable roots). */
  tables?: TablesStore;
}

/** The analysis result with the engine's raw pieces kept for callers that need more than the report. */
export interface ProcessAnalysis {
  report: AnalysisReport;
  ept?: EptResult;
  space: AddressSpace;
  /** How the walk's first phase (the stable roots) was done: 'reused' from the previous stop, or why it was walked. */
  firstPhase?: string;
}

const SITES_IN_REPORT = 3;

/** Analyses process `pid`. Throws NativeError for a vanished, unreadable, 32-bit or non-ELF process. */
export async function analyzeProcess(pid: number, options: AnalyzeOptions = {}): Promise<ProcessAnalysis> {
  const started = process.hrtime.bigint();
  const mode = options.mode ?? 'ept';
  const catalog = options.catalog ?? defaultCatalog();
  const progress = options.onProgress ?? (() => undefined);
  const hostPromise = options.host ? Promise.resolve(options.host) : collectHost();

  const view = new ProcessView(pid);
  try {
    progress(`Reading the mappings of process ${pid}`);
    const space = new ProcessAddressSpace(view);
    const target = describeTarget(view, space);
    const notes = targetNotes(pid, space, target, mode);
    const walk = await walkProcess(view, space, target, mode, options, notes);
    let features = walk.features;
    // CET shadow-stack instructions (INCSSP, WRSS...) fault unless shadow stacks are enabled for the thread,
    // and glibc runs them only when they are: in a process without shadow stacks they never execute.
    if (features.has('shstk') && !shadowStackEnabled(pid)) {
      features = new Map(features);
      features.delete('shstk');
      notes.push('CET shadow-stack instructions were reached (glibc longjmp and context switching), but this process runs without shadow stacks, where they fault, so they never execute here and are not required.');
    }

    const host = await hostPromise;
    const source = hostFeatures(host);
    if (host.probeError) notes.push(`The xtest probe did not run (${host.probeError}); the host is assumed to execute xtest.`);

    // Masked candidates: a probe on this machine (where the process runs) drops those that fault here.
    const candidates = maskedFeatures(features.keys(), source, host.vendor);
    const executes = options.probeMasked === false ? new Map<Feature, boolean>() : await probeFeatures(candidates);
    const masked = candidates.filter((f) => executes.get(f) !== false);
    const counted = options.countMasked ? masked : [];
    const fullScanRequired = mode !== 'full' && options.withFullScan !== false ? await comparisonScan(space, source, host, options, notes) : undefined;

    // Sizes a module's file states against its own layout were bounded by the ELF reader: say so.
    for (const m of space.modules()) {
      if (m.elf.repairsMade > 0) notes.push(`${path.basename(m.path)} states ${m.elf.repairsMade} size(s) its own layout contradicts (a crafted or corrupt file); they were bounded: ${m.elf.repairs.slice(0, 3).join(' ')}`);
    }
    const required = effectiveRequirement(features.keys(), source, counted);
    const notOnHost = sortFeatures([...features.keys()].filter((f) => !source.has(f) && !isBaseline(f)));
    const level = x86Level(required);
    const instances = summarizeInstances({ required, source, catalog, fullScanRequired, sourceVendor: host.vendor });
    const advice = criuAdvice(instances);

    const report: AnalysisReport = {
      schema: 1,
      tool: { name: 'pygration', version: VERSION },
      mode,
      target,
      host: { cpu: host.cpu, features: sortFeatures(source) },
      required,
      level: level.name,
      levelExtras: level.extras,
      features: required.map((f) => provenance(space, f, features.get(f)!)),
      notOnHost,
      maskedFeatures: masked.map((f) => maskedProvenance(space, f, features.get(f)!, executes.get(f))),
      maskedCounted: options.countMasked === true,
      fullScanRequired,
      notes,
      ...(walk.rootPolicy ? { rootPolicy: walk.rootPolicy } : {}),
      stats: {
        functionsVisited: walk.functionsVisited,
        instructionsDecoded: walk.instructionsDecoded,
        modulesVisited: walk.modulesVisited,
        callSites: walk.callSites,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
        peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      },
      instances,
    };
    if (advice) report.criuAdvice = advice;
    return { report, ept: walk.ept, space, firstPhase: walk.firstPhase };
  } finally {
    view.close();
  }
}

/** What the report says first about the target: not a Python, memory unreadable, modules unopened, static, lazy binding. */
function targetNotes(pid: number, space: ProcessAddressSpace, target: AnalysisReport['target'], mode: AnalysisMode): string[] {
  const notes: string[] = [];
  if (!target.python) notes.push(`Process ${pid} (${path.basename(target.exe ?? '?')}) does not look like a Python interpreter: only its machine code from the entry point and its threads was analysed (no bytecode tracking).`);
  if (space.memoryError) {
    notes.push(`${space.memoryError.describe()} Without memory access, GOT slots and dispatch tables were resolved from the files on disk.`);
  }
  for (const u of space.unopenedModules) notes.push(`Could not open ${u.path}: ${u.reason}`);
  if (space.mainModule()?.elf.isStatic) {
    notes.push('The executable is statically linked: there are no shared libraries or PLT, and everything was walked from its entry point.');
  }
  if (target.ldBindNow === false && mode !== 'full') {
    notes.push('The process was not started with LD_BIND_NOW=1, so some GOT slots may still be unbound; start it with LD_BIND_NOW=1 for exact results.');
  }
  return notes;
}

/** The features the analysis found and what it walked (EPT from the process's roots, or a full scan). */
interface ProcessWalk {
  ept?: EptResult;
  features: Map<Feature, FeatureEvidence>;
  functionsVisited: number;
  instructionsDecoded: number;
  modulesVisited: number;
  callSites: AnalysisReport['stats']['callSites'];
  rootPolicy?: AnalysisReport['rootPolicy'];
  firstPhase?: string;
}

/** Mode 'full': every executable mapping decoded; else EPT from the process's roots, in slices. Adds notes. */
async function walkProcess(view: ProcessView, space: ProcessAddressSpace, target: AnalysisReport['target'], mode: AnalysisMode, options: AnalyzeOptions, notes: string[]): Promise<ProcessWalk> {
  const progress = options.onProgress ?? (() => undefined);
  if (mode === 'full') {
    progress('Full scan: decoding every executable mapping');
    const fs = await fullScanAsync(space, { isCancelled: options.isCancelled, store: options.stores?.fullScans });
    if (fs.cancelled) throw new CancelledError();
    noteSkipped(notes, fs.skipped, space, '');
    return { features: fs.features, functionsVisited: 0, instructionsDecoded: fs.instructionsDecoded, modulesVisited: fs.modulesScanned, callSites: { direct: 0, plt: 0, memorySlot: 0, dispatchTable: 0, unresolved: 0 } };
  }
  // Both censuses of live memory in one pass (the walk and the exit-handler roots ask for them), as at a debug stop.
  if (options.stopWalk) options.stopWalk.prime(space);
  else if (mode === 'ept' && space.liveMemory) primeCensuses(space);
  const pvm = processRoots(view, space, mode, target.python !== undefined, { strict: options.strict, pythonGate: options.pythonGate, stores: options.stores });
  // Three phases: the roots that stay from stop to stop first, then the functions memory outside the modules holds,
  // then the live frames on top (trace/stopWalk.ts), so a debug session's next stop walks only the frames when
  // nothing the first two read has changed and the heap holds no function they did not reach.
  const later = new Set([...pvm.frameRoots, ...pvm.heldRoots]);
  const stable = [...pvm.roots.filter((r) => !later.has(r)), ...(options.extraRoots ?? []), ...pvm.callableRoots];
  notes.push(...pvm.notes);
  progress(`Execution path tracking from ${stable.length + later.size} root(s)`);
  // In slices: a server answers $/cancelRequest and a CLI sees Ctrl-C during a long walk.
  const eptOptions = {
    mode,
    bindNow: target.ldBindNow === true,
    isCancelled: options.isCancelled,
    onProgress: (n: number) => progress(`Execution path tracking: ${n} functions`),
    summaryStore: options.stores?.summaries,
    gatedWords: pvm.gatedWords,
  };
  const phases = { stable, held: pvm.heldRoots, frames: pvm.frameRoots };
  const ept = options.stopWalk ? await options.stopWalk.walk(space, phases, eptOptions) : { ...(await walkPhases(space, phases, eptOptions)), firstPhase: undefined };
  if (ept.cancelled) throw new CancelledError();
  notes.push(...ept.notes);
  return { ept, features: ept.features, functionsVisited: ept.functionsVisited, instructionsDecoded: ept.instructionsDecoded, modulesVisited: ept.modulesVisited.size, callSites: ept.callSites, rootPolicy: pvm.rootPolicy, firstPhase: ept.firstPhase };
}

/** The full scan for comparison (EPT modes): its requirement, masked candidates counted when asked. Adds notes. */
async function comparisonScan(space: ProcessAddressSpace, source: Set<Feature>, host: HostInfo, options: AnalyzeOptions, notes: string[]): Promise<Feature[]> {
  options.onProgress?.('Full scan for comparison');
  const fs = await fullScanAsync(space, { isCancelled: options.isCancelled, store: options.stores?.fullScans });
  if (fs.cancelled) throw new CancelledError();
  const fsMasked = options.countMasked ? maskedFeatures(fs.features.keys(), source, host.vendor) : [];
  const fsExecutes = options.probeMasked === false ? new Map<Feature, boolean>() : await probeFeatures(fsMasked);
  const required = effectiveRequirement(fs.features.keys(), source, fsMasked.filter((f) => fsExecutes.get(f) !== false));
  noteSkipped(notes, fs.skipped, space, ' by the full scan for comparison');
  return required;
}

/**
 * The roots of the interpreter (PVM) in a live process, as analyzeProcess tracks them: the entry point and
 * `main`; in mode 'ept' with live memory, every thread's pc and return addresses; in mode 'ept' for a Python
 * process, every C function Python code can call (method tables and type slots). With notes on what was
 * assumed or could not be read. The Python-callable functions come apart (callableRoots), as analyzeProcess
 * puts its extra roots before them; `frameRoots` are those of `roots` that change from stop to stop (the threads'
 * live frames, the mangled code pointers), which analyzeProcess walks last; `heldRoots` those the memory outside the
 * modules holds (heldFunctionRoots), walked between the two.
 */
export function processRoots(
  view: ProcessView,
  space: AddressSpace,
  mode: AnalysisMode,
  python: boolean,
  policy: Pick<AnalyzeOptions, 'strict' | 'pythonGate' | 'stores'> = {},
): { roots: Root[]; callableRoots: Root[]; frameRoots: Root[]; heldRoots: Root[]; notes: string[]; rootPolicy?: 'precise' | 'strict'; gatedWords?: ReadonlySet<number> } {
  const roots: Root[] = [];
  const frameRoots: Root[] = [];
  const heldRoots: Root[] = [];
  const callableRoots: Root[] = [];
  const notes: string[] = [];
  const tr = mode === 'ept' && space.liveMemory ? threadRoots(view, space) : undefined;
  // First, as the precise policy's gate decides which words of Python's method tables the held roots leave to it.
  const py = mode === 'ept' && python ? pythonCallableRoots(space, policy) : undefined;
  // With every thread frozen and unwound to its outermost frame, the live frames are all that resumes: `_start`
  // and `main` ran already, and what of them can still run is walked from their frames' return addresses.
  const exactFrames = tr !== undefined && tr.threads > 0 && tr.frozenThreads === tr.threads && tr.unwoundThreads === tr.threads;
  // In the frames' phase when a thread was not unwound: that changes from stop to stop, and a debug session's next
  // stop reuses the first phase only when its roots are the same (trace/stopWalk.ts).
  const entryRoots = exactFrames ? [] : [entryRoot(space), mainRoot(space)].filter((r): r is Root => r !== undefined);
  roots.push(...entryRoots);
  if (tr) frameRoots.push(...entryRoots);
  if (exactFrames) notes.push('Every thread was frozen and unwound to its outermost frame, so the entry point and main are not walked whole: of each live frame, only the code its function can still reach from the frame\'s return address (or the thread\'s pc) is walked, and what ran before (start-up code ahead of a loop) is not charged. Functions with landing pads (C++ catch or cleanup code) and parts with indirect jumps are walked whole.');
  const destructors = destructorRoots(space);
  roots.push(...destructors);
  if (destructors.length > 0) notes.push(`${destructors.length} destructor(s) of the loaded modules (.fini_array, DT_FINI) were analysed as roots: the dynamic linker runs them at exit.`);
  if (tr) {
    roots.push(...tr.roots);
    frameRoots.push(...tr.roots);
    if (tr.frozenThreads > 0) {
      notes.push(
        `${tr.frozenThreads} of ${tr.threads} thread(s) were frozen with ptrace for ${((tr.frozenUs ?? 0) / 1000).toFixed(1)} ms to read their exact pc, registers and stack (then resumed; nothing was written): only their live frames count (${tr.returnAddresses} return address(es)), ${
          tr.unwoundThreads === tr.frozenThreads ? 'all unwound with .eh_frame to their outermost frame' : `${tr.unwoundThreads} unwound with .eh_frame to their outermost frame, the others scanned above the last stack pointer the unwinding reached`
        }.`,
      );
    }
    if (tr.greenletScan) {
      notes.push('greenlet is loaded: a suspended greenlet keeps C frames on its thread\'s stack above the active one\'s, off the chain the unwinder follows, so the frozen threads\' stacks above sp were scanned for return addresses as well (frames greenlet copied to the heap are not thread roots).');
    }
    if (tr.freezeUnavailable && tr.frozenThreads === 0) {
      notes.push(`Exact thread roots were not available because ${tr.freezeUnavailable}, so each thread's stack was read from /proc instead.`);
    }
    const mangled = mangledPointerRoots(space);
    roots.push(...mangled);
    frameRoots.push(...mangled);
    if (mangled.length > 0) {
      notes.push(`${mangled.length} code pointer(s) that glibc keeps mangled in live memory (exit handlers registered with atexit or __cxa_atexit, setjmp return points) were analysed as roots: they run at exit or on longjmp.`);
    }
    // The C runtime keeps main's address (and the entry's) where it called them from: they never run again.
    const started = exactFrames ? [entryRoot(space)?.address, mainRoot(space)?.address] : [];
    const heldStats = { unread: 0 };
    const held = heldFunctionRoots(space, new Set(started.filter((a) => a !== undefined)), [...kernelHeldWords(view.pid), ...tr.registerWords], { registersKnown: tr.registersKnown, frozen: tr.frozen, stats: heldStats, gatedWords: py?.gatedWords });
    roots.push(...held);
    heldRoots.push(...held);
    if (held.length > 0) {
      const byKernel = held.filter((r) => r.reason.includes('the kernel holds')).length;
      const byRegister = held.filter((r) => r.reason.includes('a frozen thread\'s register holds')).length;
      notes.push(
        `${held.length} function(s) whose address memory outside the modules holds (the heap, stacks: pointers dlsym returned, or that code which already ran stored) were analysed as roots: an indirect call may reach them.` +
          (byKernel > 0 ? ` ${byKernel} of them only the kernel holds for the process (epoll user data, POSIX timer values): epoll_wait or a timer's signal hands them back.` : '') +
          (byRegister > 0 ? ` ${byRegister} only a frozen thread's registers hold (a callee-saved register across a blocking call).` : ''),
      );
    }
    if (heldStats.unread > 0) {
      notes.push(
        `${heldStats.unread} pointer(s) kept only in heap tables at offsets no code reads were not taken as roots: only module variables point to those tables, their addresses are taken nowhere, and every load of them reads other words (a kernel stored in a dispatch table and never called).`,
      );
    }
    if (tr.runningThreads > 0) {
      notes.push(`${tr.runningThreads} of ${tr.threads} thread(s) were running, so their pc was unknown: every stack-like region was scanned for return addresses instead (${tr.returnAddresses} found), which can count calls that returned long ago.`);
    }
  }
  if (py) {
    callableRoots.push(...py.roots);
    notes.push(...py.notes);
  }
  return { roots, callableRoots, frameRoots, heldRoots, notes, rootPolicy: py?.rootPolicy, gatedWords: py?.gatedWords };
}

/** The C functions Python can call, as roots under the policy asked for, with the notes that say so. */
function pythonCallableRoots(space: AddressSpace, policy: Pick<AnalyzeOptions, 'strict' | 'pythonGate' | 'stores'>): { roots: Root[]; notes: string[]; rootPolicy: 'precise' | 'strict'; gatedWords: ReadonlySet<number> } {
  const notes: string[] = [];
  // Python calls C through heap objects (method objects, type slots): root what it can call.
  const gate = policy.strict === true || !policy.pythonGate || policy.pythonGate.strictReason ? undefined : policy.pythonGate;
  const py = pythonEntryRoots(space, gate, policy.stores?.tables);
  notes.push(...(policy.pythonGate?.notes ?? []));
  if (gate) {
    notes.push(
      `Root policy precise: ${py.roots.length} C function(s) Python code can call were analysed as roots (type slots, the interpreter's own tables, and the methods, functions and getters of ${py.modules} extension module(s) whose names reachable Python code uses, C code may look up by name, or protocols call); ${py.gatedOut} method-table entries and getters whose names no reachable Python code uses were not. Each root's reason names the gate that admitted it.`,
    );
  } else {
    const why = policy.pythonGate?.strictReason ?? (policy.strict === true ? 'asked for: --strict, or the setting pygration.analysis.strict' : 'no Python-level reachability was available (no program file was tracked)');
    notes.push(
      `Root policy strict (${why}): ${py.roots.length} C function(s) Python code can call (method tables and type slots of ${py.modules} extension module(s) and the interpreter) were analysed as roots: Python reaches them through objects on its heap, an edge no static walk can follow.`,
    );
  }
  if (py.exports) {
    notes.push(
      `${py.exports.bridge} is loaded, so Python code can call any function dlsym finds, by a name it may compute: ${py.exports.roots} exported function(s) of ${py.exports.objects} object(s) (the executable and what it needs, and every object opened with dlopen) were analysed as roots${gate ? ' where reachable code uses their names' : ''}. Functions of other libraries count once the heap holds them (one ctypes fetched).`,
    );
  }
  for (const s of py.skipped) notes.push(`Could not read the Python tables of ${s.module}: ${s.reason}`);
  return { roots: py.roots, notes, rootPolicy: gate ? 'precise' : 'strict', gatedWords: py.gatedWords };
}

/** Notes for what a full scan skipped, except files already noted as left out (unopenedModules). */
function noteSkipped(notes: string[], skipped: ReadonlyArray<{ name: string; reason: string }>, space: ProcessAddressSpace, by: string): void {
  const noted = space.unopenedModules.map((u) => u.path);
  for (const s of skipped) {
    if (noted.some((p) => s.name === p || s.name.startsWith(`${p} `))) continue;
    notes.push(`Skipped ${s.name}${by}: ${s.reason}`);
  }
}

/**
 * Whether the process runs with user-space shadow stacks (Linux lists `shstk` in the x86_Thread_features
 * line of /proc/PID/status; kernels without shadow-stack support have no such line, so none is enabled).
 */
export function shadowStackEnabled(pid: number): boolean {
  try {
    const line = readStatus(pid).get('x86_Thread_features');
    return line !== undefined && /\bshstk\b/.test(line);
  } catch {
    // Unreadable: keep the requirement (the safe side).
    return true;
  }
}

/** Facts about the target process for the report. */
function describeTarget(view: ProcessView, space: AddressSpace): TargetInfo {
  const exe = view.exe().replace(/ \(deleted\)$/, '');
  let cmdline: string[] | undefined;
  try {
    cmdline = view.cmdline();
  } catch (e) {
    if (!(e instanceof NativeError) || e.kind === 'gone') throw e;
  }
  let ldBindNow: boolean | null = null;
  try {
    ldBindNow = view.ldBindNow() ?? null;
  } catch (e) {
    if (!(e instanceof NativeError) || e.kind === 'gone') throw e;
  }
  const python = pythonVersion(exe, space);
  return { pid: view.pid, exe, cmdline, python, ldBindNow };
}

/** The Python version of a process from its executable or libpython name, if it is a Python. */
export function pythonVersion(exe: string, space: AddressSpace): string | undefined {
  const names = [path.basename(exe), ...space.modules().map((m) => path.basename(m.path))];
  for (const n of names) {
    const m = /^(?:lib)?python(\d+\.\d+)/.exec(n);
    if (m) return m[1];
  }
  // A `python3` executable that links libpython statically (Debian's) may only say python3.
  if (/^python3?$/.test(path.basename(exe))) {
    const lib = space.mainModule()?.elf.lookupSymbol('Py_Version');
    return lib ? '3' : undefined;
  }
  return undefined;
}

/** Turns the walk's evidence for one feature into the report's provenance (symbolized, with text). */
function provenance(space: AddressSpace, feature: Feature, ev: FeatureEvidence): RequiredFeature {
  const sites: FeatureSite[] = ev.sites.slice(0, SITES_IN_REPORT).map((s) => describeSite(space, s.address));
  const modules = [...ev.modules].sort((a, b) => b[1] - a[1]).map(([module, count]) => ({ module, count }));
  const out: RequiredFeature = { feature, sites, count: ev.count, modules };
  const reason = ev.reason ?? FEATURE_REASONS[feature];
  if (reason) out.reason = reason;
  if (ev.root) out.via = ev.root;
  return out;
}

/** A masked feature's warning: where reachable code uses it, and why that matters. */
function maskedProvenance(space: AddressSpace, feature: Feature, ev: FeatureEvidence, executes: boolean | undefined): MaskedFeature {
  const m: MaskedFeature = { feature, sites: ev.sites.slice(0, SITES_IN_REPORT).map((s) => describeSite(space, s.address)), count: ev.count, reason: maskedReason(feature, executes) };
  if (executes) m.executes = true;
  return m;
}

export function describeSite(space: AddressSpace, address: number): FeatureSite {
  const r = space.regionAt(address);
  const m = r?.module;
  let fn = `sub_${address.toString(16)}`;
  let bytes: Uint8Array | undefined;
  if (m) {
    const sym = m.elf.symbolize(address - m.bias);
    if (sym?.inside) fn = sym.offset ? `${sym.name}+0x${sym.offset.toString(16)}` : sym.name;
    else {
      const ext = m.elf.functionAt(address - m.bias);
      if (ext) fn = `sub_${(ext.start + m.bias).toString(16)}`;
    }
    bytes = m.elf.tryReadVirtual(address - m.bias, 15) ?? m.elf.tryReadVirtual(address - m.bias, 4);
  }
  bytes ??= space.readMemory(address, 15);
  const site: FeatureSite = { module: m?.path ?? r?.name ?? '?', function: fn, address: `0x${address.toString(16)}` };
  if (bytes) {
    const d = decodeOne(bytes, address);
    if (d) site.instruction = d.text;
  }
  return site;
}
