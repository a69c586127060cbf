// The instance view's static sections: header, verdict summary, required-feature chips by x86-64 level,
// the focused-call banner, the masked-feature warning, the cross-vendor verdict, CRIU advice, the
// error/progress/empty states, and the feature, notes and analysis tabs. Each function returns fresh DOM for
// its part of the report.

import { EXPORT_FORMAT_TITLES, EXPORT_FORMATS, featureLabel, FEATURES, isExportFormat, type AnalysisReport, type ExportFormat, type Feature, type InstanceVerdict, type RequiredFeature } from '../../native/src/browser';
import { basename, formatInt, formatPercent, h, icon, ICONS, type Child } from './dom';
import { displayOrder } from './model';
import type { FocusCallSite, ReportOrigin } from './messages';
import type { ToolkitValueElement } from './toolkit';

const MODE_LABEL: Record<AnalysisReport['mode'], string> = {
  ept: 'Execution path tracking',
  'ept-plain': 'Execution path tracking (no live memory)',
  full: 'Full scan',
};

export function levelOf(f: Feature): 1 | 2 | 3 | 4 | undefined {
  return FEATURES[f]?.level;
}

/** A feature chip; `state` marks chips of a focused call ('hit') or the others ('dim'). */
export function featureChip(f: Feature, state: 'hit' | 'dim' | null, title?: string): HTMLElement {
  const lvl = levelOf(f);
  return h(
    'span',
    {
      class: `chip lvl-${lvl ?? 'x'}${state ? ` ${state}` : ''}`,
      'data-feature': f,
      title: title ?? `${featureLabel(f)} (${f})${lvl ? `, x86-64-v${lvl}` : ', beyond the x86-64 levels'}`,
    },
    featureLabel(f),
  );
}

export interface HeaderActions {
  onExport(format: 'json' | 'list'): void;
  /** "Copy as…": the report in one of the CLI's export formats, to the clipboard. */
  onCopy(format: ExportFormat): void;
}

/** The "Copy as…" menu: the CLI's --format outputs (native/src/export/formats.ts), one per option. */
function renderCopyMenu(onCopy: (format: ExportFormat) => void): HTMLElement {
  const menu = h(
    'vscode-dropdown',
    { id: 'copy-as', 'aria-label': 'Copy the result as', title: 'Copy the result to the clipboard in a format schedulers and CI read (as pygration --format)', position: 'below' },
    h('vscode-option', { value: '', selected: true }, 'Copy as…'),
    ...EXPORT_FORMATS.map((f) => h('vscode-option', { value: f, title: EXPORT_FORMAT_TITLES[f] }, COPY_LABELS[f])),
  ) as unknown as ToolkitValueElement;
  menu.addEventListener('change', () => {
    const value = menu.value;
    if (!isExportFormat(value)) return;
    onCopy(value);
    // A menu, not a setting: back to its title once the copy is asked for.
    menu.value = '';
  });
  return menu as unknown as HTMLElement;
}

const COPY_LABELS: Readonly<Record<ExportFormat, string>> = {
  json: 'JSON report',
  k8s: 'Kubernetes nodeAffinity (NFD)',
  karpenter: 'Karpenter NodePool requirement',
  tfvars: 'Terraform tfvars',
  list: 'Instance type list',
};

export function renderHeader(report: AnalysisReport, origin: ReportOrigin, actions: HeaderActions): HTMLElement {
  const tag = h('span', { class: `tag origin ${origin.kind}` }, origin.kind === 'live' ? 'Live' : 'Static');
  const exportJson = h('vscode-button', { appearance: 'secondary', id: 'export-json', title: 'Save the whole report as JSON' }, 'Export JSON');
  exportJson.addEventListener('click', () => actions.onExport('json'));
  const exportList = h('vscode-button', { appearance: 'secondary', id: 'export-list', title: 'Save the names of the compatible types, one per line' }, 'Export list');
  exportList.addEventListener('click', () => actions.onExport('list'));
  return h(
    'header',
    { class: 'view-header' },
    h(
      'div',
      { class: 'title-block' },
      h('h1', null, 'Migration targets'),
      h('div', { class: 'subtitle' }, tag, h('span', { class: 'origin-label' }, origin.label), h('span', { class: 'sep' }, '·'), h('span', null, MODE_LABEL[report.mode] ?? report.mode), h('span', { class: 'sep' }, '·'), h('span', { title: 'The source host the process runs on' }, `on ${report.host.cpu}`)),
    ),
    h('div', { class: 'actions' }, exportJson, exportList, renderCopyMenu((f) => actions.onCopy(f))),
  );
}

