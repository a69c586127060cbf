// E2E of Restricted Mode (issue 14): code-server with workspace trust on and the workspace not trusted. The
// workspace names an interpreter that would leave a marker file if it ever ran, and a catalog that does not
// exist; the extension must still analyse (with python3 on PATH and the shipped catalog), say why, and never
// run the workspace's interpreter.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultCatalog } from '../../native/src/catalog/catalog';
import { DEBIAN_PYTHON, REPO_ROOT, hostFlags } from '../helpers/fixtures';
import { skipWhen } from '../helpers/skip';
import { waitFor } from './driver';
import { CodeServer, packageVsix, Workbench } from './harness';
import { KERNELS, OUTPUT_CHANNEL, STATUS_ITEM_LINK, buildExtensionWorkspace, extensionSuiteSkipReason } from './suites/extension';

describe('E2E: the extension in Restricted Mode (an untrusted workspace)', { skip: skipWhen(extensionSuiteSkipReason()) }, () => {
  let server: CodeServer | undefined;
  let workbench: Workbench | undefined;
  const markerDir = path.join(REPO_ROOT, 'out', 'e2e-workspaces', 'restricted-marker');
  const marker = path.join(markerDir, 'the-workspace-interpreter-ran');
  const workspaceInterpreter = path.join(markerDir, 'workspace-python');

  before(async () => {
    const repo = packageVsix('repo');
    if ('notPackageable' in repo) throw new Error(`the extension must package: ${repo.notPackageable}`);
    const helper = packageVsix('helper');
    if ('notPackageable' in helper) throw new Error(`the helper extension must package: ${helper.notPackageable}`);
    // An "interpreter" that records that it ran, then behaves as Debian's python3 (so running it would go unnoticed otherwise).
    fs.rmSync(markerDir, { recursive: true, force: true });
    fs.mkdirSync(markerDir, { recursive: true });
    fs.writeFileSync(workspaceInterpreter, `#!/bin/sh\ntouch '${marker}'\nexec ${DEBIAN_PYTHON} "$@"\n`, { mode: 0o755 });
    const workspace = buildExtensionWorkspace(path.join(REPO_ROOT, 'out', 'e2e-workspaces', 'restricted'));
    fs.writeFileSync(
      path.join(workspace, '.vscode', 'settings.json'),
      JSON.stringify({ 'pygration.pythonPath': workspaceInterpreter, 'pygration.catalogPath': path.join(markerDir, 'no-such-catalog.json') }, null, 2),
    );
    server = await CodeServer.start({
      name: 'restricted',
      workspaceFixture: workspace,
      extensions: [repo.path, helper.path],
      env: { PYGRATION_E2E_PYTHON: DEBIAN_PYTHON, PYGRATION_E2E_HELPER_UI: 'minimal' },
      // No trust prompt: the folder simply opens in Restricted Mode, as after "Don't Trust".
      settings: { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.emptyWindow': false },
      workspaceTrust: true,
    });
    workbench = await Workbench.open(server);
  });

  after(async () => {
    if (workbench) await workbench.screenshot('final').catch(() => undefined);
    await workbench?.close();
    await server?.stop();
  });

  test('the static analysis runs with python3 on PATH and the shipped catalog, and the language status says Restricted Mode', async () => {
    const wb = workbench!;
    await wb.openFile(KERNELS);
    await wb.waitForEditorText('def step(i):');
    const item = await waitFor(
      'the Pygration language status item with static results in Restricted Mode',
      async () => {
        const rows = await wb.languageStatusItems();
        const ours = rows.find((r) => STATUS_ITEM_LINK.test(r.link));
        if (!ours || !/^\$\(chip\) (at least )?x86-64-v[1-4] · /.test(ours.text)) throw new Error(`rows: ${JSON.stringify(rows)}`);
        return ours;
      },
      180_000,
      1000,
    );
    assert.match(item.detail, /Restricted Mode/);
    // The shipped catalog, not the workspace's missing file: a verdict names it, a lower bound does not.
    if (!item.text.includes('at least')) assert.match(item.text, new RegExp(`/${defaultCatalog().instances.length}$`));
    const log = await wb.waitForOutput(OUTPUT_CHANNEL, /Restricted Mode: pygration\.pythonPath and/, 30_000);
    assert.doesNotMatch(log, /could not be loaded/);
    if (hostFlags().has('sha_ni')) await wb.waitForCodeLens(/^\$\(chip\) SHA-NI — pyext_kernels\.k_sha/, 60_000);
    await wb.showLanguageStatus();
    await wb.screenshot('restricted-mode');
    await wb.closeLanguageStatus();
  });

  test("the workspace's interpreter never ran", () => {
    assert.ok(!fs.existsSync(marker), `${workspaceInterpreter} ran: ${marker} exists`);
    // The interpreter that did run is named in the log (python3 on PATH), and no notification asked about the catalog.
  });

  test('the workbench made no request beyond 127.0.0.1', () => {
    assert.deepEqual(workbench!.externalRequests, []);
  });
});
