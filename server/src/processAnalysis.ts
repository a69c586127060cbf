// The whole analysis of a running Python process (paper: EPT of the PVM ∪ EPT of the bytecode-resolved
// natives): find the program's own Python files from its command line, run bytecode tracking on them with
// the process's own interpreter, resolve their native callees in the live process, and add those functions
// as roots of the process-wide execution path tracking.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeProcess, cCallableNames, isNativeError, pythonVersionOf, readCmdline, readCwd, readExe, readPythonFrames, type AddressSpace, type AnalyzeOptions, type Feature, type ProcessAnalysis, type Root, type Vendor } from '../../native/src';
import { BytecodeCache, BytecodeSession, bytecodeTracking } from './bytecode';
import type { BytecodeTrackingResult, CallSite } from './bytecode/types';
import { analyzeCallSites, type CallSiteResults } from './callSites';
import type { CallSiteAnalysis } from './model';
import { DiskGateStore } from './gateStore';
import { FrameNarrowing, withinModule } from './gateFrames';
import { IMPORT_MACHINERY } from './gateModels';
import { type PythonReachability, type ReachabilityOptions, type RootCode, pythonReachability } from './pythonGate';

/** Rounds of on-demand tracking of the modules reachable functions import (each adds their import closures). */
const MAX_IMPORT_ROUNDS = 8;

/** Interpreter options that take a separate value (`-W error`, `-X dev`). */
const OPTIONS_WITH_VALUE = new Set(['-W', '-X', '--check-hash-based-pycs']);

/** debugpy's own options that take a value (debugpy/server/cli.py); `--configure-<name>` take one too. */
const DEBUGPY_OPTIONS_WITH_VALUE = new Set(['--listen', '--connect', '--log-to', '--pid', '--adapter-access-token', '--parent-session-pid']);

/**
 * The program a Python process runs, from its command line: the script file (absolute, resolved against
 * the process's working directory), or a note when it runs `-m module`, `-c code` or an interactive shell.
 * A program run under debugpy (`python …/debugpy --connect ADDR … script.py`, as its launcher starts a
 * debuggee, or `python -m debugpy …`) is the script after debugpy's own options.
 */
export function programOf(pid: number): { files: string[]; note?: string } {
  let argv: string[];
  let cwd: string;
  try {
    argv = readCmdline(pid).filter(Boolean);
    cwd = readCwd(pid);
  } catch {
    return { files: [], note: 'The command line of the process could not be read, so its Python code was not tracked.' };
  }
  return programOfCommandLine(argv, cwd);
}

/** programOf for a command line (argv[0] is the interpreter) and working directory. */
export function programOfCommandLine(argv: string[], cwd: string): { files: string[]; note?: string } {
  return programFromArgs(argv, 1, cwd, false);
}

