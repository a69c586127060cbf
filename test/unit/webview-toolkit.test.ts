// The instance view renders with @vscode/webview-ui-toolkit (archived upstream, so pinned): in Chromium every
// toolkit element the view puts on the page is a registered custom element that rendered its shadow DOM and
// took the theme's colours; the package is imported only by webview/src/toolkit.ts, at the pinned version.

import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { AnalysisReport } from '../../native/src/report';
import { REPO_ROOT } from '../helpers/fixtures';
import { openInstanceView, postToWebview, serveInstanceView, THEMES, type StaticServer } from '../helpers/chromium';

const TOOLKIT = '@vscode/webview-ui-toolkit';
const report = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'report', 'numpy-matmul.live.json'), 'utf8')) as AnalysisReport;

/** Every .ts file under a folder (recursively). */
function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

describe('the webview UI toolkit', () => {
  it('is pinned to the exact version package-lock.json and node_modules hold', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const lock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; dependencies?: Record<string, string> }> };
    const installed = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'node_modules', ...TOOLKIT.split('/'), 'package.json'), 'utf8')) as { version: string };
    const pin = manifest.dependencies[TOOLKIT];
    assert.match(pin, /^\d+\.\d+\.\d+$/, `package.json pins ${TOOLKIT} to one version, not a range: ${pin}`);
    assert.equal(lock.packages[`node_modules/${TOOLKIT}`].version, pin);
    assert.equal(lock.packages[''].dependencies![TOOLKIT], pin, "package-lock.json's root entry agrees with package.json");
    assert.equal(installed.version, pin);
  });

  it('is imported only by webview/src/toolkit.ts', () => {
    const importers = ['client', 'server', 'native', 'webview']
      .flatMap((d) => tsFiles(path.join(REPO_ROOT, d, 'src')))
      .filter((f) => new RegExp(`from '${TOOLKIT}`).test(fs.readFileSync(f, 'utf8')))
      .map((f) => path.relative(REPO_ROOT, f));
    assert.deepEqual(importers, [path.join('webview', 'src', 'toolkit.ts')]);
  });
});

describe('the instance view renders with the toolkit in Chromium', { timeout: 60_000 }, () => {
  let browser: Browser;
  let server: StaticServer;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    ({ browser, server } = await serveInstanceView());
    page = await openInstanceView(browser, server, { viewport: { width: 1200, height: 800 }, onPage: (p) => p.on('pageerror', (e) => pageErrors.push(e.message)) });
    await postToWebview(page, { type: 'report', report, origin: { kind: 'live', label: 'PID 48211 · python3 matmul.py' } });
    await page.waitForSelector('#instance-grid .grid-body [data-name]');
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('every toolkit element on the page is defined, upgraded and rendered', async () => {
    const elements = await page.$$eval('*', (all) =>
      all
        .filter((e) => e.localName.startsWith('vscode-'))
        .map((e) => ({
          tag: e.localName,
          defined: customElements.get(e.localName) !== undefined,
          shadow: (e.shadowRoot?.childNodes.length ?? 0) > 0,
          // Controls in a closed dropdown or an inactive panel are not laid out; the others must be.
          shown: e.checkVisibility(),
          box: e.getBoundingClientRect().width,
        })),
    );
    const tags = new Set(elements.map((e) => e.tag));
    // The view's filters and actions: a search field, dropdowns with options and buttons at least.
    for (const tag of ['vscode-text-field', 'vscode-dropdown', 'vscode-option', 'vscode-button']) assert.ok(tags.has(tag), `the view uses <${tag}>: ${[...tags].join(', ')}`);
    for (const e of elements) {
      assert.ok(e.defined, `<${e.tag}> is a registered custom element`);
      assert.ok(e.shadow, `<${e.tag}> rendered its shadow DOM`);
    }
    const shown = elements.filter((e) => e.shown && e.tag !== 'vscode-option');
    assert.ok(shown.length >= 4, `controls are shown: ${JSON.stringify(elements)}`);
    for (const e of shown) assert.ok(e.box > 0, `<${e.tag}> has a size on the page`);
    assert.deepEqual(pageErrors, []);
  });

  it("a toolkit button takes the theme's button colours through the design tokens", async () => {
    const buttons = await page.$$eval('vscode-button:not([appearance="icon"])', (bs) =>
      bs.map((b) => ({ appearance: b.getAttribute('appearance') ?? 'primary', background: getComputedStyle(b).backgroundColor })),
    );
    assert.ok(buttons.length > 0, 'the view has a text button');
    const rgb = (hex: string) => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(', ')})`;
    const theme = THEMES.dark;
    for (const b of buttons) {
      const token = b.appearance === 'secondary' ? '--vscode-button-secondaryBackground' : '--vscode-button-background';
      assert.equal(b.background, rgb(theme[token]), `a ${b.appearance} button is coloured by ${token}`);
    }
  });
});
