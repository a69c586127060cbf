// The instance view's "Copy as…" menu in real Chromium: each format posts the text the CLI prints for the same
// report (`pygration export --report FILE --format F`, run as a child process), so the two share one formatter.

import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { AnalysisReport } from '../../native/src/report';
import { EXPORT_FORMATS } from '../../native/src/export/formats';
import { isWebviewMessage } from '../../webview/src/messages';
import { REPO_ROOT } from '../helpers/fixtures';
import { openInstanceView, postedMessages, postToWebview, serveInstanceView, type StaticServer } from '../helpers/chromium';

const REPORT_FILE = path.join(REPO_ROOT, 'test', 'fixtures', 'report', 'numpy-matmul.live.json');
const report = JSON.parse(fs.readFileSync(REPORT_FILE, 'utf8')) as AnalysisReport;
const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');

/** What the CLI prints for the fixture report in `format`. */
function cliExport(format: string): string {
  const r = spawnSync(process.execPath, [CLI, 'export', '--report', REPORT_FILE, '--format', format], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

async function copyAs(page: Page, format: string): Promise<{ type: string; format?: unknown; text?: unknown }> {
  const before = (await postedMessages(page)).length;
  await page.click('#copy-as');
  await page.click(`#copy-as vscode-option[value="${format}"]`);
  await page.waitForFunction((n) => (window as unknown as { __posted: unknown[] }).__posted.length > n, before, { timeout: 5000 });
  return (await postedMessages(page)).at(-1)!;
}

describe('instance view: Copy as…', { timeout: 60_000 }, () => {
  let browser: Browser;
  let server: StaticServer;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    ({ browser, server } = await serveInstanceView());
    page = await openInstanceView(browser, server, { viewport: { width: 1360, height: 900 }, onPage: (p) => p.on('pageerror', (e) => pageErrors.push(e.message)) });
    await postToWebview(page, { type: 'report', report, origin: { kind: 'live', label: 'PID 48211 · python3 matmul.py' } });
    await page.waitForSelector('#copy-as');
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('offers every CLI format', async () => {
    const values = await page.$$eval('#copy-as vscode-option', (os) => os.map((o) => o.getAttribute('value')));
    assert.deepEqual(values, ['', ...EXPORT_FORMATS]);
  });

  for (const format of EXPORT_FORMATS) {
    it(`copies as ${format}: the text the CLI prints for the same report`, async () => {
      const m = await copyAs(page, format);
      assert.ok(isWebviewMessage(m), `a valid message: ${JSON.stringify(m).slice(0, 200)}`);
      assert.equal(m.type, 'copy');
      assert.equal(m.format, format);
      assert.equal(m.text, cliExport(format));
      // The menu goes back to its title, ready for the next copy.
      assert.equal(await page.$eval('#copy-as', (e) => (e as unknown as { value: string }).value), '');
    });
  }

  it('raised no page errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
