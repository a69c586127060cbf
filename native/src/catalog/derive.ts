// Derivation of the shipped data files from the project's shared data (used by scripts/derive-data.mjs and
// by the test that checks the committed files are up to date): the XED table and the AWS EC2 catalog, whose
// measured rows come from the collected data sets and whose derived rows come from each family's
// micro-architecture (native/data/aws-ec2-families.json + archspec), for every x86 name of the AWS SDK.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { NativeError } from '../errors';
import { deriveXedTable, inferFeatures, type XedTable } from '../features/xed';
import { BASELINE, isKnownFeature, type Feature } from '../features/vocabulary';
import { formatCatalogFile, parseCatalog, toCatalogFile, type Catalog, type CatalogFile, type InstanceType, type Provenance } from './catalog';

export const XED_CPUID_FILE = 'xed-isa-set-cpuid.json';
export const AWS_ISA_SETS_FILE = 'aws-ec2-x86-isa-sets.json';
export const XED_TABLE_OUT = path.join('native', 'data', 'xed-isa-set-features.json');
export const AWS_CATALOG_OUT = path.join('native', 'data', 'aws-ec2.catalog.json');
/** The measured Ice Lake row (c6i.16xlarge), from an older collector: present ISA-SETs only. */
export const AWS_C6I_FILE = 'aws-ec2-icelake-c6i-isa-sets.json';
export const ARCHSPEC_FILE = path.join('archspec', 'microarchitectures.json');
/** The hand-written family table (in the repository, reviewed like code). */
export const FAMILIES_FILE = path.join('native', 'data', 'aws-ec2-families.json');

/** The shared data directory: `../shared/data` next to the repository first, then /work/shared/data. */
export function sharedDataDir(repoRoot: string): string | undefined {
  for (const dir of [path.resolve(repoRoot, '..', 'shared', 'data'), '/work/shared/data']) {
    if (fs.existsSync(path.join(dir, XED_CPUID_FILE)) && fs.existsSync(path.join(dir, AWS_ISA_SETS_FILE))) return dir;
  }
  return undefined;
}

/** Serializes the XED table stably: one ISA-SET per line. */
export function formatXedTable(table: XedTable): string {
  const names = Object.keys(table.isaSets);
  const lines = ['{', `  "about": ${JSON.stringify(table.about)},`, `  "source": ${JSON.stringify(table.source)},`, '  "isaSets": {'];
  names.forEach((n, i) => lines.push(`    ${JSON.stringify(n)}: ${JSON.stringify(table.isaSets[n])}${i < names.length - 1 ? ',' : ''}`));
  lines.push('  }', '}');
  return lines.join('\n') + '\n';
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new NativeError('io', `Cannot read ${file}: ${(e as Error).message}`, { subject: file, cause: e });
  }
}

export interface DerivedData {
  table: XedTable;
  tableText: string;
  catalog: Catalog;
  catalogFile: CatalogFile;
  catalogText: string;
  /** The features derived for each micro-architecture of the family table (sorted, baseline included). */
  microarchitectures: Record<string, Feature[]>;
  /** The measured c6i.16xlarge row as its own data proves it (before the unobserved features are filled in). */
  c6iMeasured: Feature[];
  /** AWS SDK names of x86 types that are neither measured nor derived nor excluded (should be empty). */
  unclassified: string[];
  /** Counts by provenance. */
  counts: { measured: number; derived: number; excluded: number };
}

/** One micro-architecture of the family table: archspec's entry plus what the table adds or withholds. */
export interface MicroarchitectureEntry {
  archspec: string;
  add?: Feature[];
  withhold?: Feature[];
  why: string;
  xsave?: string;
}

export interface FamilyEntry {
  cpu: string;
  generation: string;
  microarchitecture: string;
  memoryPerVcpu?: number;
  metalVcpu?: number;
  /** Explicit sizes: size → [vCPU, memory GiB]. */
  sizes?: Record<string, [number, number]>;
  confidence: 'high' | 'medium' | 'low';
  note?: string;
}

export interface FamilyTable {
  about: string;
  microarchitectures: Record<string, MicroarchitectureEntry>;
  families: Record<string, FamilyEntry>;
  excluded: { arm: string[]; previous: string[]; unknown: string[]; [reason: string]: string | string[] };
}

function malformed(subject: string, message: string): never {
  throw new NativeError('malformed', `${subject}: ${message}`, { subject });
}