function bar(label: string, count: number, total: number, cls: string, hint: string): HTMLElement {
  const fill = h('div', { class: `bar-fill ${cls}` });
  fill.style.setProperty('width', `${total > 0 ? (100 * count) / total : 0}%`);
  return h(
    'div',
    { class: 'bar-row', title: hint },
    h('span', { class: 'bar-label' }, label),
    h('div', { class: 'bar-track' }, fill),
    h('span', { class: 'bar-value', 'data-count': cls }, formatInt(count)),
  );
}

/** The headline ("N of 383 vs CRIU's M"), the three verdicts as bars, and the one-line stats. */
export function renderSummary(report: AnalysisReport): HTMLElement {
  const inst = report.instances;
  const n = inst.compatible.length;
  const m = inst.criu.length;
  const hasFull = report.fullScanRequired !== undefined || inst.verdicts.some((v) => v.fullScan !== undefined);
  const cs = report.stats.callSites;
  const resolved = cs.direct + cs.plt + cs.memorySlot + cs.dispatchTable;
  const headline = h(
    'div',
    { class: 'headline' },
    h('div', { class: 'big' }, h('span', { class: 'count', id: 'compatible-count' }, formatInt(n)), h('span', { class: 'of' }, ` of ${formatInt(inst.total)}`)),
    h(
      'div',
      { class: 'caption' },
      `${inst.catalog} instance types can take this process by live migration \u2014 `,
      h('span', { class: 'vs' }, 'vs CRIU\u2019s ', h('strong', { id: 'criu-count' }, formatInt(m))),
    ),
    h(
      'div',
      { class: 'statline', id: 'statline', title: 'Functions visited, call sites resolved and unresolved, analysis time' },
      `${formatInt(report.stats.functionsVisited)} functions · ${formatInt(resolved)} call sites resolved, ${formatInt(cs.unresolved)} not (${formatPercent(cs.unresolved, resolved + cs.unresolved)}) · ${report.stats.seconds.toFixed(2)} s`,
    ),
  );
  const cross = inst.crossVendor ?? inst.verdicts.filter((v) => v.crossVendor).map((v) => v.name);
  const bars = h(
    'div',
    { class: 'bars' },
    bar('Pygration', n, inst.total, 'ok', 'Types where every feature the process needs is present'),
    cross.length > 0
      ? bar('Other vendor', cross.length, inst.total, 'xv', 'Feature-compatible, but another CPU vendor than the source: unproven, not counted as compatible')
      : null,
    hasFull ? bar('Full scan', inst.fullScan.length, inst.total, 'full', 'What a full scan of every executable mapping would accept') : null,
    bar('CRIU', m, inst.total, 'criu', "What CRIU's own host-level check accepts"),
  );
  return h('section', { class: 'summary card' }, headline, bars);
}

