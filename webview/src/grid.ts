// The instance grid: every catalog type with the three verdicts and the why-not column, sortable by clicking
// a column header. An ARIA table of CSS-grid rows rather than a <table>: each row has
// `content-visibility: auto`, so the browser lays out only the rows on screen. Measured in Chromium with
// 383 rows, re-ordering a <table> cost 50–200 ms of layout per sort, the same rows as grid divs ~10 ms.
// Row elements are built once per report; sorting, filtering and searching only reorder and swap them.

import { describeProvenance, featureLabel, FEATURES, type Feature, type InstanceVerdict, type MigrationEstimate } from '../../native/src/browser';
import { h, icon, ICONS, formatGiB, type Child } from './dom';
import { downtimeCell } from './migration';
import { buildRows, displayOrder, rowMatches, searchTerms, sortRows, type ColumnKey, type Row, type RowFilter, type SortDirection } from './model';

interface Column {
  key: ColumnKey;
  label: string;
  title: string;
  numeric?: boolean;
}

const COLUMNS: Column[] = [
  { key: 'name', label: 'Type', title: 'Instance type (sorted by family, then size)' },
  { key: 'cpu', label: 'CPU', title: 'CPU model the type runs on' },
  {
    key: 'generation',
    label: 'Generation',
    title: 'Micro-architecture (sorted by vendor, oldest first). "derived": the row\'s features come from the micro-architecture, not from a measured instance (hover for its provenance)',
  },
  { key: 'vcpu', label: 'vCPU', title: 'Virtual CPUs', numeric: true },
  { key: 'memory', label: 'Memory', title: 'Memory in GiB', numeric: true },
  { key: 'compatible', label: 'Pygration', title: "Pygration's verdict: every feature the process needs is present" },
  {
    key: 'downtime',
    label: 'Est. downtime',
    title: 'Estimated downtime of a live migration to the type (compatible types; from pygration plan, at the type\'s network bandwidth). ≥: a burst bandwidth, so at least this',
    numeric: true,
  },
  { key: 'criu', label: 'CRIU', title: "CRIU's host-level check: every instruction feature of the source host is present" },
  { key: 'fullScan', label: 'Full scan', title: 'The verdict a full scan of every executable mapping would give' },
  { key: 'missing', label: 'Missing features', title: 'Why not: the features the process needs that the type lacks' },
];

const MAX_CHIPS = 4;

function levelClass(f: Feature): string {
  return `lvl-${FEATURES[f]?.level ?? 'x'}`;
}

function cell(attrs: Record<string, string | undefined>, ...children: Child[]): HTMLElement {
  return h('div', { role: 'cell', ...attrs }, ...children);
}

/** Pygration's verdict for a feature-compatible type of another vendor: its own, never a plain yes. */
function crossVendorCell(v: InstanceVerdict): HTMLElement {
  const td = cell({
    class: 'verdict xv',
    title: `Pygration: feature-compatible, but ${v.vendor === 'amd' ? 'an AMD' : v.vendor === 'intel' ? 'an Intel' : "another vendor's"} CPU, unlike the source: unproven, not counted as compatible`,
  });
  td.append(icon(ICONS.warning), h('span', null, 'Other vendor'));
  return td;
}

function verdictCell(ok: boolean | undefined, what: string, missing?: readonly Feature[]): HTMLElement {
  if (ok === undefined) return cell({ class: 'verdict na', title: `${what}: not computed` }, '—');
  const why = missing && missing.length > 0 ? ` (lacks ${missing.map(featureLabel).join(', ')})` : '';
  const td = cell({ class: `verdict ${ok ? 'ok' : 'no'}`, title: `${what}: ${ok ? 'accepts' : 'refuses'}${why}` });
  td.append(icon(ok ? ICONS.check : ICONS.close), h('span', null, ok ? 'Yes' : 'No'));
  return td;
}

