// The third feature table of DESIGN.md: canonical feature (Linux /proc/cpuinfo flag) ↔ CPUID bit, as in the
// kernel's arch/x86/include/asm/cpufeatures.h, plus a /proc/cpuinfo parser (model name, vendor, flags).

import { NativeError } from '../errors';
import type { Vendor } from '../report';
import { isKnownFeature, type Feature } from './vocabulary';

export type CpuidRegister = 'eax' | 'ebx' | 'ecx' | 'edx';

/** One CPUID output bit: CPUID(leaf, subleaf).register[bit]. */
export interface CpuidBit {
  leaf: number;
  subleaf: number;
  register: CpuidRegister;
  bit: number;
}

/** Compact form used in the table below: `leaf.subleaf.register.bit`, leaf and subleaf in hex. */
type BitSpec = `${string}.${string}.${CpuidRegister}.${number}`;

/**
 * The CPUID bit behind each canonical feature. Sources: the kernel's cpufeatures.h (word → CPUID leaf and
 * register, e.g. word 9 = CPUID(7,0).EBX, word 12 = CPUID(7,1).EAX, word 16 = CPUID(7,0).ECX, word 18 =
 * CPUID(7,0).EDX), KVM's reverse_cpuid.h for CPUID(7,1).EDX (avx_vnni_int8, avx_ne_convert, prefetchi,
 * amx_complex, avx_vnni_int16), and the Intel SDM / AMD APM. Each bit is also cross-checked against the
 * CPUID records of Intel XED (test/unit/features-xed.test.ts) and against the host's own CPUID
 * (test/unit/host.test.ts). `xtest` has no CPUID bit of its own: it is decided by a probe (features/host.ts).
 */
const BITS: Readonly<Record<Feature, BitSpec>> = {
  // CPUID(1).EDX, kernel word 0.
  fpu: '1.0.edx.0',
  tsc: '1.0.edx.4',
  cx8: '1.0.edx.8',
  cmov: '1.0.edx.15',
  clflush: '1.0.edx.19',
  mmx: '1.0.edx.23',
  fxsr: '1.0.edx.24',
  sse: '1.0.edx.25',
  sse2: '1.0.edx.26',
  // CPUID(0x80000001).EDX, kernel word 1.
  syscall: '80000001.0.edx.11',
  rdtscp: '80000001.0.edx.27',
  lm: '80000001.0.edx.29',
  // CPUID(1).ECX, kernel word 4.
  pni: '1.0.ecx.0',
  pclmulqdq: '1.0.ecx.1',
  monitor: '1.0.ecx.3',
  vmx: '1.0.ecx.5',
  smx: '1.0.ecx.6',
  ssse3: '1.0.ecx.9',
  fma: '1.0.ecx.12',
  cx16: '1.0.ecx.13',
  sse4_1: '1.0.ecx.19',
  sse4_2: '1.0.ecx.20',
  movbe: '1.0.ecx.22',
  popcnt: '1.0.ecx.23',
  aes: '1.0.ecx.25',
  xsave: '1.0.ecx.26',
  avx: '1.0.ecx.28',
  f16c: '1.0.ecx.29',
  rdrand: '1.0.ecx.30',
  // CPUID(0x80000001).ECX, kernel word 6.
  lahf_lm: '80000001.0.ecx.0',
  svm: '80000001.0.ecx.2',
  abm: '80000001.0.ecx.5',
  sse4a: '80000001.0.ecx.6',
  '3dnowprefetch': '80000001.0.ecx.8',
  xop: '80000001.0.ecx.11',
  fma4: '80000001.0.ecx.16',
  tbm: '80000001.0.ecx.21',
  mwaitx: '80000001.0.ecx.29',
  // CPUID(7,0).EBX, kernel word 9.
  fsgsbase: '7.0.ebx.0',
  bmi1: '7.0.ebx.3',
  hle: '7.0.ebx.4',
  avx2: '7.0.ebx.5',
  bmi2: '7.0.ebx.8',
  invpcid: '7.0.ebx.10',
  rtm: '7.0.ebx.11',
  mpx: '7.0.ebx.14',
  avx512f: '7.0.ebx.16',
  avx512dq: '7.0.ebx.17',
  rdseed: '7.0.ebx.18',
  adx: '7.0.ebx.19',
  smap: '7.0.ebx.20',
  avx512ifma: '7.0.ebx.21',
  clflushopt: '7.0.ebx.23',
  clwb: '7.0.ebx.24',
  avx512pf: '7.0.ebx.26',
  avx512er: '7.0.ebx.27',
  avx512cd: '7.0.ebx.28',
  sha_ni: '7.0.ebx.29',
  avx512bw: '7.0.ebx.30',
  avx512vl: '7.0.ebx.31',
  // CPUID(0xd,1).EAX, kernel word 10.
  xsaveopt: 'd.1.eax.0',
  xsavec: 'd.1.eax.1',
  xsaves: 'd.1.eax.3',
  // CPUID(7,1).EAX, kernel word 12.
  sha512: '7.1.eax.0',
  sm3: '7.1.eax.1',
  sm4: '7.1.eax.2',
  rao_int: '7.1.eax.3',
  avx_vnni: '7.1.eax.4',
  avx512_bf16: '7.1.eax.5',
  cmpccxadd: '7.1.eax.7',
  amx_fp16: '7.1.eax.21',
  hreset: '7.1.eax.22',
  avx_ifma: '7.1.eax.23',
  // CPUID(0x80000008).EBX, kernel word 13.
  clzero: '80000008.0.ebx.0',
  rdpru: '80000008.0.ebx.4',
  wbnoinvd: '80000008.0.ebx.9',
  // CPUID(7,0).ECX, kernel word 16.
  prefetchwt1: '7.0.ecx.0',
  avx512vbmi: '7.0.ecx.1',
  pku: '7.0.ecx.3',
  waitpkg: '7.0.ecx.5',
  avx512_vbmi2: '7.0.ecx.6',
  shstk: '7.0.ecx.7',
  gfni: '7.0.ecx.8',
  vaes: '7.0.ecx.9',
  vpclmulqdq: '7.0.ecx.10',
  avx512_vnni: '7.0.ecx.11',
  avx512_bitalg: '7.0.ecx.12',
  avx512_vpopcntdq: '7.0.ecx.14',
  rdpid: '7.0.ecx.22',
  cldemote: '7.0.ecx.25',
  movdiri: '7.0.ecx.27',
  movdir64b: '7.0.ecx.28',
  enqcmd: '7.0.ecx.29',
  // CPUID(7,0).EDX, kernel word 18.
  avx512_4vnniw: '7.0.edx.2',
  avx512_4fmaps: '7.0.edx.3',
  uintr: '7.0.edx.5',
  avx512_vp2intersect: '7.0.edx.8',
  serialize: '7.0.edx.14',
  tsxldtrk: '7.0.edx.16',
  ibt: '7.0.edx.20',
  amx_bf16: '7.0.edx.22',
  avx512_fp16: '7.0.edx.23',
  amx_tile: '7.0.edx.24',
  amx_int8: '7.0.edx.25',
  // CPUID(7,1).EDX: no kernel word; KVM-only names (reverse_cpuid.h).
  avx_vnni_int8: '7.1.edx.4',
  avx_ne_convert: '7.1.edx.5',
  amx_complex: '7.1.edx.8',
  avx_vnni_int16: '7.1.edx.10',
  prefetchi: '7.1.edx.14',
};

