// The instance view's controller: receives host messages, keeps the report, focus and UI state, renders
// the sections and the grid, and persists everything with setState so the view survives hide/show.

import { formatExport, type AnalysisReport, type Feature, type Vendor } from '../../native/src/browser';
import { h, formatInt } from './dom';
import { answerE2eQuery } from './e2eQuery';
import { InstanceGrid } from './grid';
import { renderMigrationSummary } from './migrationView';
import { familyCounts, ruledOutBy, sanitizeUi, type ColumnKey, type TabId, type UiState } from './model';
import { isFocusCallSite, isHostMessage, isAnalysisReport, type FocusCallSite, type HostMessage, type ReportOrigin } from './messages';
import {
  renderCriuAdvice,
  renderCrossVendor,
  renderDetailsTab,
  renderEmpty,
  renderError,
  renderFeaturesTab,
  renderFocusBanner,
  renderHeader,
  renderMaskedFeatures,
  renderNotesTab,
  renderProgress,
  renderRequirement,
  renderSummary,
} from './sections';
import type { ToolkitCheckboxElement, ToolkitValueElement } from './toolkit';
import type { VsCodeApi } from './vscodeApi';

/** Everything persisted through setState. Version it so a newer view ignores an older shape. */
export interface PersistedState {
  v: 1;
  ui: UiState;
  data: { report: AnalysisReport; origin: ReportOrigin } | null;
  focus: FocusCallSite | null;
}

const PERSIST_DELAY_MS = 150;

/** The notes tab's items besides report.notes: the absent features, and the masked ones (renderNotesTab). */
function notesExtra(report: AnalysisReport): number {
  const masked = new Set((report.maskedFeatures ?? []).map((m) => m.feature));
  return (report.notOnHost.some((f) => !masked.has(f)) ? 1 : 0) + (masked.size > 0 ? 1 : 0);
}

export class App {
  private ui: UiState;
  private data: PersistedState['data'] = null;
  private focus: FocusCallSite | null = null;
  private error: { message: string; detail?: string } | null = null;
  private progress: string | null = null;
  /** True until the first host message or restored state: avoids flashing the empty state on reload. */
  private waiting = true;

  private grid: InstanceGrid | null = null;
  private ruledOut: Set<string> | null = null;
  private countEl: HTMLElement | null = null;
  private persistTimer: ReturnType<typeof setTimeout> | undefined;
  private restoreScroll = false;

  constructor(
    private readonly root: HTMLElement,
    private readonly vscode: VsCodeApi<PersistedState>,
  ) {
    const saved = vscode.getState() as Partial<PersistedState> | undefined;
    this.ui = sanitizeUi(saved?.ui);
    if (saved?.v === 1) {
      if (saved.data && isAnalysisReport(saved.data.report)) {
        this.data = saved.data;
        this.waiting = false;
      }
      if (saved.focus && isFocusCallSite(saved.focus)) this.focus = saved.focus;
    }
    this.restoreScroll = this.ui.scrollY > 0;
    window.addEventListener('scroll', () => {
      this.ui.scrollY = Math.round(window.scrollY);
      this.schedulePersist();
    }, { passive: true });
    this.render();
  }

