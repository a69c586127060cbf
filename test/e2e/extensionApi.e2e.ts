// Runs the extension suite's steps through the vscode API (electron/index.js with PYGRATION_E2E_SUITE=extension)
// inside code-server's real extension host, with the packaged .vsix installed and PYGRATION_E2E=1: the same
// bodies as extension.e2e.ts, through VscodeApiDriver and the extension's test-only commands.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEBIAN_PYTHON, REPO_ROOT } from '../helpers/fixtures';
import { waitFor } from './driver';
import type { StepResult } from './electron/index';
import { CodeServer, packageVsix, Workbench } from './harness';
import { buildExtensionWorkspace, extensionSteps, extensionSuiteSkipReason } from './suites/extension';
import { skipWhen } from '../helpers/skip';

describe('E2E: the Pygration extension through the vscode API (code-server extension host)', { skip: skipWhen(extensionSuiteSkipReason()) }, () => {
  let server: CodeServer | undefined;
  let workbench: Workbench | undefined;
  let results: StepResult[] = [];
  const resultsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-e2e-results-')), 'results.json');

  before(async () => {
    const repo = packageVsix('repo');
    if ('notPackageable' in repo) throw new Error(`the extension must package: ${repo.notPackageable}`);
    const helper = packageVsix('helper');
    if ('notPackageable' in helper) throw new Error(`the helper extension must package: ${helper.notPackageable}`);
    const workspace = buildExtensionWorkspace(path.join(REPO_ROOT, 'out', 'e2e-workspaces', 'extension-api'));
    // The payload is honoured only with the smoke-test driver option; the helper loads as the development
    // extension (it hosts the test runner), the extension under test from its .vsix.
    server = await CodeServer.start({
      name: 'extension-api',
      workspaceFixture: workspace,
      extensions: [repo.path],
      vscodeOptions: ['enable-smoke-test-driver'],
      env: { PYGRATION_E2E_PYTHON: DEBIAN_PYTHON, PYGRATION_E2E_RESULTS: resultsFile, PYGRATION_E2E_SUITE: 'extension', PYGRATION_E2E: '1' },
    });
    const payload: Array<[string, string]> = [
      ['extensionDevelopmentPath', server.remoteUri(path.join(REPO_ROOT, 'out', 'e2e-helper-extension'))],
      ['extensionTestsPath', server.remoteUri(path.join(__dirname, 'electron', 'index.js'))],
    ];
    workbench = await Workbench.open(server, { payload });
    const text = await waitFor('the extension-host test run to write its results', () => (fs.existsSync(resultsFile) ? fs.readFileSync(resultsFile, 'utf8') : undefined), 900_000, 500);
    results = JSON.parse(text) as StepResult[];
  });

  after(async () => {
    if (workbench) await workbench.screenshot('final').catch(() => undefined);
    await workbench?.close();
    await server?.stop();
    if (server) fs.writeFileSync(path.join(server.outputDir, 'results.json'), JSON.stringify(results, null, 2));
    fs.rmSync(path.dirname(resultsFile), { recursive: true, force: true });
  });

  for (const step of extensionSteps) {
    test(step.name, (t) => {
      const result = results.find((r) => r.name === step.name);
      const setup = results.find((r) => r.name === 'setup');
      assert.ok(result, setup?.error ?? `the extension host reported no result for "${step.name}"`);
      t.diagnostic(`${result.ms} ms in the extension host`);
      assert.ok(result.ok, result.error);
    });
  }
});
