// The instance view in Chromium, focused on a call whose native callees are not all known: the banner says
// its features are "at least" those shown, and that it rules out "at least" N types, with how many callees
// are unknown; a wholly unknown call says its features are unknown. A resolved call keeps the plain wording.

import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { AnalysisReport } from '../../native/src/report';
import type { FocusCallSite } from '../../webview/src/messages';
import { REPO_ROOT } from '../helpers/fixtures';
import { openInstanceView, postToWebview, serveInstanceView, type StaticServer } from '../helpers/chromium';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'report');
const report = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'numpy-matmul.live.json'), 'utf8')) as AnalysisReport;
const focus = (JSON.parse(fs.readFileSync(path.join(FIXTURES, 'numpy-matmul.focus.json'), 'utf8')) as { callSite: FocusCallSite }).callSite;
const total = report.instances.verdicts.length;

describe('instance view focus on a call with unknown callees', { timeout: 60_000 }, () => {
  let browser: Browser;
  let server: StaticServer;
  let page: Page;

  before(async () => {
    ({ browser, server } = await serveInstanceView());
    page = await openInstanceView(browser, server, { viewport: { width: 1200, height: 800 } });
    await postToWebview(page, { type: 'report', report, origin: { kind: 'live', label: 'PID 1 · python3 app.py' } });
    await page.waitForSelector('#instance-grid');
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const bannerText = async (): Promise<{ count: string; bound: string | null }> => {
    await page.waitForSelector('#focus-count');
    return { count: (await page.textContent('#focus-count')) ?? '', bound: (await page.$('#focus-bound')) ? await page.textContent('#focus-bound') : null };
  };

  it('says "at least" with the number of unknown callees, and plain wording once resolved', async () => {
    const want = new Set(focus.features);
    const ruledOut = report.instances.verdicts.filter((v) => v.missing.some((f) => want.has(f))).length;
    await postToWebview(page, { type: 'focus', callSite: { ...focus, unknownCallees: 2 } });
    await page.waitForSelector('#focus-bound');
    const partial = await bannerText();
    assert.equal(partial.bound, 'at least');
    assert.equal(partial.count, `rules out at least ${ruledOut} of ${total} types; 2 native callees unknown`);

    await postToWebview(page, { type: 'focus', callSite: { label: 'getattr(…)', features: [], unknownCallees: 1 } });
    await page.waitForFunction(() => document.querySelector('#focus-bound')?.textContent === 'CPU features unknown');
    assert.equal((await bannerText()).count, `rules out at least 0 of ${total} types; 1 native callee unknown`);

    await postToWebview(page, { type: 'focus', callSite: focus });
    await page.waitForFunction(() => document.querySelector('#focus-bound') === null);
    assert.equal((await bannerText()).count, `rules out ${ruledOut} of ${total} types`);
  });

  it('without a report, the pending focus says its callees are unknown', async () => {
    await postToWebview(page, { type: 'clear' });
    await postToWebview(page, { type: 'focus', callSite: { label: 'ctypes.CDLL', features: ['avx2'], unknownCallees: 1 } });
    await page.waitForSelector('#focus-pending');
    assert.match((await page.textContent('#focus-pending')) ?? '', /^Focused on ctypes\.CDLL \(1 native callee unknown: its features are a lower bound\);/);
  });
});
