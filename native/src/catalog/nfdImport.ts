// `pygration catalog import --nfd FILE`: a catalog of a Kubernetes cluster's distinct node CPU feature sets from
// `kubectl get nodes -o json`, read from node-feature-discovery's cpu-cpuid labels, named by instance type and pool.

import { NativeError } from '../errors';
import { BASELINE, sortFeatures, type Feature } from '../features/vocabulary';
import { NFD_CPUID_PREFIX, NFD_DEFAULT_BLACKLIST, NFD_TO_CPUINFO, PYGRATION_CPUID_PREFIX } from '../export/nfd';
import type { Vendor } from '../report';

/** Node labels that name a node pool, most specific first (GKE, EKS managed node groups, eksctl, Karpenter, AKS). */
export const POOL_LABELS = [
  'cloud.google.com/gke-nodepool',
  'eks.amazonaws.com/nodegroup',
  'alpha.eksctl.io/nodegroup-name',
  'karpenter.sh/nodepool',
  'kubernetes.azure.com/agentpool',
  'agentpool',
] as const;

export const INSTANCE_TYPE_LABELS = ['node.kubernetes.io/instance-type', 'beta.kubernetes.io/instance-type'] as const;

export interface NfdImportOptions {
  /** The catalog's name (default `nfd`). */
  name?: string;
  /** The file read, for messages and the catalog's source. */
  subject: string;
  /** NFD cpuid names the cluster's nfd-worker hides (its attributeBlacklist; default NFD's default). */
  hidden?: readonly string[];
}

/** One row of the imported catalog: a distinct (instance type, pool, feature set) with the nodes that have it. */
export interface NfdCatalogRow {
  name: string;
  cpu: string;
  vendor: Vendor;
  generation: string;
  vcpu: number;
  memoryGiB: number;
  featureSet: number;
  provenance: 'measured';
  instanceType?: string;
  /** The node pools the nodes belong to (GKE, EKS, Karpenter, AKS pool labels), sorted. */
  pools?: string[];
  nodes: string[];
}

export interface NfdCatalog {
  name: string;
  source: string;
  about: string;
  featureSets: Array<{ features: Feature[]; undecidable?: Feature[] }>;
  instances: NfdCatalogRow[];
}

export interface NfdImportResult {
  catalog: NfdCatalog;
  /** One sentence each: nodes skipped and why, labels not understood. */
  warnings: string[];
  nodes: number;
}

type Json = unknown;
function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `4`, `3920m` → vCPUs; `16393292Ki`, `32Gi`, `17179869184` → GiB. */
function cpuCount(v: Json): number {
  if (typeof v !== 'string' && typeof v !== 'number') return 0;
  const s = String(v);
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(s);
  if (!m) return 0;
  return m[2] ? Number(m[1]) / 1000 : Number(m[1]);
}

const MEM_UNITS: Record<string, number> = { '': 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
function memoryGiB(v: Json): number {
  if (typeof v !== 'string' && typeof v !== 'number') return 0;
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(v));
  if (!m) return 0;
  return Math.round(((Number(m[1]) * MEM_UNITS[m[2] ?? '']) / 2 ** 30) * 10) / 10;
}

function vendorOf(id: string | undefined): Vendor {
  if (!id) return 'other';
  if (/intel/i.test(id)) return 'intel';
  if (/amd|hygon/i.test(id)) return 'amd';
  return 'other';
}

/**
 * Builds the catalog. A feature whose NFD name is hidden (blacklisted) and whose label is absent is
 * **unknown**: stored in the feature set's `undecidable`, which the checker treats as absent, so a workload
 * that needs it is refused on that row with the feature marked unknown — never a silent "compatible". A
 * label of the NodeFeatureRule that `--format k8s` emits (`pygration-cpuid.<NAME>`) counts as the cpuid label.
 */
