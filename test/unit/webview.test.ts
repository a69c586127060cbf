// The instance view in real Chromium: the built bundle served with its real CSP, driven through the toolkit
// controls with a fixture report of all 383 catalog types; asserts grid, summary, filters, sort, search,
// focus, persisted state, network isolation and update speed, and saves light/dark screenshots.

import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { AnalysisReport } from '../../native/src/report';
import { FEATURES, featureLabel, x86Level } from '../../native/src/features/vocabulary';
import { defaultCatalog } from '../../native/src/catalog/catalog';
import { criuAdvice, effectiveRequirement, maskedFeatures, maskedReason, summarizeInstances } from '../../native/src/catalog/compat';
import { contentSecurityPolicy, createNonce } from '../../webview/src/html';
import type { FocusCallSite } from '../../webview/src/messages';
import { REPO_ROOT } from '../helpers/fixtures';
import { openInstanceView, postedMessages, postToWebview, serveInstanceView, switchTheme, type StaticServer } from '../helpers/chromium';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'report');
const SCREENSHOTS = path.join(REPO_ROOT, 'test-output', 'screenshots');
const report = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'numpy-matmul.live.json'), 'utf8')) as AnalysisReport;
const focus = (JSON.parse(fs.readFileSync(path.join(FIXTURES, 'numpy-matmul.focus.json'), 'utf8')) as { callSite: FocusCallSite }).callSite;
const verdicts = report.instances.verdicts;
const origin = { kind: 'live' as const, label: 'PID 48211 · python3 matmul.py --size 4096' };

const ROWS = '#instance-grid .grid-body [data-name]:not([hidden])';

function rowNames(page: Page): Promise<string[]> {
  return page.$$eval(ROWS, (trs) => trs.map((tr) => (tr as HTMLElement).dataset.name!));
}

async function waitRows(page: Page, n: number): Promise<void> {
  await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel as string).length === n, [ROWS, n] as const, { timeout: 5000 });
}

/** Column values of the visible rows, by cell index. */
function columnText(page: Page, index: number): Promise<string[]> {
  return page.$$eval(ROWS, (trs, i) => trs.map((tr) => tr.children[i].textContent ?? ''), index);
}

async function selectOption(page: Page, dropdown: string, value: string): Promise<void> {
  await page.click(dropdown);
  await page.click(`${dropdown} vscode-option[value="${value}"]`);
}

async function persistedState(page: Page): Promise<{ ui: Record<string, unknown> } | null> {
  return page.evaluate(() => JSON.parse(sessionStorage.getItem('vscode-state') ?? 'null'));
}