/** The why-not cell: chips of the missing features (focus features marked), or why CRIU still refuses. */
function whyNotCell(v: InstanceVerdict, focus: ReadonlySet<Feature> | null): HTMLElement {
  const td = cell({ class: 'whynot' });
  if (v.crossVendor) {
    td.title = 'Has every feature the process needs, but its CPU vendor differs from the source host: feature-compatible, another vendor, unproven';
    td.append(h('span', { class: 'muted' }, 'feature-compatible, another vendor, unproven'));
  } else if (v.missing.length > 0) {
    const missing = displayOrder(v.missing);
    td.title = `Lacks ${missing.map(featureLabel).join(', ')}`;
    const shown = missing.slice(0, MAX_CHIPS);
    const chips: Child[] = shown.map((f) =>
      h('span', { class: `chip small ${levelClass(f)}${focus?.has(f) ? ' hit' : ''}`, 'data-feature': f }, featureLabel(f)),
    );
    if (v.missing.length > MAX_CHIPS) chips.push(h('span', { class: 'chip small more' }, `+${v.missing.length - MAX_CHIPS}`));
    td.append(...(chips as Node[]));
  } else if (v.criu === false) {
    const labels = displayOrder(v.criuMissing).map(featureLabel);
    td.title = `Safe for this process; CRIU's host check still refuses it for ${labels.join(', ')}`;
    td.append(h('span', { class: 'muted' }, `CRIU: ${labels.slice(0, 3).join(', ')}${labels.length > 3 ? ` +${labels.length - 3}` : ''}`));
  } else {
    td.append(h('span', { class: 'muted' }, '—'));
  }
  return td;
}

/** The generation, marked when the row is derived from the micro-architecture; its provenance in the tooltip. */
function generationCell(v: InstanceVerdict): HTMLElement {
  const p = v.provenance;
  const td = cell({ class: 'gen', title: p ? `${v.generation}: ${describeProvenance(p)}` : v.generation, 'data-provenance': p?.kind }, v.generation);
  if (p?.kind === 'derived') td.append(' ', h('span', { class: 'chip small provenance derived' }, 'derived'));
  return td;
}

function buildRowElement(row: Row, focus: ReadonlySet<Feature> | null, migration: MigrationEstimate | undefined): HTMLElement {
  const v = row.v;
  const tr = h('div', { role: 'row', class: `row ${v.compatible ? 'ok' : v.crossVendor ? 'xv' : 'no'}`, 'data-name': v.name });
  let downtime: HTMLElement | null = null;
  if (migration) {
    const c = downtimeCell(migration.perInstance[v.name], v.compatible);
    downtime = cell({ class: `num downtime${c.sortValue === undefined ? ' muted' : ''}`, title: c.title }, c.text);
  }
  tr.append(
    cell({ class: 'name' }, v.name),
    cell({ class: 'cpu', title: v.cpu }, h('span', { class: `vendor ${v.vendor}` }, v.vendor === 'amd' ? 'AMD' : v.vendor === 'intel' ? 'Intel' : '?'), v.cpu.replace(/^(Intel|AMD)\s+/, '')),
    generationCell(v),
    cell({ class: 'num' }, String(v.vcpu)),
    cell({ class: 'num' }, formatGiB(v.memoryGiB)),
    v.crossVendor ? crossVendorCell(v) : verdictCell(v.compatible, 'Pygration', v.missing),
    ...(downtime ? [downtime] : []),
    verdictCell(v.criu, 'CRIU', v.criuMissing),
    verdictCell(v.fullScan, 'Full scan', v.fullScanMissing),
    whyNotCell(v, focus),
  );
  return tr;
}

export interface GridUpdate {
  filter: RowFilter;
  sort: { key: ColumnKey; dir: SortDirection };
}

export class InstanceGrid {
  readonly element: HTMLElement;
  private readonly body: HTMLElement;
  private readonly headers = new Map<ColumnKey, HTMLElement>();
  private readonly emptyRow: HTMLElement;
  private rows: Row[] = [];
  private rowEls = new Map<Row, HTMLElement>();
  private sorted: Row[] = [];
  private sortKey: string = '';
  /** Names of the rows on screen, in order (read by the summary line and the tests). */
  visible: string[] = [];

