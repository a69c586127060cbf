// Reads this machine's raw CPUID with a C fixture (test/fixtures/c/cpuid_dump.c) and evaluates XED ISA-SET
// conditions on it exactly as the Pygration collector does (no leaf range checks), so tests can compare the
// engine's tables and inference with the real CPU.

import { execFileSync } from 'node:child_process';
import { CPUID_BITS, type CpuidRegister } from '../../native/src/features/cpuinfo';
import { isaSetConditions, XED_TABLE, type XedTable } from '../../native/src/features/xed';
import { buildC } from './fixtures';

const REGS: CpuidRegister[] = ['eax', 'ebx', 'ecx', 'edx'];

/** Raw CPUID results keyed by `leaf:subleaf` (hex), each [eax, ebx, ecx, edx]. */
export type CpuidDump = Map<string, number[]>;

/** Runs the fixture for the given (leaf, subleaf) pairs. */
export function dumpCpuid(pairs: Iterable<[number, number]>): CpuidDump {
  const exe = buildC('c/cpuid_dump.c');
  const args = [...new Set([...pairs].map(([l, s]) => `${l.toString(16)}:${s.toString(16)}`))];
  const out = execFileSync(exe, args, { encoding: 'utf8' });
  const dump: CpuidDump = new Map();
  for (const line of out.trim().split('\n')) {
    const [l, s, ...regs] = line.split(' ');
    dump.set(`${l}:${s}`, regs.map((r) => parseInt(r, 16)));
  }
  return dump;
}

/** The (leaf, subleaf) and bits an atom of the XED table reads. */
export function atomCondition(atom: string): { leaf: number; subleaf: number; reg: CpuidRegister; lo: number; hi: number; value: number } {
  const bit = CPUID_BITS.get(atom);
  if (bit) return { leaf: bit.leaf, subleaf: bit.subleaf, reg: bit.register, lo: bit.bit, hi: bit.bit, value: 1 };
  const m = /^cpuid:([0-9a-f]+)\.([0-9a-f]+)\.(eax|ebx|ecx|edx)(?:\.(\d+)|\[(\d+):(\d+)\]=(\d+))$/.exec(atom);
  if (!m) throw new Error(`unexpected atom ${atom}`);
  const leaf = parseInt(m[1], 16);
  const subleaf = parseInt(m[2], 16);
  const reg = m[3] as CpuidRegister;
  if (m[4] !== undefined) return { leaf, subleaf, reg, lo: Number(m[4]), hi: Number(m[4]), value: 1 };
  return { leaf, subleaf, reg, lo: Number(m[5]), hi: Number(m[6]), value: Number(m[7]) };
}

/** Every (leaf, subleaf) the table's conditions and the feature table read. */
export function cpuidPairs(table: XedTable = XED_TABLE): [number, number][] {
  const pairs: [number, number][] = [[0, 0], [0x80000000, 0]];
  for (const alts of Object.values(table.isaSets)) for (const alt of alts) for (const a of alt) {
    const c = atomCondition(a);
    pairs.push([c.leaf, c.subleaf]);
  }
  for (const b of CPUID_BITS.values()) pairs.push([b.leaf, b.subleaf]);
  return pairs;
}

export function atomHolds(atom: string, dump: CpuidDump): boolean {
  const c = atomCondition(atom);
  const regs = dump.get(`${c.leaf.toString(16)}:${c.subleaf.toString(16)}`);
  if (!regs) throw new Error(`CPUID ${c.leaf.toString(16)}:${c.subleaf.toString(16)} was not dumped`);
  const width = c.hi - c.lo + 1;
  const mask = width === 32 ? 0xffffffff : (1 << width) - 1;
  return ((regs[REGS.indexOf(c.reg)] >>> c.lo) & mask) === c.value;
}

/** The raw CPUID bit of a feature on this machine (no range check, like the collector). */
export function featureBit(feature: string, dump: CpuidDump): boolean {
  return atomHolds(feature, dump);
}

/** The ISA-SETs this machine's CPUID supports according to the table, evaluated like the collector. */
export function collectorIsaSets(dump: CpuidDump, table: XedTable = XED_TABLE): string[] {
  return Object.keys(table.isaSets).filter((s) => {
    const alts = isaSetConditions(s, table)!;
    return alts.length === 0 || alts.some((alt) => alt.every((a) => atomHolds(a, dump)));
  });
}