describe('instance view in Chromium', { timeout: 60_000 }, () => {
  let browser: Browser;
  let server: StaticServer;
  let page: Page;
  let html: string;
  const nonce = createNonce();
  const networkRequests: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    ({ browser, server, html } = await serveInstanceView(nonce));
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    page = await openInstanceView(browser, server, {
      viewport: { width: 1360, height: 900 },
      deviceScaleFactor: 1,
      onPage: (p) => {
        p.on('request', (r) => networkRequests.push(r.url()));
        p.on('pageerror', (e) => pageErrors.push(e.message));
      },
    });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('starts in the empty state with the nonce CSP', async () => {
    // Until the host answers `ready` the view shows nothing (no flash of the empty state on re-show);
    // a host without a report answers `clear`.
    assert.equal(await page.$eval('#app', (e) => (e as HTMLElement).dataset.state), 'waiting');
    await postToWebview(page, { type: 'clear' });
    await page.waitForSelector('#empty-state');
    const text = await page.textContent('#empty-state');
    assert.match(text ?? '', /No analysis yet/);
    assert.match(text ?? '', /Pygration: Analyze Running Process/);
    const csp = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
    assert.equal(csp, contentSecurityPolicy(server.origin, nonce));
    assert.match(csp!, /default-src 'none'/);
    assert.doesNotMatch(csp!, /unsafe-inline|unsafe-eval/);
    await page.click('#analyze-process');
    const posted = await postedMessages(page);
    assert.deepEqual(posted.at(-1), { type: 'command', command: 'analyzeProcess' });
  });

  it('renders all catalog types and the summary of the report', async () => {
    await postToWebview(page, { type: 'report', report, origin });
    await waitRows(page, verdicts.length);
    assert.equal(verdicts.length, report.instances.total);
    assert.deepEqual(new Set(await rowNames(page)), new Set(verdicts.map((v) => v.name)));
    assert.equal(await page.textContent('#compatible-count'), String(report.instances.compatible.length));
    assert.equal(await page.textContent('#criu-count'), String(report.instances.criu.length));
    assert.match((await page.textContent('.headline .of')) ?? '', new RegExp(`of ${verdicts.length}`));
    assert.equal(await page.textContent('#level'), report.level);
    const chips = await page.$$eval('#requirement .level-row .chip', (els) => els.map((e) => (e as HTMLElement).dataset.feature));
    assert.deepEqual(chips.sort(), [...report.required].sort());
    // Each chip sits in the row of its x86-64 level.
    const v4 = await page.$$eval('#requirement .level-row', (rows) => rows.find((r) => r.textContent?.startsWith('x86-64-v4'))?.querySelectorAll('.chip').length ?? 0);
    assert.equal(v4, report.required.filter((f) => ['avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl'].includes(f)).length);
    assert.match((await page.textContent('#statline')) ?? '', new RegExp(report.stats.functionsVisited.toLocaleString('en-US')));
    const advice = (await page.textContent('#criu-advice')) ?? '';
    assert.match(advice, /--cpu-cap=none/);
    const refusedByCriu = verdicts.filter((v) => v.compatible && !v.criu).length;
    assert.match(advice, new RegExp(`refuses ${refusedByCriu} of the ${report.instances.compatible.length} types`));
    // What a full scan would add beyond the requirement is listed under it.
    const extra = await page.$$eval('#full-extra .chip', (els) => els.map((e) => (e as HTMLElement).dataset.feature));
    assert.deepEqual(extra.sort(), report.fullScanRequired!.filter((f) => !report.required.includes(f)).sort());
  });

  it('filters to compatible types, by family and by CPU vendor', async () => {
    await page.click('#compatible-only');
    await waitRows(page, report.instances.compatible.length);
    assert.deepEqual(new Set(await rowNames(page)), new Set(report.instances.compatible));
    await page.click('#compatible-only');
    await waitRows(page, verdicts.length);

    const c5 = verdicts.filter((v) => v.family === 'c5').map((v) => v.name);
    await selectOption(page, '#family', 'c5');
    await waitRows(page, c5.length);
    assert.deepEqual(new Set(await rowNames(page)), new Set(c5));
    assert.match((await page.textContent('#shown-count')) ?? '', new RegExp(`${c5.length} of ${verdicts.length}`));
    await selectOption(page, '#family', '');
    await waitRows(page, verdicts.length);

    const amd = verdicts.filter((v) => v.vendor === 'amd').map((v) => v.name);
    assert.ok(amd.length > 0 && amd.length < verdicts.length);
    await selectOption(page, '#vendor', 'amd');
    await waitRows(page, amd.length);
    assert.deepEqual(new Set(await rowNames(page)), new Set(amd));
    // Filters combine: AMD types that are compatible.
    await page.click('#compatible-only');
    const amdOk = verdicts.filter((v) => v.vendor === 'amd' && v.compatible).length;
    await waitRows(page, amdOk);
    await page.click('#compatible-only');
    await selectOption(page, '#vendor', '');
    await waitRows(page, verdicts.length);
  });

  it('sorts by vCPU ascending, then descending, by clicking the header', async () => {
    const vcpus = verdicts.map((v) => v.vcpu);
    await page.click('[role=columnheader][data-key="vcpu"] button');
    let col = (await columnText(page, 3)).map(Number);
    assert.equal(col.length, verdicts.length);
    assert.deepEqual(col, [...col].sort((a, b) => a - b));
    assert.equal(col[0], Math.min(...vcpus));
    assert.equal(await page.getAttribute('[role=columnheader][data-key="vcpu"]', 'aria-sort'), 'ascending');
    await page.click('[role=columnheader][data-key="vcpu"] button');
    col = (await columnText(page, 3)).map(Number);
    assert.deepEqual(col, [...col].sort((a, b) => b - a));
    assert.equal(col[0], Math.max(...vcpus));
    assert.equal(await page.getAttribute('[role=columnheader][data-key="vcpu"]', 'aria-sort'), 'descending');
    // Sorting by the Pygration verdict puts every compatible type first.
    await page.click('[role=columnheader][data-key="compatible"] button');
    const names = await rowNames(page);
    const n = report.instances.compatible.length;
    assert.deepEqual(new Set(names.slice(0, n)), new Set(report.instances.compatible));
  });

  it('narrows rows with the search field', async () => {
    const expected = verdicts.filter((v) => v.cpu.includes('9R14')).map((v) => v.name);
    assert.ok(expected.length > 0);
    await page.fill('#search input', 'epyc 9r14');
    await waitRows(page, expected.length);
    assert.deepEqual(new Set(await rowNames(page)), new Set(expected));
    // Feature labels are searchable too: the types that lack AVX-512F.
    const lacking = verdicts.filter((v) => v.missing.includes('avx512f')).map((v) => v.name);
    await page.fill('#search input', 'AVX-512F');
    await waitRows(page, lacking.length);
    await page.fill('#search input', 'no-such-type');
    await page.waitForSelector('#instance-grid .row.empty', { state: 'visible' });
    await page.fill('#search input', '');
    await waitRows(page, verdicts.length);
  });

  it('explains why a refused type is refused', async () => {
    const refused = verdicts.find((v) => !v.compatible && v.missing.length > 4)!;
    const cell = `${ROWS.replace('[data-name]', `[data-name="${refused.name}"]`)} .whynot`;
    const text = (await page.textContent(cell)) ?? '';
    const shown = await page.$$eval(`${cell} .chip[data-feature]`, (els) => els.map((e) => (e as HTMLElement).dataset.feature!));
    assert.equal(shown.length, 4);
    for (const f of shown) {
      assert.ok(refused.missing.includes(f));
      assert.ok(text.includes(featureLabel(f)), `${refused.name}: ${featureLabel(f)} in "${text}"`);
    }
    // Lowest x86-64 level first: the first gap of an old CPU is what rules it out.
    const levels = shown.map((f) => FEATURES[f]?.level ?? 5);
    assert.deepEqual(levels, [...levels].sort((a, b) => a - b));
    assert.equal(levels[0], Math.min(...refused.missing.map((f) => FEATURES[f]?.level ?? 5)));
    assert.ok(text.includes(`+${refused.missing.length - 4}`));
    const title = (await page.getAttribute(cell, 'title')) ?? '';
    for (const f of refused.missing) assert.ok(title.includes(featureLabel(f)));
    // A compatible type that CRIU still refuses says so in the same column.
    const safe = verdicts.find((v) => v.compatible && !v.criu)!;
    const safeText = (await page.textContent(`${ROWS.replace('[data-name]', `[data-name="${safe.name}"]`)} .whynot`)) ?? '';
    assert.match(safeText, /^CRIU: /);
  });

  it('focuses on a call: highlights its chips and shows what it rules out', async () => {
    // "Compatible only" would hide every type a call rules out, so a focus turns it off.
    await page.click('#compatible-only');
    await waitRows(page, report.instances.compatible.length);
    await postToWebview(page, { type: 'focus', callSite: focus });
    const want = new Set(focus.features);
    const ruledOut = verdicts.filter((v) => v.missing.some((f) => want.has(f))).map((v) => v.name);
    await waitRows(page, ruledOut.length);
    assert.deepEqual(new Set(await rowNames(page)), new Set(ruledOut));
    assert.equal(await page.$eval('#compatible-only', (e) => (e as unknown as { checked: boolean }).checked), false);
    assert.match((await page.textContent('#focus-count')) ?? '', new RegExp(`rules out ${ruledOut.length} of ${verdicts.length}`));
    const hits = await page.$$eval('#requirement .chip.hit', (els) => els.map((e) => (e as HTMLElement).dataset.feature!));
    assert.deepEqual(hits.sort(), report.required.filter((f) => want.has(f)).sort());
    const dims = await page.$$eval('#requirement .chip.dim', (els) => els.length);
    assert.equal(dims, report.required.filter((f) => !want.has(f)).length);
    // The why-not chips that come from the call are marked in the grid too.
    const marked = await page.$$eval(`${ROWS} .whynot .chip.hit`, (els) => els.map((e) => (e as HTMLElement).dataset.feature!));
    assert.ok(marked.length > 0 && marked.every((f) => want.has(f)));

    await page.click('#reveal-call');
    assert.deepEqual((await postedMessages(page)).at(-1), { type: 'reveal', uri: focus.uri, line: focus.line });

    await page.click('#focus-only');
    await waitRows(page, verdicts.length);
    await page.click('#focus-only');
    await waitRows(page, ruledOut.length);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'webview-focus-dark.png') });
    await page.click('#clear-focus');
    await waitRows(page, verdicts.length);
    assert.equal(await page.$('#focus-banner'), null);
    assert.equal(await page.$$eval('#requirement .chip.hit, #requirement .chip.dim', (e) => e.length), 0);
  });

  it('keeps filters, sort, search and scroll across a reload (getState/setState)', async () => {
    await page.click('#compatible-only');
    await page.fill('#search input', 'xlarge');
    await page.click('[role=columnheader][data-key="vcpu"] button');
    await page.click('[role=columnheader][data-key="vcpu"] button');
    const before = await rowNames(page);
    assert.ok(before.length > 40);
    await page.evaluate(() => window.scrollTo(0, 1200));
    await page.waitForFunction(() => {
      const s = JSON.parse(sessionStorage.getItem('vscode-state') ?? 'null');
      return s?.ui?.scrollY === Math.round(window.scrollY) && s.ui.search === 'xlarge';
    });
    const y = await page.evaluate(() => Math.round(window.scrollY));
    assert.ok(y > 1000);
    const state = await persistedState(page);
    assert.deepEqual(state!.ui.sort, { key: 'vcpu', dir: 'desc' });
    assert.equal(state!.ui.compatibleOnly, true);

    await page.reload();
    // No report is sent after the reload: the view must come back from its own state.
    await waitRows(page, before.length);
    assert.deepEqual(await rowNames(page), before);
    assert.equal(await page.$eval('#search', (e) => (e as unknown as { value: string }).value), 'xlarge');
    assert.equal(await page.$eval('#compatible-only', (e) => (e as unknown as { checked: boolean }).checked), true);
    assert.equal(await page.getAttribute('[role=columnheader][data-key="vcpu"]', 'aria-sort'), 'descending');
    await page.waitForFunction((y) => Math.abs(window.scrollY - y) <= 2, y);

    // Back to the full list for the next tests.
    await page.click('#compatible-only');
    await page.fill('#search input', '');
    await page.evaluate(() => window.scrollTo(0, 0));
    await waitRows(page, verdicts.length);
  });

  it('updates 383 rows within a frame for sort, filter and search', async () => {
    const times = await page.evaluate(() => {
      const measure = (action: () => void) => {
        const t0 = performance.now();
        action();
        void document.body.offsetHeight; // Include style and layout, not just the script.
        return performance.now() - t0;
      };
      const out: Record<string, number[]> = { sort: [], filter: [], search: [] };
      const header = (k: string) => document.querySelector<HTMLButtonElement>(`[role=columnheader][data-key="${k}"] button`)!;
      const checkbox = document.getElementById('compatible-only')!;
      const input = document.querySelector('#search')!.shadowRoot!.querySelector('input')!;
      const type = (s: string) => {
        input.value = s;
        input.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
      };
      for (let i = 0; i < 10; i++) {
        for (const k of ['vcpu', 'name', 'memory', 'generation']) out.sort.push(measure(() => header(k).click()));
        out.filter.push(measure(() => checkbox.click()));
        out.search.push(measure(() => type(i % 2 ? 'c5' : 'm')));
      }
      type('');
      if ((checkbox as unknown as { checked: boolean }).checked) checkbox.click();
      return out;
    });
    // The goal is one frame (16 ms) on an idle machine. When other processes compete for the CPUs the
    // page gets a fraction of one, so the budget scales with the load average per core; a regression to
    // a <table> (50-200 ms per sort) still fails at any plausible load.
    const contention = Math.max(1, os.loadavg()[0] / os.cpus().length);
    const budget = 16 * contention;
    for (const [kind, list] of Object.entries(times)) {
      const sorted = [...list].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)];
      console.log(`# webview ${kind}: median ${median.toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms over ${list.length} (budget ${budget.toFixed(0)} ms at load ${os.loadavg()[0].toFixed(1)})`);
      assert.ok(median < budget, `${kind} median ${median.toFixed(1)} ms`);
    }
    const render = await page.evaluate((r) => {
      const t0 = performance.now();
      window.dispatchEvent(new MessageEvent('message', { data: r }));
      void document.body.offsetHeight;
      return performance.now() - t0;
    }, { type: 'report', report, origin });
    console.log(`# webview full render of the report: ${render.toFixed(1)} ms`);
    await waitRows(page, verdicts.length);
  });

  it('shows errors and progress, and clears back to the empty state', async () => {
    await postToWebview(page, { type: 'progress', message: 'Analyzing PID 48211…' });
    await page.waitForSelector('#progress');
    await postToWebview(page, { type: 'error', message: 'ptrace: Operation not permitted', detail: 'kernel.yama.ptrace_scope = 1' });
    await page.waitForSelector('#error');
    assert.match((await page.textContent('#error')) ?? '', /Operation not permitted/);
    assert.equal(await page.$('#progress'), null);
    // The previous report stays visible under the error.
    assert.equal((await rowNames(page)).length, verdicts.length);
    const before = (await postedMessages(page)).length;
    await postToWebview(page, { type: 'report', report: { nonsense: true }, origin });
    await page.waitForFunction((n) => (window as unknown as { __posted: unknown[] }).__posted.length > n, before);
    assert.equal((await postedMessages(page)).at(-1)!.type, 'log');
    await postToWebview(page, { type: 'clear' });
    await page.waitForSelector('#empty-state');
    assert.equal(await page.$('#instance-grid'), null);
    assert.equal(await page.$('#error'), null);
    // An error without any report keeps the way to retry in view.
    await postToWebview(page, { type: 'error', message: 'process 48211 exited' });
    await page.waitForSelector('#error');
    assert.ok(await page.isVisible('#empty-state #analyze-process'));
  });

  it('looks right in dark and light themes (screenshots)', async () => {
    await postToWebview(page, { type: 'report', report, origin });
    await waitRows(page, verdicts.length);
    // Compatible types first, as a user opening the view sees them by default.
    while ((await page.getAttribute('[role=columnheader][data-key="compatible"]', 'aria-sort')) !== 'ascending') {
      await page.click('[role=columnheader][data-key="compatible"] button');
    }
    await page.screenshot({ path: path.join(SCREENSHOTS, 'webview-dark.png') });
    await switchTheme(page, 'light');
    // The toolkit re-reads the variables when the body class changes; wait for its button token to follow.
    await page.waitForFunction(() => getComputedStyle(document.body).getPropertyValue('--button-secondary-background').trim().toLowerCase() === '#e5e5e5');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'webview-light.png') });
    await page.click('#tab-features');
    await page.waitForSelector('#features-table', { state: 'visible' });
    await page.screenshot({ path: path.join(SCREENSHOTS, 'webview-features-light.png') });
    await page.click('#tab-details');
    await page.waitForSelector('#stats', { state: 'visible' });
    assert.match((await page.textContent('#stats')) ?? '', /Call sites unresolved/);
    await page.click('#tab-notes');
    await page.waitForSelector('#notes', { state: 'visible' });
    assert.equal(await page.$$eval('#notes li', (li) => li.length), report.notes.length);
    await page.click('#tab-instances');
    await switchTheme(page, 'dark');
  });

  it('shows feature-compatible types of another vendor as their own verdict, and the masked features', async () => {
    // The fixture's source (c5.12xlarge, Intel) with RDSEED hidden by its hypervisor, and a process whose
    // reachable code uses AVX2, FMA, BMI2 and RDSEED: verdicts and masked features from the real checker.
    const catalog = defaultCatalog();
    const source = new Set(catalog.instances.find((i) => i.name === 'c5.12xlarge')!.features);
    source.delete('rdseed');
    const used = ['avx2', 'fma', 'bmi2', 'rdseed'];
    const required = effectiveRequirement(used, source);
    const instances = summarizeInstances({ required, source, catalog, sourceVendor: 'intel' });
    const masked = maskedFeatures(used, source, 'intel');
    assert.deepEqual(masked, ['rdseed']);
    const crossNames = instances.verdicts.filter((v) => v.crossVendor).map((v) => v.name);
    assert.ok(crossNames.length > 0, 'AMD types have AVX2, FMA and BMI2');
    const xreport: AnalysisReport = {
      ...report,
      required,
      level: x86Level(required).name,
      levelExtras: x86Level(required).extras,
      features: report.features.filter((f) => required.includes(f.feature)),
      fullScanRequired: undefined,
      notOnHost: ['rdseed'],
      maskedFeatures: masked.map((feature) => ({
        feature,
        count: 2,
        sites: [{ module: '/usr/lib/x86_64-linux-gnu/libcrypto.so.3', function: 'OPENSSL_ia32_rdseed_bytes', address: '0x7f3a40a1c2b0', instruction: 'rdseed rax' }],
        reason: maskedReason(feature),
      })),
      maskedCounted: false,
      instances,
      criuAdvice: criuAdvice(instances),
    };
    await postToWebview(page, { type: 'report', report: xreport, origin });
    await page.waitForSelector('#cross-vendor');
    await waitRows(page, instances.verdicts.length);
    // Never counted as compatible: the headline and the compatible-only filter leave them out.
    assert.equal(await page.textContent('#compatible-count'), String(instances.compatible.length));
    assert.equal(await page.textContent('#cross-vendor-count'), String(crossNames.length));
    assert.ok(instances.compatible.every((n) => !crossNames.includes(n)));
    assert.match((await page.textContent('#cross-vendor')) ?? '', /another vendor, unproven/);
    assert.match((await page.textContent('#cross-vendor')) ?? '', /not counted as compatible/);
    assert.match((await page.textContent('#cross-vendor details')) ?? '', /LiveMigrate-Detector/);
    const xvRows = await page.$$eval('#instance-grid .grid-body .row.xv', (rows) => rows.map((r) => (r as HTMLElement).dataset.name!));
    assert.deepEqual(new Set(xvRows), new Set(crossNames));
    assert.equal(await page.textContent(`#instance-grid [data-name="${crossNames[0]}"] .verdict.xv`), 'Other vendor');
    // Provenance (the shipped catalog's rows): a derived row is marked in its generation cell and says what it
    // was derived from in the tooltip; a measured row is not marked and says where it was measured.
    const derivedRow = instances.verdicts.find((v) => v.provenance?.kind === 'derived')!;
    const measuredRow = instances.verdicts.find((v) => v.provenance?.kind === 'measured')!;
    const genCell = (n: string) => `#instance-grid [data-name="${n}"] .gen`;
    assert.equal(await page.textContent(`${genCell(derivedRow.name)} .chip.provenance`), 'derived');
    assert.match((await page.getAttribute(genCell(derivedRow.name), 'title')) ?? '', new RegExp(`derived from the ${derivedRow.provenance!.basis} micro-architecture, not measured`));
    assert.equal(await page.$(`${genCell(measuredRow.name)} .chip.provenance`), null);
    assert.match((await page.getAttribute(genCell(measuredRow.name), 'title')) ?? '', /measured \(aws-ec2-x86-isa-sets\.json\)/);
    const derivedCount = instances.verdicts.filter((v) => v.provenance?.kind === 'derived').length;
    assert.equal(await page.$$eval('#instance-grid .grid-body .chip.provenance', (els) => els.length), derivedCount);
    await page.click('#tab-instances');
    await page.waitForSelector('#compatible-only', { state: 'visible' });
    await page.click('#compatible-only');
    await waitRows(page, instances.compatible.length);
    assert.deepEqual(new Set(await rowNames(page)), new Set(instances.compatible));
    await page.click('#compatible-only');
    await waitRows(page, instances.verdicts.length);
    // Sorted by Pygration's verdict: compatible, then another vendor, then refused.
    const header = '[role=columnheader][data-key="compatible"]';
    await page.click(`${header} button`);
    if ((await page.getAttribute(header, 'aria-sort')) !== 'ascending') await page.click(`${header} button`);
    assert.equal(await page.getAttribute(header, 'aria-sort'), 'ascending');
    const order = (await rowNames(page)).map((n) => (instances.compatible.includes(n) ? 0 : crossNames.includes(n) ? 1 : 2));
    assert.deepEqual(order, [...order].sort((a, b) => a - b));
    // The masked feature: a warning with the function and the instruction, and a note.
    const warning = (await page.textContent('#masked-features')) ?? '';
    assert.match(warning, /RDSEED/);
    assert.match(warning, /OPENSSL_ia32_rdseed_bytes/);
    assert.match(warning, /rdseed rax/);
    assert.match(warning, /Not counted as required/);
    await page.click('#tab-notes');
    await page.waitForSelector('#masked-note', { state: 'visible' });
    assert.match((await page.textContent('#masked-note')) ?? '', /RDSEED/);
    await page.click('#tab-instances');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'webview-cross-vendor-dark.png') });
    // Back to the fixture report for the test after this one.
    await postToWebview(page, { type: 'report', report, origin });
    await page.waitForSelector('#cross-vendor', { state: 'detached' });
    await waitRows(page, verdicts.length);
  });

  it('loaded nothing but its own files, broke no CSP rule and threw nothing', async () => {
    assert.deepEqual(pageErrors, []);
    const violations = await page.evaluate(() => (window as unknown as { __cspViolations: unknown[] }).__cspViolations);
    assert.deepEqual(violations, []);
    const own = new Set(['/index.html', '/webview.js', '/webview.css'].map((p) => `${server.origin}${p}`));
    const foreign = networkRequests.filter((u) => !own.has(u));
    assert.deepEqual(foreign, []);
    // Chromium itself asks a top-level page's origin for /favicon.ico (not the page, and not a webview,
    // which is an iframe); everything else the server saw must be the page's own three files.
    const served = server.requests.filter((r) => r !== 'GET /favicon.ico');
    assert.ok(served.every((r) => / \/(index\.html|webview\.js|webview\.css)$/.test(r)), served.join(', '));
  });
});