/** Reads and checks the family table: every family names a micro-architecture of the table. */
export function readFamilyTable(file: string): FamilyTable {
  const t = readJson(file) as FamilyTable;
  const subject = path.basename(file);
  if (!t || typeof t.microarchitectures !== 'object' || typeof t.families !== 'object' || typeof t.excluded !== 'object') {
    malformed(subject, 'expected "microarchitectures", "families" and "excluded".');
  }
  for (const [name, m] of Object.entries(t.microarchitectures)) {
    for (const f of [...(m.add ?? []), ...(m.withhold ?? [])]) if (!isKnownFeature(f)) malformed(subject, `microarchitectures.${name}: "${f}" is not a feature of the vocabulary.`);
  }
  for (const [name, f] of Object.entries(t.families)) {
    if (!t.microarchitectures[f.microarchitecture]) malformed(subject, `families.${name}: unknown microarchitecture "${f.microarchitecture}".`);
    if (!f.sizes && !(typeof f.memoryPerVcpu === 'number' && f.memoryPerVcpu > 0)) malformed(subject, `families.${name}: give "memoryPerVcpu" or "sizes".`);
  }
  return t;
}

/**
 * The features of a micro-architecture: archspec's list (only names of our vocabulary: archspec also lists
 * flags such as flush_l1d) plus the table's additions, minus what it withholds, plus the x86-64 baseline.
 */
export function microarchitectureFeatures(entry: MicroarchitectureEntry, archspec: Record<string, { features?: string[] }>, subject = 'microarchitectures.json'): Feature[] {
  const a = archspec[entry.archspec];
  if (!a || !Array.isArray(a.features)) malformed(subject, `no microarchitecture "${entry.archspec}".`);
  const out = new Set<Feature>([...BASELINE, ...a.features!.filter(isKnownFeature), ...(entry.add ?? [])]);
  for (const f of entry.withhold ?? []) out.delete(f);
  // xtest executes wherever RTM or HLE is reported (as in catalog.ts).
  if (out.has('rtm') || out.has('hle')) out.add('xtest');
  return [...out].sort();
}

/**
 * vCPUs of a size on AWS's ladder: medium 1, large 2, xlarge 4, Nxlarge 4N, metal-Nxl 4N, metal = the
 * family's metalVcpu. Undefined for sizes off the ladder (nano, micro, small, a metal without metalVcpu).
 */
export function ladderVcpu(size: string, metalVcpu?: number): number | undefined {
  if (size === 'medium') return 1;
  if (size === 'large') return 2;
  if (size === 'xlarge') return 4;
  const m = /^(?:metal-)?(\d+)xl(?:arge)?$/.exec(size);
  if (m && (size.startsWith('metal-') ? size.endsWith('xl') : size.endsWith('xlarge'))) return 4 * Number(m[1]);
  if (size === 'metal') return metalVcpu;
  return undefined;
}

/** The x86 instance type names of the AWS SDK's EC2 model (@aws-sdk/client-ec2, `_InstanceType`), sorted. */
export function sdkInstanceTypes(repoRoot: string): string[] {
  const req = createRequire(path.join(repoRoot, 'package.json'));
  let mod: { _InstanceType?: Record<string, string> };
  try {
    mod = req('@aws-sdk/client-ec2') as typeof mod;
  } catch (e) {
    throw new NativeError('io', `Cannot load @aws-sdk/client-ec2 (a devDependency: run npm install): ${(e as Error).message}`, { subject: '@aws-sdk/client-ec2', cause: e });
  }
  if (!mod._InstanceType) malformed('@aws-sdk/client-ec2', 'no _InstanceType enum.');
  return [...new Set(Object.values(mod._InstanceType!))].sort();
}

/** The family of an SDK name (before the first '.'), e.g. `u7i-12tb` of `u7i-12tb.224xlarge`. */
function familyName(name: string): string {
  return name.slice(0, name.indexOf('.'));
}

/**
 * The c6i.16xlarge row's features as its own data proves them. Its collector predates XED's AVX10
 * alternatives (it names AVX512F_KOP, which XED has since split into _KOPW etc.) and lists only the
 * ISA-SETs reported present: so the AVX10 alternatives are dropped from the table (in that XED, AVX512F_512
 * meant avx512f), and nothing is evaluated but what is listed (no negative evidence at all).
 */