/** The requirement's chips grouped by x86-64 level (v2, v3, v4, beyond). */
export function renderRequirement(report: AnalysisReport, focus: FocusCallSite | null): HTMLElement {
  const focusSet = focus ? new Set(focus.features) : null;
  const groups = new Map<string, Feature[]>();
  for (const f of report.required) {
    const lvl = levelOf(f);
    const key = lvl ? `v${lvl}` : 'beyond';
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(f);
  }
  const provenance = new Map<Feature, RequiredFeature>(report.features.map((r) => [r.feature, r]));
  const order = ['v4', 'v3', 'v2', 'v1', 'beyond'];
  const rows: Child[] = [];
  for (const key of order) {
    const fs = groups.get(key);
    if (!fs) continue;
    rows.push(
      h(
        'div',
        { class: 'level-row' },
        h('span', { class: `level-name lvl-${key === 'beyond' ? 'x' : key.slice(1)}` }, key === 'beyond' ? 'Beyond levels' : `x86-64-${key}`),
        h(
          'div',
          { class: 'chips' },
          ...displayOrder(fs).map((f) => {
            const p = provenance.get(f);
            const first = p?.sites[0];
            const title = `${featureLabel(f)} (${f})${p ? ` — ${formatInt(p.count)} instruction${p.count === 1 ? '' : 's'}` : ''}${first ? `, e.g. ${first.function} in ${basename(first.module)}` : ''}`;
            return featureChip(f, focusSet ? (focusSet.has(f) ? 'hit' : 'dim') : null, title);
          }),
        ),
      ),
    );
  }
  if (report.required.length === 0) rows.push(h('p', { class: 'muted' }, 'Nothing beyond the x86-64 baseline: every x86-64 type qualifies.'));
  const required = new Set(report.required);
  const fullOnly = (report.fullScanRequired ?? []).filter((f) => !required.has(f));
  if (fullOnly.length > 0) {
    rows.push(
      h(
        'div',
        { class: 'full-extra', id: 'full-extra' },
        h('span', { class: 'muted' }, 'A full scan would also demand '),
        ...fullOnly.map((f) => featureChip(f, null, `${featureLabel(f)}: in the process's code, but on no path it executes`)),
      ),
    );
  }
  return h(
    'section',
    { class: 'requirement card', id: 'requirement' },
    h(
      'div',
      { class: 'card-title' },
      h('h2', null, 'Required features'),
      h('span', { class: 'level-badge', id: 'level', title: 'The x86-64 micro-architecture level of the requirement' }, report.level),
      report.levelExtras.length > 0 ? h('span', { class: 'muted' }, `+ ${report.levelExtras.map(featureLabel).join(', ')}`) : null,
      h('span', { class: 'muted right' }, `${report.required.length} beyond baseline`),
    ),
    ...rows,
  );
}

export interface FocusActions {
  onReveal(uri: string, line: number): void;
  onClear(): void;
  onFocusOnly(on: boolean): void;
}

/** The banner of a focused call: its features, how many types it rules out, and the focus-only toggle. */
export function renderFocusBanner(
  focus: FocusCallSite,
  ruledOut: number,
  total: number,
  focusOnly: boolean,
  actions: FocusActions,
): HTMLElement {
  const where = focus.uri !== undefined && focus.line !== undefined ? `${basename(decodeURIComponent(focus.uri))}:${focus.line + 1}` : null;
  // Unknown native callees make the call's features a lower bound: never shown as a verdict.
  const unknown = focus.unknownCallees ?? 0;
  const toggle = h('vscode-checkbox', { id: 'focus-only', checked: focusOnly }, 'Only the types this call rules out');
  (toggle as unknown as { checked: boolean }).checked = focusOnly;
  toggle.addEventListener('change', () => actions.onFocusOnly((toggle as unknown as { checked: boolean }).checked));
  const buttons: Child[] = [];
  if (focus.uri !== undefined && focus.line !== undefined) {
    const go = h('vscode-button', { appearance: 'secondary', id: 'reveal-call' }, 'Go to call');
    go.addEventListener('click', () => actions.onReveal(focus.uri!, focus.line!));
    buttons.push(go);
  }
  const clear = h('vscode-button', { appearance: 'icon', id: 'clear-focus', title: 'Clear focus', 'aria-label': 'Clear focus' }, icon(ICONS.close));
  clear.addEventListener('click', () => actions.onClear());
  buttons.push(clear);
  return h(
    'section',
    { class: 'focus-banner card', id: 'focus-banner' },
    h('div', { class: 'focus-icon' }, icon(ICONS.target)),
    h(
      'div',
      { class: 'focus-body' },
      h(
        'div',
        { class: 'focus-title' },
        'Focused on ',
        h('code', { id: 'focus-label' }, focus.label),
        where ? h('span', { class: 'muted' }, ` at ${where}`) : null,
        focus.kind ? h('span', { class: `tag origin ${focus.kind}` }, focus.kind === 'live' ? 'Live' : 'Static') : null,
      ),
      h(
        'div',
        { class: 'focus-detail' },
        unknown > 0 ? h('span', { class: 'focus-bound', id: 'focus-bound' }, focus.features.length ? 'at least' : 'CPU features unknown') : null,
        h('div', { class: 'chips' }, ...focus.features.map((f) => featureChip(f, 'hit'))),
        h(
          'span',
          { class: 'focus-count', id: 'focus-count' },
          unknown > 0
            ? `rules out at least ${formatInt(ruledOut)} of ${formatInt(total)} types; ${formatInt(unknown)} native callee${unknown === 1 ? '' : 's'} unknown`
            : `rules out ${formatInt(ruledOut)} of ${formatInt(total)} types`,
        ),
      ),
      toggle,
    ),
    h('div', { class: 'focus-actions' }, ...buttons),
  );
}