/**
 * Features with a CPUID bit that /proc/cpuinfo does not print, so a host's flags never contain them even
 * when the CPU has them: the kernel gives them no display name (cmpccxadd, amx_fp16, avx_ifma; shstk is
 * shown as `user_shstk` only when the kernel enables user shadow stacks), has no cpufeatures word for them
 * at all (CPUID(7,1).EDX, known to KVM only), or never defined them (hreset, rao_int, uintr, prefetchwt1).
 * The host collector reads these bits with CPUID instead (features/host.ts). Newer kernels print some of them
 * (archspec's recorded Arrow Lake, on Ubuntu 26.04, shows avx_ifma, cmpccxadd, avx_vnni_int8/16,
 * avx_ne_convert); a printed one is taken from /proc/cpuinfo like any other flag (reconcileHostFeatures).
 */
export const CPUINFO_HIDDEN: ReadonlySet<Feature> = new Set([
  'cmpccxadd',
  'amx_fp16',
  'avx_ifma',
  'hreset',
  'shstk',
  'rao_int',
  'uintr',
  'prefetchwt1',
  'avx_vnni_int8',
  'avx_ne_convert',
  'amx_complex',
  'avx_vnni_int16',
  'prefetchi',
]);

function parseBitSpec(spec: string): CpuidBit {
  const [leaf, subleaf, register, bit] = spec.split('.');
  return { leaf: parseInt(leaf, 16), subleaf: parseInt(subleaf, 16), register: register as CpuidRegister, bit: Number(bit) };
}

/** The canonical key of a CPUID bit: `leaf.subleaf.register.bit` with leaf and subleaf in lower-case hex. */
export function cpuidBitKey(b: CpuidBit): string {
  return `${b.leaf.toString(16)}.${b.subleaf.toString(16)}.${b.register}.${b.bit}`;
}

/** Feature → CPUID bit, for every feature that has one. */
export const CPUID_BITS: ReadonlyMap<Feature, CpuidBit> = new Map(
  Object.entries(BITS).map(([f, spec]) => [f, parseBitSpec(spec)]),
);

