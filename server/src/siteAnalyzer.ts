// The native side of the call-site analysis (callSites.ts): what each Python call site's callee needs resolved,
// its resolution to machine code and the features of the walk from there, over one address space.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeSite, destructorRoots, entryRoot, executionPathTracking, FEATURES, isBaseline, mainRoot, maskedFeatures, NativeError, NativeResolver, OverlaySpace, probeFeatures, ProcessAddressSpace, processRoots, ProcessView, pythonVersion, readStatus, shadowStackEnabled, sortFeatures, StaticAddressSpace, type AddressSpace, type EptResult, type Feature, type NativeRequest, type NativeResolution, type Root } from '../../native/src';
import { reachableNative } from './bytecode';
import type { BytecodeTrackingResult, Callee, CallSite } from './bytecode/types';
import type { CallSiteOptions, CallSiteResults } from './callSites';
import type { CallSiteAnalysis, FeatureProvenance, NativeFunction, Range0 } from './model';
import { requestKey, type Replay } from './staticNative';

/** The features one site's walk found, described once per walk (sites with the same roots share a walk). */
interface DescribedWalk {
  features: Feature[];
  provenance: FeatureProvenance[];
}

/**
 * The native side of a call-site analysis: the address space (a live process's, or the interpreter's files at
 * rest), the features that count on this host, and each call site's resolution and walk, cached across sites.
 */
export class SiteAnalyzer {
  /** Call sites per file (absolute path), in the order analysed. */
  readonly byFile = new Map<string, CallSiteAnalysis[]>();
  private readonly walkSpace: AddressSpace;
  private readonly resolutions = new Map<string, NativeResolution>();
  private readonly eptCache = new Map<string, EptResult>();
  private readonly describedWalks = new Map<EptResult, DescribedWalk>();
  private readonly nativeRoots = new Map<number, Root>();
  /** The sites that resolved, with their roots (nativeRootsExcept). */
  private readonly siteRoots: Array<{ site: CallSite; roots: Root[] }> = [];
  private readonly union = new Set<Feature>();
  private readonly textCache = new Map<string, string[] | undefined>();
  private readonly notes: string[] = [];
  private resolvedCount = 0;
  private unknownCount = 0;
  private partialCount = 0;
  private pvmRequired: Feature[] | undefined;
  private pvmDone = false;

  private constructor(
    private readonly options: CallSiteOptions,
    private readonly tracking: BytecodeTrackingResult,
    private readonly space: AddressSpace,
    private readonly view: ProcessView | undefined,
    private readonly resolver: NativeResolver,
    /** Whether a feature counts in a requirement (not baseline, on this host or counted masked, shstk possible). */
    private readonly keep: (f: Feature) => boolean,
    /** Whether a feature is masked here (CPUID hides it while its instructions run). */
    private readonly isMasked: (f: Feature) => boolean,
    /** The kept native state's replay (options.native, files at rest): its space, resolutions and walks. */
    private readonly replay?: Replay,
  ) {
    this.walkSpace = resolver.space;
  }

