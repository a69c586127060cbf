// Instance catalogs: the types (InstanceType, Catalog), the shipped AWS EC2 catalog, and loading user
// catalogs from JSON in canonical features or in XED ISA-SETs, validated with messages naming the entry.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { NativeError } from '../errors';
import { readUserJson } from '../userFile';
import { type Provenance, type Vendor } from '../report';
import { vendorOf } from '../features/cpuinfo';
import { inferFeatures, XED_TABLE, type XedTable } from '../features/xed';
import { BASELINE, isKnownFeature, type Feature } from '../features/vocabulary';
import shippedCatalogJson from '../../data/aws-ec2.catalog.json';

export type { Provenance };

export interface InstanceType {
  /** e.g. `m5.large`. */
  name: string;
  /** The name before the first '.', e.g. `m5`. */
  family: string;
  /** CPU model, e.g. `Intel Xeon Platinum 8175`; empty when unknown. */
  cpu: string;
  vendor: Vendor;
  /** Micro-architecture, e.g. `Skylake`; empty when unknown. */
  generation: string;
  vcpu: number;
  memoryGiB: number;
  /** Canonical features the type is known to have, sorted; always includes the x86-64 baseline. */
  features: Feature[];
  /** Features the source data could not decide (treated as absent), when the catalog records them. */
  undecidable?: Feature[];
  /** Measured or derived, and from what (absent when the catalog does not say). */
  provenance?: Provenance;
}

export interface Catalog {
  name: string;
  /** Where the data comes from (provenance), or the file it was loaded from. */
  source: string;
  instances: InstanceType[];
  /** Non-fatal remarks from loading (unknown flags dropped, inference contradictions), one sentence each. */
  warnings?: string[];
}

/** The compact on-disk form: distinct feature sets stored once, instances refer to them by index. */
export interface CatalogFile {
  name: string;
  source: string;
  about?: string;
  featureSets: { features: Feature[]; undecidable?: Feature[] }[];
  instances: { name: string; cpu: string; generation: string; vcpu: number; memoryGiB: number; featureSet: number; provenance?: Provenance }[];
}

export interface ParseCatalogOptions {
  /** XED table for catalogs in ISA-SETs (default: the shipped one). */
  table?: XedTable;
}

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const FLAG_SYNTAX = /^[a-z0-9_]+$/;
const ISA_SET_SYNTAX = /^[A-Z0-9_]+$/;

/** Family of an instance type name: the part before the first '.'. */
export function familyOf(name: string): string {
  const dot = name.indexOf('.');
  return dot < 0 ? name : name.slice(0, dot);
}

/** Sorted canonical features with the x86-64 baseline added. */
function withBaseline(features: Iterable<Feature>): Feature[] {
  return [...new Set([...BASELINE, ...features])].sort();
}

/**
 * xtest executes without #UD whenever CPUID reports RTM or HLE (Intel SDM, XTEST), so those imply it.
 * Without them it is only present when a probe says so (an explicit `xtest: true` in the data).
 */
function withXtest(features: Set<Feature>, explicit: boolean | undefined): void {
  if (explicit === false) {
    features.delete('xtest');
    return;
  }
  if (explicit === true || features.has('rtm') || features.has('hle')) features.add('xtest');
}

class CatalogParser {
  readonly warnings: string[] = [];
  private readonly inferCache = new Map<string, ReturnType<typeof inferFeatures>>();
  private readonly finalFeatures = new Map<string, Feature[]>();
  constructor(
    private readonly subject: string,
    private readonly table: XedTable,
    private readonly evaluated: string[] | undefined,
  ) {}

  fail(where: string, message: string): never {
    throw new NativeError('malformed', `${this.subject}: ${where}: ${message}`, {
      subject: this.subject,
      hint: 'See docs/catalog.md for the catalog formats.',
    });
  }

  stringList(v: Json, where: string, field: string): string[] {
    if (!Array.isArray(v)) this.fail(where, `"${field}" must be an array of strings.`);
    return v.map((x, i) => {
      if (typeof x !== 'string') this.fail(where, `"${field}"[${i}] is not a string.`);
      return x;
    });
  }

