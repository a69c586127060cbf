// The instance view's pure model: the persisted view state, and the filtering, searching and sorting of
// the verdict rows. No DOM, so it is unit-tested under Node and shared by the grid.

import { FEATURES, type Feature, type InstanceVerdict, type Vendor } from '../../native/src/browser';

export type ColumnKey =
  | 'name'
  | 'cpu'
  | 'generation'
  | 'vcpu'
  | 'memory'
  | 'compatible'
  | 'downtime'
  | 'criu'
  | 'fullScan'
  | 'missing';

export const COLUMN_KEYS: readonly ColumnKey[] = [
  'name',
  'cpu',
  'generation',
  'vcpu',
  'memory',
  'compatible',
  'downtime',
  'criu',
  'fullScan',
  'missing',
];

export type SortDirection = 'asc' | 'desc';
export type TabId = 'instances' | 'features' | 'notes' | 'details';
export const TAB_IDS: readonly TabId[] = ['instances', 'features', 'notes', 'details'];

/** What the view persists with setState so it survives hide/show (and reloads of the webview). */
export interface UiState {
  search: string;
  compatibleOnly: boolean;
  /** Instance family (`c5`, `m7a`, …) or '' for all. */
  family: string;
  vendor: Vendor | '';
  sort: { key: ColumnKey; dir: SortDirection };
  /** When focused on a call: show only the types that call rules out. */
  focusOnly: boolean;
  tab: TabId;
  scrollY: number;
}

export const DEFAULT_UI: Readonly<UiState> = {
  search: '',
  compatibleOnly: false,
  family: '',
  vendor: '',
  sort: { key: 'compatible', dir: 'asc' },
  focusOnly: true,
  tab: 'instances',
  scrollY: 0,
};

/** Takes whatever getState() returned (maybe from an older version, maybe nothing) to a valid UiState. */
export function sanitizeUi(x: unknown): UiState {
  const ui: UiState = { ...DEFAULT_UI, sort: { ...DEFAULT_UI.sort } };
  if (typeof x !== 'object' || x === null) return ui;
  const o = x as Record<string, unknown>;
  if (typeof o.search === 'string') ui.search = o.search.slice(0, 200);
  if (typeof o.compatibleOnly === 'boolean') ui.compatibleOnly = o.compatibleOnly;
  if (typeof o.family === 'string') ui.family = o.family;
  if (o.vendor === 'intel' || o.vendor === 'amd' || o.vendor === 'other' || o.vendor === '') ui.vendor = o.vendor;
  if (typeof o.focusOnly === 'boolean') ui.focusOnly = o.focusOnly;
  if (typeof o.tab === 'string' && (TAB_IDS as readonly string[]).includes(o.tab)) ui.tab = o.tab as TabId;
  if (typeof o.scrollY === 'number' && Number.isFinite(o.scrollY) && o.scrollY >= 0) ui.scrollY = o.scrollY;
  const sort = o.sort as Record<string, unknown> | undefined;
  if (
    typeof sort === 'object' &&
    sort !== null &&
    (COLUMN_KEYS as readonly unknown[]).includes(sort.key) &&
    (sort.dir === 'asc' || sort.dir === 'desc')
  ) {
    ui.sort = { key: sort.key as ColumnKey, dir: sort.dir };
  }
  return ui;
}

// Instance sizes in the order EC2 names them; `<n>xlarge` ranks by n, `metal*` last.
const SIZE_RANK: Record<string, number> = { nano: 1, micro: 2, small: 3, medium: 4, large: 5, xlarge: 8 };

/** A sortable rank of an EC2 size suffix such as `large`, `12xlarge`, `metal-48xl`. */
export function sizeRank(size: string): number {
  if (size in SIZE_RANK) return SIZE_RANK[size];
  const m = /^(\d+)xlarge$/.exec(size);
  if (m) return 8 * Number(m[1]);
  if (size.startsWith('metal')) return 1e6;
  return 5e5;
}

// CPU generations oldest first, so sorting by generation reads as a timeline within each vendor.
const GENERATIONS = [
  'Sandy Bridge',
  'Ivy Bridge',
  'Haswell',
  'Broadwell',
  'Skylake',
  'Cascade Lake',
  'Cooper Lake',
  'Ice Lake',
  'Sapphire Rapids',
  'Emerald Rapids',
  'Granite Rapids',
  'Zen',
  'Zen 2',
  'Zen 3',
  'Zen 4',
  'Zen 5',
];

/** One grid row: the verdict plus precomputed keys, built once per report. */
export interface Row {
  v: InstanceVerdict;
  /** Lower-case text the search matches against: name, family, CPU, generation, provenance (measured, derived and its micro-architecture), missing features. */
  haystack: string;
  family: string;
  sizeRank: number;
  generationRank: number;
  /** Index in the report, for stable ties. */
  index: number;
  /** Estimated migration downtime in seconds (compatible types with an estimate from the report's `migration`). */
  downtime?: number;
}

