// The analysis report: the one JSON shape the CLI prints with --json, the language server sends to the
// client, and the webview renders. Pure types and small pure helpers; no Node or vscode imports.

import type { Feature } from './features/vocabulary';
import type { MigrationEstimate } from './plan/types';

export type AnalysisMode = 'ept' | 'ept-plain' | 'full';

/** Where a required feature was found: one instruction in one function of one module. */
export interface FeatureSite {
  /** Path of the module (shared object or executable), or `[anon:0x7f..]` for anonymous code. */
  module: string;
  /** Function name (symbol) or `sub_<hex>` when unnamed. */
  function: string;
  /** Runtime address of the instruction, hex with 0x. */
  address: string;
  /** The instruction in Intel syntax, when known. */
  instruction?: string;
}

export interface RequiredFeature {
  feature: Feature;
  /** A few example sites (bounded), first found first. */
  sites: FeatureSite[];
  /** Total number of distinct instructions that need it. */
  count: number;
  /** How many of those instructions each module holds, most first. */
  modules?: Array<{ module: string; count: number }>;
  /** Why it is counted when that is not plain "an instruction on the path needs it". */
  reason?: string;
  /** The analysis root from which the walk first reached it (e.g. `Python-callable: _hashlib openssl_sha256`). */
  via?: string;
}

/** A feature reachable code uses that the source's CPUID hides while its instructions can run (AnalysisReport.maskedFeatures). */
export interface MaskedFeature {
  feature: Feature;
  /** A few example sites (bounded): function and instruction. */
  sites: FeatureSite[];
  /** Total number of distinct instructions that use it. */
  count: number;
  /** Why it is a warning, and what happens on a target that lacks it. */
  reason: string;
  /** True when a probe executed one of its instructions on this machine: the CPUID hides it, the CPU has it. */
  executes?: boolean;
}

export interface CallSiteStats {
  /** Direct calls and jumps (rel32/rel8). */
  direct: number;
  /** Calls through a PLT stub whose GOT slot was read from live memory (or resolved statically). */
  plt: number;
  /** `call/jmp [rip+X]` through a GOT or data slot (bypass-PLT, -fno-plt). */
  memorySlot: number;
  /** `mov r,[rip+X] ; call [r+k]` dispatch tables resolved from live memory, and bounded jump tables (switch, computed goto, function-pointer tables). */
  dispatchTable: number;
  /** Indirect calls/jumps whose target could not be determined (register, vtable, heap pointer). */
  unresolved: number;
}

export interface AnalysisStats {
  functionsVisited: number;
  instructionsDecoded: number;
  modulesVisited: number;
  callSites: CallSiteStats;
  seconds: number;
  peakRssMB: number;
}

export type Vendor = 'intel' | 'amd' | 'other';

/** One instance type with the three verdicts side by side. */
/**
 * Where a row's features come from. `measured`: the CPUID of a live instance of the type (a collected data
 * set, or `pygration host` on the machine); `derived`: the features of its CPU's micro-architecture
 * (archspec's data plus the facts in native/data/aws-ec2-families.json), not measured. docs/catalog.md.
 */
export interface Provenance {
  kind: 'measured' | 'derived';
  /** measured: the data set or run (e.g. `aws-ec2-x86-isa-sets.json`); derived: the micro-architecture (archspec name, e.g. `icelake`). */
  basis: string;
  /** derived: how sure the family table is of the type's processor and figures (high, medium, low). */
  confidence?: 'high' | 'medium' | 'low';
  /** One sentence more, e.g. which features a measured row could not observe and took from the derivation. */
  note?: string;
}

/** A one-line description of a provenance, for tooltips and text reports. */
export function describeProvenance(p: Provenance | undefined): string {
  if (!p) return 'provenance not recorded';
  const head =
    p.kind === 'measured'
      ? `measured (${p.basis})`
      : `derived from the ${p.basis} micro-architecture, not measured${p.confidence ? `; confidence ${p.confidence}` : ''}`;
  return p.note ? `${head}. ${p.note}` : head;
}

