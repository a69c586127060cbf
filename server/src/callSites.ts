// CPU features per Python call site: bytecode tracking finds the calls and their callees, symbol resolution
// maps each native callee (directly, or reached through Python functions in the call graph) to machine code,
// and execution path tracking from those functions gives the features. Static (files at rest: every IFUNC
// variant counted) or live (a running process: exact, through its GOT and tables). No vscode import; used by
// the language server and the `pygration calls` CLI command.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeRequest, describeSite, destructorRoots, entryRoot, executionPathTracking, FEATURES, isBaseline, mainRoot, maskedFeatures, NativeError, NativeResolver, OverlaySpace, probeFeatures, ProcessAddressSpace, processRoots, ProcessView, pythonVersion, readStatus, shadowStackEnabled, sortFeatures, StaticAddressSpace, x86Level, type AddressSpace, type EptResult, type Feature, type NativeRequest, type NativeResolution, type Root, type SummaryStore, type Vendor } from '../../native/src';
import { bytecodeTracking, callSitesOfFiles, reachableNative, type BytecodeCache, type BytecodeSession } from './bytecode';
import type { BytecodeTrackingResult, Callee, CallSite } from './bytecode/types';
import type { CallSiteAnalysis, FeatureProvenance, NativeFunction, Range0 } from './model';

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
}

export interface CallSiteResults {
  /** Call sites per file (absolute path), in source order. */
  byFile: Map<string, CallSiteAnalysis[]>;
  tracking: BytecodeTrackingResult;
  /** Every resolved native function as an EPT root (for the whole-process live analysis). */
  nativeRoots: Root[];
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
  stats: { callSites: number; resolved: number; unknown: number; partial: number; natives: number; seconds: number };
  /** The address space used (static or live), for callers that analyse more. Close it with close(). */
  space: AddressSpace;
  close(): void;
}

/** After onFirstFiles, how long the analysis lets other work run before going on with the other files. */
const FIRST_FILES_PAUSE_MS = 50;

/**
 * What a callee needs resolved: the native requests behind it (each a list of alternatives, tried in order
 * until one resolves: a type may be named `numpy.core._multiarray_umath.ndarray` or `numpy.ndarray`), or why
 * there are none.
 */
export function nativeRequests(callee: Callee, sites: CallSite[] | BytecodeTrackingResult): { requests: NativeRequest[][]; reason?: string } {
  const out: NativeRequest[][] = [];
  const reasons: string[] = [];
  const visit = (c: Callee, depth: number) => {
    for (const alt of c.candidates ?? [c]) {
      switch (alt.kind) {
        case 'native':
        case 'builtin': {
          const n = alt.native;
          if (!n) {
            reasons.push(`${alt.reference}: native module unknown`);
            break;
          }
          if (n.path.length === 1) out.push([{ kind: 'module-function', module: n.module, file: n.file, name: n.path[0] }]);
          else if (n.path.length >= 2) {
            const name = n.path[n.path.length - 1];
            out.push(typeNameCandidates(n.module, n.path.slice(0, -1)).map((type): NativeRequest => ({ kind: 'method', type, name, file: n.file })));
          }
          break;
        }
        case 'ctypes':
          if (alt.ctypes && alt.ctypes.library !== undefined) out.push([{ kind: 'ctypes', library: alt.ctypes.library, symbol: alt.ctypes.symbol }]);
          else reasons.push(`${alt.reference}: the ctypes library is computed at run time`);
          break;
        case 'operator':
          if (alt.operator?.leftType) {
            const t = alt.operator.leftType;
            const dot = t.lastIndexOf('.');
            const names = dot > 0 ? typeNameCandidates(t.slice(0, dot), [t.slice(dot + 1)]) : [t];
            out.push(names.map((type): NativeRequest => ({ kind: 'slot', type, slot: alt.operator!.slot, file: alt.native?.file })));
          } else reasons.push(`the type of the left operand of ${alt.operator?.symbol ?? 'the operator'} is not known statically`);
          break;
        case 'class':
          if (alt.init && depth < 2) visit(alt.init, depth + 1);
          break;
        case 'function':
        case 'method':
          if (alt.qualifiedName && depth < 2) for (const n of reachableNative(sites, alt.qualifiedName)) visit(n, depth + 1);
          if (alt.pythonStub === undefined && alt.native) visit({ ...alt, kind: 'native' }, depth + 1);
          break;
        case 'unknown':
          reasons.push(alt.reason ?? `${alt.reference} could not be resolved statically`);
          break;
      }
    }
  };
  visit(callee, 0);
  return { requests: dedupeRequests(out), reason: reasons.length ? reasons[0] : undefined };
}