  /** Entry point of every message from the host; anything malformed is logged back, not rendered. */
  receive(message: unknown): void {
    if (!isHostMessage(message)) {
      this.vscode.postMessage({ type: 'log', level: 'warn', message: `instance view: ignored a malformed message ${JSON.stringify(message)?.slice(0, 200)}` });
      return;
    }
    if (message.type === 'e2eQuery') {
      // Test only (see e2eQuery.ts): answered from the DOM as it is, without touching the view's state.
      this.vscode.postMessage(answerE2eQuery(message, this.root.ownerDocument));
      return;
    }
    try {
      this.handle(message);
    } catch (e) {
      // A bug in rendering must not leave a blank panel: say so, and tell the host's log.
      const text = e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e);
      this.vscode.postMessage({ type: 'log', level: 'error', message: `instance view: rendering '${message.type}' failed: ${text}` });
      this.root.replaceChildren(renderError('The instance view could not display this analysis.', text));
      this.root.dataset.state = 'error';
    }
  }

  private handle(m: Exclude<HostMessage, { type: 'e2eQuery' }>): void {
    this.waiting = false;
    switch (m.type) {
      case 'report':
        this.data = { report: m.report, origin: m.origin };
        this.error = null;
        this.progress = null;
        break;
      case 'focus':
        if (m.callSite && !this.focus) {
          // Show what the call rules out; "compatible only" would hide exactly those types.
          this.ui.focusOnly = true;
          this.ui.compatibleOnly = false;
        }
        this.focus = m.callSite;
        if (m.callSite) this.ui.tab = 'instances';
        break;
      case 'clear':
        this.data = null;
        this.focus = null;
        this.error = null;
        this.progress = null;
        this.ui.scrollY = 0;
        break;
      case 'error':
        this.error = { message: m.message, detail: m.detail };
        this.progress = null;
        break;
      case 'progress':
        this.progress = m.message;
        break;
    }
    this.render();
    this.schedulePersist();
  }

  private schedulePersist(): void {
    clearTimeout(this.persistTimer);
    this.persistTimer = setTimeout(() => this.persist(), PERSIST_DELAY_MS);
  }

  private persist(): void {
    this.vscode.setState({ v: 1, ui: { ...this.ui, sort: { ...this.ui.sort } }, data: this.data, focus: this.focus });
  }

  /** Rebuilds the whole view (on a new report, focus, error or progress). */
  private render(): void {
    const parts: Node[] = [];
    if (this.progress) parts.push(renderProgress(this.progress));
    if (this.error) parts.push(renderError(this.error.message, this.error.detail));
    this.grid = null;
    this.countEl = null;
    if (!this.data) {
      if (!this.waiting) parts.push(renderEmpty(() => this.vscode.postMessage({ type: 'command', command: 'analyzeProcess' })));
      if (this.focus) {
        const n = this.focus.unknownCallees ?? 0;
        const unknown = n > 0 ? ` (${n} native callee${n === 1 ? '' : 's'} unknown: its features are a lower bound)` : '';
        parts.push(h('p', { class: 'muted', id: 'focus-pending' }, `Focused on ${this.focus.label}${unknown}; its verdicts appear once an analysis report arrives.`));
      }
      this.root.replaceChildren(...parts);
      this.root.dataset.state = this.waiting ? 'waiting' : this.error ? 'error' : 'empty';
      return;
    }
    const { report, origin } = this.data;
    const verdicts = report.instances.verdicts;
    this.ruledOut = this.focus ? ruledOutBy(verdicts, this.focus.features, this.focus.ruledOut) : null;

    parts.push(
      renderHeader(report, origin, {
        onExport: (format) => this.vscode.postMessage({ type: 'export', format }),
        // The same formatter as the CLI's --format: the host only puts the text on the clipboard.
        onCopy: (format) => this.vscode.postMessage({ type: 'copy', format, text: formatExport(report, format) }),
      }),
    );
    if (this.focus) {
      parts.push(
        renderFocusBanner(this.focus, this.ruledOut!.size, verdicts.length, this.ui.focusOnly, {
          onReveal: (uri, line) => this.vscode.postMessage({ type: 'reveal', uri, line }),
          onClear: () => this.handle({ type: 'focus', callSite: null }),
          onFocusOnly: (on) => {
            if (on === this.ui.focusOnly) return;
            this.ui.focusOnly = on;
            this.updateGrid();
          },
        }),
      );
    }
    parts.push(h('div', { class: 'overview' }, renderSummary(report), renderRequirement(report, this.focus)));
    const masked = renderMaskedFeatures(report);
    if (masked) parts.push(masked);
    const cross = renderCrossVendor(report);
    if (cross) parts.push(cross);
    if (report.criuAdvice) parts.push(renderCriuAdvice(report.criuAdvice, verdicts));
    if (report.migration) parts.push(renderMigrationSummary(report.migration));

    this.grid = new InstanceGrid((key) => this.onSort(key), report.migration);
    this.grid.setData(verdicts, this.focus ? new Set<Feature>(this.focus.features) : null);
    parts.push(this.renderTabs(report, origin));
    this.root.replaceChildren(...parts);
    this.root.dataset.state = 'report';
    this.updateGrid();
    if (this.restoreScroll) {
      this.restoreScroll = false;
      const y = this.ui.scrollY;
      requestAnimationFrame(() => window.scrollTo(0, y));
    }
  }

  private renderTabs(report: AnalysisReport, origin: ReportOrigin): HTMLElement {
    const tab = (id: TabId, label: string, count?: number) =>
      h('vscode-panel-tab', { id: `tab-${id}` }, label, count !== undefined ? h('span', { class: 'count-badge' }, formatInt(count)) : null);
    const panels = h(
      'vscode-panels',
      { id: 'tabs', activeid: `tab-${this.ui.tab}`, 'aria-label': 'Instance view sections' },
      tab('instances', 'Instance types', report.instances.total),
      tab('features', 'Required features', report.required.length),
      tab('notes', 'Notes', report.notes.length + notesExtra(report)),
      tab('details', 'Analysis'),
      h('vscode-panel-view', { id: 'view-instances' }, this.renderInstancesView()),
      h('vscode-panel-view', { id: 'view-features' }, renderFeaturesTab(report, report.instances.verdicts)),
      h('vscode-panel-view', { id: 'view-notes' }, renderNotesTab(report)),
      h('vscode-panel-view', { id: 'view-details' }, renderDetailsTab(report, origin)),
    );
    panels.addEventListener('change', (e) => {
      if (e.target !== panels) return;
      const id = (panels.getAttribute('activeid') ?? '').replace(/^tab-/, '');
      if (id && id !== this.ui.tab && ['instances', 'features', 'notes', 'details'].includes(id)) {
        this.ui.tab = id as TabId;
        this.schedulePersist();
      }
    });
    return panels;
  }

  private renderInstancesView(): HTMLElement {
    const rows = this.grid!.rowData;

    const search = h('vscode-text-field', { id: 'search', placeholder: 'Search type, CPU, feature…', 'aria-label': 'Search instance types' }) as unknown as ToolkitValueElement;
    search.value = this.ui.search;
    search.addEventListener('input', () => {
      if (search.value === this.ui.search) return;
      this.ui.search = search.value;
      this.updateGrid();
    });

    const compatible = h('vscode-checkbox', { id: 'compatible-only', checked: this.ui.compatibleOnly }, 'Compatible only') as unknown as ToolkitCheckboxElement;
    compatible.checked = this.ui.compatibleOnly;
    compatible.addEventListener('change', () => {
      if (compatible.checked === this.ui.compatibleOnly) return;
      this.ui.compatibleOnly = compatible.checked;
      this.updateGrid();
    });

    const families = familyCounts(rows);
    if (this.ui.family && !families.some((f) => f.family === this.ui.family)) this.ui.family = '';
    const family = h(
      'vscode-dropdown',
      { id: 'family', 'aria-label': 'Instance family', position: 'below' },
      h('vscode-option', { value: '', selected: this.ui.family === '' }, 'All families'),
      ...families.map((f) => h('vscode-option', { value: f.family, selected: this.ui.family === f.family }, `${f.family} (${f.count})`)),
    ) as unknown as ToolkitValueElement;
    family.addEventListener('change', () => {
      if (family.value === this.ui.family) return;
      this.ui.family = family.value;
      this.updateGrid();
    });

    const vendors = new Set(rows.map((r) => r.v.vendor));
    const vendorNames: Record<Vendor, string> = { intel: 'Intel', amd: 'AMD', other: 'Other' };
    const vendor = h(
      'vscode-dropdown',
      { id: 'vendor', 'aria-label': 'CPU vendor', position: 'below' },
      h('vscode-option', { value: '', selected: this.ui.vendor === '' }, 'All vendors'),
      ...(['intel', 'amd', 'other'] as Vendor[]).filter((v) => vendors.has(v)).map((v) => h('vscode-option', { value: v, selected: this.ui.vendor === v }, vendorNames[v])),
    ) as unknown as ToolkitValueElement;
    vendor.addEventListener('change', () => {
      const value = vendor.value as Vendor | '';
      if (value === this.ui.vendor) return;
      this.ui.vendor = value;
      this.updateGrid();
    });

    this.countEl = h('span', { class: 'shown-count', id: 'shown-count', role: 'status' });
    const toolbar = h(
      'div',
      { class: 'toolbar', id: 'toolbar' },
      search as unknown as HTMLElement,
      compatible as unknown as HTMLElement,
      h('label', { class: 'dropdown-label' }, 'Family', family as unknown as HTMLElement),
      h('label', { class: 'dropdown-label' }, 'CPU', vendor as unknown as HTMLElement),
      this.countEl,
    );
    const wrap = h('div', { class: 'grid-wrap' }, this.grid!.element);
    return h('div', { class: 'instances-view' }, toolbar, wrap);
  }

  private onSort(key: ColumnKey): void {
    const s = this.ui.sort;
    this.ui.sort = s.key === key ? { key, dir: s.dir === 'asc' ? 'desc' : 'asc' } : { key, dir: 'asc' };
    this.updateGrid();
  }

  /** Applies the UI state to the grid (synchronously: measured at a few ms for 383 rows) and persists it. */
  private updateGrid(): void {
    if (!this.grid) return;
    const focusFilter = this.focus && this.ui.focusOnly ? this.ruledOut ?? undefined : undefined;
    this.grid.update({
      filter: {
        search: this.ui.search,
        compatibleOnly: this.ui.compatibleOnly,
        family: this.ui.family,
        vendor: this.ui.vendor,
        only: focusFilter,
      },
      sort: this.ui.sort,
    });
    if (this.countEl) {
      const shown = this.grid.visible.length;
      this.countEl.textContent = shown === this.grid.total ? `${formatInt(shown)} types` : `${formatInt(shown)} of ${formatInt(this.grid.total)} types`;
    }
    this.schedulePersist();
  }
}
