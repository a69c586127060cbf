// CPU features per Python call site: bytecode tracking finds the calls and their callees, symbol resolution
// maps each native callee (directly, or reached through Python functions in the call graph) to machine code,
// and execution path tracking from those functions gives the features. Static (files at rest: every IFUNC
// variant counted) or live (a running process: exact, through its GOT and tables). No vscode import; used by
// the language server and the `pygration calls` CLI command. Here: the run's order (first files first); the
// native side (resolution, walks, features) is siteAnalyzer.ts.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeRequest, x86Level, type AddressSpace, type Feature, type Root, type StopWalkCache, type SummaryStore, type TablesStore, type Vendor } from '../../native/src';
import { bytecodeTracking, callSitesOfFiles, type BytecodeCache, type BytecodeSession } from './bytecode';
import type { BytecodeTrackingResult, CallSite } from './bytecode/types';
import type { CallSiteAnalysis } from './model';
import { SiteAnalyzer } from './siteAnalyzer';
import { ReplayDiverged, type StaticNativeState } from './staticNative';

export interface CallSiteOptions {
  /** The interpreter that runs the code (a path), e.g. /usr/bin/python3 or /proc/PID/exe. */
  python: string;
  /** The Python files whose call sites are wanted. */
  files: string[];
  /** Resolve in this live process (exact) instead of the files at rest (static). */
  pid?: number;
  /** The host's features: requirements are intersected with them (code for absent features cannot run here). */
  hostFeatures?: ReadonlySet<Feature>;
  /** The host's CPU vendor: a feature no CPU of that vendor has is absent there, never masked (maskedFeatures). */
  hostVendor?: Vendor;
  /** Count the masked features (hidden by the host's CPUID, yet executable there) as required. */
  countMasked?: boolean;
  /** Probe the masked candidates on this machine (default true): a feature whose instruction faults here is absent. */
  probeMasked?: boolean;
  workspaceRoot?: string;
  followImports?: boolean;
  /** Also follow imports inside functions (the precise root policy needs the code they load). */
  followLazyImports?: boolean;
  cache?: BytecodeCache;
  session?: BytecodeSession;
  cancel?: AbortSignal;
  onProgress?: (message: string) => void;
  /** Reuse a bytecode tracking result (e.g. the static one, for a live update). */
  tracking?: BytecodeTrackingResult;
  /** The interpreter's environment and working directory (a live process's own: its PYTHONPATH, venv). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Compute the interpreter's own requirement (default true): EPT from its entry point on files at rest; in
   * a live process, from the roots analyzeProcess takes (entry point, threads, every C function Python can
   * call). analyzePythonProcess, which tracks the whole process itself, turns it off.
   */
  interpreter?: boolean;
  /**
   * Walk each resolved site's native code for the site's own features (default true: code lenses and hovers
   * show them). A whole-process report needs only the resolved functions as roots (analyzePythonProcess from
   * the CLI): without the per-site walks byFile stays empty and callSiteRequired is empty.
   */
  siteFeatures?: boolean;
  /** Awaited before the static address space is made (the host IFUNC probe started early: prefetchExportedIfuncs). */
  beforeStaticSpace?: Promise<unknown>;
  /**
   * Files whose call sites are analysed first (the editor's open files), asked once bytecode tracking is
   * done; with onFirstFiles, their results are reported as soon as they are complete.
   */
  firstFiles?: () => string[];
  /**
   * Called once the call sites of firstFiles (and, in static mode, the interpreter's requirement) are
   * analysed, when other files' sites remain: those files' complete lists, as the final result has them.
   */
  onFirstFiles?: (partial: { byFile: Map<string, CallSiteAnalysis[]>; pvmRequired?: Feature[] }) => void;
  /** The second level of the function-summary cache (on disk in the bundled CLI and server). */
  summaryStore?: SummaryStore;
  /** The second level of the discovered-tables cache (on disk in the bundled CLI). */
  tablesStore?: TablesStore;
  /** A debug session's kept walks (live process): a call site's walk is reused at the next stop while it holds. */
  stopWalk?: StopWalkCache;
  /**
   * Native state kept between static runs (the language server's): resolutions and walks a fresh run would
   * make over the same objects are reused, so a save re-walks only what the edit added (staticNative.ts).
   */
  native?: StaticNativeState;
}

export interface CallSiteResults {
  /** Call sites per file (absolute path), in source order. */
  byFile: Map<string, CallSiteAnalysis[]>;
  tracking: BytecodeTrackingResult;
  /** Every resolved native function as an EPT root (for the whole-process live analysis). */
  nativeRoots: Root[];
  /** The same, without the roots only call sites `skip` picks resolved (sites that cannot run again). */
  nativeRootsExcept(skip: (site: CallSite) => boolean): Root[];
  /** The union of the call sites' requirements. */
  callSiteRequired: Feature[];
  /**
   * The interpreter's own requirement, when computed: EPT from its entry point (static), or from the live
   * process's roots as analyzeProcess takes them (live).
   */
  pvmRequired?: Feature[];
  /**
   * Call sites of the files whose native callees are not all resolved (unknown, or partly resolved): their
   * features are missing from callSiteRequired.
   */
  unknownCallSites: number;
  /**
   * True when the whole program's requirement (callSiteRequired ∪ pvmRequired) is only a lower bound: some
   * call sites are unknown at rest. In a live process the interpreter's requirement roots every C function
   * of the loaded method tables and type slots, as analyzeProcess does, so it is false there (what neither
   * covers, such as a ctypes function whose library is computed at run time, neither sees).
   */
  lowerBound: boolean;
  /** What the analysis left out or could not read (modules, libraries), one sentence each. */
  notes: string[];
  /**
   * partial: call sites resolved to some native code while other callees behind them were not (counted
   * apart from `unknown`, the sites resolved to none).
   */
  stats: { callSites: number; resolved: number; unknown: number; partial: number; natives: number; seconds: number; native?: { reused: number; computed: number } };
  /** The address space used (static or live), for callers that analyse more. Close it with close(). */
  space: AddressSpace;
  close(): void;
}

