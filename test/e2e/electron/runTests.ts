// `npm run test:vscode`: the shared E2E steps in a real VS Code build through @vscode/test-electron. Packages
// the helper extension (loaded as the development extension) and, when it packages, the repository's
// extension (.vsix installed into a fresh extensions folder); runs the smoke suite on a copy of the fixture
// workspace, then the extension suite (PYGRATION_E2E=1) on the workspace it builds, each in a fresh VS Code.
// Needs a VS Code build: VSCODE_EXECUTABLE_PATH, or network access for @vscode/test-electron's download
// (PYGRATION_VSCODE_VERSION, default 'stable'); on Linux without a display run it under xvfb-run.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadAndUnzipVSCode, resolveCliArgsFromVSCodeExecutablePath, runTests } from '@vscode/test-electron';
import { DEBIAN_PYTHON, REPO_ROOT } from '../../helpers/fixtures';
import { E2E_FIXTURES, E2E_SETTINGS, packageVsix, type PackageResult } from '../harness';
import { buildExtensionWorkspace, extensionSuiteSkipReason } from '../suites/extension';

type Suite = 'smoke' | 'extension';

async function main(): Promise<number> {
  const helper = packageVsix('helper');
  if ('notPackageable' in helper) throw new Error(`the helper extension must package: ${helper.notPackageable}`);
  const repo = packageVsix('repo');
  const vscodeExecutablePath = process.env.VSCODE_EXECUTABLE_PATH ?? (await downloadAndUnzipVSCode(process.env.PYGRATION_VSCODE_VERSION ?? 'stable'));
  const suites: Suite[] = process.env.PYGRATION_E2E_SUITE ? [process.env.PYGRATION_E2E_SUITE as Suite] : ['smoke', 'extension'];
  let failed = 0;
  for (const suite of suites) {
    if (suite === 'extension') {
      const skip = 'notPackageable' in repo ? `the repository's extension is not packageable yet: ${repo.notPackageable}` : extensionSuiteSkipReason();
      if (skip) {
        console.log(`test:vscode: skipping the extension suite: ${skip}`);
        continue;
      }
    }
    console.log(`test:vscode: the ${suite} suite`);
    try {
      if ((await runSuite(suite, vscodeExecutablePath, repo)) !== 0) failed++;
    } catch (e) {
      // runTests rejects when the tests fail; the next suite still runs.
      console.error(`test:vscode: the ${suite} suite failed: ${e instanceof Error ? e.message : String(e)}`);
      failed++;
    }
  }
  return failed === 0 ? 0 : 1;
}

async function runSuite(suite: Suite, vscodeExecutablePath: string, repo: PackageResult): Promise<number> {
  // scripts/package.mjs stages the helper here before packaging it.
  const helperDir = path.join(REPO_ROOT, 'out', 'e2e-helper-extension');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-vscode-test-'));
  try {
    const userData = path.join(root, 'user-data');
    const extensions = path.join(root, 'extensions');
    const logs = path.join(root, 'logs');
    const workspace = path.join(root, 'workspace');
    fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
    fs.mkdirSync(extensions, { recursive: true });
    fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify(E2E_SETTINGS, null, 2));
    if (suite === 'extension') buildExtensionWorkspace(workspace);
    else fs.cpSync(path.join(E2E_FIXTURES, 'workspace'), workspace, { recursive: true });

    if ('notPackageable' in repo) {
      console.log(`test:vscode: the repository's extension is not packageable yet, so only the helper runs: ${repo.notPackageable}`);
    } else {
      // Install the packaged extension as a user would, into this run's extensions folder.
      const [cli, ...cliArgs] = resolveCliArgsFromVSCodeExecutablePath(vscodeExecutablePath);
      const installed = spawnSync(cli, [...cliArgs, '--extensions-dir', extensions, '--user-data-dir', userData, '--install-extension', repo.path], {
        encoding: 'utf8',
        stdio: 'inherit',
      });
      if (installed.status !== 0) throw new Error(`installing ${repo.path} failed (exit ${installed.status})`);
    }

    return await runTests({
      vscodeExecutablePath,
      extensionDevelopmentPath: helperDir,
      extensionTestsPath: path.join(__dirname, 'index.js'),
      // PYGRATION_E2E=1 registers the extension's test-only commands (the webview and status bar bridges).
      extensionTestsEnv: { PYGRATION_E2E_PYTHON: DEBIAN_PYTHON, PYGRATION_E2E_SUITE: suite, ...(suite === 'extension' ? { PYGRATION_E2E: '1' } : {}) },
      launchArgs: [
        workspace,
        '--user-data-dir', userData,
        '--extensions-dir', extensions,
        '--logsPath', logs,
        '--disable-workspace-trust',
        '--skip-welcome',
        '--skip-release-notes',
        '--disable-telemetry',
        '--disable-updates',
      ],
    });
  } finally {
    if (process.env.PYGRATION_E2E_KEEP !== '1') fs.rmSync(root, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`test:vscode: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
