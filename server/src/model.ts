// The server's per-call-site model: a Python call in a document, the native functions behind it and the CPU
// features they need, with where each feature was found. Produced by callSites.ts (static or live) and
// turned into code lenses, hovers and CallSiteDetails by presentation.ts.

import type { Feature, FeatureSite } from '../../native/src';

export interface Range0 {
  /** Zero-based line and UTF-16 character of the call's start and end. */
  line: number;
  character: number;
  endLine: number;
  endCharacter: number;
}

export interface NativeFunction {
  symbol: string;
  /** Library basename, e.g. `libopenblasp-r0.3.21.so` or `python3.11`. */
  library: string;
  /** Resolved in the live process (exact) rather than in files at rest. */
  exact: boolean;
}

export interface FeatureProvenance {
  feature: Feature;
  /** A few instructions needing it: module, function, address, instruction text. */
  sites: FeatureSite[];
}

export interface CallSiteAnalysis {
  uri: string;
  range: Range0;
  /** The callee as written (`np.dot`) and its resolution (`numpy.core._multiarray_umath.dot`). */
  callee: string;
  qualifiedName?: string;
  natives: NativeFunction[];
  /** Features beyond the x86-64 baseline, canonical names (not yet sorted for display). */
  features: Feature[];
  provenance: FeatureProvenance[];
  origin: 'live' | 'static' | 'unknown';
  /** Why the callee is unknown or only partly resolved. */
  reason?: string;
  /**
   * Features on this call's path that the host's CPUID hides while nothing else stops their instructions there (masked,
   * see maskedFeatures in native/src/catalog/compat.ts): in `features` only when counted (countMasked).
   */
  masked?: FeatureProvenance[];
  /**
   * How many of the native callees behind the call could not be resolved (at least 1 when origin is
   * 'unknown'); absent when all were. While any is unknown, `features` is a lower bound of what the call needs.
   */
  unknownCallees?: number;
}