export function importNfdNodes(json: Json, options: NfdImportOptions): NfdImportResult {
  const subject = options.subject;
  const fail = (message: string): never => {
    throw new NativeError('malformed', `${subject}: ${message}`, { subject, hint: 'Give the output of `kubectl get nodes -o json`.' });
  };
  let items: Json[];
  if (isObject(json) && Array.isArray(json.items)) items = json.items;
  else if (isObject(json) && json.kind === 'Node') items = [json];
  else return fail('not a node list: expected an object with "items" (kubectl get nodes -o json).');
  const hidden = new Set(options.hidden ?? NFD_DEFAULT_BLACKLIST);
  const hiddenFeatures = [...hidden].map((n) => NFD_TO_CPUINFO[n]).filter((f): f is Feature => f !== undefined && !BASELINE.has(f));
  const warnings: string[] = [];
  const notUnderstood = new Set<string>();
  const featureSets: NfdCatalog['featureSets'] = [];
  const setIndex = new Map<string, number>();
  const groups = new Map<string, NfdCatalogRow>();
  let nodes = 0;
  items.forEach((it, i) => {
    if (!isObject(it) || !isObject(it.metadata)) return fail(`items[${i}] is not a Node object.`);
    const meta = it.metadata as Record<string, Json>;
    const nodeName = typeof meta.name === 'string' ? meta.name : `items[${i}]`;
    const labels: Record<string, string> = {};
    if (isObject(meta.labels)) for (const [k, v] of Object.entries(meta.labels)) if (typeof v === 'string') labels[k] = v;
    const status = isObject(it.status) ? it.status : {};
    const nodeInfo = isObject(status.nodeInfo) ? status.nodeInfo : {};
    const arch = labels['kubernetes.io/arch'] ?? labels['beta.kubernetes.io/arch'] ?? (typeof nodeInfo.architecture === 'string' ? nodeInfo.architecture : undefined);
    if (arch !== undefined && arch !== 'amd64') {
      warnings.push(`node ${nodeName} skipped: architecture ${arch}, not amd64.`);
      return;
    }
    const { present, cpuidLabels } = cpuidFeatures(labels, notUnderstood);
    if (cpuidLabels === 0) {
      warnings.push(`node ${nodeName} skipped: no ${NFD_CPUID_PREFIX}* label (is node-feature-discovery running there?).`);
      return;
    }
    nodes++;
    const features = sortFeatures(new Set([...BASELINE, ...present])).sort();
    const undecidable = hiddenFeatures.filter((f) => !present.has(f)).sort();
    const setKey = JSON.stringify([features, undecidable]);
    let set = setIndex.get(setKey);
    if (set === undefined) {
      set = featureSets.length;
      setIndex.set(setKey, set);
      featureSets.push(undecidable.length ? { features, undecidable } : { features });
    }
    const instanceType = INSTANCE_TYPE_LABELS.map((l) => labels[l]).find((v) => v);
    const pool = POOL_LABELS.map((l) => labels[l]).find((v) => v);
    const vendorId = labels['feature.node.kubernetes.io/cpu-model.vendor_id'];
    const cpu = cpuOfLabels(labels);
    // Nodes without an instance type label are told apart by their pool.
    const key = JSON.stringify([instanceType ?? '', instanceType ? '' : (pool ?? ''), set, cpu]);
    const row = groups.get(key);
    if (row) {
      row.nodes.push(nodeName);
      if (pool && !row.pools!.includes(pool)) row.pools = [...row.pools!, pool].sort();
      return;
    }
    const r: NfdCatalogRow = {
      name: '',
      cpu,
      vendor: vendorOf(vendorId),
      generation: '',
      vcpu: cpuCount(isObject(status.capacity) ? status.capacity.cpu : undefined),
      memoryGiB: memoryGiB(isObject(status.capacity) ? status.capacity.memory : undefined),
      featureSet: set,
      provenance: 'measured',
      nodes: [nodeName],
    };
    if (instanceType) r.instanceType = instanceType;
    r.pools = pool ? [pool] : [];
    groups.set(key, r);
  });
  const rows = [...groups.values()];
  if (rows.length === 0) fail(`no amd64 node with node-feature-discovery cpuid labels${warnings.length ? ` (${warnings.join(' ')})` : ''}.`);
  nameRows(rows);
  for (const r of rows) if (!r.pools?.length) delete r.pools;
  if (notUnderstood.size) warnings.push(`cpuid labels without a Pygration feature (ignored): ${[...notUnderstood].sort().join(', ')}.`);
  const about = importNote(nodes, subject, hidden);
  return { catalog: { name: options.name ?? 'nfd', source: subject, about, featureSets, instances: rows }, warnings, nodes };
}