  features(v: Json, where: string, field = 'features'): Set<Feature> {
    const out = new Set<Feature>();
    const unknown: string[] = [];
    for (const f of this.stringList(v, where, field)) {
      if (!FLAG_SYNTAX.test(f)) this.fail(where, `"${f}" is not a feature name (expected a /proc/cpuinfo flag such as avx2).`);
      if (isKnownFeature(f)) out.add(f);
      else unknown.push(f);
    }
    if (unknown.length) this.warnings.push(`${where}: ignored flags that are not instruction features: ${unknown.join(', ')}.`);
    return out;
  }

  infer(isaSets: string[], where: string): { features: Set<Feature>; undecidable: Feature[] } {
    for (const s of isaSets) {
      if (!ISA_SET_SYNTAX.test(s)) this.fail(where, `"${s}" is not an XED ISA-SET name (expected e.g. AVX512F_512).`);
    }
    const key = [...new Set(isaSets)].sort().join(',');
    let r = this.inferCache.get(key);
    if (!r) {
      r = inferFeatures(isaSets, { evaluated: this.evaluated, table: this.table });
      this.inferCache.set(key, r);
      if (r.ignoredIsaSets.length) {
        this.warnings.push(
          `${where}: ignored ${r.ignoredIsaSets.join(', ')}: together they contradict the XED CPUID table (collected with another XED version?).`,
        );
      }
    }
    return { features: new Set(r.present), undecidable: r.undecidable.filter((f) => !BASELINE.has(f)) };
  }

  number(v: Json, where: string, field: string): number {
    if (v === undefined) return 0;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) this.fail(where, `"${field}" must be a non-negative number.`);
    return v;
  }

  string(v: Json, where: string, field: string): string {
    if (v === undefined) return '';
    if (typeof v !== 'string') this.fail(where, `"${field}" must be a string.`);
    return v;
  }

  provenance(v: Json, where: string): Provenance | undefined {
    if (v === undefined) return undefined;
    // The short form: just the kind.
    if (v === 'measured' || v === 'derived') return { kind: v, basis: v === 'measured' ? this.subject : '' };
    if (!isObject(v) || (v.kind !== 'measured' && v.kind !== 'derived')) {
      return this.fail(where, '"provenance" must be "measured", "derived" or {kind: "measured"|"derived", basis, confidence?, note?}.');
    }
    const p: Provenance = { kind: v.kind, basis: this.string(v.basis, where, 'provenance.basis') };
    if (v.confidence !== undefined) {
      if (v.confidence !== 'high' && v.confidence !== 'medium' && v.confidence !== 'low') this.fail(where, '"provenance.confidence" must be high, medium or low.');
      p.confidence = v.confidence;
    }
    if (v.note !== undefined) p.note = this.string(v.note, where, 'provenance.note');
    return p;
  }

  xtestFlag(entry: Record<string, Json>, where: string): boolean | undefined {
    const v = entry.xtest ?? entry.XTEST;
    if (v === undefined) return undefined;
    if (v === true || v === 1) return true;
    if (v === false || v === 0) return false;
    return this.fail(where, `"xtest" must be true or false.`);
  }

  instance(
    entry: Json,
    where: string,
    keyName: string | undefined,
    featureSets: { features: Set<Feature>; undecidable?: Feature[] }[] | undefined,
  ): InstanceType {
    if (!isObject(entry)) this.fail(where, 'an instance must be an object.');
    const name = keyName ?? entry.name;
    if (typeof name !== 'string' || !/^\S+$/.test(name)) this.fail(where, 'missing or invalid "name".');
    const at = `${where} ("${name}")`;
    const sources = ['features', 'isaSets', 'supported', 'featureSet'].filter((k) => entry[k] !== undefined);
    if (sources.length !== 1) {
      this.fail(at, `give exactly one of "features" (cpuinfo flags), "isaSets" (XED ISA-SETs) or "featureSet" (index); found ${sources.length ? sources.join(', ') : 'none'}.`);
    }
    let features: Set<Feature>;
    let undecidable: Feature[] | undefined;
    let memoKey: string | undefined;
    const xtest = this.xtestFlag(entry, at);
    if (entry.features !== undefined) features = this.features(entry.features, at);
    else if (entry.featureSet !== undefined) {
      const i = entry.featureSet;
      if (!featureSets) this.fail(at, '"featureSet" needs a top-level "featureSets" array.');
      if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= featureSets.length) {
        this.fail(at, `"featureSet" must be an index into "featureSets" (0..${featureSets.length - 1}).`);
      }
      features = featureSets[i].features;
      undecidable = featureSets[i].undecidable;
      memoKey = `${i}|${xtest}`;
    } else {
      const field = entry.isaSets !== undefined ? 'isaSets' : 'supported';
      ({ features, undecidable } = this.infer(this.stringList(entry[field], at, field), at));
    }
    // Instances that share a feature set share the work (each still gets its own array).
    let final = memoKey === undefined ? undefined : this.finalFeatures.get(memoKey);
    if (!final) {
      const set = new Set(features);
      withXtest(set, xtest);
      final = withBaseline(set);
      if (memoKey !== undefined) this.finalFeatures.set(memoKey, final);
    }
    const cpu = this.string(entry.cpu, at, 'cpu');
    let vendor: Vendor = vendorOf(cpu);
    if (entry.vendor !== undefined) {
      if (entry.vendor !== 'intel' && entry.vendor !== 'amd' && entry.vendor !== 'other') this.fail(at, '"vendor" must be intel, amd or other.');
      vendor = entry.vendor;
    }
    const inst: InstanceType = {
      name,
      family: familyOf(name),
      cpu,
      vendor,
      generation: this.string(entry.generation, at, 'generation'),
      vcpu: this.number(entry.vcpu, at, 'vcpu'),
      memoryGiB: this.number(entry.memoryGiB, at, 'memoryGiB'),
      features: final.slice(),
    };
    if (undecidable && undecidable.length) inst.undecidable = [...undecidable].sort();
    const provenance = this.provenance(entry.provenance, at);
    if (provenance) inst.provenance = provenance;
    return inst;
  }
}

