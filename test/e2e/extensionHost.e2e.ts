// Runs the @vscode/test-electron entry (electron/index.js: the shared steps through the vscode API) inside
// code-server's real extension host, so the API driver is exercised here too, where no VS Code build can be
// downloaded. The workbench's development payload (extensionDevelopmentPath + extensionTestsPath) starts it.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEBIAN_PYTHON, REPO_ROOT } from '../helpers/fixtures';
import { waitFor } from './driver';
import type { StepResult } from './electron/index';
import { CodeServer, packageVsix, Workbench } from './harness';
import { smokeSteps } from './suites/smoke';

describe('E2E smoke through the vscode API (code-server extension host)', () => {
  let server: CodeServer | undefined;
  let workbench: Workbench | undefined;
  let results: StepResult[] = [];
  const resultsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-e2e-results-')), 'results.json');

  before(async () => {
    const helper = packageVsix('helper');
    if ('notPackageable' in helper) throw new Error(`the helper extension must package: ${helper.notPackageable}`);
    // The payload is honoured only with the smoke-test driver option; the helper loads as the development
    // extension from the folder scripts/package.mjs staged it in.
    server = await CodeServer.start({
      name: 'extension-host',
      vscodeOptions: ['enable-smoke-test-driver'],
      env: { PYGRATION_E2E_PYTHON: DEBIAN_PYTHON, PYGRATION_E2E_RESULTS: resultsFile },
    });
    const payload: Array<[string, string]> = [
      ['extensionDevelopmentPath', server.remoteUri(path.join(REPO_ROOT, 'out', 'e2e-helper-extension'))],
      ['extensionTestsPath', server.remoteUri(path.join(__dirname, 'electron', 'index.js'))],
    ];
    workbench = await Workbench.open(server, { payload });
    const text = await waitFor('the extension-host test run to write its results', () => (fs.existsSync(resultsFile) ? fs.readFileSync(resultsFile, 'utf8') : undefined), 180_000, 250);
    results = JSON.parse(text) as StepResult[];
  });

  after(async () => {
    await workbench?.close();
    await server?.stop();
    fs.rmSync(path.dirname(resultsFile), { recursive: true, force: true });
  });

  for (const step of smokeSteps) {
    test(step.name, () => {
      const result = results.find((r) => r.name === step.name);
      const setup = results.find((r) => r.name === 'setup');
      assert.ok(result, setup?.error ?? `the extension host reported no result for "${step.name}"`);
      assert.ok(result.ok, result.error);
    });
  }
});