export function buildRows(
  verdicts: readonly InstanceVerdict[],
  labelOf: (f: Feature) => string,
  downtimeOf?: (v: InstanceVerdict) => number | undefined,
): Row[] {
  return verdicts.map((v, index) => {
    const dot = v.name.indexOf('.');
    const family = v.family || (dot > 0 ? v.name.slice(0, dot) : v.name);
    const size = dot > 0 ? v.name.slice(dot + 1) : '';
    const g = GENERATIONS.indexOf(v.generation);
    const provenance = v.provenance ? [v.provenance.kind, v.provenance.basis] : [];
    const haystack = [v.name, family, v.cpu, v.vendor, v.generation, ...provenance, ...v.missing, ...v.missing.map(labelOf)]
      .join(' ')
      .toLowerCase();
    const row: Row = { v, haystack, family, sizeRank: sizeRank(size), generationRank: g < 0 ? 1000 : g, index };
    const downtime = downtimeOf?.(v);
    if (downtime !== undefined) row.downtime = downtime;
    return row;
  });
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareName(a: Row, b: Row): number {
  return compareText(a.family, b.family) || a.sizeRank - b.sizeRank || compareText(a.v.name, b.v.name);
}

/** `true` sorts before `false` ascending (the accepted types first), unknown (undefined) last. */
function verdictRank(x: boolean | undefined): number {
  return x === true ? 0 : x === false ? 1 : 2;
}

/** Pygration's column: compatible, then feature-compatible of another vendor (unproven), then refused. */
function pygrationRank(v: InstanceVerdict): number {
  return v.compatible ? 0 : v.crossVendor ? 0.5 : 1;
}

const COMPARATORS: Record<ColumnKey, (a: Row, b: Row) => number> = {
  name: compareName,
  cpu: (a, b) => compareText(a.v.cpu, b.v.cpu),
  generation: (a, b) => compareText(a.v.vendor, b.v.vendor) || a.generationRank - b.generationRank,
  vcpu: (a, b) => a.v.vcpu - b.v.vcpu,
  memory: (a, b) => a.v.memoryGiB - b.v.memoryGiB,
  compatible: (a, b) => pygrationRank(a.v) - pygrationRank(b.v),
  // Types without an estimate sort after every estimate (ascending).
  downtime: (a, b) => (a.downtime ?? Infinity) - (b.downtime ?? Infinity) || 0,
  criu: (a, b) => verdictRank(a.v.criu) - verdictRank(b.v.criu),
  fullScan: (a, b) => verdictRank(a.v.fullScan) - verdictRank(b.v.fullScan),
  missing: (a, b) => a.v.missing.length - b.v.missing.length,
};

/** Sorts rows by a column; ties fall back to the instance name (always ascending) so order is stable. */
export function sortRows(rows: readonly Row[], key: ColumnKey, dir: SortDirection): Row[] {
  const primary = COMPARATORS[key];
  const sign = dir === 'asc' ? 1 : -1;
  return [...rows].sort((a, b) => sign * primary(a, b) || compareName(a, b) || a.index - b.index);
}

export interface RowFilter {
  search: string;
  compatibleOnly: boolean;
  family: string;
  vendor: Vendor | '';
  /** When set, only these instance names pass (the types a focused call rules out). */
  only?: ReadonlySet<string>;
}

/** Every whitespace-separated search term must occur in the row's text. */
export function rowMatches(row: Row, filter: RowFilter, terms: readonly string[]): boolean {
  if (filter.compatibleOnly && !row.v.compatible) return false;
  if (filter.family && row.family !== filter.family) return false;
  if (filter.vendor && row.v.vendor !== filter.vendor) return false;
  if (filter.only && !filter.only.has(row.v.name)) return false;
  for (const t of terms) if (!row.haystack.includes(t)) return false;
  return true;
}

export function searchTerms(search: string): string[] {
  return search.toLowerCase().split(/\s+/).filter((t) => t.length > 0);
}

export function filterRows(rows: readonly Row[], filter: RowFilter): Row[] {
  const terms = searchTerms(filter.search);
  return rows.filter((r) => rowMatches(r, filter, terms));
}

/**
 * The instance types a call rules out: the host's list when it sent one, else the types whose missing
 * features (Pygration's verdict) include any feature of the call.
 */
export function ruledOutBy(
  verdicts: readonly InstanceVerdict[],
  features: readonly Feature[],
  hostList?: readonly string[],
): Set<string> {
  if (hostList) return new Set(hostList);
  const want = new Set(features);
  return new Set(verdicts.filter((v) => v.missing.some((f) => want.has(f))).map((v) => v.name));
}

/** Families in name order with their counts, for the family filter. */
export function familyCounts(rows: readonly Row[]): Array<{ family: string; count: number }> {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.family, (counts.get(r.family) ?? 0) + 1);
  return [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(([family, count]) => ({ family, count }));
}

const FEATURE_ORDER = new Map(Object.keys(FEATURES).map((f, i) => [f, i]));

/**
 * Missing features in reading order: lowest x86-64 level first (an old CPU's first gap is what rules it
 * out), then the vocabulary's order within a level (AVX-512F before its extensions).
 */
export function displayOrder(features: readonly Feature[]): Feature[] {
  const rank = (f: Feature) => FEATURES[f]?.level ?? 5;
  const pos = (f: Feature) => FEATURE_ORDER.get(f) ?? Number.MAX_SAFE_INTEGER;
  return [...features].sort((a, b) => rank(a) - rank(b) || pos(a) - pos(b) || a.localeCompare(b));
}
