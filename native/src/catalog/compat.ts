// The compatibility checker: Pygration's per-workload verdict ((required ∩ source) ⊆ target), CRIU's
// host-level baseline (every instruction feature of the source ⊆ target), the InstancesSummary of the
// report, and the CRIU restore flags to use when our verdict accepts a target that CRIU would refuse.

import type { InstanceVerdict, InstancesSummary } from '../report';
import { BASELINE, FEATURES, sortFeatures, type Feature } from '../features/vocabulary';
import type { Catalog, InstanceType } from './catalog';

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
 * baseline, which every target has.
 */
export function effectiveRequirement(required: Iterable<Feature>, source: ReadonlySet<Feature>): Feature[] {
  return sortFeatures([...required].filter((f) => source.has(f) && !BASELINE.has(f)));
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
}

/** The report's InstancesSummary: Pygration's, CRIU's and (optionally) the full-scan verdict per type. */
export function summarizeInstances(options: SummarizeOptions): InstancesSummary {
  const { source, catalog } = options;
  const ours = compatibleInstances(options.required, source, catalog);
  const criu = criuBaseline(source, catalog);
  const full = options.fullScanRequired === undefined ? undefined : compatibleInstances(options.fullScanRequired, source, catalog);
  const verdicts: InstanceVerdict[] = ours.map((o, i) => {
    const inst = o.instance;
    const v: InstanceVerdict = {
      name: inst.name,
      family: inst.family,
      cpu: inst.cpu,
      vendor: inst.vendor,
      generation: inst.generation,
      vcpu: inst.vcpu,
      memoryGiB: inst.memoryGiB,
      compatible: o.compatible,
      missing: o.missing,
      criu: criu[i].compatible,
      criuMissing: criu[i].missing,
    };
    if (full) {
      v.fullScan = full[i].compatible;
      v.fullScanMissing = full[i].missing;
    }
    return v;
  });
  return {
    catalog: catalog.name,
    total: verdicts.length,
    compatible: verdicts.filter((v) => v.compatible).map((v) => v.name),
    criu: verdicts.filter((v) => v.criu).map((v) => v.name),
    fullScan: full ? verdicts.filter((v) => v.fullScan).map((v) => v.name) : [],
    verdicts,
  };
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
