// `npm run test:vscode`: the shared E2E steps in a real VS Code build through @vscode/test-electron. Packages
// the helper extension (loaded as the development extension) and, when it packages, the repository's
// extension (.vsix installed into a fresh extensions folder), then opens a copy of the fixture workspace.
// Needs a VS Code build: VSCODE_EXECUTABLE_PATH, or network access for @vscode/test-electron's download
// (PYGRATION_VSCODE_VERSION, default 'stable'); on Linux without a display run it under xvfb-run.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadAndUnzipVSCode, resolveCliArgsFromVSCodeExecutablePath, runTests } from '@vscode/test-electron';
import { DEBIAN_PYTHON, REPO_ROOT } from '../../helpers/fixtures';
import { E2E_FIXTURES, E2E_SETTINGS, packageVsix } from '../harness';

async function main(): Promise<number> {
  const helper = packageVsix('helper');
  if ('notPackageable' in helper) throw new Error(`the helper extension must package: ${helper.notPackageable}`);
  // scripts/package.mjs stages the helper here before packaging it.
  const helperDir = path.join(REPO_ROOT, 'out', 'e2e-helper-extension');
  const repo = packageVsix('repo');

  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-vscode-test-'));
  try {
    const userData = path.join(root, 'user-data');
    const extensions = path.join(root, 'extensions');
    const logs = path.join(root, 'logs');
    const workspace = path.join(root, 'workspace');
    fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
    fs.mkdirSync(extensions, { recursive: true });
    fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify(E2E_SETTINGS, null, 2));
    fs.cpSync(path.join(E2E_FIXTURES, 'workspace'), workspace, { recursive: true });

    const vscodeExecutablePath = process.env.VSCODE_EXECUTABLE_PATH ?? (await downloadAndUnzipVSCode(process.env.PYGRATION_VSCODE_VERSION ?? 'stable'));
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
      extensionTestsEnv: { PYGRATION_E2E_PYTHON: DEBIAN_PYTHON },
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
