// The compatibility checker: Pygration's per-workload verdict ((required ∩ source) ⊆ target), the features
// the source's CPUID hides while nothing else stops their instructions (masked), CRIU's host-level baseline (every
// instruction feature of the source ⊆ target), the InstancesSummary of the report with its cross-vendor
// verdict, and the CRIU restore flags to use when our verdict accepts a target that CRIU would refuse.

import type { InstanceVerdict, InstancesSummary, Vendor } from '../report';
import { BASELINE, FEATURES, sortFeatures, type Feature } from '../features/vocabulary';
import { type Catalog, type InstanceType, defaultCatalog } from './catalog';

export interface InstanceCompat {
  instance: InstanceType;
  compatible: boolean;
  /** Features the instance lacks, in display order (empty when compatible). */
  missing: Feature[];
}

/** Instances' feature sets, cached per InstanceType object. */
const featureSets = new WeakMap<InstanceType, ReadonlySet<Feature>>();
function featuresOf(inst: InstanceType): ReadonlySet<Feature> {
  let s = featureSets.get(inst);
  if (!s) {
    s = new Set(inst.features);
    featureSets.set(inst, s);
  }
  return s;
}

function check(need: Feature[], catalog: Catalog): InstanceCompat[] {
  return catalog.instances.map((instance) => {
    const have = featuresOf(instance);
    const missing = need.filter((f) => !have.has(f));
    return { instance, compatible: missing.length === 0, missing: sortFeatures(missing) };
  });
}

/**
 * The workload's effective requirement: required features the source host has (code for features the
 * host lacks cannot be running there, e.g. an unused AVX-512 variant on an AVX2 host), minus the x86-64
 * baseline, which every target has. `alsoCount` adds features the source does not report that are to be
 * counted anyway (the masked features, with --count-masked).
 */
export function effectiveRequirement(required: Iterable<Feature>, source: ReadonlySet<Feature>, alsoCount: Iterable<Feature> = []): Feature[] {
  const extra = new Set(alsoCount);
  return sortFeatures([...required].filter((f) => (source.has(f) || extra.has(f)) && !BASELINE.has(f)));
}

/**
 * What must be on besides the CPUID bit for a feature's instructions to execute in user space: a register
 * state the kernel enables in XCR0, or a CR4 switch, only when CPUID reports the feature that owns it
 * (Linux clears the XCR0 bits and leaves the CR4 bits off for features whose flag is absent). A feature
 * gated by itself (`avx512f`, `pku`) is never masked: hidden, its instructions fault on the source too.
 * Features not listed need nothing but the silicon: a hypervisor can hide their CPUID bit while they run.
 */
const GATE: Readonly<Record<Feature, Feature>> = (() => {
  const g: Record<Feature, Feature> = {};
  // VEX-encoded SIMD needs the YMM state (XCR0 bits 1-2), enabled only when AVX is reported.
  for (const f of ['avx', 'avx2', 'fma', 'f16c', 'avx_vnni', 'avx_vnni_int8', 'avx_vnni_int16', 'avx_ifma', 'avx_ne_convert', 'vaes', 'vpclmulqdq', 'xop', 'fma4', 'sha512', 'sm3', 'sm4']) g[f] = 'avx';
  for (const f of Object.keys(FEATURES)) {
    // EVEX needs the opmask and ZMM states (XCR0 bits 5-7), enabled only when AVX-512F is reported.
    if (f.startsWith('avx512')) g[f] = 'avx512f';
    // AMX needs the tile state (XCR0 bits 17-18) and the kernel's permission, given only with AMX-TILE.
    if (f.startsWith('amx_')) g[f] = 'amx_tile';
  }
  // XSAVE* need CR4.OSXSAVE.
  for (const f of ['xsave', 'xsaveopt', 'xsavec']) g[f] = 'xsave';
  // Enabled by the kernel only for a reported feature (CR4 bits, MSRs), or not usable in user space at all;
  // xtest is no CPUID bit: the host probe executes it, so its absence is a fact, never a mask.
  for (const f of ['xtest', 'pku', 'fsgsbase', 'shstk', 'ibt', 'uintr', 'enqcmd', 'hreset', 'monitor', 'vmx', 'svm', 'smx', 'xsaves', 'mpx', 'invpcid', 'smap', 'wbnoinvd']) g[f] = f;
  return g;
})();

const lineups = new Map<Vendor, ReadonlySet<Feature>>();
/**
 * The features some CPU of `vendor` has, from the shipped catalog (every AWS x86 CPU generation since
 * Haswell and Zen): no AMD CPU there has TSX or AVX-512FP16, no Intel CPU SSE4a or CLZERO. Undefined for a
 * vendor the catalog has no CPU of.
 */
export function vendorLineup(vendor: Vendor): ReadonlySet<Feature> | undefined {
  if (!lineups.has(vendor)) {
    const rows = defaultCatalog().instances.filter((i) => i.vendor === vendor);
    if (rows.length === 0) return undefined;
    lineups.set(vendor, new Set(rows.flatMap((i) => i.features)));
  }
  return lineups.get(vendor);
}