/** Splits prose so command-line flags (`--cpu-cap=none`) render as code and never break at their hyphens. */
function withFlags(text: string): Child[] {
  const out: Child[] = [];
  let last = 0;
  for (const m of text.matchAll(/--[a-z][a-z0-9-]*(?:=[^\s,;]+(?:,[a-z0-9]+)*)?/g)) {
    out.push(text.slice(last, m.index), h('code', { class: 'flag' }, m[0]));
    last = m.index! + m[0].length;
  }
  out.push(text.slice(last));
  return out;
}

export function renderCriuAdvice(advice: NonNullable<AnalysisReport['criuAdvice']>, verdicts: readonly InstanceVerdict[]): HTMLElement {
  const ours = verdicts.filter((v) => v.compatible).length;
  const refused = verdicts.filter((v) => v.compatible && !v.criu).length;
  return h(
    'section',
    { class: 'callout info', id: 'criu-advice' },
    icon(ICONS.info),
    h(
      'div',
      null,
      h('strong', null, 'Restoring with CRIU: '),
      'use ',
      ...advice.flags.flatMap((f, i) => [i > 0 ? ' ' : null, h('code', { class: 'flag' }, f)]),
      refused > 0 ? ` \u2014 its default check refuses ${formatInt(refused)} of the ${formatInt(ours)} types this process can move to.` : null,
      h('details', null, h('summary', null, 'Why, and caveats'), h('div', { class: 'muted' }, ...withFlags(advice.why))),
    ),
  );
}

/** The warning about masked features: hidden by the source's CPUID, yet used by reachable code and executable there. */
export function renderMaskedFeatures(report: AnalysisReport): HTMLElement | null {
  const masked = report.maskedFeatures ?? [];
  if (masked.length === 0) return null;
  return h(
    'section',
    { class: 'callout warning', id: 'masked-features' },
    icon(ICONS.warning),
    h(
      'div',
      null,
      h('strong', null, `Masked feature${masked.length === 1 ? '' : 's'}: `),
      `the source's CPUID hides ${masked.map((m) => featureLabel(m.feature)).join(', ')}, yet reachable code uses ${masked.length === 1 ? 'it' : 'them'} and nothing else stops the instructions there (hypervisors hide RDSEED, ADX, LZCNT while they run). `,
      report.maskedCounted
        ? 'Counted as required (pygration.countMaskedFeatures).'
        : 'Not counted as required: unguarded, this code crashes on a CPU that really lacks them (the setting pygration.countMaskedFeatures counts them).',
      h(
        'ul',
        { class: 'masked-list' },
        ...masked.map((m) =>
          h(
            'li',
            { 'data-feature': m.feature },
            featureChip(m.feature, null),
            ` ${formatInt(m.count)} instruction${m.count === 1 ? '' : 's'}${m.executes ? ' · a probe executed it on the source' : ''}`,
            ...m.sites.map((s) =>
              h('div', { class: 'site', title: `${s.module} @ ${s.address}` }, h('code', null, s.function), h('span', { class: 'muted' }, ` ${basename(s.module)}`), s.instruction ? h('code', { class: 'insn' }, s.instruction) : null),
            ),
            h('details', null, h('summary', null, 'Why'), h('div', { class: 'muted' }, m.reason)),
          ),
        ),
      ),
    ),
  );
}