const FEATURE_BY_BIT: ReadonlyMap<string, Feature> = new Map(
  [...CPUID_BITS].map(([f, b]) => [cpuidBitKey(b), f]),
);

/** The CPUID bit of a feature, or undefined (xtest, unknown names). */
export function cpuidBitOf(feature: Feature): CpuidBit | undefined {
  return CPUID_BITS.get(feature);
}

/** The feature a CPUID bit stands for (by its cpuidBitKey), or undefined. */
export function featureOfCpuidBit(key: string): Feature | undefined {
  return FEATURE_BY_BIT.get(key);
}

/** True for canonical features (the vocabulary's FEATURES; every feature of the table above is one). */
export function isCanonicalFeature(name: string): name is Feature {
  return isKnownFeature(name);
}

/** What /proc/cpuinfo says about the first processor. */
export interface CpuinfoSummary {
  /** `model name`, e.g. `Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz`; empty when absent. */
  model: string;
  /** `vendor_id`, e.g. `GenuineIntel`. */
  vendorId: string;
  vendor: Vendor;
  /** Every flag of the first processor, canonical or not (`constant_tsc`, `hypervisor`, ...). */
  flags: Set<string>;
}

/** Maps a CPU vendor id or a model string to the vendor. */
export function vendorOf(text: string): Vendor {
  if (/GenuineIntel|\bIntel\b/i.test(text)) return 'intel';
  if (/AuthenticAMD|\bAMD\b|\bEPYC\b|\bRyzen\b/i.test(text)) return 'amd';
  return 'other';
}

/**
 * Parses /proc/cpuinfo text and returns the first processor's model, vendor and flags. Throws a
 * 'malformed' NativeError when there is no `flags` line (not an x86 cpuinfo).
 */
export function parseCpuinfo(text: string, subject = '/proc/cpuinfo'): CpuinfoSummary {
  let model = '';
  let vendorId = '';
  let flags: Set<string> | undefined;
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) {
      // A blank line ends the first processor's block once its flags were seen.
      if (line.trim() === '' && flags) break;
      continue;
    }
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key === 'model name' && !model) model = value;
    else if (key === 'vendor_id' && !vendorId) vendorId = value;
    else if (key === 'flags' && !flags) flags = new Set(value.split(/\s+/).filter(Boolean));
  }
  if (!flags) {
    throw new NativeError('malformed', `${subject} has no "flags" line; is this an x86 machine?`, { subject });
  }
  return { model, vendorId, vendor: vendorOf(vendorId || model), flags };
}

/** The canonical features among a set of cpuinfo flags (drops `constant_tsc`, `hypervisor`, ...). */
export function canonicalFlags(flags: Iterable<string>): Set<Feature> {
  const out = new Set<Feature>();
  for (const f of flags) if (isCanonicalFeature(f)) out.add(f);
  return out;
}

/** A host's features after reconciling what the kernel prints with what CPUID reports to user space. */
export interface HostFeatureView {
  /** The host's canonical features: the kernel's canonical flags plus CPUINFO_HIDDEN features CPUID reports. */
  features: Set<Feature>;
  /** The CPUINFO_HIDDEN features added because CPUID reports them, sorted. */
  fromCpuid: Feature[];
  /**
   * Features CPUID reports to user space that the kernel could print but does not: the kernel or the
   * hypervisor turned them off (clearcpuid=, a CPU erratum such as RDSEED on Zen 5, a hypervisor that masks
   * the bit for the guest kernel). They are absent for compatibility (DESIGN.md "Provider-masked
   * features"), although their instructions may still execute. Sorted.
   */
  masked: Feature[];
}

/**
 * The host's features from its /proc/cpuinfo flags and, when known, the CPUID bits user space reads
 * (`cpuidBit(f)` is true/false for a bit that was read, undefined for one that was not). What the kernel
 * prints decides: a feature it does not print is absent, unless the kernel never prints that feature at all
 * (CPUINFO_HIDDEN), in which case CPUID decides. A hidden or masked flag is never counted as present.
 */
export function reconcileHostFeatures(cpuinfoFlags: Iterable<string>, cpuidBit: (f: Feature) => boolean | undefined = () => undefined): HostFeatureView {
  const features = canonicalFlags(cpuinfoFlags);
  const fromCpuid: Feature[] = [];
  const masked: Feature[] = [];
  for (const f of CPUID_BITS.keys()) {
    if (features.has(f) || cpuidBit(f) !== true) continue;
    if (CPUINFO_HIDDEN.has(f)) fromCpuid.push(f);
    else masked.push(f);
  }
  for (const f of fromCpuid) features.add(f);
  return { features, fromCpuid: fromCpuid.sort(), masked: masked.sort() };
}