export function c6iProvenFeatures(dataDir: string, table: XedTable): { name: string; cpu: string; features: Feature[]; xtest: boolean } {
  const c6i = readJson(path.join(dataDir, AWS_C6I_FILE)) as { types?: { name: string; cpu: string; isaSets: string[] }[] };
  const t = c6i?.types?.[0];
  if (!t || !Array.isArray(t.isaSets)) malformed(AWS_C6I_FILE, 'expected "types"[0].isaSets.');
  const preAvx10: XedTable = { ...table, isaSets: {} };
  for (const [k, alts] of Object.entries(table.isaSets)) {
    const kept = alts.filter((alt) => !alt.includes('cpuid:7.1.edx.19'));
    preAvx10.isaSets[k] = kept.length ? kept : alts;
  }
  const listed = t!.isaSets.filter((s) => s !== 'XTEST');
  const r = inferFeatures(listed, { evaluated: listed, table: preAvx10 });
  const xtest = t!.isaSets.includes('XTEST');
  const features = new Set<Feature>([...BASELINE, ...r.present]);
  if (xtest) features.add('xtest');
  return { name: t!.name, cpu: t!.cpu, features: [...features].sort(), xtest };
}

/**
 * Derives both shipped files from the shared data directory. The catalog's measured rows are the AWS
 * dataset read as an XED-form catalog (instances keyed by name with `supported` ISA-SETs, `isaSets` = what
 * the collector evaluated, converted by inference through the freshly derived table) and the c6i.16xlarge
 * row; its derived rows are every other x86 name of the AWS SDK whose family the family table describes,
 * with the features of the family's micro-architecture. Measured rows win over derived ones. Sorted by name.
 */
export function deriveData(dataDir: string, repoRoot: string = path.resolve(__dirname, '..', '..', '..', '..')): DerivedData {
  const xedJson = readJson(path.join(dataDir, XED_CPUID_FILE));
  const table = deriveXedTable(xedJson, XED_CPUID_FILE);
  const aws = readJson(path.join(dataDir, AWS_ISA_SETS_FILE)) as { about?: string; isaSets?: unknown; instances?: Record<string, unknown> };
  if (!aws || typeof aws.instances !== 'object' || aws.instances === null) {
    throw new NativeError('malformed', `${AWS_ISA_SETS_FILE}: expected "instances".`, { subject: AWS_ISA_SETS_FILE });
  }
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(aws.instances).sort()) sorted[k] = aws.instances[k];
  const collected = /Collected on live instances by the Pygration authors \(([^)]*)\)/.exec(aws.about ?? '')?.[1];
  const measured = parseCatalog(
    { name: 'aws-ec2', isaSets: aws.isaSets, instances: sorted },
    AWS_ISA_SETS_FILE,
    { table },
  );
  const measuredProvenance: Provenance = { kind: 'measured', basis: AWS_ISA_SETS_FILE };
  for (const i of measured.instances) i.provenance = measuredProvenance;

  const families = readFamilyTable(path.join(repoRoot, FAMILIES_FILE));
  const archspec = (readJson(path.join(dataDir, ARCHSPEC_FILE)) as { microarchitectures?: Record<string, { features?: string[] }> }).microarchitectures;
  if (!archspec) malformed(ARCHSPEC_FILE, 'expected "microarchitectures".');
  const micro: Record<string, Feature[]> = {};
  for (const [name, m] of Object.entries(families.microarchitectures)) micro[name] = microarchitectureFeatures(m, archspec!, ARCHSPEC_FILE);

  const { c6i, c6iRow } = c6iMeasuredRow(dataDir, table, families, micro);

  const measuredNames = new Set([...measured.instances.map((i) => i.name), c6iRow.name]);
  const { derivedEntries, unclassified, excludedCount } = derivedRows(repoRoot, measuredNames, families, micro);
  const derived = parseCatalog({ name: 'aws-ec2-derived', instances: derivedEntries }, FAMILIES_FILE);

  const instances = [...measured.instances, c6iRow, ...derived.instances].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const catalog: Catalog = {
    name: 'aws-ec2',
    source:
      `AWS EC2 x86-64 instance types: ${measuredNames.size} measured (CPUID ISA-SETs collected on live instances by the Pygration authors${collected ? ` (${collected})` : ''}, ` +
      `features inferred through ${table.source}), ${derived.instances.length} derived from their CPU's micro-architecture (native/data/aws-ec2-families.json, archspec); ` +
      'names from the AWS SDK (@aws-sdk/client-ec2).',
    instances,
  };
  const warnings = [...(measured.warnings ?? []), ...(derived.warnings ?? [])];
  if (unclassified.length) warnings.push(`AWS SDK types neither measured, derived nor excluded (add their family to ${FAMILIES_FILE}): ${unclassified.join(', ')}.`);
  if (warnings.length) catalog.warnings = warnings;
  const catalogFile = toCatalogFile(
    catalog,
    'GENERATED by scripts/derive-data.mjs; do not edit. Canonical features (Linux /proc/cpuinfo flags) of each instance type. Rows with provenance "measured" are inferred soundly from the XED ISA-SETs its CPUID reported (undecidable features are treated as absent); rows with provenance "derived" carry the features of their CPU\'s micro-architecture, not a measurement. See docs/catalog.md.',
  );
  return {
    table,
    tableText: formatXedTable(table),
    catalog,
    catalogFile,
    catalogText: formatCatalogFile(catalogFile),
    microarchitectures: micro,
    c6iMeasured: c6i.features,
    unclassified,
    counts: { measured: measuredNames.size, derived: derived.instances.length, excluded: excludedCount },
  };
}