  /** With a migration estimate the grid has an "estimated downtime" column after Pygration's verdict. */
  constructor(
    onSort: (key: ColumnKey) => void,
    private readonly migration?: MigrationEstimate,
  ) {
    const headRow = h('div', { role: 'row', class: 'row head' });
    for (const c of COLUMNS) {
      if (c.key === 'downtime' && !migration) continue;
      const button = h('button', { class: 'sort', type: 'button', title: c.title, 'data-key': c.key }, c.label, h('span', { class: 'sort-indicator' }));
      button.addEventListener('click', () => onSort(c.key));
      const th = h('div', { role: 'columnheader', class: c.numeric ? 'num' : undefined, 'data-key': c.key }, button);
      this.headers.set(c.key, th);
      headRow.append(th);
    }
    this.body = h('div', { role: 'rowgroup', class: 'grid-body' });
    this.emptyRow = h('div', { role: 'row', class: 'row empty' }, h('div', { role: 'cell' }, 'No instance type matches these filters.'));
    this.element = h('div', { role: 'table', class: 'grid', id: 'instance-grid', 'aria-label': 'Instance types' }, h('div', { role: 'rowgroup', class: 'grid-head' }, headRow), this.body);
  }

  /** Rebuilds the rows for a new report (or a new focus, which changes the highlighted chips). */
  setData(verdicts: readonly InstanceVerdict[], focus: ReadonlySet<Feature> | null): void {
    const per = this.migration?.perInstance;
    this.rows = buildRows(verdicts, featureLabel, per ? (v) => (v.compatible ? per[v.name]?.downtimeSeconds : undefined) : undefined);
    this.rowEls = new Map(this.rows.map((r) => [r, buildRowElement(r, focus, this.migration)]));
    this.sortKey = '';
  }

  /**
   * Applies sort and filter. A new sort re-orders every row element once; filtering and searching only
   * toggle `hidden` on the rows whose visibility changed, so typing in the search field touches few nodes.
   */
  update({ filter, sort }: GridUpdate): void {
    if (this.migration && !this.columnsWidened) this.widenColumns();
    const key = `${sort.key}:${sort.dir}`;
    if (key !== this.sortKey) {
      this.sorted = sortRows(this.rows, sort.key, sort.dir);
      this.sortKey = key;
      this.body.replaceChildren(...this.sorted.map((r) => this.rowEls.get(r)!), this.emptyRow);
    }
    const terms = searchTerms(filter.search);
    const visible: string[] = [];
    for (const r of this.sorted) {
      const show = rowMatches(r, filter, terms);
      const el = this.rowEls.get(r)!;
      if (el.hidden === show) el.hidden = !show;
      if (show) visible.push(r.v.name);
    }
    this.visible = visible;
    this.emptyRow.hidden = visible.length > 0;
    for (const [k, th] of this.headers) {
      const active = k === sort.key;
      th.classList.toggle('sorted', active);
      if (active) th.setAttribute('aria-sort', sort.dir === 'asc' ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
      const indicator = th.querySelector('.sort-indicator')!;
      indicator.replaceChildren(...(active ? [icon(sort.dir === 'asc' ? ICONS.arrowUp : ICONS.arrowDown, 'icon sort-arrow')] : []));
    }
  }

  private columnsWidened = false;

  /**
   * Adds the downtime column's track to the stylesheet's `--cols` (read once the grid is in the document),
   * after the sixth track (Pygration's verdict); set through the CSSOM, never as a style attribute.
   */
  private widenColumns(): void {
    if (!this.element.isConnected) return;
    const tracks = splitTracks(getComputedStyle(this.element).getPropertyValue('--cols'));
    if (tracks.length < 6) return;
    tracks.splice(6, 0, '112px');
    this.element.style.setProperty('--cols', tracks.join(' '));
    this.columnsWidened = true;
  }

  get rowData(): readonly Row[] {
    return this.rows;
  }

  get total(): number {
    return this.rows.length;
  }
}

/** Splits a grid track list at top-level spaces: `minmax(1px, 1fr) 64px` → [`minmax(1px, 1fr)`, `64px`]. */
export function splitTracks(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of list.trim()) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (/\s/.test(ch) && depth === 0) {
      if (cur) out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}
