// E2E check of the repository's own .vsix (`npm run package`): it builds offline, stays within the size
// budget, installs into a fresh code-server, and the extension activates on a Python file without errors.

import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT } from '../helpers/fixtures';
import { waitFor } from './driver';
import { CodeServer, packageVsix, Workbench, type PackageResult } from './harness';

/** The budget for the .vsix. */
const MAX_VSIX_BYTES = 5 * 1024 * 1024;

/** The remote extension host's log files (remoteexthost.log) of a code-server, joined, or ''. */
function extensionHostLog(server: CodeServer): string {
  const files: string[] = [];
  const visit = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) visit(path.join(d, e.name));
      else if (e.name === 'remoteexthost.log') files.push(path.join(d, e.name));
    }
  };
  if (fs.existsSync(server.logsDir())) visit(server.logsDir());
  return files.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
}

describe("the repository's .vsix in code-server", () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
  const id = `${manifest.publisher}.${manifest.name}`;
  let vsix: PackageResult;
  let server: CodeServer | undefined;
  let workbench: Workbench | undefined;

  before(async () => {
    vsix = packageVsix('repo');
    if ('notPackageable' in vsix) return;
    server = await CodeServer.start({ name: 'package', extensions: [vsix.path] });
    workbench = await Workbench.open(server);
  });

  after(async () => {
    if (workbench) await workbench.screenshot('final').catch(() => undefined);
    await workbench?.close();
    await server?.stop();
  });

  test('npm run package builds a .vsix within 5 MB', (t) => {
    if ('notPackageable' in vsix) return t.skip(`not packageable yet: ${vsix.notPackageable}`);
    t.diagnostic(`${path.basename(vsix.path)}: ${vsix.files} files, ${(vsix.bytes / 1024).toFixed(0)} KiB, built in ${vsix.ms} ms`);
    assert.ok(vsix.bytes <= MAX_VSIX_BYTES, `${vsix.bytes} bytes`);
  });

  test('it is built for linux-x64 only, with its icon and changelog', (t) => {
    if ('notPackageable' in vsix) return t.skip(`not packageable yet: ${vsix.notPackageable}`);
    assert.match(path.basename(vsix.path), /-linux-x64-/);
    const vsixManifest = execFileSync('unzip', ['-p', vsix.path, 'extension.vsixmanifest'], { encoding: 'utf8' });
    assert.match(vsixManifest, /TargetPlatform="linux-x64"/);
    const files = execFileSync('unzip', ['-Z1', vsix.path], { encoding: 'utf8' }).split('\n');
    // vsce stores the changelog as changelog.md (and the README as readme.md).
    for (const f of ['extension/media/icon.png', 'extension/changelog.md', 'extension/media/walkthrough/lenses.md']) assert.ok(files.includes(f), `${f} is in the .vsix`);
  });

  test('code-server --install-extension installs it', (t) => {
    if (!server) return t.skip('not packageable yet');
    assert.deepEqual(server.listExtensions(), [`${id}@${manifest.version}`]);
  });

  test('it activates on a Python file without errors', async (t) => {
    if (!server || !workbench) return t.skip('not packageable yet');
    await workbench.openFile('app.py');
    await workbench.waitForEditorText('def total(values):');
    // The remote extension host logs each activation, and each failed one.
    const log = await waitFor(`the extension host to activate ${id}`, () => {
      const text = extensionHostLog(server!);
      return text.includes(`_doActivateExtension ${id}`) ? text : undefined;
    }, 60_000);
    assert.doesNotMatch(log, new RegExp(`Activating extension '?${id.replace('.', '\\.')}'? failed`, 'i'));
    await workbench.screenshot('activated');
  });
});
