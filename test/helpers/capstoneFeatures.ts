// The EPT tests' independent expectation: the CPU features of one fixture function, found by disassembling
// its symbol's range with capstone (not the engine's iced decoder) and reading capstone's instruction groups.
//
// Capstone's groups name most ISA extensions (AVX2, SHA, ADX, BMI2, AVX-512 and its CD/DQ/BW/VL subsets, ...).
// For the instructions capstone 5 puts in no extension group (RDSEED, XTEST, LZCNT, MOVBE, GFNI, VNNI, the later
// AVX-512 subsets), the feature comes from the Intel SDM's CPUID column for the mnemonic (MNEMONIC_FEATURES
// below), with AVX512VL added for their EVEX 128/256-bit forms as the SDM lists it. Names are /proc/cpuinfo
// flags (native/src/features/vocabulary.ts); the x86-64 baseline (SSE2, CMOV, ...) is never a feature.

import * as assert from 'node:assert/strict';
import { Capstone, Const, loadCapstone } from 'capstone-wasm';
import type { ModuleImage } from '../../native/src/space/space';

/** Capstone group name → feature; groups absent here (jump, call, mode64, sse2, cmov, novlx, ...) add none. */
const GROUP_FEATURES: Readonly<Record<string, string>> = {
  aes: 'aes',
  adx: 'adx',
  avx: 'avx',
  avx2: 'avx2',
  avx512: 'avx512f',
  cdi: 'avx512cd',
  eri: 'avx512er',
  pfi: 'avx512pf',
  dqi: 'avx512dq',
  bwi: 'avx512bw',
  vlx: 'avx512vl',
  bmi: 'bmi1',
  bmi2: 'bmi2',
  fc16: 'f16c',
  fma: 'fma',
  fma4: 'fma4',
  fsgsbase: 'fsgsbase',
  rtm: 'rtm',
  sha: 'sha_ni',
  sse3: 'pni',
  ssse3: 'ssse3',
  sse41: 'sse4_1',
  sse42: 'sse4_2',
  sse4a: 'sse4a',
  pclmul: 'pclmulqdq',
  xop: 'xop',
  tbm: 'tbm',
};

/** Intel SDM CPUID column for mnemonics in no capstone extension group (EVEX forms: the `evex` feature). */
const MNEMONIC_FEATURES: Readonly<Record<string, { vex?: string; evex?: string; legacy?: string }>> = {
  rdseed: { legacy: 'rdseed' },
  rdrand: { legacy: 'rdrand' },
  xtest: { legacy: 'xtest' },
  lzcnt: { legacy: 'abm' },
  popcnt: { legacy: 'popcnt' },
  movbe: { legacy: 'movbe' },
  xgetbv: { legacy: 'xsave' },
  gf2p8affineqb: { legacy: 'gfni', vex: 'gfni', evex: 'gfni' },
  gf2p8affineinvqb: { legacy: 'gfni', vex: 'gfni', evex: 'gfni' },
  gf2p8mulb: { legacy: 'gfni', vex: 'gfni', evex: 'gfni' },
  vpdpbusd: { vex: 'avx_vnni', evex: 'avx512_vnni' },
  vpdpbusds: { vex: 'avx_vnni', evex: 'avx512_vnni' },
  vpdpwssd: { vex: 'avx_vnni', evex: 'avx512_vnni' },
  vpdpwssds: { vex: 'avx_vnni', evex: 'avx512_vnni' },
  vpmadd52luq: { vex: 'avx_ifma', evex: 'avx512ifma' },
  vpmadd52huq: { vex: 'avx_ifma', evex: 'avx512ifma' },
  vpopcntd: { evex: 'avx512_vpopcntdq' },
  vpopcntq: { evex: 'avx512_vpopcntdq' },
  vpopcntb: { evex: 'avx512_bitalg' },
  vpopcntw: { evex: 'avx512_bitalg' },
  vpshufbitqmb: { evex: 'avx512_bitalg' },
  vpermb: { evex: 'avx512vbmi' },
  vpermi2b: { evex: 'avx512vbmi' },
  vpermt2b: { evex: 'avx512vbmi' },
  vpmultishiftqb: { evex: 'avx512vbmi' },
  vpcompressb: { evex: 'avx512_vbmi2' },
  vpcompressw: { evex: 'avx512_vbmi2' },
  vpexpandb: { evex: 'avx512_vbmi2' },
  vpexpandw: { evex: 'avx512_vbmi2' },
  ...Object.fromEntries(['vpshldw', 'vpshldd', 'vpshldq', 'vpshldvw', 'vpshldvd', 'vpshldvq', 'vpshrdw', 'vpshrdd', 'vpshrdq', 'vpshrdvw', 'vpshrdvd', 'vpshrdvq'].map((m) => [m, { evex: 'avx512_vbmi2' }])),
};

/** FMA3 (VFMADD132PS ... VFNMSUB231SD): capstone 5 leaves its scalar forms in no group; VEX needs FMA, EVEX AVX512F. */
const FMA3 = /^vf(n?m(add|sub)|maddsub|msubadd)(132|213|231)(ps|pd|ss|sd)$/;

/**
 * EVEX forms capstone 5 puts in no group whose SDM CPUID column is AVX512F (AVX512VL as well below 512 bits).
 * Only the ones the fixture kernels contain: an EVEX instruction that is in no group and not listed here
 * fails the helper, so that its SDM entry is added rather than guessed.
 */