/** Tp_name candidates for an attribute path of a native module: numpy.core._multiarray_umath + ndarray → numpy.ndarray… */
function typeNameCandidates(module: string, typePath: string[]): string[] {
  const t = typePath.join('.');
  const top = module.split('.')[0];
  return [...new Set([`${module}.${t}`, `${top}.${t}`, t])];
}

function dedupeRequests(rs: NativeRequest[][]): NativeRequest[][] {
  const seen = new Set<string>();
  return rs.filter((r) => {
    const k = JSON.stringify(r);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** UTF-8 byte column (what CPython reports) → UTF-16 character offset in the line. */
export function utf16Column(line: string, byteColumn: number): number {
  let bytes = 0;
  for (let i = 0; i < line.length; i++) {
    if (bytes >= byteColumn) return i;
    const c = line.codePointAt(i)!;
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (c >= 0x10000) i++;
  }
  return line.length;
}

function siteRange(site: CallSite, lines: string[] | undefined): Range0 {
  const line = Math.max(0, (site.line ?? 1) - 1);
  const text = lines?.[line] ?? '';
  const endLine = Math.max(line, (site.endLine ?? site.line ?? 1) - 1);
  const endText = lines?.[endLine] ?? '';
  // Before Python 3.11 there are no columns: span the line's code.
  const character = site.column === null ? text.length - text.trimStart().length : utf16Column(text, site.column);
  const endCharacter = site.endColumn === null ? endText.length : utf16Column(endText, site.endColumn);
  return { line, character, endLine, endCharacter };
}

/** The key that identifies a resolved set of roots, for caching EPT results. */
function rootsKey(roots: Root[]): string {
  return roots
    .map((r) => r.address)
    .sort((a, b) => a - b)
    .join(',');
}

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
  const tracking =
    options.tracking ??
    (await bytecodeTracking({
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
    }));
  const rootSites = callSitesOfFiles(tracking, options.files);

  progress('Resolving native code');
  let space: AddressSpace;
  let view: ProcessView | undefined;
  if (options.pid !== undefined) {
    view = new ProcessView(options.pid);
    space = new ProcessAddressSpace(view);
  } else {
    await options.beforeStaticSpace;
    const exe = fs.realpathSync(tracking.python.executable || options.python);
    space = new StaticAddressSpace([exe], { python: exe });
  }
  const resolver = new NativeResolver(space);
  const walkSpace = resolver.space;
  const host = options.hostFeatures;
  // Shadow-stack instructions only run in processes with shadow stacks enabled (see analyzeProcess): a live
  // process tells; for files at rest, only a kernel that supports them could enable them.
  const shstkPossible = options.pid !== undefined ? shadowStackEnabled(options.pid) : kernelSupportsShadowStacks();
  // Every feature that could be masked on this host, probed once (cached per boot): those that fault here are absent.
  const candidates = host ? maskedFeatures(Object.keys(FEATURES), host, options.hostVendor) : [];
  const executes = options.probeMasked === false ? new Map<Feature, boolean>() : await probeFeatures(candidates);
  const maskedHere = new Set(candidates.filter((f) => executes.get(f) !== false));
  const isMasked = (f: Feature): boolean => maskedHere.has(f);
  const keep = (f: Feature) => !isBaseline(f) && (!host || host.has(f) || (options.countMasked === true && isMasked(f))) && (f !== 'shstk' || shstkPossible);

  const resolutions = new Map<string, NativeResolution>();
  const resolve = (r: NativeRequest): NativeResolution => {
    const k = JSON.stringify(r);
    let res = resolutions.get(k);
    if (!res) resolutions.set(k, (res = resolver.resolve(r)));
    return res;
  };
  const eptCache = new Map<string, EptResult>();
  const ept = (roots: Root[]): EptResult => {
    const k = rootsKey(roots);
    let r = eptCache.get(k);
    if (!r) {
      // Per call site: follow every resolved edge (live memory included) but no address-taken roots, so the
      // features are those of this call's own path; the whole-process analysis adds the conservative part.
      r = executionPathTracking(walkSpace, roots, { mode: 'ept', addressTaken: false, summaryStore: options.summaryStore });
      eptCache.set(k, r);
    }
    return r;
  };

  const describedWalks = new Map<EptResult, { features: Feature[]; provenance: FeatureProvenance[] }>();
  const byFile = new Map<string, CallSiteAnalysis[]>();
  const nativeRoots = new Map<number, Root>();
  const union = new Set<Feature>();
  const textCache = new Map<string, string[] | undefined>();
  let resolvedCount = 0;
  let unknownCount = 0;
  let partialCount = 0;
  const notes: string[] = [];
  let pvmRequired: Feature[] | undefined;
  let pvmDone = false;
  const interpreterRequirement = (): Feature[] | undefined => {
    if (pvmDone || options.interpreter === false) return pvmRequired;
    pvmDone = true;
    if (view) {
      pvmRequired = liveInterpreterRequirement(view, space as ProcessAddressSpace, walkSpace, keep, notes, options);
      return pvmRequired;
    }
    // The interpreter's own needs (paper: EPT of the PVM from _start), on files at rest.
    const pvmRoots = [entryRoot(walkSpace), mainRoot(walkSpace), ...destructorRoots(walkSpace)].filter((r): r is Root => r !== undefined);
    // Static analyses assume the program runs with LD_BIND_NOW=1, as Pygration recommends (so the lazy-binding
    // trampoline is not part of it).
    if (pvmRoots.length) pvmRequired = sortFeatures([...executionPathTracking(walkSpace, pvmRoots, { mode: 'ept', bindNow: true, summaryStore: options.summaryStore }).features.keys()].filter(keep));
    return pvmRequired;
  };
  // The first files' sites come first (each site's result is the same in any order), then the others.
  const first = new Set(options.onFirstFiles ? (options.firstFiles?.() ?? []).map((f) => path.resolve(f)) : []);
  const isFirst = (s: CallSite) => first.has(path.resolve(s.file));
  const firstSites = first.size > 0 ? rootSites.filter(isFirst) : [];
  const reportFirst = firstSites.length > 0 && firstSites.length < rootSites.length;
  const ordered = reportFirst ? [...firstSites, ...rootSites.filter((s) => !isFirst(s))] : rootSites;
  try {
    if (reportFirst) {
      // Resolution loads extension modules into the static space, each at the next free address: resolve in
      // the files' own order first, so every module lands where it would without the reordering (the walks
      // below then find each resolution cached). Every walk then sees all of them, where a walk used to see
      // those loaded so far: a symbol resolves to its first definition in load order, so this only matters
      // for a symbol no object loaded before the later ones defines.
      for (const site of rootSites) {
        for (const alternatives of nativeRequests(site.callee, tracking).requests) {
          for (const req of alternatives) if (resolve(req).status === 'resolved') break;
        }
      }
    }
    for (let i = 0; i < ordered.length; i++) {
      if (options.cancel?.aborted) throw new DOMException('The analysis was cancelled.', 'AbortError');
      if (reportFirst && i === firstSites.length) {
        const pvm = interpreterRequirement();
        options.onFirstFiles!({ byFile: new Map([...byFile].filter(([f]) => first.has(f))), pvmRequired: pvm });
        // The walks are synchronous: pause briefly so that the requests the report prompts (a language
        // client's code lenses) are answered now, not after the other files.
        await new Promise((resolve) => setTimeout(resolve, FIRST_FILES_PAUSE_MS));
      } else if (reportFirst && i > firstSites.length) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      const site = ordered[i];
      const file = path.resolve(site.file);
      if (!textCache.has(file)) {
        try {
          textCache.set(file, fs.readFileSync(file, 'utf8').split(/\r?\n/));
        } catch {
          textCache.set(file, undefined);
        }
      }
      const { requests, reason } = nativeRequests(site.callee, tracking);
      const natives: NativeFunction[] = [];
      const roots: Root[] = [];
      const unresolvedReasons: string[] = [];
      for (const alternatives of requests) {
        let firstFailure: string | undefined;
        for (const req of alternatives) {
          const res = resolve(req);
          if (res.status === 'resolved') {
            for (const t of res.targets) natives.push({ symbol: t.symbol ?? t.name, library: path.basename(t.module), exact: t.exact });
            roots.push(...resolver.roots(res));
            firstFailure = undefined;
            break;
          }
          firstFailure ??= res.reason;
        }
        if (firstFailure !== undefined) unresolvedReasons.push(firstFailure);
      }
      const natives0 = dedupeNatives(natives);
      let analysis: CallSiteAnalysis;
      const base = {
        uri: fileUri(file),
        range: siteRange(site, textCache.get(file)),
        callee: site.callee.reference,
        qualifiedName: site.callee.qualifiedName,
      };
      if (roots.length === 0) {
        // Calls of pure-Python code with no native callee need nothing special: no lens (the presentation
        // hides them), but keep them so hovers can say why.
        const why = unresolvedReasons[0] ?? reason;
        if (requests.length === 0 && !why) continue;
        unknownCount++;
        analysis = {
          ...base,
          natives: [],
          features: [],
          provenance: [],
          origin: 'unknown',
          reason: why ?? `no native code found for ${describeCallee(site.callee)}`,
          unknownCallees: Math.max(1, unresolvedReasons.length),
        };
      } else {
        resolvedCount++;
        for (const r of roots) nativeRoots.set(r.address, r);
        const result = ept(roots);
        // Sites with the same roots share one walk, and so its features and their described sites
        // (symbolizing and decoding them per call site cost most of a large file's time).
        let described = describedWalks.get(result);
        if (!described) {
          const fs0 = sortFeatures([...result.features.keys()].filter(keep));
          described = {
            features: fs0,
            provenance: fs0.map((f) => ({
              feature: f,
              sites: result.features
                .get(f)!
                .sites.slice(0, 2)
                .map((s) => describeSite(walkSpace, s.address)),
            })),
          };
          describedWalks.set(result, described);
        }
        const { features, provenance } = described;
        for (const f of features) union.add(f);
        const masked: FeatureProvenance[] = sortFeatures([...result.features.keys()].filter(isMasked)).map((f) => ({
          feature: f,
          sites: result.features
            .get(f)!
            .sites.slice(0, 2)
            .map((s) => describeSite(walkSpace, s.address)),
        }));
        const exact = options.pid !== undefined && natives0.every((n) => n.exact);
        const siteNotes: string[] = [];
        if (result.callSites.unresolved > 0) siteNotes.push(`${result.callSites.unresolved} indirect call(s) on its path could not be followed`);
        if (unresolvedReasons.length > 0) siteNotes.push(`${unresolvedReasons.length} of ${requests.length} native callee(s) not resolved: ${unresolvedReasons[0]}`);
        analysis = { ...base, natives: natives0, features, provenance, origin: exact ? 'live' : 'static', reason: siteNotes.length ? siteNotes.join('; ') : undefined };
        if (masked.length > 0) analysis.masked = masked;
        if (unresolvedReasons.length > 0) {
          analysis.unknownCallees = unresolvedReasons.length;
          partialCount++;
        }
      }
      const list = byFile.get(file) ?? [];
      list.push(analysis);
      byFile.set(file, list);
    }

    interpreterRequirement();
    notes.push(...leftOutNotes(space, walkSpace));
    const unknownCallSites = unknownCount + partialCount;

    return {
      byFile,
      tracking,
      nativeRoots: [...nativeRoots.values()],
      callSiteRequired: sortFeatures(union),
      pvmRequired,
      unknownCallSites,
      lowerBound: unknownCallSites > 0 && !(view !== undefined && pvmRequired !== undefined),
      notes,
      stats: { callSites: rootSites.length, resolved: resolvedCount, unknown: unknownCount, partial: partialCount, natives: nativeRoots.size, seconds: (Date.now() - started) / 1000 },
      space: walkSpace,
      close() {
        resolver.close();
        view?.close();
        if (space instanceof StaticAddressSpace) space.close();
      },
    };
  } catch (e) {
    resolver.close();
    view?.close();
    throw e;
  }
}

/**
 * The live process's interpreter requirement, as analyzeProcess computes it (without the call sites' roots,
 * which the call sites' own requirement covers): EPT in 'ept' mode from the entry point, main, every thread's
 * pc and return addresses and, for a Python, every C function Python code can call. Adds its notes to `notes`.
 */
function liveInterpreterRequirement(
  view: ProcessView,
  space: ProcessAddressSpace,
  walkSpace: AddressSpace,
  keep: (f: Feature) => boolean,
  notes: string[],
  { cancel, summaryStore }: Pick<CallSiteOptions, 'cancel' | 'summaryStore'>,
): Feature[] {
  const exe = view.exe().replace(/ \(deleted\)$/, '');
  const pvm = processRoots(view, space, 'ept', pythonVersion(exe, space) !== undefined);
  let bindNow = false;
  try {
    bindNow = view.ldBindNow() === true;
  } catch (e) {
    if (!(e instanceof NativeError) || e.kind === 'gone') throw e;
  }
  if (!bindNow) notes.push('The process was not started with LD_BIND_NOW=1, so some GOT slots may still be unbound; start it with LD_BIND_NOW=1 for exact results.');
  const r = executionPathTracking(walkSpace, [...pvm.roots, ...pvm.callableRoots], { mode: 'ept', bindNow, isCancelled: () => cancel?.aborted === true, summaryStore });
  if (r.cancelled) throw new DOMException('The analysis was cancelled.', 'AbortError');
  notes.push(...pvm.notes, ...r.notes);
  return sortFeatures([...r.features.keys()].filter(keep));
}

/** What the address space left out: modules of a live process it could not read, libraries not found at rest. */
function leftOutNotes(space: AddressSpace, walkSpace: AddressSpace): string[] {
  const out: string[] = [];
  if (space instanceof ProcessAddressSpace) {
    if (space.memoryError) out.push(`${space.memoryError.describe()} Without memory access, GOT slots and dispatch tables were resolved from the files on disk.`);
    for (const u of space.unopenedModules) out.push(`Could not open ${u.path}: ${u.reason}`);
  }
  const missing = [...(space instanceof StaticAddressSpace ? space.missing : []), ...(walkSpace instanceof OverlaySpace ? walkSpace.missing : [])];
  const seen = new Set<string>();
  for (const m of missing) {
    const key = `${m.name}\0${m.neededBy}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(`Left out ${m.name} (needed by ${path.basename(m.neededBy)}): ${m.reason.replace(/\.$/, '')}; its code is not in the requirement.`);
  }
  return out;
}

/** Whether this kernel can enable user-space shadow stacks (it then reports x86_Thread_features). */
function kernelSupportsShadowStacks(): boolean {
  try {
    return readStatus('self').has('x86_Thread_features');
  } catch {
    return true;
  }
}

function dedupeNatives(ns: NativeFunction[]): NativeFunction[] {
  const seen = new Set<string>();
  return ns.filter((n) => {
    const k = `${n.library}:${n.symbol}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function describeCallee(c: Callee): string {
  return c.qualifiedName ?? c.reference;
}

export function fileUri(file: string): string {
  return `file://${encodeURI(path.resolve(file)).replace(/[?#]/g, encodeURIComponent)}`;
}

/** The whole program's level from a requirement. */
export function levelOf(required: Feature[]): string {
  return x86Level(required).name;
}

export { describeRequest };
