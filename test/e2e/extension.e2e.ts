// E2E test of the real extension in code-server + Chromium: installs the packaged .vsix and the helper
// extension (the `debugpy` debug type), opens a workspace calling a C extension built by the test, and runs
// the extension suite's steps through the UI, plus UI-only checks (the language status hover and the hidden
// commands, a lens click, the network).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEBIAN_PYTHON, REPO_ROOT } from '../helpers/fixtures';
import { CodeServerDriver } from './codeServerDriver';
import { waitFor } from './driver';
import { CodeServer, packageVsix, Workbench } from './harness';
import { HELPER_EXTENSION_ID } from './helper-extension/src/ids';
import { EXTENSION_ID, KERNELS, STATUS_ITEM_ID, STATUS_ITEM_LINK, VIEW_TITLE, buildExtensionWorkspace, extensionSteps, extensionSuiteSkipReason } from './suites/extension';
import { skipWhen } from '../helpers/skip';

/** The screenshots README.md shows, copied to docs/ when PYGRATION_E2E_UPDATE_DOCS=1: docs name ← screenshot suffix. */
const DOC_SHOTS: Record<string, string> = { 'lenses.png': '-lenses.png', 'hover.png': '-hover-', 'instances.png': '-instances.png', 'language-status.png': '-language-status.png' };