/**
 * Validates and converts parsed catalog JSON. Accepted forms (docs/catalog.md):
 * `{name, instances: [{name, features: [...]}]}` (canonical features / cpuinfo flags),
 * `{name, isaSets?: [...evaluated], instances: [{name, isaSets: [...]}]}` (XED ISA-SETs, converted by
 * inference), the compact shipped form with `featureSets` and `featureSet` indices, and `instances` given
 * as an object keyed by name (the AWS dataset's shape, with `supported`). Optional per instance: cpu,
 * vendor, generation, vcpu, memoryGiB, xtest, provenance.
 */
export function parseCatalog(json: Json, subject: string, options: ParseCatalogOptions = {}): Catalog {
  const fail = (message: string): never => {
    throw new NativeError('malformed', `${subject}: ${message}`, { subject, hint: 'See docs/catalog.md for the catalog formats.' });
  };
  if (!isObject(json)) fail('a catalog must be a JSON object with "name" and "instances".');
  const root = json as Record<string, Json>;
  const name = root.name ?? (subject.endsWith('.json') ? path.basename(subject).replace(/(\.catalog)?\.json$/, '') : undefined);
  if (typeof name !== 'string' || name.trim() === '') fail('missing "name" (a string naming the catalog).');
  let evaluated: string[] | undefined;
  if (root.isaSets !== undefined) {
    if (!Array.isArray(root.isaSets) || !root.isaSets.every((s) => typeof s === 'string')) {
      fail('"isaSets" (the ISA-SETs the collector evaluated) must be an array of strings.');
    }
    evaluated = root.isaSets as string[];
  }
  const parser = new CatalogParser(subject, options.table ?? XED_TABLE, evaluated);
  let featureSets: { features: Set<Feature>; undecidable?: Feature[] }[] | undefined;
  if (root.featureSets !== undefined) {
    if (!Array.isArray(root.featureSets)) fail('"featureSets" must be an array.');
    featureSets = (root.featureSets as Json[]).map((fs, i) => {
      const where = `featureSets[${i}]`;
      if (Array.isArray(fs)) return { features: parser.features(fs, where, 'featureSets') };
      if (!isObject(fs)) return parser.fail(where, 'must be an array of features or {features, undecidable}.');
      const undecidable = fs.undecidable === undefined ? undefined : [...parser.features(fs.undecidable, where, 'undecidable')];
      return { features: parser.features(fs.features, where), undecidable };
    });
  }
  const entries: [string, Json, string | undefined][] = [];
  if (Array.isArray(root.instances)) root.instances.forEach((e, i) => entries.push([`instances[${i}]`, e, undefined]));
  else if (isObject(root.instances)) for (const [k, e] of Object.entries(root.instances)) entries.push([`instances["${k}"]`, e, k]);
  else fail('"instances" must be an array (or an object keyed by instance name).');
  if (entries.length === 0) fail('"instances" is empty.');
  const seen = new Set<string>();
  const instances = entries.map(([where, e, key]) => {
    const inst = parser.instance(e, where, key, featureSets);
    if (seen.has(inst.name)) parser.fail(where, `duplicate instance name "${inst.name}".`);
    seen.add(inst.name);
    return inst;
  });
  const source = typeof root.source === 'string' && root.source ? root.source : subject;
  const catalog: Catalog = { name: name as string, source, instances };
  if (parser.warnings.length) catalog.warnings = parser.warnings;
  return catalog;
}