/** The features a node's cpuid labels (NFD's, or the NodeFeatureRule's pygration-cpuid ones) say it has. */
function cpuidFeatures(labels: Record<string, string>, notUnderstood: Set<string>): { present: Set<Feature>; cpuidLabels: number } {
  const present = new Set<Feature>();
  let cpuidLabels = 0;
  for (const [k, v] of Object.entries(labels)) {
    const prefix = k.startsWith(NFD_CPUID_PREFIX) ? NFD_CPUID_PREFIX : k.startsWith(PYGRATION_CPUID_PREFIX) ? PYGRATION_CPUID_PREFIX : undefined;
    if (!prefix || v !== 'true') continue;
    cpuidLabels++;
    const nfd = k.slice(prefix.length);
    const f = NFD_TO_CPUINFO[nfd];
    if (f) present.add(f);
    else notUnderstood.add(nfd);
  }
  return { present, cpuidLabels };
}

/** The CPU description of NFD's cpu-model labels (vendor, family, model), or ''. */
function cpuOfLabels(labels: Record<string, string>): string {
  const vendorId = labels['feature.node.kubernetes.io/cpu-model.vendor_id'];
  const family = labels['feature.node.kubernetes.io/cpu-model.family'];
  const model = labels['feature.node.kubernetes.io/cpu-model.id'];
  return vendorId ? `${vendorId}${family ? ` family ${family}` : ''}${model ? ` model ${model}` : ''}` : '';
}

/**
 * Names the rows: the instance type (so karpenter/tfvars exports list real types) when one feature set has it;
 * when the same type shows several feature sets, instance type@pool, else numbered; nodes without an instance
 * type label are named by their pool, else by their first node.
 */
function nameRows(rows: NfdCatalogRow[]): void {
  const firstPool = (r: NfdCatalogRow) => r.pools?.[0];
  const base = (r: NfdCatalogRow) => (r.instanceType ?? firstPool(r) ?? r.nodes[0]).replace(/\s+/g, '_');
  const count = (f: (r: NfdCatalogRow) => string) => rows.reduce((m, r) => m.set(f(r), (m.get(f(r)) ?? 0) + 1), new Map<string, number>());
  const byBase = count(base);
  const withPool = (r: NfdCatalogRow) => (byBase.get(base(r))! > 1 && firstPool(r) && r.instanceType ? `${base(r)}@${firstPool(r)!.replace(/\s+/g, '_')}` : base(r));
  const byPool = count(withPool);
  const seen = new Map<string, number>();
  for (const r of rows) {
    const n = withPool(r);
    if (byPool.get(n)! > 1) {
      const k = (seen.get(n) ?? 0) + 1;
      seen.set(n, k);
      r.name = `${n}#${k}`;
    } else r.name = n;
}
}

/** The catalog's `about`: where the rows come from and what NFD's hidden flags mean for the verdicts. */
function importNote(nodes: number, subject: string, hidden: Set<string>): string {
  const hiddenList = [...hidden].sort().join(', ');
  return (
    `Imported from ${nodes} Kubernetes node${nodes === 1 ? '' : 's'} (${subject}) by pygration catalog import --nfd: node-feature-discovery's ` +
    `${NFD_CPUID_PREFIX}* labels. NFD publishes no label for the flags of its cpuid attributeBlacklist (${hiddenList || 'none given'}), ` +
    'so on these rows those features are unknown ("undecidable"), which counts as absent: a workload that needs one is refused there with the feature marked unknown. ' +
    "Apply the NodeFeatureRule of `pygration analyze --format k8s` (labels feature.node.kubernetes.io/pygration-cpuid.*), or set NFD's attributeWhitelist, and import again to know them."
  );
}
