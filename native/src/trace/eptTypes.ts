// The public types of execution path tracking: roots, options, per-feature evidence and the walk's result.

import type { Feature } from '../features/vocabulary';
import type { CallSiteStats } from '../report';
import type { SummaryStore } from './summaryCache';

export type EptMode = 'ept' | 'ept-plain';

export interface Root {
  address: number;
  /** Why this is a root: `_start`, `thread 1234 pc`, `return address`, `numpy.dot → PyArray_...`. */
  reason: string;
  /**
   * A point where a live frame resumes (a thread's pc, a return address, a setjmp return point): only the code of
   * its function that control can reach from here is walked, not what ran before it (see Summarizer.summarizeFrom).
   */
  resume?: boolean;
  /**
   * `address` is an IFUNC's resolver (an exported IFUNC that dlsym can return, not bound in any live GOT slot):
   * the walk starts at what the resolver can return (the host's choice when known, else every variant).
   */
  ifunc?: boolean;
}

export interface EptOptions {
  /** 'ept' (default): sound for unresolved indirect calls; 'ept-plain': the paper's plain EPT. */
  mode?: EptMode;
  /**
   * In 'ept' mode, add the address-taken functions of the modules entered as roots when a call cannot be
   * resolved (default true). False keeps live-memory resolution but follows only resolved edges: what
   * per-call-site attribution wants (the report says how many calls were not followed).
   */
  addressTaken?: boolean;
  /** Polled between functions and inside long data loops; return true to stop (the result is then marked cancelled). */
  isCancelled?: () => boolean;
  /** Called about every 100 ms with the number of functions visited so far. */
  onProgress?: (functionsVisited: number) => void;
  /** Keep the list of visited function extents (for cross-checks); off by default. */
  recordVisited?: boolean;
  /**
   * The process runs with LD_BIND_NOW=1 (every GOT slot bound at start-up, dlopen too): the dynamic
   * linker's lazy-binding trampolines (_dl_runtime_resolve_xsave/xsavec), whose address its relocation
   * code takes, can never run, so they are not counted.
   */
  bindNow?: boolean;
  /** The second level of the function-summary cache (summaryStore.ts keeps one on disk); none by default. */
  summaryStore?: SummaryStore;
  /**
   * Words of Python method tables whose entries the precise root policy left out (PythonEntryRoots.gatedWords):
   * not taken when a data object holding them is (only Python calls through those tables; the gate decides).
   */
  gatedWords?: ReadonlySet<number>;
}

export interface Site {
  address: number;
  module: string;
  /** The module's bias, so a consumer can map back to link-time addresses. */
  bias: number;
}

export interface FeatureEvidence {
  count: number;
  sites: Site[];
  /** Instruction count per module path. */
  modules: Map<string, number>;
  /** The root (its reason) from which the walk first reached an instruction needing the feature. */
  root?: string;
  /** Set when the feature is counted for a reason other than an instruction on a resolved path. */
  reason?: string;
}

export interface UnresolvedCall {
  address: number;
  module: string;
  kind: 'call' | 'jmp';
}

export interface VisitedFunction {
  module: string;
  start: number;
  end: number;
  method: 'extent' | 'descent' | 'resume';
  /** Why the walk reached this function (the edge kind and where it came from). */
  reason: string;
}

export interface EptResult {
  features: Map<Feature, FeatureEvidence>;
  functionsVisited: number;
  instructionsDecoded: number;
  modulesVisited: Set<string>;
  callSites: CallSiteStats;
  /** A bounded sample of unresolved indirect call/jump sites. */
  unresolvedSample: UnresolvedCall[];
  /** GOT slots found unbound (lazy binding) and resolved by the dynamic linker's search order instead. */
  lazySlots: number;
  /** Roots added because their address is taken (sound mode only). */
  addressTakenRoots: number;
  notes: string[];
  cancelled: boolean;
  visited?: VisitedFunction[];
}