/** After onFirstFiles, how long the analysis lets other work run before going on with the other files. */
const FIRST_FILES_PAUSE_MS = 50;

/**
 * Largest Python file `pygration calls` analyses unless told otherwise: a generated 5 MB file (about 400,000
 * call sites) took 48 s and 2.2 GB, and the cost grows with its call sites; 512 KiB stays near 10 s and 400 MB
 * on a 2-core machine.
 */
export const MAX_CALLS_FILE_BYTES = 512 * 1024;

/** The files above `max` bytes, with their sizes (files that cannot be read are left to the analysis). */
export function oversizedFiles(files: readonly string[], max = MAX_CALLS_FILE_BYTES): Array<{ file: string; bytes: number }> {
  const out: Array<{ file: string; bytes: number }> = [];
  for (const file of files) {
    try {
      const st = fs.statSync(file);
      if (st.isFile() && st.size > max) out.push({ file, bytes: st.size });
    } catch {
      // The analysis reports it.
    }
  }
  return out;
}

/**
 * Runs bytecode tracking on `files`, resolves each call site's native code and returns its CPU features.
 * Never throws for a single unresolvable call; throws NativeError for a vanished/unreadable process.
 */
export async function analyzeCallSites(options: CallSiteOptions): Promise<CallSiteResults> {
  const started = Date.now();
  const progress = options.onProgress ?? (() => undefined);
  const tracking = options.tracking ?? (await trackFiles(options, progress));
  const rootSites = callSitesOfFiles(tracking, options.files);
  progress('Resolving native code');
  try {
    return await analyzeSites(options, tracking, rootSites, started);
  } catch (e) {
    if (!(e instanceof ReplayDiverged)) throw e;
    throwIfCancelled(options.cancel);
    // The kept native state cannot stand for a fresh run of this edit: a fresh state, and the run again.
    options.native?.reset(e.context);
    return await analyzeSites(options, tracking, rootSites, started);
  }
}

/** The native side of analyzeCallSites: each site's resolution and walk, the open files' first. */
async function analyzeSites(options: CallSiteOptions, tracking: BytecodeTrackingResult, rootSites: CallSite[], started: number): Promise<CallSiteResults> {
  const analyzer = await SiteAnalyzer.open(options, tracking);
  throwIfCancelled(options.cancel);
  // The first files' sites come first (each site's result is the same in any order), then the others.
  const first = new Set(options.onFirstFiles ? (options.firstFiles?.() ?? []).map((f) => path.resolve(f)) : []);
  const isFirst = (s: CallSite) => first.has(path.resolve(s.file));
  const firstSites = first.size > 0 ? rootSites.filter(isFirst) : [];
  const reportFirst = firstSites.length > 0 && firstSites.length < rootSites.length;
  const ordered = reportFirst ? [...firstSites, ...rootSites.filter((s) => !isFirst(s))] : rootSites;
  try {
    if (reportFirst) analyzer.preload(rootSites);
    for (let i = 0; i < ordered.length; i++) {
      if (reportFirst && i === firstSites.length) {
        const pvm = analyzer.interpreterRequirement();
        options.onFirstFiles!({ byFile: new Map([...analyzer.byFile].filter(([f]) => first.has(f))), pvmRequired: pvm });
        // The walks are synchronous: pause briefly so that the requests the report prompts (a language
        // client's code lenses) are answered now, not after the other files.
        await new Promise((resolve) => setTimeout(resolve, FIRST_FILES_PAUSE_MS));
      } else if (reportFirst && i > firstSites.length) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      // Checked after the pauses: a cancelled run must not go on (its newer run may share the kept native state).
      throwIfCancelled(options.cancel);
      analyzer.analyze(ordered[i]);
    }
    return analyzer.results(rootSites.length, started);
  } catch (e) {
    analyzer.abort();
    throw e;
  }
}

function throwIfCancelled(cancel: AbortSignal | undefined): void {
  if (cancel?.aborted) throw new DOMException('The analysis was cancelled.', 'AbortError');
}

/** Bytecode tracking of the files: their own call sites (a walk reaches library code through the call graph). */
function trackFiles(options: CallSiteOptions, progress: (message: string) => void): Promise<BytecodeTrackingResult> {
  return bytecodeTracking({
    python: options.python,
    files: options.files,
    workspaceRoot: options.workspaceRoot,
    env: options.env,
    cwd: options.cwd,
    followImports: options.followImports ?? true,
    followLazyImports: options.followLazyImports,
    cache: options.cache,
    session: options.session,
    cancel: options.cancel,
    // The files' own sites; library functions' sites come from the result's call graph when a walk
    // (reachableNative) enters them.
    callSitesOf: 'roots',
    onProgress: (p) => progress(`Bytecode tracking: ${p.modules} modules`),
  });
}

export { fileUri } from './siteAnalyzer';

/** The whole program's level from a requirement. */
export function levelOf(required: Feature[]): string {
  return x86Level(required).name;
}

export { describeRequest };