/** The cross-vendor verdict: feature-compatible types of another vendor, shown apart with the evidence. */
export function renderCrossVendor(report: AnalysisReport): HTMLElement | null {
  const cross = report.instances.verdicts.filter((v) => v.crossVendor);
  if (cross.length === 0) return null;
  const vendorName = (v: string | undefined) => (v === 'amd' ? 'AMD' : v === 'intel' ? 'Intel' : 'another vendor');
  const vendors = [...new Set(cross.map((v) => vendorName(v.vendor)))].join(', ');
  return h(
    'section',
    { class: 'callout warning', id: 'cross-vendor' },
    icon(ICONS.warning),
    h(
      'div',
      null,
      h('strong', null, 'Feature-compatible, another vendor, unproven: '),
      h('span', { id: 'cross-vendor-count' }, formatInt(cross.length)),
      ` ${vendors} type${cross.length === 1 ? '' : 's'} ${cross.length === 1 ? 'has' : 'have'} every feature this process needs, but the source runs on ${vendorName(report.instances.sourceVendor)}. `,
      "They are not counted as compatible.",
      report.instances.crossVendorEvidence ? h('details', null, h('summary', null, 'Evidence'), h('div', { class: 'muted' }, report.instances.crossVendorEvidence)) : null,
    ),
  );
}

export function renderError(message: string, detail?: string): HTMLElement {
  return h(
    'section',
    { class: 'callout error', id: 'error', role: 'alert' },
    icon(ICONS.error),
    h('div', null, h('strong', null, 'Analysis failed: '), message, detail ? h('details', null, h('summary', null, 'Details'), h('pre', null, detail)) : null),
  );
}

export function renderProgress(message: string): HTMLElement {
  return h('section', { class: 'progress', id: 'progress', role: 'status' }, h('vscode-progress-ring'), h('span', null, message));
}

export function renderEmpty(onAnalyze: () => void): HTMLElement {
  const button = h('vscode-button', { id: 'analyze-process' }, 'Analyze Running Process…');
  button.addEventListener('click', onAnalyze);
  return h(
    'section',
    { class: 'empty-state', id: 'empty-state' },
    icon(ICONS.chip, 'icon hero', true),
    h('h2', null, 'No analysis yet'),
    h('p', null, 'Run ', h('strong', null, 'Pygration: Analyze Running Process'), ' or start a debug session of a Python program to see the instance types it could be live-migrated to.'),
    button,
  );
}

/** Required-features tab: per feature, its level, how many instructions, how many types lack it, where. */
export function renderFeaturesTab(report: AnalysisReport, verdicts: readonly InstanceVerdict[]): HTMLElement {
  const lacking = new Map<Feature, number>();
  for (const v of verdicts) for (const f of v.missing) lacking.set(f, (lacking.get(f) ?? 0) + 1);
  const order = new Map(displayOrder(report.features.map((r) => r.feature)).map((f, i) => [f, i]));
  const rows = [...report.features].sort((a, b) => (lacking.get(b.feature) ?? 0) - (lacking.get(a.feature) ?? 0) || order.get(a.feature)! - order.get(b.feature)!);
  return h(
    'table',
    { class: 'plain features-table', id: 'features-table' },
    h('thead', null, h('tr', null, h('th', null, 'Feature'), h('th', null, 'Level'), h('th', { class: 'num' }, 'Instructions'), h('th', { class: 'num' }, 'Types lacking it'), h('th', null, 'Found in'))),
    h(
      'tbody',
      null,
      ...rows.map((r) =>
        h(
          'tr',
          { 'data-feature': r.feature },
          h('td', null, featureChip(r.feature, null)),
          h('td', { class: 'muted' }, levelOf(r.feature) ? `v${levelOf(r.feature)}` : '—'),
          h('td', { class: 'num' }, formatInt(r.count)),
          h('td', { class: 'num' }, formatInt(lacking.get(r.feature) ?? 0)),
          h(
            'td',
            { class: 'sites' },
            ...r.sites.map((s) =>
              h('div', { class: 'site', title: `${s.module} @ ${s.address}` }, h('code', null, s.function), h('span', { class: 'muted' }, ` ${basename(s.module)}`), s.instruction ? h('code', { class: 'insn' }, s.instruction) : null),
            ),
            r.reason ? h('div', { class: 'muted' }, r.reason) : null,
          ),
        ),
      ),
    ),
  );
}