export interface InstanceVerdict {
  name: string;
  family: string;
  cpu: string;
  vendor: Vendor;
  generation: string;
  vcpu: number;
  memoryGiB: number;
  /** Pygration's verdict: (required ∩ source) ⊆ target. */
  compatible: boolean;
  /** Features the target lacks for Pygration's verdict (empty when compatible). */
  missing: Feature[];
  /**
   * The features of `missing` the catalog does not know for this type (e.g. flags node-feature-discovery hides by
   * default, undecidable ISA-SETs): unknown counts as absent, so the type is refused; it may have them.
   */
  unknown?: Feature[];
  /** CRIU's host-level verdict: every instruction feature of the source host ⊆ target. */
  criu: boolean;
  criuMissing: Feature[];
  /**
   * The verdict a full scan of every executable mapping would give (absent if not computed), counted as `compatible`
   * is: never for a type of another vendor than the source's.
   */
  fullScan?: boolean;
  fullScanMissing?: Feature[];
  /**
   * Set when the type has every feature the process needs (`missing` is empty) but its CPU is made by
   * another vendor than the source host's: its own verdict, "feature-compatible, another vendor, unproven".
   * `compatible` is then false, so such a type is never counted as compatible (see docs/catalog.md, "Cross-vendor
   * restores", and InstancesSummary.crossVendorEvidence).
   */
  crossVendor?: boolean;
  /** Whether the catalog row was measured or derived from the micro-architecture (absent when the catalog does not say). */
  provenance?: Provenance;
}

export interface InstancesSummary {
  catalog: string;
  total: number;
  /** Names of the types Pygration accepts. */
  compatible: string[];
  /** Names of the types CRIU's host-level check accepts. */
  criu: string[];
  /** Names of the types a full-scan requirement accepts (empty when not computed). */
  fullScan: string[];
  /**
   * Names of the feature-compatible types of another vendor than the source (InstanceVerdict.crossVendor):
   * neither in `compatible` nor refused for a feature. Absent in reports of older versions.
   */
  crossVendor?: string[];
  /** The source host's vendor the cross-vendor verdict compares with, when known. */
  sourceVendor?: Vendor;
  /** Why cross-vendor types get their own verdict: the published restores behind it, in one paragraph. */
  crossVendorEvidence?: string;
  /** How many of the catalog's rows are measured and how many derived (absent when no row says). */
  provenance?: { measured: number; derived: number };
  verdicts: InstanceVerdict[];
}

export interface TargetInfo {
  pid?: number;
  exe?: string;
  cmdline?: string[];
  /** Python version of the target, when it is a Python process. */
  python?: string;
  /** Whether the process ran with LD_BIND_NOW=1 (GOT slots final); null when unknown. */
  ldBindNow: boolean | null;
}

export interface AnalysisReport {
  schema: 1;
  tool: { name: 'pygration'; version: string };
  mode: AnalysisMode;
  target: TargetInfo;
  /** The source host: its CPU model and canonical feature flags. */
  host: { cpu: string; features: Feature[] };
  /** Required features ∩ source host features, canonical names, sorted; baseline features excluded. */
  required: Feature[];
  /** x86-64 level of `required`, e.g. `x86-64-v3`, and the features beyond the levels. */
  level: string;
  levelExtras: Feature[];
  /** Per-feature provenance for `required`. */
  features: RequiredFeature[];
  /**
   * Features reachable code uses that the source host's CPUID does not report, canonical names, sorted. They
   * are left out of `required` (code for a feature the CPU lacks cannot run there) unless `maskedCounted`;
   * those whose instructions can nevertheless execute on the source are detailed in `maskedFeatures`.
   */
  notOnHost: Feature[];
  /**
   * Warnings: the features of `notOnHost` whose instructions can still execute on the source host, because
   * nothing but the CPUID bit stands in their way (no register state or OS switch the kernel enables only
   * for a reported feature) and a probe did not see them fault there (`executes` when it saw one run).
   * Hypervisors hide RDSEED, ADX, LZCNT or TSX this way while the instructions run.
   * Such code, unguarded, crashes (or, for LZCNT, computes BSR) on a target that really lacks the feature.
   * Each with the functions and instructions that use it. Absent in reports of older versions.
   */
  maskedFeatures?: MaskedFeature[];
  /** Whether the masked features were counted as required (`--count-masked`, pygration.countMaskedFeatures). */
  maskedCounted?: boolean;
  /** Full-scan requirement of the same process, when computed. */
  fullScanRequired?: Feature[];
  /** Warnings and explanations for the user (lazy binding, conservative choices, ...). */
  notes: string[];
  /**
   * Which Python-callable C functions were roots (EPT of a Python process): 'precise' — only those whose
   * names reachable Python code uses (plus type slots, protocol methods and names C code looks up);
   * 'strict' — every one of every loaded extension module (asked for, or the fallback reflection forced;
   * the notes say which).
   */
  rootPolicy?: 'precise' | 'strict';
  stats: AnalysisStats;
  instances: InstancesSummary;
  /** Restore flags to use with CRIU when the verdict is compatible, with why. */
  criuAdvice?: { flags: string[]; why: string };
  /** The migration planner's estimate (`pygration plan`): dirty rate, strategies, downtime per type. */
  migration?: MigrationEstimate;
}