  /** Opens the address space and decides which features count (the masked ones probed once per boot). */
  static async open(options: CallSiteOptions, tracking: BytecodeTrackingResult): Promise<SiteAnalyzer> {
    let space: AddressSpace;
    let view: ProcessView | undefined;
    let replay: Replay | undefined;
    const host = options.hostFeatures;
    if (options.pid !== undefined) {
      view = new ProcessView(options.pid);
      space = new ProcessAddressSpace(view);
    } else {
      await options.beforeStaticSpace;
      const exe = fs.realpathSync(tracking.python.executable || options.python);
      const key = JSON.stringify([exe, host ? [...host].sort() : null, options.hostVendor, options.countMasked, options.probeMasked]);
      replay = options.native?.contextFor(key, () => new StaticAddressSpace([exe], { python: exe })).replay();
      space = replay?.context.space ?? new StaticAddressSpace([exe], { python: exe });
    }
    const resolver = replay?.context.resolver ?? new NativeResolver(space, { tablesStore: options.tablesStore });
    // Shadow-stack instructions only run in processes with shadow stacks enabled (see analyzeProcess): a live
    // process tells; for files at rest, only a kernel that supports them could enable them.
    const shstkPossible = options.pid !== undefined ? shadowStackEnabled(options.pid) : kernelSupportsShadowStacks();
    // Every feature that could be masked on this host, probed once (cached per boot): those that fault here are absent.
    const candidates = host ? maskedFeatures(Object.keys(FEATURES), host, options.hostVendor) : [];
    const executes = options.probeMasked === false ? new Map<Feature, boolean>() : await probeFeatures(candidates);
    const maskedHere = new Set(candidates.filter((f) => executes.get(f) !== false));
    const isMasked = (f: Feature): boolean => maskedHere.has(f);
    const keep = (f: Feature) => !isBaseline(f) && (!host || host.has(f) || (options.countMasked === true && isMasked(f))) && (f !== 'shstk' || shstkPossible);
    return new SiteAnalyzer(options, tracking, space, view, resolver, keep, isMasked, replay);
  }

  private resolve(r: NativeRequest): NativeResolution {
    const k = JSON.stringify(r);
    let res = this.resolutions.get(k);
    if (!res) {
      res = this.replay ? this.replay.resolve(requestKey(r, k), () => this.resolver.resolve(r)) : this.resolver.resolve(r);
      this.resolutions.set(k, res);
    }
    return res;
  }

  private ept(roots: Root[]): EptResult {
    const k = rootsKey(roots);
    let r = this.eptCache.get(k);
    if (!r) {
      // Per call site: follow every resolved edge (live memory included) but no address-taken roots, so the
      // features are those of this call's own path; the whole-process analysis adds the conservative part.
      const options = { mode: 'ept' as const, addressTaken: false, summaryStore: this.options.summaryStore };
      const kept = this.view ? this.options.stopWalk : undefined;
      const walk = () => (kept ? kept.siteWalk(this.walkSpace, roots, options) : executionPathTracking(this.walkSpace, roots, options));
      r = this.replay ? this.replay.walk(k, walk) : walk();
      this.eptCache.set(k, r);
    }
    return r;
  }

  /** The interpreter's own requirement (computed once; undefined when not asked for or nothing to walk). */
  interpreterRequirement(): Feature[] | undefined {
    if (this.pvmDone || this.options.interpreter === false) return this.pvmRequired;
    this.pvmDone = true;
    const walkSpace = this.walkSpace;
    if (this.view) {
      this.pvmRequired = liveInterpreterRequirement(this.view, this.space as ProcessAddressSpace, walkSpace, this.keep, this.notes, this.options);
      return this.pvmRequired;
    }
    // The interpreter's own needs (paper: EPT of the PVM from _start), on files at rest.
    const atRest = (): Feature[] | undefined => {
      const pvmRoots = [entryRoot(walkSpace), mainRoot(walkSpace), ...destructorRoots(walkSpace)].filter((r): r is Root => r !== undefined);
      // Static analyses assume the program runs with LD_BIND_NOW=1, as Pygration recommends (so the lazy-binding
      // trampoline is not part of it).
      if (!pvmRoots.length) return undefined;
      return sortFeatures([...executionPathTracking(walkSpace, pvmRoots, { mode: 'ept', bindNow: true, summaryStore: this.options.summaryStore }).features.keys()].filter(this.keep));
    };
    this.pvmRequired = this.replay ? this.replay.interpreterRequirement(atRest) : atRest();
    return this.pvmRequired;
  }

  /**
   * Resolution loads extension modules into the static space, each at the next free address: resolving in the
   * files' own order first puts every module where it would be without reordering the sites (the walks then
   * find each resolution cached). Every walk then sees all of them, where a walk used to see those loaded so
   * far: a symbol resolves to its first definition in load order, so this only matters for a symbol no object
   * loaded before the later ones defines.
   */
  preload(sites: CallSite[]): void {
    for (const site of sites) {
      for (const alternatives of nativeRequests(site.callee, this.tracking).requests) {
        for (const req of alternatives) if (this.resolve(req).status === 'resolved') break;
      }
    }
  }