/**
 * The measured Ice Lake row (c6i.16xlarge): what its data proves, and the features its collector could not
 * observe (no negative evidence at all) from the derivation, named in the provenance note.
 */
function c6iMeasuredRow(dataDir: string, table: XedTable, families: FamilyTable, micro: Record<string, Feature[]>): { c6i: ReturnType<typeof c6iProvenFeatures>; c6iRow: InstanceType } {
  const c6i = c6iProvenFeatures(dataDir, table);
  const c6iFamily = families.families[familyName(c6i.name)];
  const c6iDerived = micro[c6iFamily?.microarchitecture ?? 'icelake'] ?? [];
  const filled = c6iDerived.filter((f) => !c6i.features.includes(f));
  const c6iVcpu = ladderVcpu(c6i.name.slice(c6i.name.indexOf('.') + 1), c6iFamily?.metalVcpu) ?? 0;
  const c6iRow: InstanceType = {
    name: c6i.name,
    family: familyName(c6i.name),
    cpu: c6iFamily?.cpu ?? c6i.cpu,
    vendor: 'intel',
    generation: c6iFamily?.generation ?? 'Ice Lake',
    vcpu: c6iVcpu,
    memoryGiB: c6iVcpu * (c6iFamily?.memoryPerVcpu ?? 0),
    features: [...new Set([...c6i.features, ...filled])].sort(),
    provenance: {
      kind: 'measured',
      basis: AWS_C6I_FILE,
      note: filled.length
        ? `Its collector reported present ISA-SETs only; ${filled.join(', ')} (not observable there) come from the icelake derivation.`
        : undefined,
    },
  };
  if (!c6iRow.provenance!.note) delete c6iRow.provenance!.note;
  return { c6i, c6iRow };
}

/** The derived rows: every SDK type not measured whose family the table knows, sized by its ladder. */
function derivedRows(repoRoot: string, measuredNames: Set<string>, families: FamilyTable, micro: Record<string, Feature[]>): { derivedEntries: Record<string, unknown>[]; unclassified: string[]; excludedCount: number } {
  const excluded = new Set([...families.excluded.arm, ...families.excluded.previous, ...families.excluded.unknown]);
  const derivedEntries: Record<string, unknown>[] = [];
  const unclassified: string[] = [];
  let excludedCount = 0;
  for (const name of sdkInstanceTypes(repoRoot)) {
    if (measuredNames.has(name)) continue;
    const fam = familyName(name);
    const f = families.families[fam];
    if (!f) {
      if (excluded.has(fam)) excludedCount++;
      else unclassified.push(name);
      continue;
    }
    const size = name.slice(fam.length + 1);
    const explicit = f.sizes?.[size];
    const vcpu = explicit ? explicit[0] : ladderVcpu(size, f.metalVcpu);
    if (vcpu === undefined) {
      unclassified.push(name);
      continue;
    }
    const memoryGiB = explicit ? explicit[1] : vcpu * f.memoryPerVcpu!;
    const provenance: Provenance = { kind: 'derived', basis: f.microarchitecture, confidence: f.confidence };
    derivedEntries.push({ name, cpu: f.cpu, generation: f.generation, vcpu, memoryGiB, features: micro[f.microarchitecture], provenance });
  }
  return { derivedEntries, unclassified, excludedCount };
}
