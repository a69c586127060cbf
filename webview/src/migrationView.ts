// The instance view's migration summary: one callout above the grid with the plan's recommendation, its
// downtime at the plan's bandwidth, the dirty rate and how it was measured (report.migration).

import { formatDuration, formatRate, type MigrationEstimate } from '../../native/src/browser';
import { h, icon, ICONS, formatInt } from './dom';
import { STRATEGY_TEXT } from './migration';

/** One callout: the plan's recommendation at its bandwidth, the dirty rate, and how it was measured. */
export function renderMigrationSummary(m: MigrationEstimate): HTMLElement {
  const p = m.plan;
  const chosen = p.recommendation === 'stop-and-copy' ? p.stopAndCopy : p.recommendation === 'pre-copy' ? p.preCopy : p.postCopy;
  const rounds = p.recommendation === 'pre-copy' ? ` with ${p.preCopy.bestRounds} round${p.preCopy.bestRounds === 1 ? '' : 's'}` : '';
  return h(
    'section',
    { class: 'callout info', id: 'migration-summary' },
    icon(ICONS.info),
    h(
      'div',
      null,
      h('strong', null, 'Migration estimate: '),
      `${STRATEGY_TEXT[p.recommendation]}${rounds}, downtime ${formatDuration(chosen.downtimeSeconds)} at ${formatRate(p.bandwidthBitsPerSecond)}; `,
      `the process dirties ${formatInt(Math.round(m.dirty.pagesPerSecond))} pages/s (sampled ${m.sampledSeconds.toFixed(1)} s, ${m.method === 'soft-dirty' ? 'soft-dirty bits' : 'page contents compared'}).`,
      h('details', null, h('summary', null, 'Why, and how the per-type column is estimated'), h('div', { class: 'muted' }, `${p.why} ${m.bandwidthSource}`)),
    ),
  );
}