export function renderNotesTab(report: AnalysisReport): HTMLElement {
  const items: Child[] = report.notes.map((n) => h('li', null, icon(ICONS.warning), h('span', null, n)));
  const masked = new Set((report.maskedFeatures ?? []).map((m) => m.feature));
  const absent = report.notOnHost.filter((f) => !masked.has(f));
  if (absent.length > 0) {
    items.push(h('li', null, icon(ICONS.info), h('span', null, `Found but not reported by the source host (unreachable in practice): ${absent.map(featureLabel).join(', ')}.`)));
  }
  if (masked.size > 0) {
    items.push(
      h(
        'li',
        { id: 'masked-note' },
        icon(ICONS.warning),
        h('span', null, `Masked on the source (hidden by its CPUID, yet executable there): ${[...masked].map(featureLabel).join(', ')}${report.maskedCounted ? ', counted as required' : ', not counted as required'}.`),
      ),
    );
  }
  if (items.length === 0) return h('p', { class: 'muted', id: 'notes' }, 'No notes for this analysis.');
  return h('ul', { class: 'notes', id: 'notes' }, ...items);
}

function dl(pairs: Array<[string, Child]>): HTMLElement {
  return h('dl', { class: 'facts' }, ...pairs.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

export function renderDetailsTab(report: AnalysisReport, origin: ReportOrigin): HTMLElement {
  const t = report.target;
  const s = report.stats;
  const cs = s.callSites;
  const resolved = cs.direct + cs.plt + cs.memorySlot + cs.dispatchTable;
  const target: Array<[string, Child]> = [['Origin', `${origin.kind === 'live' ? 'Live process' : 'Static analysis'} — ${origin.label}`]];
  if (t.pid !== undefined) target.push(['PID', String(t.pid)]);
  if (t.cmdline) target.push(['Command line', h('code', null, t.cmdline.join(' '))]);
  if (t.exe) target.push(['Executable', h('code', null, t.exe)]);
  if (t.python) target.push(['Python', t.python]);
  target.push(['LD_BIND_NOW', t.ldBindNow === null ? 'unknown' : t.ldBindNow ? 'set (GOT slots final)' : 'not set (lazy binding)']);
  target.push(['Source host', report.host.cpu]);
  target.push(['Mode', MODE_LABEL[report.mode] ?? report.mode]);
  target.push(['Catalog', `${report.instances.catalog} (${formatInt(report.instances.total)} types)`]);
  target.push(['Tool', `${report.tool.name} ${report.tool.version}`]);
  const stats: Array<[string, Child]> = [
    ['Functions visited', formatInt(s.functionsVisited)],
    ['Instructions decoded', formatInt(s.instructionsDecoded)],
    ['Modules visited', formatInt(s.modulesVisited)],
    ['Call sites resolved', `${formatInt(resolved)} (direct ${formatInt(cs.direct)}, PLT ${formatInt(cs.plt)}, memory slot ${formatInt(cs.memorySlot)}, dispatch table ${formatInt(cs.dispatchTable)})`],
    ['Call sites unresolved', `${formatInt(cs.unresolved)} (${formatPercent(cs.unresolved, resolved + cs.unresolved)})`],
    ['Time', `${s.seconds.toFixed(2)} s`],
    ['Peak memory', `${formatInt(Math.round(s.peakRssMB))} MB`],
  ];
  return h(
    'div',
    { class: 'details-grid', id: 'details' },
    h('section', { class: 'card' }, h('h2', null, 'Target'), dl(target)),
    h('section', { class: 'card', id: 'stats' }, h('h2', null, 'Analysis'), dl(stats)),
  );
}