const AVX512F_MNEMONICS = new Set(['vpbroadcastd', 'vpbroadcastq', 'vbroadcastss', 'vbroadcastsd']);

/** VEX forms capstone 5 puts in no group whose SDM CPUID column is AVX (the same rule: listed, never guessed). */
const AVX_MNEMONICS = new Set(['vcvtss2si', 'vcvtsd2si', 'vcvttss2si', 'vcvttsd2si', 'vcvtsi2ss', 'vcvtsi2sd']);

/** GFNI's VEX forms also need AVX, its EVEX forms AVX512F (and VL below 512 bits), as the SDM lists them. */
const GFNI_VEX_EXTRA = 'avx';

let ready: Promise<void> | undefined;
let cs: Capstone | undefined;
/** Capstone's emscripten module: its heap holds the instruction that cs_insn_group reads. */
const wasm: { getValue?: (ptr: number, type: string) => number } = {};
let groupIds: [number, string][] = [];

/** Loads capstone once per test process (x86-64, with instruction details for the groups). */
export async function loadCapstoneFeatures(): Promise<void> {
  ready ??= (async () => {
    await loadCapstone(wasm);
    assert.ok(wasm.getValue, 'capstone-wasm exposes its heap through the module object');
    cs = new Capstone(Const.CS_ARCH_X86, Const.CS_MODE_64);
    cs.setOption(Const.CS_OPT_DETAIL, Const.CS_OPT_ON);
    groupIds = [];
    for (let g = 1; g < 256; g++) {
      const name = cs.getGroupName(g);
      if (name) groupIds.push([g, name]);
    }
  })();
  return ready;
}

/** The capstone group names of the one instruction at the start of `bytes` (undefined when it does not decode). */
function groupsOf(bytes: Uint8Array, address: number): string[] | undefined {
  const handle = cs!.handle;
  const slot = Capstone.call('malloc', 4) as number;
  try {
    const n = Capstone.call('cs_disasm', handle, bytes, bytes.length, BigInt(address), 1, slot) as number;
    if (n === 0) return undefined;
    const insn = wasm.getValue!(slot, '*');
    try {
      return groupIds.filter(([g]) => Capstone.call('cs_insn_group', handle, insn, g)).map(([, name]) => name);
    } finally {
      Capstone.call('cs_free', insn, n);
    }
  } finally {
    Capstone.call('free', slot);
  }
}

/** The instruction's encoding: its first byte after the legacy prefixes is 62 (EVEX) or C4/C5 (VEX) in 64-bit mode. */
function encodingOf(bytes: Uint8Array): 'evex' | 'vex' | 'legacy' {
  const LEGACY_PREFIXES = [0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];
  let k = 0;
  while (k < bytes.length && LEGACY_PREFIXES.includes(bytes[k])) k++;
  return bytes[k] === 0x62 ? 'evex' : bytes[k] === 0xc4 || bytes[k] === 0xc5 ? 'vex' : 'legacy';
}

/** The features one instruction needs, from its capstone groups and, where those say nothing, its mnemonic. */
function instructionFeatures(bytes: Uint8Array, mnemonic: string, opStr: string, groups: string[]): string[] {
  const out = groups.flatMap((g) => (g in GROUP_FEATURES ? [GROUP_FEATURES[g]] : []));
  const encoding = encodingOf(bytes);
  const evex = encoding === 'evex';
  const vex = encoding === 'vex';
  const rule = FMA3.test(mnemonic) ? { vex: 'fma', evex: 'avx512f' } : AVX512F_MNEMONICS.has(mnemonic) ? { evex: 'avx512f' } : AVX_MNEMONICS.has(mnemonic) ? { vex: 'avx' } : MNEMONIC_FEATURES[mnemonic];
  if (rule) {
    const feature = evex ? rule.evex : vex ? rule.vex : rule.legacy;
    assert.ok(feature, `capstone decoded ${mnemonic} ${opStr} in an encoding the SDM table does not list`);
    out.push(feature);
    if (evex && !/zmm/.test(opStr)) out.push('avx512vl');
    if (evex && feature === 'gfni' && /zmm/.test(opStr)) out.push('avx512f');
    if (vex && feature === 'gfni') out.push(GFNI_VEX_EXTRA);
  } else if (out.length === 0 && (evex || vex)) {
    assert.fail(`capstone puts ${mnemonic} ${opStr} (${encoding}) in no extension group and the SDM table lacks it: add its CPUID column`);
  }
  return out;
}

/**
 * Features of one function of `m` by capstone: its symbol's range disassembled linearly, each instruction's
 * groups (and the SDM table) mapped to features. Call loadCapstoneFeatures() first (in a `before`).
 */
export function capstoneFeaturesOf(m: ModuleImage, name: string): Set<string> {
  assert.ok(cs, 'loadCapstoneFeatures() ran');
  const s = m.elf.findSymbol(name);
  assert.ok(s && s.size > 0, `sized symbol ${name} in ${m.path}`);
  const code = m.elf.readVirtual(s.value, s.size);
  const out = new Set<string>();
  for (let off = 0; off < code.length; ) {
    const rest = code.subarray(off);
    const [insn] = cs.disasm(rest, { address: s.value + off, count: 1 });
    assert.ok(insn && insn.size > 0, `capstone decodes ${name}+0x${off.toString(16)} in ${m.path}`);
    const groups = groupsOf(rest, s.value + off) ?? [];
    for (const f of instructionFeatures(insn.bytes, insn.mnemonic, insn.opStr, groups)) out.add(f);
    off += insn.size;
  }
  return out;
}
