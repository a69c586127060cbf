// Recorded CPUs for host-independent tests: the real /proc/cpuinfo dumps of archspec's targets and of our own
// hosts (shared/data), archspec's microarchitecture feature lists, and its one recorded raw CPUID dump.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { sharedDataDir } from '../../native/src/catalog/derive';
import { REPO_ROOT } from './fixtures';
import { skipUnless } from './skip';

/** shared/data (../shared/data beside the clone, as in CI), or undefined. */
export const SHARED_DATA = sharedDataDir(REPO_ROOT);

/**
 * The `skip` option of tests that need the recorded data: they run wherever shared/data is, and under
 * CI=true its absence fails the run (skipUnless).
 */
export function needsRecordedData(): false | string {
  return skipUnless(SHARED_DATA && fs.existsSync(path.join(SHARED_DATA, 'archspec', 'targets')), 'the recorded CPUs of shared/data (../shared/data beside the clone) are not available');
}

export interface RecordedCpu {
  /** The file name, e.g. `linux-rocky9-zen5`. */
  name: string;
  file: string;
  /** The archspec microarchitecture the dump is of (from archspec's own file naming), when there is one. */
  microarch?: string;
}

/** Every recorded Linux /proc/cpuinfo: archspec's x86 targets, then ours (shared/data/cpuinfo). */
export function recordedCpus(dataDir = SHARED_DATA!): RecordedCpu[] {
  const out: RecordedCpu[] = [];
  const archspec = path.join(dataDir, 'archspec', 'targets');
  for (const name of fs.readdirSync(archspec).sort()) {
    const m = /^linux-[^-]+-(.+)$/.exec(name);
    if (!m) continue; // windows-cpuid-icelake is a raw CPUID dump, read by recordedCpuid().
    const file = path.join(archspec, name);
    if (!/^flags\s*:/m.test(fs.readFileSync(file, 'utf8'))) continue; // not x86 (no flags line)
    out.push({ name, file, microarch: m[1] });
  }
  const ours = path.join(dataDir, 'cpuinfo');
  for (const name of fs.readdirSync(ours).sort()) {
    if (name.endsWith('.md')) continue;
    out.push({ name, file: path.join(ours, name) });
  }
  return out;
}

export interface Microarch {
  name: string;
  vendor: string;
  /** Its features in /proc/cpuinfo names (archspec lists them cumulatively). */
  features: string[];
}

/** archspec's microarchitectures (microarchitectures.json). */
export function archspecMicroarchs(dataDir = SHARED_DATA!): Map<string, Microarch> {
  const json = JSON.parse(fs.readFileSync(path.join(dataDir, 'archspec', 'microarchitectures.json'), 'utf8')) as {
    microarchitectures: Record<string, { vendor: string; features: string[] }>;
  };
  return new Map(Object.entries(json.microarchitectures).map(([name, m]) => [name, { name, vendor: m.vendor, features: m.features }]));
}

/**
 * archspec's recorded raw CPUID of an Ice Lake (targets/windows-cpuid-icelake): lines of
 * `leaf, subleaf, eax, ebx, ecx, edx` in decimal, keyed like test/helpers/cpuid.ts (`leaf:subleaf` in hex).
 */
export function recordedCpuid(dataDir = SHARED_DATA!): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const line of fs.readFileSync(path.join(dataDir, 'archspec', 'targets', 'windows-cpuid-icelake'), 'utf8').split('\n')) {
    const v = line.split(',').map((x) => Number(x.trim()));
    if (v.length !== 6 || v.some((x) => !Number.isInteger(x))) continue;
    out.set(`${v[0].toString(16)}:${v[1].toString(16)}`, v.slice(2));
  }
  return out;
}
