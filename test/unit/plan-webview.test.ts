// The instance view's "estimated downtime" column in real Chromium: a real migration estimate (the dirty-page
// fixture sampled, planned against the fixture report's verdicts) attached to the report gives a column
// after Pygration's verdict with each compatible type's downtime ("≥" for burst bandwidths, "—" otherwise),
// sortable, with the migration summary above the grid; a report without one has no such column.

import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { AnalysisReport } from '../../native/src/report';
import { planMigration } from '../../native/src/plan/plan';
import { sampleDirtyPages } from '../../native/src/plan/sampler';
import type { MigrationEstimate } from '../../native/src/plan/types';
import { downtimeCell } from '../../webview/src/migration';
import { buildC, REPO_ROOT, startProcess } from '../helpers/fixtures';
import { openInstanceView, postToWebview, serveInstanceView, type StaticServer } from '../helpers/chromium';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'report');
const base = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'numpy-matmul.live.json'), 'utf8')) as AnalysisReport;
const origin = { kind: 'live' as const, label: 'PID 48211 · python3 matmul.py' };
const ROWS = '#instance-grid .grid-body [data-name]:not([hidden])';

describe('estimated downtime column in Chromium', { timeout: 90_000 }, () => {
  let browser: Browser;
  let server: StaticServer;
  let page: Page;
  let migration: MigrationEstimate;
  const pageErrors: string[] = [];

  before(async () => {
    // A real estimate: 1.5 s of the steady fixture (16 MiB, 1000 pages/s), planned for the report's types.
    const fx = await startProcess(buildC('c/dirty_pages.c'), ['steady', '4096', '1000']);
    try {
      const sampling = await sampleDirtyPages(fx.pid, { method: 'content', seconds: 1.5, intervalSeconds: 0.25 });
      migration = planMigration(sampling, { verdicts: base.instances.verdicts, trackMemAvailable: false, downtimeTarget: 0.3 });
    } finally {
      await fx.stop();
    }
    ({ browser, server } = await serveInstanceView());
    page = await openInstanceView(browser, server, { viewport: { width: 1500, height: 900 }, onPage: (p) => p.on('pageerror', (e) => pageErrors.push(e.message)) });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows each compatible type\'s downtime after the verdict, "—" for the others, and the summary', async () => {
    const report: AnalysisReport = { ...base, migration };
    await postToWebview(page, { type: 'report', report, origin });
    await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel as string).length === n, [ROWS, base.instances.verdicts.length] as const);
    const headers = await page.$$eval('#instance-grid [role=columnheader]', (hs) => hs.map((h) => (h as HTMLElement).dataset.key));
    assert.equal(headers[headers.indexOf('compatible') + 1], 'downtime');
    const cells = await page.$$eval(ROWS, (rows) => rows.map((r) => [(r as HTMLElement).dataset.name!, r.children[6].textContent ?? '', (r.children[6] as HTMLElement).title]));
    const byName = new Map(base.instances.verdicts.map((v) => [v.name, v]));
    let shown = 0;
    let bursts = 0;
    for (const [name, text, title] of cells) {
      const v = byName.get(name)!;
      const want = downtimeCell(migration.perInstance[name], v.compatible);
      assert.equal(text, want.text, name);
      assert.equal(title, want.title, name);
      if (!v.compatible) assert.equal(text, '—', `${name} is not a target`);
      if (want.sortValue !== undefined) shown++;
      if (text.startsWith('≥ ')) {
        bursts++;
        assert.equal(migration.perInstance[name].lowerBound, true);
        assert.match(title, /burst/);
      }
    }
    assert.ok(shown > 0 && shown <= base.instances.compatible.length, `${shown} estimates`);
    assert.ok(bursts > 0, 'some compatible types have "up to" bandwidths');
    // The grid's rows gained one track through the CSSOM (no style attribute).
    const tracks = await page.$eval(`${ROWS}`, (r) => getComputedStyle(r).gridTemplateColumns.split(' ').length);
    assert.equal(tracks, 10);
    const summary = (await page.textContent('#migration-summary')) ?? '';
    assert.match(summary, /Migration estimate/);
    assert.match(summary, new RegExp(migration.plan.recommendation === 'stop-and-copy' ? 'Stop-and-copy' : migration.plan.recommendation === 'pre-copy' ? 'Pre-copy' : 'Post-copy'));
    assert.deepEqual(pageErrors, []);
    if (process.env.PYGRATION_SCREENSHOTS) await page.screenshot({ path: path.join(process.env.PYGRATION_SCREENSHOTS, 'downtime-column.png') });
  });

  it('sorts by downtime, estimates first in ascending order', async () => {
    await page.click('[role=columnheader][data-key="downtime"] button');
    const names = await page.$$eval(ROWS, (rows) => rows.map((r) => (r as HTMLElement).dataset.name!));
    const values = names.map((n) => (byCompatible(n) ? migration.perInstance[n]?.downtimeSeconds : undefined));
    const known = values.filter((x): x is number => x !== undefined);
    assert.deepEqual(known, [...known].sort((a, b) => a - b));
    const firstUnknown = values.findIndex((x) => x === undefined);
    assert.ok(values.slice(firstUnknown).every((x) => x === undefined), 'types without an estimate come last');
    assert.equal(await page.getAttribute('[role=columnheader][data-key="downtime"]', 'aria-sort'), 'ascending');
  });

  it('a report without a migration estimate has no downtime column', async () => {
    await postToWebview(page, { type: 'report', report: base, origin });
    await page.waitForFunction(() => !document.querySelector('#migration-summary'));
    const headers = await page.$$eval('#instance-grid [role=columnheader]', (hs) => hs.map((h) => (h as HTMLElement).dataset.key));
    assert.ok(!headers.includes('downtime'));
    assert.equal(headers.length, 9);
  });

  it('a malformed migration estimate is refused like any malformed report', async () => {
    const bad = { ...base, migration: { ...migration, perInstance: { 'm5.large': { downtimeSeconds: 'soon' } } } };
    await postToWebview(page, { type: 'report', report: bad, origin });
    const posted = await page.evaluate(() => (window as unknown as { __posted: Array<{ type: string; message?: string }> }).__posted);
    assert.ok(posted.some((m) => m.type === 'log' && /malformed/.test(m.message ?? '')));
  });
});

function byCompatible(name: string): boolean {
  return base.instances.compatible.includes(name);
}
