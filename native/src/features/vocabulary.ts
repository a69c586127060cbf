// The one CPU-feature vocabulary used everywhere: Linux /proc/cpuinfo flag names (plus `xtest`), their
// display labels, the implied x86-64 baseline, and the x86-64 micro-architecture levels v1–v4.

/** A canonical feature name: a /proc/cpuinfo flag such as `avx2`, `avx512f`, `sha_ni`, or `xtest`. */
export type Feature = string;

export interface FeatureInfo {
  /** Short label for the UI, e.g. `AVX-512F`. */
  label: string;
  /** The x86-64 psABI level that first includes this feature (1 = baseline), if any. */
  level?: 1 | 2 | 3 | 4;
}

/**
 * Every feature the engine can report. Names are the kernel's cpuinfo names (arch/x86/include/asm/
 * cpufeatures.h), so they can be compared directly with a host's flags.
 */
export const FEATURES: Readonly<Record<Feature, FeatureInfo>> = {
  // x86-64 baseline (v1): implied on every 64-bit CPU.
  fpu: { label: 'x87', level: 1 },
  tsc: { label: 'TSC', level: 1 },
  cx8: { label: 'CX8', level: 1 },
  cmov: { label: 'CMOV', level: 1 },
  mmx: { label: 'MMX', level: 1 },
  fxsr: { label: 'FXSR', level: 1 },
  sse: { label: 'SSE', level: 1 },
  sse2: { label: 'SSE2', level: 1 },
  syscall: { label: 'SYSCALL', level: 1 },
  lm: { label: 'LM', level: 1 },
  clflush: { label: 'CLFLUSH', level: 1 },
  // v2
  cx16: { label: 'CX16', level: 2 },
  lahf_lm: { label: 'LAHF', level: 2 },
  popcnt: { label: 'POPCNT', level: 2 },
  pni: { label: 'SSE3', level: 2 },
  ssse3: { label: 'SSSE3', level: 2 },
  sse4_1: { label: 'SSE4.1', level: 2 },
  sse4_2: { label: 'SSE4.2', level: 2 },
  // v3
  avx: { label: 'AVX', level: 3 },
  avx2: { label: 'AVX2', level: 3 },
  bmi1: { label: 'BMI1', level: 3 },
  bmi2: { label: 'BMI2', level: 3 },
  f16c: { label: 'F16C', level: 3 },
  fma: { label: 'FMA', level: 3 },
  abm: { label: 'LZCNT', level: 3 },
  movbe: { label: 'MOVBE', level: 3 },
  xsave: { label: 'XSAVE', level: 3 },
  // v4
  avx512f: { label: 'AVX-512F', level: 4 },
  avx512bw: { label: 'AVX-512BW', level: 4 },
  avx512cd: { label: 'AVX-512CD', level: 4 },
  avx512dq: { label: 'AVX-512DQ', level: 4 },
  avx512vl: { label: 'AVX-512VL', level: 4 },
  // Beyond the levels.
  avx512ifma: { label: 'AVX-512IFMA' },
  avx512vbmi: { label: 'AVX-512VBMI' },
  avx512_vbmi2: { label: 'AVX-512VBMI2' },
  avx512_vnni: { label: 'AVX-512VNNI' },
  avx512_bitalg: { label: 'AVX-512BITALG' },
  avx512_vpopcntdq: { label: 'AVX-512VPOPCNTDQ' },
  avx512_bf16: { label: 'AVX-512BF16' },
  avx512_fp16: { label: 'AVX-512FP16' },
  avx512_vp2intersect: { label: 'AVX-512VP2INTERSECT' },
  avx512er: { label: 'AVX-512ER' },
  avx512pf: { label: 'AVX-512PF' },
  avx512_4vnniw: { label: 'AVX-512_4VNNIW' },
  avx512_4fmaps: { label: 'AVX-512_4FMAPS' },
  avx_vnni: { label: 'AVX-VNNI' },
  avx_vnni_int8: { label: 'AVX-VNNI-INT8' },
  avx_ifma: { label: 'AVX-IFMA' },
  avx_ne_convert: { label: 'AVX-NE-CONVERT' },
  amx_tile: { label: 'AMX-TILE' },
  amx_int8: { label: 'AMX-INT8' },
  amx_bf16: { label: 'AMX-BF16' },
  amx_fp16: { label: 'AMX-FP16' },
  gfni: { label: 'GFNI' },
  vaes: { label: 'VAES' },
  vpclmulqdq: { label: 'VPCLMULQDQ' },
  aes: { label: 'AES-NI' },
  pclmulqdq: { label: 'PCLMULQDQ' },
  sha_ni: { label: 'SHA-NI' },
  adx: { label: 'ADX' },
  rdrand: { label: 'RDRAND' },
  rdseed: { label: 'RDSEED' },
  rtm: { label: 'RTM' },
  hle: { label: 'HLE' },
  xtest: { label: 'XTEST' },
  tsxldtrk: { label: 'TSXLDTRK' },
  xsaveopt: { label: 'XSAVEOPT' },
  xsavec: { label: 'XSAVEC' },
  xsaves: { label: 'XSAVES' },
  clflushopt: { label: 'CLFLUSHOPT' },
  clwb: { label: 'CLWB' },
  rdtscp: { label: 'RDTSCP' },
  rdpid: { label: 'RDPID' },
  fsgsbase: { label: 'FSGSBASE' },
  pku: { label: 'PKU' },
  movdiri: { label: 'MOVDIRI' },
  movdir64b: { label: 'MOVDIR64B' },
  serialize: { label: 'SERIALIZE' },
  waitpkg: { label: 'WAITPKG' },
  cldemote: { label: 'CLDEMOTE' },
  enqcmd: { label: 'ENQCMD' },
  shstk: { label: 'CET-SS' },
  ibt: { label: 'CET-IBT' },
  '3dnowprefetch': { label: 'PREFETCHW' },
  sse4a: { label: 'SSE4a' },
  xop: { label: 'XOP' },
  fma4: { label: 'FMA4' },
  tbm: { label: 'TBM' },
  clzero: { label: 'CLZERO' },
  mwaitx: { label: 'MWAITX' },
  rdpru: { label: 'RDPRU' },
  monitor: { label: 'MONITOR' },
  cmpccxadd: { label: 'CMPCCXADD' },
  prefetchi: { label: 'PREFETCHI' },
  wbnoinvd: { label: 'WBNOINVD' },
  invpcid: { label: 'INVPCID' },
  smap: { label: 'SMAP' },
  vmx: { label: 'VMX' },
  svm: { label: 'SVM' },
  // Added with the XED and CPUID tables (features/xed.ts, features/cpuinfo.ts): instruction sets that XED
  // conditions on a CPUID bit and the iced table can report; `mpx` also counts for CRIU's host-level check.
  mpx: { label: 'MPX' },
  smx: { label: 'SMX' },
  sha512: { label: 'SHA512' },
  sm3: { label: 'SM3' },
  sm4: { label: 'SM4' },
  rao_int: { label: 'RAO-INT' },
  hreset: { label: 'HRESET' },
  prefetchwt1: { label: 'PREFETCHWT1' },
  uintr: { label: 'UINTR' },
  amx_complex: { label: 'AMX-COMPLEX' },
  avx_vnni_int16: { label: 'AVX-VNNI-INT16' },
};