describe('E2E: the Pygration extension in code-server', { skip: skipWhen(extensionSuiteSkipReason()) }, () => {
  let server: CodeServer | undefined;
  let workbench: Workbench | undefined;
  let driver: CodeServerDriver;
  let repoVersion = '';
  const timings: Record<string, number> = {};

  before(async () => {
    let t0 = Date.now();
    const repo = packageVsix('repo');
    if ('notPackageable' in repo) throw new Error(`the extension must package: ${repo.notPackageable}`);
    const helper = packageVsix('helper');
    if ('notPackageable' in helper) throw new Error(`the helper extension must package: ${helper.notPackageable}`);
    repoVersion = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    timings['package both .vsix'] = Date.now() - t0;
    t0 = Date.now();
    const workspace = buildExtensionWorkspace(path.join(REPO_ROOT, 'out', 'e2e-workspaces', 'extension'));
    timings['build the workspace (gcc)'] = Date.now() - t0;
    t0 = Date.now();
    // The helper's debug adapter runs on Debian's python3, which has python3-debugpy; its own lenses,
    // hovers and status item stay off, so the screenshots show the extension alone. No PYGRATION_E2E:
    // through the UI the extension runs exactly as users get it, without its test-only commands.
    server = await CodeServer.start({
      name: 'extension',
      workspaceFixture: workspace,
      extensions: [repo.path, helper.path],
      env: { PYGRATION_E2E_PYTHON: DEBIAN_PYTHON, PYGRATION_E2E_HELPER_UI: 'minimal' },
    });
    timings['code-server start (install + listen)'] = Date.now() - t0;
    t0 = Date.now();
    workbench = await Workbench.open(server);
    timings['workbench open'] = Date.now() - t0;
    driver = new CodeServerDriver(workbench);
  });

  after(async () => {
    // Runs even when a step or before() failed: a last screenshot, then Chromium and code-server go.
    if (workbench) await workbench.screenshot('final').catch(() => undefined);
    await workbench?.close();
    await server?.stop();
    if (server) {
      fs.writeFileSync(path.join(server.outputDir, 'timings.json'), JSON.stringify({ ...server.timings, ...timings }, null, 2));
      if (process.env.PYGRATION_E2E_UPDATE_DOCS === '1') copyDocScreenshots(server.outputDir);
    }
  });

  test('both .vsix files are installed', () => {
    assert.deepEqual(server!.listExtensions().sort(), [`${HELPER_EXTENSION_ID}@0.0.1`, `${EXTENSION_ID}@${repoVersion}`].sort());
  });

  test('beside a Python file the language status shows Pygration; no status bar entry of its own, no commands without a report', async () => {
    const wb = workbench!;
    // Before any report the commands that need one are not offered (context keys in the when clauses).
    await wb.openFile(KERNELS);
    await wb.waitForEditorText('def step(i):');
    for (const title of ['Pygration: Export Result…', 'Pygration: Copy the criu restore Command for a Target…', 'Pygration: Clear Live Results']) {
      assert.deepEqual(await wb.commandPaletteRows(title), [], `${title} is hidden without a report`);
    }
    assert.ok((await wb.commandPaletteRows('Pygration: Analyze Running Process')).length > 0, 'Analyze Running Process is offered');
    const item = await waitFor(
      'the Pygration item in the language status hover',
      async () => {
        const rows = await wb.languageStatusItems();
        const ours = rows.find((r) => STATUS_ITEM_LINK.test(r.link));
        if (!ours || !/^\$\(chip\) (at least )?x86-64-v[1-4] · /.test(ours.text)) throw new Error(`rows: ${JSON.stringify(rows)}`);
        return ours;
      },
      180_000,
      1000,
    );
    assert.match(item.detail, /static/);
    assert.equal(item.pinned, false);
    // Not a permanent status bar entry: nothing of Pygration's is in the status bar until a user pins it.
    assert.ok(!(await wb.statusBarItems()).some((i) => i.id.endsWith(`/${STATUS_ITEM_ID}`) || /^\$\(chip\) (at least )?x86-64-v/.test(i.text)), JSON.stringify(await wb.statusBarItems()));
    await wb.showLanguageStatus();
    await wb.screenshot('language-status');
    await wb.closeLanguageStatus();
  });

  for (const step of extensionSteps) {
    test(step.name, async () => {
      const t0 = Date.now();
      await step.run(driver);
      timings[`step: ${step.name}`] = Date.now() - t0;
    });
  }

  test('clicking a lens opens the instance view focused on that call', async (t) => {
    const wb = workbench!;
    await wb.openFile(KERNELS);
    // A kernel call's lens (any static Pygration lens on a host with neither SHA-NI nor AVX2).
    const isStatic = (l: string) => l.startsWith('$(chip) ') && !l.endsWith(' · live');
    const lenses = await wb.waitForCodeLens(/^\$\(chip\) /, 60_000);
    const lens = lenses.find((l) => isStatic(l) && l.includes(' pyext_kernels.k_')) ?? lenses.find(isStatic)!;
    // The link text is the title without the codicon.
    await wb.clickCodeLens(lens.replace(/^\$\([\w~-]+\)\s*/, ''));
    // With a report (a live analysis) the view shows a focus banner; without one (here: the debug session's
    // report was dropped when it ended) it says which call it will focus on once a report arrives.
    const focus = await waitFor(`the instance view "${VIEW_TITLE}" to focus on the clicked call`, async () => {
      for (const selector of ['#focus-label', '#focus-pending']) {
        if ((await wb.webviewCount(VIEW_TITLE, selector)) === 0) continue;
        const text = (await wb.webviewText(VIEW_TITLE, selector)).trim();
        if (text !== '') return text;
      }
      return undefined;
    }, 60_000);
    // The lens reads `… — pyext_kernels.k_sha → k_sha (pyext_kernels)`: the view names the same call.
    const call = /— (\S+) → (\S+) /.exec(lens);
    assert.ok(call, lens);
    assert.ok(focus.includes(`${call[1]} → ${call[2]}`), `the view focuses on the clicked call: ${focus} / ${lens}`);
    t.diagnostic(`focused: ${focus}`);
    await wb.screenshot('lens-clicked');
  });

  test('the walkthrough shows its four steps', async (t) => {
    const wb = workbench!;
    await wb.runCommand('Welcome: Open Walkthrough...');
    await wb.pickQuickItem(/^Get started with Pygration/);
    const steps = await waitFor(
      'the walkthrough "Get started with Pygration" with its steps',
      async () => {
        const found = await wb.page.$$eval('.getting-started-step[data-step-id]', (els) =>
          els.filter((e) => (e as HTMLElement).offsetParent !== null).map((e) => ({ id: e.getAttribute('data-step-id') ?? '', checked: e.getAttribute('aria-checked') })),
        );
        const ours = found.filter((s) => /(openPythonFile|seeTheLenses|analyzeRunningProcess|readTheInstanceView)$/.test(s.id));
        return ours.length === 4 ? ours : undefined;
      },
      30_000,
    );
    t.diagnostic(JSON.stringify(steps));
    // Its titles, in order (VS Code tracks completion events only from when a walkthrough page is first shown,
    // so the steps done before are not checked here; the manifest test checks the events exist).
    const titles = await wb.page.$$eval('.getting-started-step[data-step-id] .step-title', (els) => els.filter((e) => (e as HTMLElement).offsetParent !== null).map((e) => e.textContent?.trim() ?? ''));
    assert.deepEqual(titles, ['Open a Python file', 'See the lenses', 'Analyze a running process', 'Read the instance view']);
    await wb.screenshot('walkthrough');
  });

  test('the workbench made no request beyond 127.0.0.1', () => {
    assert.deepEqual(workbench!.externalRequests, []);
  });
});

/** Copies the best screenshots of this run (see DOC_SHOTS) to docs/, for the README. */
function copyDocScreenshots(outputDir: string): void {
  const shots = fs.readdirSync(outputDir).filter((f) => f.endsWith('.png')).sort();
  for (const [doc, suffix] of Object.entries(DOC_SHOTS)) {
    const shot = shots.find((f) => f.includes(suffix));
    if (shot) fs.copyFileSync(path.join(outputDir, shot), path.join(REPO_ROOT, 'docs', doc));
  }
}