  /** Analyses one call site: its native callees, their walk's features; added to byFile unless it needs nothing. */
  analyze(site: CallSite): void {
    const { requests, reason } = nativeRequests(site.callee, this.tracking);
    const { natives, roots, unresolvedReasons } = this.resolveRequests(requests);
    const why = unresolvedReasons[0] ?? reason;
    // Calls of pure-Python code with no native callee need nothing special: no record.
    if (roots.length === 0 && requests.length === 0 && !why) return;
    if (roots.length === 0) this.unknownCount++;
    else {
      this.resolvedCount++;
      if (unresolvedReasons.length > 0) this.partialCount++;
      for (const r of roots) this.nativeRoots.set(r.address, r);
      this.siteRoots.push({ site, roots });
    }
    // A report alone (siteFeatures: false) needs the roots and the counts, not the site's walk and record.
    if (this.options.siteFeatures === false) return;
    const file = path.resolve(site.file);
    if (!this.textCache.has(file)) {
      try {
        this.textCache.set(file, fs.readFileSync(file, 'utf8').split(/\r?\n/));
      } catch {
        this.textCache.set(file, undefined);
      }
    }
    const base = {
      uri: fileUri(file),
      range: siteRange(site, this.textCache.get(file)),
      callee: site.callee.reference,
      qualifiedName: site.callee.qualifiedName,
    };
    // Unknown sites are kept too (the presentation shows no lens for them), so that hovers can say why.
    const analysis: CallSiteAnalysis =
      roots.length === 0
        ? {
            ...base,
            natives: [],
            features: [],
            provenance: [],
            origin: 'unknown',
            reason: why ?? `no native code found for ${describeCallee(site.callee)}`,
            unknownCallees: Math.max(1, unresolvedReasons.length),
          }
        : this.walked(base, dedupeNatives(natives), roots, unresolvedReasons, requests.length);
    const list = this.byFile.get(file) ?? [];
    list.push(analysis);
    this.byFile.set(file, list);
  }

  /** Each request's first alternative that resolves: its native functions and roots; else why not. */
  private resolveRequests(requests: NativeRequest[][]): { natives: NativeFunction[]; roots: Root[]; unresolvedReasons: string[] } {
    const natives: NativeFunction[] = [];
    const roots: Root[] = [];
    const unresolvedReasons: string[] = [];
    for (const alternatives of requests) {
      let firstFailure: string | undefined;
      for (const req of alternatives) {
        const res = this.resolve(req);
        if (res.status === 'resolved') {
          for (const t of res.targets) natives.push({ symbol: t.symbol ?? t.name, library: path.basename(t.module), exact: t.exact });
          roots.push(...this.resolver.roots(res));
          firstFailure = undefined;
          break;
        }
        firstFailure ??= res.reason;
      }
      if (firstFailure !== undefined) unresolvedReasons.push(firstFailure);
    }
    return { natives, roots, unresolvedReasons };
  }

  /** A site resolved to native code: the features of the walk from its roots, with notes on what is missing. */
  private walked(base: Pick<CallSiteAnalysis, 'uri' | 'range' | 'callee' | 'qualifiedName'>, natives: NativeFunction[], roots: Root[], unresolvedReasons: string[], requested: number): CallSiteAnalysis {
    const result = this.ept(roots);
    const { features, provenance } = this.described(result);
    for (const f of features) this.union.add(f);
    const masked: FeatureProvenance[] = sortFeatures([...result.features.keys()].filter(this.isMasked)).map((f) => this.provenanceOf(result, f));
    const exact = this.options.pid !== undefined && natives.every((n) => n.exact);
    const siteNotes: string[] = [];
    if (result.callSites.unresolved > 0) siteNotes.push(`${result.callSites.unresolved} indirect call(s) on its path could not be followed`);
    if (unresolvedReasons.length > 0) siteNotes.push(`${unresolvedReasons.length} of ${requested} native callee(s) not resolved: ${unresolvedReasons[0]}`);
    const analysis: CallSiteAnalysis = { ...base, natives, features, provenance, origin: exact ? 'live' : 'static', reason: siteNotes.length ? siteNotes.join('; ') : undefined };
    if (masked.length > 0) analysis.masked = masked;
    if (unresolvedReasons.length > 0) analysis.unknownCallees = unresolvedReasons.length;
    return analysis;
  }

