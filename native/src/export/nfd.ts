// node-feature-discovery (NFD) names of our CPU features: the `feature.node.kubernetes.io/cpu-cpuid.*` labels
// (klauspost/cpuid feature names), NFD's default cpuid label blacklist, and the mapping both ways. Pure data.

import type { Feature } from '../features/vocabulary';

/** The prefix of NFD's cpuid labels: `feature.node.kubernetes.io/cpu-cpuid.AVX2=true`. */
export const NFD_CPUID_PREFIX = 'feature.node.kubernetes.io/cpu-cpuid.';

/**
 * The labels the NodeFeatureRule of `--format k8s` publishes for features NFD hides by default
 * (`feature.node.kubernetes.io/pygration-cpuid.BMI2=true`). `catalog import --nfd` reads them too.
 */
export const PYGRATION_CPUID_PREFIX = 'feature.node.kubernetes.io/pygration-cpuid.';

/**
 * NFD's default `sources.cpu.cpuid.attributeBlacklist` (source/cpu/cpu.go, newDefaultConfig, NFD v0.16+; older
 * releases lack AVX10 and TDX_GUEST): flags NFD discovers but publishes no label for. Such a feature is in
 * NFD's raw `cpu.cpuid` features (NodeFeatureRules can match it) but a node label never says whether the
 * node has it: for us it is unknown, not absent.
 */
export const NFD_DEFAULT_BLACKLIST: readonly string[] = [
  'AVX10', 'BMI1', 'BMI2', 'CLMUL', 'CMOV', 'CX16', 'ERMS', 'F16C', 'HTT', 'LZCNT', 'MMX', 'MMXEXT', 'NX', 'POPCNT',
  'RDRAND', 'RDSEED', 'RDTSCP', 'SGX', 'SGXLC', 'SSE', 'SSE2', 'SSE3', 'SSE4', 'SSE42', 'SSSE3', 'TDX_GUEST',
];

/**
 * Canonical feature (cpuinfo name) → NFD cpuid name (klauspost/cpuid v2 FeatureID). Features without an NFD
 * name (xtest, clwb, clflushopt, fsgsbase, pku, rdpid, …) cannot be required through a node label.
 */
export const CPUINFO_TO_NFD: Readonly<Record<Feature, string>> = {
  // x86-64 baseline: never part of a requirement, listed so imports understand the labels.
  fpu: 'X87', cx8: 'CMPXCHG8', cmov: 'CMOV', mmx: 'MMX', fxsr: 'FXSR', sse: 'SSE', sse2: 'SSE2', syscall: 'SYSCALL',
  // v2
  cx16: 'CX16', lahf_lm: 'LAHF', popcnt: 'POPCNT', pni: 'SSE3', ssse3: 'SSSE3', sse4_1: 'SSE4', sse4_2: 'SSE42',
  // v3
  avx: 'AVX', avx2: 'AVX2', bmi1: 'BMI1', bmi2: 'BMI2', f16c: 'F16C', fma: 'FMA3', abm: 'LZCNT', movbe: 'MOVBE', xsave: 'XSAVE',
  // v4
  avx512f: 'AVX512F', avx512bw: 'AVX512BW', avx512cd: 'AVX512CD', avx512dq: 'AVX512DQ', avx512vl: 'AVX512VL',
  // Beyond the levels.
  avx512ifma: 'AVX512IFMA', avx512vbmi: 'AVX512VBMI', avx512_vbmi2: 'AVX512VBMI2', avx512_vnni: 'AVX512VNNI',
  avx512_bitalg: 'AVX512BITALG', avx512_vpopcntdq: 'AVX512VPOPCNTDQ', avx512_bf16: 'AVX512BF16', avx512_fp16: 'AVX512FP16',
  avx512_vp2intersect: 'AVX512VP2INTERSECT', avx512er: 'AVX512ER', avx512pf: 'AVX512PF',
  avx_vnni: 'AVXVNNI', avx_vnni_int8: 'AVXVNNIINT8', avx_vnni_int16: 'AVXVNNIINT16', avx_ifma: 'AVXIFMA', avx_ne_convert: 'AVXNECONVERT',
  amx_tile: 'AMXTILE', amx_int8: 'AMXINT8', amx_bf16: 'AMXBF16', amx_fp16: 'AMXFP16', amx_complex: 'AMXCOMPLEX',
  gfni: 'GFNI', vaes: 'VAES', vpclmulqdq: 'VPCLMULQDQ', aes: 'AESNI', pclmulqdq: 'CLMUL', sha_ni: 'SHA', adx: 'ADX',
  rdrand: 'RDRAND', rdseed: 'RDSEED', rdtscp: 'RDTSCP', rtm: 'RTM', hle: 'HLE', tsxldtrk: 'TSXLDTRK',
  xsaveopt: 'XSAVEOPT', xsavec: 'XSAVEC', xsaves: 'XSAVES', movdiri: 'MOVDIRI', movdir64b: 'MOVDIR64B', serialize: 'SERIALIZE',
  waitpkg: 'WAITPKG', cldemote: 'CLDEMOTE', enqcmd: 'ENQCMD', shstk: 'CETSS', ibt: 'CETIBT', sse4a: 'SSE4A', xop: 'XOP',
  fma4: 'FMA4', tbm: 'TBM', clzero: 'CLZERO', rdpru: 'RDPRU', cmpccxadd: 'CMPCCXADD', prefetchi: 'PREFETCHI',
  wbnoinvd: 'WBNOINVD', mpx: 'MPX', hreset: 'HRESET', sm3: 'SM3_X86', sm4: 'SM4_X86', vmx: 'VMX', svm: 'SVM',
};

/** NFD cpuid name → canonical feature. */
export const NFD_TO_CPUINFO: Readonly<Record<string, Feature>> = Object.fromEntries(Object.entries(CPUINFO_TO_NFD).map(([f, n]) => [n, f]));

/** The NFD name of a canonical feature, or undefined when NFD has none. */
export function nfdName(f: Feature): string | undefined {
  return Object.prototype.hasOwnProperty.call(CPUINFO_TO_NFD, f) ? CPUINFO_TO_NFD[f] : undefined;
}

/** Whether NFD's default configuration publishes no label for this NFD cpuid name. */
export function nfdHiddenByDefault(name: string, hidden: readonly string[] = NFD_DEFAULT_BLACKLIST): boolean {
  return hidden.includes(name);
}