/**
 * The masked features of a requirement: features reachable code uses that the source's CPUID does not
 * report, yet whose instructions can execute there (see GATE). Hypervisors hide RDSEED, ADX, LZCNT or TSX
 * like this. With the source's vendor, a feature no CPU of that vendor has (TSX on AMD: glibc's lock
 * elision is always reachable, and always guarded) is really absent, not masked. Sorted; baseline excluded.
 */
export function maskedFeatures(required: Iterable<Feature>, source: ReadonlySet<Feature>, vendor?: Vendor): Feature[] {
  const lineup = vendor === undefined ? undefined : vendorLineup(vendor);
  return sortFeatures(
    [...new Set(required)].filter((f) => {
      if (source.has(f) || BASELINE.has(f)) return false;
      if (lineup && !lineup.has(f)) return false;
      const gate = GATE[f];
      return gate === undefined || (gate !== f && source.has(gate));
    }),
  );
}

/** Why a masked feature is a warning: what its code does on a target that really lacks it. */
export function maskedReason(f: Feature, executes?: boolean): string {
  const label = FEATURES[f]?.label ?? f;
  const what =
    f === 'abm'
      ? 'On a CPU without LZCNT the same bytes run as BSR and give wrong results instead of faulting.'
      : f === 'rtm'
        ? `On a CPU without TSX (every AMD CPU) ${label} instructions raise SIGILL.`
        : `On a CPU that really lacks ${label} the process dies of SIGILL there.`;
  const here = executes
    ? `A probe executed ${label} on this machine: the CPU has it, the CPUID hides it (hypervisors hide RDSEED, ADX and LZCNT like this), so this code runs here, and if it runs without a CPUID check, it runs on the target too. `
    : `If the CPU has ${label} and a hypervisor hides it, as RDSEED, ADX and LZCNT often are, this code can run, and if it runs without a CPUID check, it runs on the target too. `;
  return (
    `The source's CPUID does not report ${label}, so it is left out of the requirement, but nothing else stops its instructions here (no register state or OS switch gates them). ` +
    `${here}${what} ` +
    'Count it with --count-masked (setting pygration.countMaskedFeatures).'
  );
}

/** Pygration's verdict per instance type: compatible iff (required ∩ source) ⊆ target (baseline ignored). */
export function compatibleInstances(required: Iterable<Feature>, source: ReadonlySet<Feature>, catalog: Catalog): InstanceCompat[] {
  return check(effectiveRequirement(required, source), catalog);
}

/**
 * The source-host features CRIU's instruction check compares: the host flags that correspond to
 * instructions, defined as the canonical features of vocabulary.ts (FEATURES) — never flags such as
 * `constant_tsc`, `hypervisor`, `nopl`, `rep_good` or vulnerability mitigations — except `xtest`, which is
 * not a CPUID bit (CRIU cannot see it; it is decided by our probe). This is a superset of the instruction
 * bits CRIU itself masks in criu/arch/x86/cpu.c (x86_ins_capability_mask: CPUID(1) ECX/EDX, (7,0) EBX/ECX
 * and two EDX bits, (0xd,1) EAX, 0x80000001 ECX/EDX, clzero), expressed in our vocabulary, plus the newer
 * instruction sets CRIU does not list (AMX, AVX512_FP16, AVX-VNNI, ...): a restore onto a CPU without
 * them is just as unsafe for a process that uses them.
 */
export function criuInstructionFeatures(source: Iterable<Feature>): Feature[] {
  return sortFeatures([...source].filter((f) => f !== 'xtest' && Object.prototype.hasOwnProperty.call(FEATURES, f)));
}

/** CRIU's host-level verdict per instance type: every instruction feature of the source host ⊆ target. */
export function criuBaseline(source: ReadonlySet<Feature>, catalog: Catalog): InstanceCompat[] {
  return check(
    criuInstructionFeatures(source).filter((f) => !BASELINE.has(f)),
    catalog,
  );
}

export interface SummarizeOptions {
  /** The workload's requirement (e.g. from execution path tracking); intersected with `source`. */
  required: Iterable<Feature>;
  /** The source host's features (cpuinfo flags that are canonical features, plus `xtest` when probed). */
  source: ReadonlySet<Feature>;
  catalog: Catalog;
  /** The full-scan requirement of the same process, when computed (third verdict). */
  fullScanRequired?: Iterable<Feature>;
  /**
   * The source host's vendor: a feature-compatible type of another vendor gets its own verdict
   * (crossVendor) instead of being counted as compatible. Unknown (undefined): no such distinction.
   */
  sourceVendor?: Vendor;
}

/**
 * The evidence behind the cross-vendor verdict (docs/catalog.md, "Cross-vendor restores"), shown with it.
 */