  /**
   * Sites with the same roots share one walk, and so its features and their described sites (symbolizing and
   * decoding them per call site cost most of a large file's time).
   */
  private described(result: EptResult): DescribedWalk {
    // A kept context's options (its key) include everything `keep` depends on: its descriptions are kept too.
    const walks = (this.replay?.context.described as WeakMap<EptResult, DescribedWalk> | undefined) ?? this.describedWalks;
    let described = walks.get(result);
    if (!described) {
      const features = sortFeatures([...result.features.keys()].filter(this.keep));
      described = { features, provenance: features.map((f) => this.provenanceOf(result, f)) };
      walks.set(result, described);
    }
    return described;
  }

  /** A feature of a walk with its first two sites, described. */
  private provenanceOf(result: EptResult, f: Feature): FeatureProvenance {
    return {
      feature: f,
      sites: result.features
        .get(f)!
        .sites.slice(0, 2)
        .map((s) => describeSite(this.walkSpace, s.address)),
    };
  }

  /** The analysis's results (`callSites`: the files' sites); the caller closes them. */
  results(callSites: number, started: number): CallSiteResults {
    this.interpreterRequirement();
    this.notes.push(...leftOutNotes(this.space, this.replay ? this.replay.missing() : this.walkSpace instanceof OverlaySpace ? this.walkSpace.missing : []));
    const unknownCallSites = this.unknownCount + this.partialCount;
    const pvmRequired = this.pvmRequired;
    return {
      byFile: this.byFile,
      tracking: this.tracking,
      nativeRoots: [...this.nativeRoots.values()],
      nativeRootsExcept: (skip) => [...new Map(this.siteRoots.filter((x) => !skip(x.site)).flatMap((x) => x.roots.map((r) => [r.address, r] as const))).values()],
      callSiteRequired: sortFeatures(this.union),
      pvmRequired,
      unknownCallSites,
      lowerBound: unknownCallSites > 0 && !(this.view !== undefined && pvmRequired !== undefined),
      notes: this.notes,
      stats: { callSites, resolved: this.resolvedCount, unknown: this.unknownCount, partial: this.partialCount, natives: this.nativeRoots.size, seconds: (Date.now() - started) / 1000, native: this.replay ? { ...this.replay.steps } : undefined },
      space: this.walkSpace,
      close: () => this.close(),
    };
  }

  /** After a failure: closes the resolver and the process (the static space stays, as it always did; a kept one too). */
  abort(): void {
    if (this.replay) return;
    this.resolver.close();
    this.view?.close();
  }

  /** Closes the resolver, the process and the static space (a kept context stays open for the next run). */
  close(): void {
    if (this.replay) return;
    this.resolver.close();
    this.view?.close();
    if (this.space instanceof StaticAddressSpace) this.space.close();
  }
}

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
  // The interpreter's own types are named without a module (tp_name "int"): a method they lack is reported as such.
  if (module === 'builtins') return [t];
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

/** What the address space left out: modules of a live process it could not read, libraries not found at rest (`overlayMissing`: those of loaded extensions). */
function leftOutNotes(space: AddressSpace, overlayMissing: ReadonlyArray<{ name: string; neededBy: string; reason: string }>): string[] {
  const out: string[] = [];
  if (space instanceof ProcessAddressSpace) {
    if (space.memoryError) out.push(`${space.memoryError.describe()} Without memory access, GOT slots and dispatch tables were resolved from the files on disk.`);
    for (const u of space.unopenedModules) out.push(`Could not open ${u.path}: ${u.reason}`);
  }
  const missing = [...(space instanceof StaticAddressSpace ? space.missing : []), ...overlayMissing];
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
