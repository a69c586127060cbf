// E2E smoke test in code-server + Chromium: installs the helper extension's .vsix, opens the fixture
// workspace and runs the shared smoke steps through the UI (plus a few UI-only checks).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEBIAN_PYTHON } from '../helpers/fixtures';
import { CodeServerDriver } from './codeServerDriver';
import { CodeServer, packageVsix, Workbench } from './harness';
import { HELPER_COMMANDS, HELPER_EXTENSION_ID, HELPER_STATUS_ITEM_ID } from './helper-extension/src/ids';
import { smokeSteps } from './suites/smoke';

describe('E2E smoke (code-server)', () => {
  let server: CodeServer | undefined;
  let workbench: Workbench | undefined;
  let driver: CodeServerDriver;
  const timings: Record<string, number> = {};

  before(async () => {
    let t0 = Date.now();
    const helper = packageVsix('helper');
    if ('notPackageable' in helper) throw new Error(`the helper extension must package: ${helper.notPackageable}`);
    timings['package helper .vsix'] = Date.now() - t0;
    t0 = Date.now();
    // The helper's debug adapter runs on Debian's python3, which has python3-debugpy.
    server = await CodeServer.start({ name: 'smoke', extensions: [helper.path], env: { PYGRATION_E2E_PYTHON: DEBIAN_PYTHON } });
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
    if (server) fs.writeFileSync(path.join(server.outputDir, 'timings.json'), JSON.stringify({ ...server.timings, ...timings }, null, 2));
  });

  test('the helper .vsix is installed', () => {
    const installed = server!.listExtensions();
    assert.deepEqual(installed, [`${HELPER_EXTENSION_ID}@0.0.1`]);
  });

  test('the helper extension activates: its status bar item appears', async () => {
    const item = await workbench!.waitForStatusBar('E2E ready', 60_000);
    assert.match(item.id, new RegExp(`${HELPER_STATUS_ITEM_ID.replace('.', '\\.')}$`));
  });

  for (const step of smokeSteps) {
    test(step.name, async () => {
      const t0 = Date.now();
      await step.run(driver);
      timings[`step: ${step.name}`] = Date.now() - t0;
    });
  }

  test('the palette command also updated the status bar item', async () => {
    await workbench!.waitForStatusBar(/E2E (ping 1|webview 1)$/);
    await workbench!.runCommand(HELPER_COMMANDS.ping.title);
    await workbench!.waitForStatusBar('E2E ping 2');
  });

  test('clicking a code lens runs its command', async () => {
    await workbench!.openFile('app.py');
    await workbench!.clickCodeLens('E2E lens: scale() at line 3');
    await workbench!.waitForOutput('Pygration E2E', /^lens clicked: scale$/m);
    await workbench!.screenshot('lens-clicked');
  });

  test('the workbench made no request beyond 127.0.0.1', () => {
    assert.deepEqual(workbench!.externalRequests, []);
  });
});