/** Loads a user catalog from a JSON file (formats: see parseCatalog and docs/catalog.md). */
export function loadCatalog(file: string, options: ParseCatalogOptions = {}): Catalog {
  return parseCatalog(readUserJson(file, 'instance catalog') as Json, file, options);
}

let shipped: Catalog | undefined;

/** The shipped AWS EC2 catalog (native/data/aws-ec2.catalog.json, bundled), parsed once. */
export function defaultCatalog(): Catalog {
  shipped ??= parseCatalog(shippedCatalogJson, 'aws-ec2.catalog.json (shipped)');
  return shipped;
}

/** The compact file form of a catalog: each distinct (features, undecidable) pair stored once. */
export function toCatalogFile(catalog: Catalog, about?: string): CatalogFile {
  const index = new Map<string, number>();
  const featureSets: CatalogFile['featureSets'] = [];
  const instances = catalog.instances.map((inst) => {
    const key = JSON.stringify([inst.features, inst.undecidable ?? []]);
    let i = index.get(key);
    if (i === undefined) {
      i = featureSets.length;
      index.set(key, i);
      featureSets.push(inst.undecidable?.length ? { features: inst.features, undecidable: inst.undecidable } : { features: inst.features });
    }
    const row: CatalogFile['instances'][number] = { name: inst.name, cpu: inst.cpu, generation: inst.generation, vcpu: inst.vcpu, memoryGiB: inst.memoryGiB, featureSet: i };
    if (inst.provenance) row.provenance = inst.provenance;
    return row;
  });
  const file: CatalogFile = { name: catalog.name, source: catalog.source, featureSets, instances };
  if (about) file.about = about;
  return file;
}

/** Serializes a catalog file stably: one feature set and one instance per line. */
export function formatCatalogFile(file: CatalogFile): string {
  const lines = ['{'];
  lines.push(`  "name": ${JSON.stringify(file.name)},`);
  lines.push(`  "source": ${JSON.stringify(file.source)},`);
  if (file.about) lines.push(`  "about": ${JSON.stringify(file.about)},`);
  lines.push('  "featureSets": [');
  file.featureSets.forEach((s, i) => lines.push(`    ${JSON.stringify(s)}${i < file.featureSets.length - 1 ? ',' : ''}`));
  lines.push('  ],');
  lines.push('  "instances": [');
  file.instances.forEach((s, i) => lines.push(`    ${JSON.stringify(s)}${i < file.instances.length - 1 ? ',' : ''}`));
  lines.push('  ]');
  lines.push('}');
  return lines.join('\n') + '\n';
}