export const LEVELS = [1, 2, 3, 4] as const;
export type Level = (typeof LEVELS)[number];

/** The features that make up each x86-64 level (cumulative sets are built from these). */
export function levelFeatures(level: Level): Feature[] {
  return Object.keys(FEATURES).filter((f) => (FEATURES[f].level ?? 99) <= level);
}

/** The x86-64 baseline (v1): implied on every 64-bit x86 CPU, never a reason to refuse a target. */
export const BASELINE: ReadonlySet<Feature> = new Set(levelFeatures(1));

export function isKnownFeature(f: string): f is Feature {
  return Object.prototype.hasOwnProperty.call(FEATURES, f);
}

export function isBaseline(f: Feature): boolean {
  return BASELINE.has(f);
}

export function featureLabel(f: Feature): string {
  return FEATURES[f]?.label ?? f.toUpperCase();
}

export interface LevelSummary {
  /** The lowest level whose features include every levelled feature of the set. */
  level: Level;
  /** `x86-64-v3` style name. */
  name: string;
  /** Features of the set that no level includes (e.g. sha_ni, adx), sorted. */
  extras: Feature[];
}

/**
 * The x86-64 level of a feature set: the highest level any of its features belongs to. Features outside
 * the levels are listed as extras, so `v3 + sha_ni` reads right.
 */
export function x86Level(features: Iterable<Feature>): LevelSummary {
  let level: Level = 1;
  const extras: Feature[] = [];
  for (const f of features) {
    const l = FEATURES[f]?.level;
    if (l === undefined) extras.push(f);
    else if (l > level) level = l;
  }
  extras.sort();
  return { level, name: `x86-64-v${level}`, extras };
}

/**
 * The x86-64 level a CPU with these features can run: the highest level all of whose features it has
 * (levels are cumulative). Unlike x86Level, which names the level a requirement needs, one missing feature
 * lowers it: an AVX-512 host whose hypervisor hides LZCNT (abm) runs x86-64-v2 code only.
 */
export function supportedLevel(features: Iterable<Feature>): { level: Level; name: string; missing: Feature[] } {
  const have = new Set(features);
  let level: Level = 1;
  for (const l of LEVELS) {
    if (levelFeatures(l).every((f) => have.has(f))) level = l;
    else break;
  }
  const next = LEVELS.find((l) => l === level + 1);
  const missing = next ? levelFeatures(next).filter((f) => !have.has(f)).sort() : [];
  return { level, name: `x86-64-v${level}`, missing };
}

/** Sorts features for display: by level (highest first), then by name; unknown features last. */
export function sortFeatures(features: Iterable<Feature>): Feature[] {
  return [...new Set(features)].sort((a, b) => {
    const la = FEATURES[a]?.level ?? 5;
    const lb = FEATURES[b]?.level ?? 5;
    return lb - la || a.localeCompare(b);
  });
}