export const CROSS_VENDOR_EVIDENCE =
  "In the CRIU restores the paper's authors published (github.com/ddps-lab/LiveMigrate-Detector, old/compatibility_checker/verification/: " +
  'criu restore --cpu-cap=none between 27 AWS types, 14 workloads), every same-vendor pair whose target has every instruction feature of the source succeeded ' +
  '(110 of 110 for the NumPy workload), but 5 of the 10 such Intel-to-AMD pairs failed. All 5 came from r4 and i3 sources, whose CPUs reported TSX when the ' +
  "same project collected them: glibc then runs its *_rtm string functions, which execute XTEST, and XTEST faults on every AMD CPU (a live analysis on such a source " +
  'reports xtest). That explains these failures, but the data cover 3 Intel source CPUs and 3 AMD targets only, and other vendor differences (the XSAVE layout and ' +
  'sizes CRIU restores, buffers glibc sizes at start-up from CPUID) remain untested: a feature verdict alone does not prove a restore onto another vendor.';

/** The report's InstancesSummary: Pygration's, CRIU's and (optionally) the full-scan verdict per type. */
export function summarizeInstances(options: SummarizeOptions): InstancesSummary {
  const { source, catalog } = options;
  const ours = compatibleInstances(options.required, source, catalog);
  const criu = criuBaseline(source, catalog);
  const full = options.fullScanRequired === undefined ? undefined : compatibleInstances(options.fullScanRequired, source, catalog);
  const sourceVendor = options.sourceVendor;
  const verdicts: InstanceVerdict[] = ours.map((o, i) => {
    const inst = o.instance;
    const otherVendor = sourceVendor !== undefined && inst.vendor !== sourceVendor;
    const crossVendor = o.compatible && otherVendor;
    const v: InstanceVerdict = {
      name: inst.name,
      family: inst.family,
      cpu: inst.cpu,
      vendor: inst.vendor,
      generation: inst.generation,
      vcpu: inst.vcpu,
      memoryGiB: inst.memoryGiB,
      compatible: o.compatible && !crossVendor,
      missing: o.missing,
      criu: criu[i].compatible,
      criuMissing: criu[i].missing,
    };
    if (crossVendor) v.crossVendor = true;
    if (inst.provenance) v.provenance = inst.provenance;
    // Missing features the catalog could not decide for this type (NFD's hidden labels, undecidable ISA-SETs).
    const unknown = inst.undecidable?.length ? o.missing.filter((f) => inst.undecidable!.includes(f)) : [];
    if (unknown.length) v.unknown = unknown;
    if (full) {
      // Counted as `compatible` is: a type of another vendor is not, whichever requirement it meets.
      v.fullScan = full[i].compatible && !otherVendor;
      v.fullScanMissing = full[i].missing;
    }
    return v;
  });
  const crossVendor = verdicts.filter((v) => v.crossVendor).map((v) => v.name);
  const summary: InstancesSummary = {
    catalog: catalog.name,
    total: verdicts.length,
    compatible: verdicts.filter((v) => v.compatible).map((v) => v.name),
    criu: verdicts.filter((v) => v.criu).map((v) => v.name),
    fullScan: full ? verdicts.filter((v) => v.fullScan).map((v) => v.name) : [],
    crossVendor,
    verdicts,
  };
  if (sourceVendor !== undefined) summary.sourceVendor = sourceVendor;
  if (crossVendor.length > 0) summary.crossVendorEvidence = CROSS_VENDOR_EVIDENCE;
  const measured = verdicts.filter((v) => v.provenance?.kind === 'measured').length;
  const derived = verdicts.filter((v) => v.provenance?.kind === 'derived').length;
  if (measured + derived > 0) summary.provenance = { measured, derived };
  return summary;
}

export interface CriuAdvice {
  flags: string[];
  why: string;
}

/**
 * The CRIU restore flags to use when our verdict accepts targets that CRIU's default check refuses (for
 * `target`, or for any type of the summary when no target is named); undefined when there is nothing to
 * override.
 */
export function criuAdvice(summary: InstancesSummary, target?: string): CriuAdvice | undefined {
  const candidates = summary.verdicts.filter((v) => v.compatible && !v.criu && (target === undefined || v.name === target));
  if (candidates.length === 0) return undefined;
  const examples = candidates.slice(0, 3).map((v) => `${v.name} (lacks ${v.criuMissing.slice(0, 3).join(', ')}${v.criuMissing.length > 3 ? ', …' : ''})`);
  const subject = target ?? `${candidates.length} instance type${candidates.length === 1 ? '' : 's'} such as ${examples.join('; ')}`;
  return {
    flags: ['--cpu-cap=none'],
    why:
      `Pygration found that the workload needs only features that ${target ? `${target} has` : 'these types have'}, but CRIU refuses ${subject}. ` +
      'CRIU restores with --cpu-cap=fpu,ins by default: "ins" requires every instruction feature of the source host on the target, whatever the process uses, ' +
      'and "fpu" requires the same XSAVE feature mask and even equal XSAVE area sizes, so a restore onto another CPU generation is refused even when it is safe. ' +
      'Pass --cpu-cap=none to "criu restore" to skip both checks (the image must have been dumped normally); safety then rests on this analysis. ' +
      'Caveats: code that is generated or loaded after the analysis (JIT, later imports) is not covered, and glibc sizes some XSAVE buffers at start-up ' +
      '(the lazy-binding trampoline, avoided by LD_BIND_NOW=1, and TLS descriptors of dlopen-ed modules), which is what CRIU\'s size check guards against ' +
      'when the target has a larger XSAVE area.',
  };
}