function programFromArgs(argv: string[], from: number, cwd: string, underDebugpy: boolean): { files: string[]; note?: string } {
  for (let i = from; i < argv.length; i++) {
    const a = argv[i];
    if (underDebugpy && (DEBUGPY_OPTIONS_WITH_VALUE.has(a) || a.startsWith('--configure-'))) {
      if (a === '--pid') return { files: [], note: 'debugpy attaches to another process here (--pid): this process runs no program of its own.' };
      i++;
      continue;
    }
    if (a === '-c') return { files: [], note: 'The program was given with -c, so there is no file for bytecode tracking.' };
    if (a === '-m') {
      if (!underDebugpy && argv[i + 1] === 'debugpy') return programFromArgs(argv, i + 2, cwd, true);
      return { files: [], note: `The program runs a module (-m ${argv[i + 1] ?? ''}); bytecode tracking of module entry points is not supported yet, so only its native code on the interpreter's paths was analysed.` };
    }
    if (a === '-') return { files: [], note: 'The program was read from standard input, so there is no file for bytecode tracking.' };
    if (!underDebugpy && OPTIONS_WITH_VALUE.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    const file = path.resolve(cwd, a);
    // debugpy run as a directory (its launcher starts `python …/debugpy/launcher/../../debugpy …`).
    if (!underDebugpy && path.basename(file) === 'debugpy' && fs.existsSync(path.join(file, '__main__.py'))) return programFromArgs(argv, i + 1, cwd, true);
    return fs.existsSync(file) ? { files: [file] } : { files: [], note: `The script ${a} could not be found from the process's working directory.` };
  }
  return { files: [], note: underDebugpy ? 'debugpy runs no program file here.' : 'The process runs an interactive interpreter: no program file to track.' };
}

export interface PythonProcessOptions extends AnalyzeOptions {
  /** Python files whose calls to track besides the program's own (e.g. the editor's open files). */
  files?: string[];
  /** Reuse a bytecode tracking result made with the same interpreter. */
  tracking?: BytecodeTrackingResult;
  cache?: BytecodeCache;
  hostFeatures?: ReadonlySet<Feature>;
  /** The host's CPU vendor, for the call sites' masked features (the process-wide analysis reads its own host). */
  hostVendor?: Vendor;
  cancel?: AbortSignal;
  followImports?: boolean;
  /** More root code objects for Python-level reachability (the live frames of every thread). */
  rootCodes?: RootCode[];
  /** Each call site's own features (default true; `callSites` of the result): a report alone does not need them. */
  siteFeatures?: boolean;
  /** The precise gate's fallbacks on disk (gateStore.ts): a program analysed before falls back at once. */
  gateStore?: DiskGateStore;
  /**
   * The precise policy's fallback, kept from one analysis of a process to the next (a debug session's stops): once the
   * gate fell back to strict for a set of files, later analyses of them use strict at once (see policyFallback).
   */
  policyMemo?: PolicyMemo;
  /**
   * A bytecode session of this process's interpreter (`/proc/PID/exe`) that the caller keeps warm from one analysis of
   * the process to the next (a debug session's stops) and closes; else one is started for the analysis and closed.
   */
  session?: BytecodeSession;
}

/** Why the precise gate fell back for the program files `files` (sorted, joined), from an earlier analysis. */
export interface PolicyMemo {
  files?: string;
  strictReason?: string;
  /** The bytecode tracking of that analysis, reused by the next ones. */
  tracking?: BytecodeTrackingResult;
}

/** The gate analyzeProcess takes, with the module code positions that cannot run again (PythonReachability.ranOnly). */
type ProcessGate = (AnalyzeOptions['pythonGate'] & Partial<Pick<PythonReachability, 'ranOnly' | 'whyCode'>>) | undefined;

export interface PythonProcessAnalysis extends ProcessAnalysis {
  /** Live, exact call sites of the tracked files. */
  callSites?: Map<string, CallSiteAnalysis[]>;
  /** The precise policy's Python-level reachability as given to analyzeProcess (absent under strict). */
  pythonGate?: AnalyzeOptions['pythonGate'];
}

/**
 * The code objects of every live Python frame of the process (file, qualified name), and the names in its sys.modules
 * (undefined when unreadable); none, with a note, when the frames cannot be read.
 */
export function liveFrameCodes(space: AddressSpace, notes: string[] = []): { roots: RootCode[]; modules?: Set<string> } {
  try {
    const frames = readFramesSettled(space);
    const out = new Map<string, RootCode>();
    for (const t of frames.threads) {
      for (const f of t.frames) {
        const key = `${f.file}\0${f.qualname ?? f.name}`;
        const r = out.get(key) ?? { file: f.file, qualname: f.qualname ?? f.name, lastis: [] };
        r.lastis!.push(f.lasti);
        out.set(key, r);
      }
    }
    notes.push(`Python-level reachability also starts from the ${out.size} code object(s) of the live frames of ${frames.threads.length} thread(s).`);
    if (frames.modules) notes.push(`The process's sys.modules names ${frames.modules.length} module(s): only those count as imported.`);
    else notes.push(...frames.notes.filter((n) => n.startsWith('sys.modules')).map((n) => `${n} The modules the program's imports name count as imported.`));
    return { roots: [...out.values()], modules: frames.modules ? new Set(frames.modules) : undefined };
  } catch (e) {
    notes.push(`The live Python frames could not be read (${isNativeError(e) ? e.describe() : e instanceof Error ? e.message : String(e)}): Python-level reachability starts from the program's files only.`);
    return { roots: [] };
  }
}

/**
 * The live frames, read again (up to three times) when a thread state changed under the reader: a thread that starts
 * or ends while the running process's list is followed leaves a pointer to freed memory.
 */
export function readFramesSettled(space: AddressSpace): ReturnType<typeof readPythonFrames> {
  for (let attempt = 1; ; attempt++) {
    try {
      return readPythonFrames(space);
    } catch (e) {
      if (attempt >= 3 || !(isNativeError(e) && e.kind === 'malformed')) throw e;
      // The pointers are read again, not answered from the pages the failed attempt read.
      space.forgetReads?.();
    }
  }
}

export async function analyzePythonProcess(pid: number, options: PythonProcessOptions = {}): Promise<PythonProcessAnalysis> {
  const notes: string[] = [];
  let exe = '';
  try {
    exe = readExe(pid);
  } catch {
    // analyzeProcess gives the precise error (gone, permission).
  }
  const isPython = exe !== '' && pythonVersionOf(pid, exe) !== undefined;
  let callSites: Map<string, CallSiteAnalysis[]> | undefined;
  const extraRoots = [...(options.extraRoots ?? [])];
  let pythonGate: ProcessGate;
  if (isPython) {
    const program = programOf(pid);
    if (program.note) notes.push(program.note);
    const files = [...new Set([...program.files, ...(options.files ?? [])])];
    if (files.length > 0) {
      options.onProgress?.('Bytecode tracking of the program');
      // Modules are looked up as the process looked them up (its PYTHONPATH, venv, user site): the helper
      // runs /proc/PID/exe as the process's user and computes that sys.path (bytecode/liveInterpreter.ts).
      // The precise root policy (the default) needs the closure of lazy imports too: a result made without it is not reused.
      const fellBack = policyFallback(options.policyMemo, files);
      const strict = options.strict === true || fellBack !== undefined;
      // After a fallback, the tracking of the analysis that fell back: the same resolved roots, so a debug session's
      // kept walk (stopWalk) stays valid from the prewarm to the stops, and no stop tracks the program again.
      const reuse = options.strict === true ? options.tracking : fellBack !== undefined ? options.policyMemo?.tracking : undefined;
      // Shared by the rounds of on-demand tracking below (each then re-reads only new modules).
      const cache = options.cache ?? (strict ? undefined : new BytecodeCache());
      // One helper for the program's tracking and the gate's (machinery, rounds), where each call would start its own.
      const own = reuse || options.session ? undefined : new BytecodeSession({ python: `/proc/${pid}/exe`, cache });
      const session = reuse ? undefined : options.session ?? own;
      try {
        const cs = await analyzeCallSites({
          python: reuse?.python.executable ?? `/proc/${pid}/exe`,
          files,
          pid,
          // analyzeProcess below tracks the interpreter with these natives as extra roots.
          interpreter: false,
          tracking: reuse,
          cache,
          session,
          hostFeatures: options.hostFeatures,
          hostVendor: options.hostVendor ?? options.host?.vendor,
          countMasked: options.countMasked,
          cancel: options.cancel,
          followImports: options.followImports,
          onProgress: options.onProgress,
          summaryStore: options.stores?.summaries,
          tablesStore: options.stores?.tables,
          siteFeatures: options.siteFeatures,
          stopWalk: options.stopWalk,
        });
        try {
          callSites = cs.byFile;
          if (fellBack !== undefined && options.strict !== true) pythonGate = { ...EMPTY_GATE, strictReason: fellBack };
          else if (!strict) {
            pythonGate = await precisePythonGate(pid, cs, files, cache, options, notes, session);
            if (pythonGate?.strictReason && options.policyMemo) Object.assign(options.policyMemo, { files: filesKey(files), strictReason: pythonGate.strictReason, tracking: cs.tracking });
          }
          extraRoots.push(...resolvedRoots(cs, files, pythonGate, notes));
        } finally {
          cs.close();
        }
      } catch (e) {
        if (options.cancel?.aborted) throw e;
        // The process-wide analysis still runs: say plainly what is missing.
        notes.push(`Bytecode tracking failed (${isNativeError(e) ? e.describe() : e instanceof Error ? e.message : String(e)}); only the interpreter's own paths were analysed.`);
      } finally {
        void own?.close();
      }
    }
  }
  // Precise unless strict is asked for; analyzeProcess falls back to strict, saying why, when the gate did or is missing.
  const analysis = await analyzeProcess(pid, { ...options, strict: options.strict === true, extraRoots, pythonGate });
  analysis.report.notes.unshift(...notes);
  return { ...analysis, callSites: options.siteFeatures === false ? undefined : callSites, pythonGate };
}

/** The files of a tracking result's modules (those that have one). */
function moduleFiles(t: BytecodeTrackingResult): string[] {
  return t.modules.flatMap((m) => (m.file ? [m.file] : []));
}

/**
 * The Python-level reachability the precise policy decides on: from the program's files and the given roots, with the
 * names the import machinery uses looked up as C code's are (machineryNames), and with the modules that reachable functions import (and the start-up imports
 * did not load) tracked on demand, their import closures with them, until reachable code imports nothing new. Not
 * once the gate falls back to strict, unless `exhaustive`: more modules only add reachable code, so the fallback would
 * stand (and cost seconds). Shared by the product and eval/gate-sites.mjs.
 */
export async function closedReachability(
  pid: number,
  tracking: BytecodeTrackingResult,
  files: string[],
  o: Omit<ReachabilityOptions, 'files'> & { cache?: BytecodeCache; session?: BytecodeSession; cancel?: AbortSignal; onProgress?: (message: string) => void; followImports?: boolean },
): Promise<{ reach: PythonReachability; tracked: BytecodeTrackingResult; cNames: ReadonlyMap<string, string> }> {
  const cNames = new Map([...(await machineryNames(pid, o)), ...(o.cNames ?? [])]);
  const extra = new Set<string>();
  const track = () => bytecodeTracking({ python: `/proc/${pid}/exe`, files, modules: [...extra], followImports: true, cache: o.cache, session: o.session, cancel: o.cancel, callSitesOf: 'roots' });
  const options = { ...o, files, cNames };
  let tracked = tracking;
  let reach = pythonReachability(tracked, options);
  for (let round = 0; round < MAX_IMPORT_ROUNDS && (!reach.strictReason || o.exhaustive) && reach.missing.some((m) => !extra.has(m)) && o.followImports !== false; round++) {
    for (const m of reach.missing) extra.add(m);
    o.onProgress?.(`Python-level reachability: tracking ${extra.size} module(s) reachable code imports`);
    tracked = await track();
    reach = pythonReachability(tracked, options);
  }
  return { reach, tracked, cNames };
}

/**
 * The names the import machinery's code uses (`find_spec`, `exec_module`, `get_code` on finders, loaders and path
 * hooks), in the code of it that can run: what C code calls (`_find_and_load`, `_handle_fromlist`: names C code looks
 * up) and what that reaches in it by names. It runs on every import, so they count as names C code looks up, as its
 * deep-frozen code's strings did before the interpreter's data was narrowed to _PyRuntime (cCallableNames). The
 * machinery is walked on its own, its lazy imports not followed: they would bring in start-up modules whose bodies
 * count as reachable (the program's imports of importlib track it in the main closure). None when it cannot be tracked.
 */
async function machineryNames(pid: number, o: Omit<ReachabilityOptions, 'files'> & { cache?: BytecodeCache; session?: BytecodeSession; cancel?: AbortSignal }): Promise<Map<string, string>> {
  const t = await bytecodeTracking({ python: `/proc/${pid}/exe`, files: [], modules: IMPORT_MACHINERY, followImports: false, cache: o.cache, session: o.session, cancel: o.cancel, callSitesOf: 'roots' });
  const reach = pythonReachability(t, { files: [], cNames: o.cNames, liveModules: o.liveModules, exhaustive: true });
  return new Map([...reach.names.keys()].map((n) => [n, `the import machinery`]));
}

function filesKey(files: string[]): string {
  return [...files].sort().join('\0');
}

/**
 * The reason an earlier analysis of the same program files fell back to strict, when `memo` holds one: more of the
 * program's code can only become reachable from one stop to the next (its files and start-up imports stay, live frames
 * and imported modules only add roots), so the reflection found then still defeats names. Falling back at once spares
 * a debug session's later stops the gate's closure. A frame whose reflection has returned since keeps strict: safe.
 */
function policyFallback(memo: PolicyMemo | undefined, files: string[]): string | undefined {
  // A reason the memo took from the disk store says so already: it gets this one origin, not both.
  return memo?.strictReason !== undefined && memo.files === filesKey(files) ? `${memo.strictReason.replace(`; ${FROM_DISK}`, '')}; found at an earlier analysis of this process` : undefined;
}

/** Where a fallback's reason came from, when the disk store gave it (the gate did not run). */
const FROM_DISK = 'found by an earlier analysis of the same program, files and modules unchanged';

/**
 * The natives the program's call sites resolve, as roots, with the note that says so. Under the precise policy, those
 * only call sites no reachable code runs resolve are left out: sites of the program's module code, or of a top-level
 * function nothing can call anew, before its live frame's current instruction (that code ran and does not run again,
 * gateFrames.ts), calls of such a function, and sites in functions the gate found no reachable code can call (`whyCode`).
 */
export function resolvedRoots(cs: CallSiteResults, files: string[], gate: ProcessGate, notes: string[]): Root[] {
  const precise = gate && !gate.strictReason ? gate : undefined;
  const ranOnly = precise?.ranOnly ?? [];
  // A call site in a function of the program that no reachable code can run (a helper never called) is not either.
  const unreachable = (s: CallSite) => precise?.whyCode !== undefined && !precise.whyCode.has(`${s.module}:${withinModule(s.caller, s.module)}`);
  // A call of a program function narrowed at its live frame (`main()` while main loops; nothing can call it anew) is in
  // progress or done: the natives it reaches come from that function's own call sites, which say what ran.
  const narrowed = new Set(ranOnly.flatMap((r) => (r.qualname && r.qualname !== '<module>' ? [`${r.file}\0${r.qualname}`] : [])));
  const intoNarrowed = (c: CallSite['callee']) => c.kind === 'function' && !!c.file && !!c.module && !!c.qualifiedName?.startsWith(`${c.module}.`) && narrowed.has(`${path.resolve(c.file)}\0${withinModule(c.qualifiedName, c.module)}`);
  const resolved = precise ? cs.nativeRootsExcept((s) => FrameNarrowing.ranBefore(ranOnly, s) || unreachable(s) || intoNarrowed(s.callee)) : cs.nativeRoots;
  const done = cs.nativeRoots.length - resolved.length;
  notes.push(
    `Bytecode tracking of ${files.map((f) => path.basename(f)).join(', ')} (${cs.tracking.stats.modules} modules, ${cs.stats.callSites} call sites in the program's files) resolved ${cs.nativeRoots.length} native function(s) in the process; ${done > 0 ? `${resolved.length} were added as roots, and ${done} that only call sites no reachable code runs resolved were not (code of the program that ran before its live frames' current instructions and cannot run again, or functions no reachable code calls).` : 'they were added as roots.'}`,
  );
  return resolved;
}

/** A gate that admits nothing by itself: carries a fallback's reason to analyzeProcess (strict roots, the note). */
const EMPTY_GATE: NonNullable<AnalyzeOptions['pythonGate']> = { names: new Map(), modules: new Map(), prefixes: new Map(), namePrefixes: new Map(), notes: [] };

/**
 * The precise root policy's gate: the C functions reachable Python code can name, from the program's files and
 * the live frames, with the modules reachable code imports tracked on demand (a few rounds). Adds notes.
 */
async function precisePythonGate(pid: number, cs: CallSiteResults, files: string[], cache: BytecodeCache | undefined, options: PythonProcessOptions, notes: string[], session?: BytecodeSession): Promise<ProcessGate> {
  options.onProgress?.('Python-level reachability');
  const cNames = cCallableNames(cs.space, options.stores?.tables);
  // The code every thread is running now can still run (a library's server loop, a worker thread's
  // target): the live frames are roots besides the program's files.
  const frameNotes: string[] = [];
  const live = liveFrameCodes(cs.space, frameNotes);
  const rootCodes = [...(options.rootCodes ?? []), ...live.roots];
  const liveModules = live.modules;
  const modules = [...moduleFiles(cs.tracking), ...cs.space.modules().map((m) => m.path)];
  const key = options.gateStore ? DiskGateStore.key(cs.tracking.python.executable, files, rootCodes, modules, liveModules) : undefined;
  const stored = key !== undefined ? options.gateStore!.get(key) : undefined;
  if (stored !== undefined) return { ...EMPTY_GATE, cNames, strictReason: `${stored}; ${FROM_DISK}` };
  notes.push(...frameNotes);
  const { reach, tracked, cNames: looked } = await closedReachability(pid, cs.tracking, files, { rootCodes, cNames, liveModules, cache, session, cancel: options.cancel, onProgress: options.onProgress, followImports: options.followImports });
  if (reach.missing.length && !reach.strictReason) reach.strictReason = `modules imported by reachable code could not all be tracked (${reach.missing.slice(0, 3).join(', ')})`;
  // Stored with the files of the modules later rounds tracked, which the key does not cover: a read checks them.
  else if (key !== undefined && reach.strictReason) {
    const first = new Set(modules);
    options.gateStore!.put(key, reach.strictReason, moduleFiles(tracked).filter((f) => !first.has(f)));
  }
  // The reachability result holds every field of the native gate (PythonGate) under its own name, notes and the
  // fallback's reason too.
  return { ...reach, cNames: looked };
}
