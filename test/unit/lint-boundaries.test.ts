// The layer boundaries of eslint.config.mjs can fail: a file placed in native/ that imports vscode (or the
// server), or in server/ or client/ that reaches past the engine's index, is reported by ESLint's Node API,
// the same file without that import is clean, and the tree passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ESLint } from 'eslint';
import { REPO_ROOT } from '../helpers/fixtures';

/** Writes `source` to a temporary file in `dir` (relative to the repository), lints it, and removes it. */
async function lintTemporaryFile(dir: string, source: string): Promise<ESLint.LintResult> {
  const file = path.join(REPO_ROOT, dir, `lintProbe${process.pid}.ts`);
  fs.writeFileSync(file, source);
  try {
    const [result] = await new ESLint({ cwd: REPO_ROOT }).lintFiles([file]);
    return result;
  } finally {
    fs.rmSync(file, { force: true });
  }
}

function restricted(result: ESLint.LintResult): string[] {
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

test('a file in native/ that imports vscode is reported', async () => {
  const result = await lintTemporaryFile('native/src', "import * as vscode from 'vscode';\nexport const w = vscode.window;\n");
  assert.equal(result.errorCount, 1, JSON.stringify(result.messages));
  assert.match(restricted(result)[0], /Only client\/ may import vscode/);
});

test('a file in native/ that imports the server is reported', async () => {
  const result = await lintTemporaryFile('native/src', "import type { PygrationState } from '../../server/src/protocol';\nexport type S = PygrationState;\n");
  assert.equal(restricted(result).length, 1, JSON.stringify(result.messages));
});

test('the same file in native/ with only engine and Node imports passes', async () => {
  const result = await lintTemporaryFile('native/src', "import * as fs from 'node:fs';\nimport { NativeError } from './errors';\nexport const x = [fs.existsSync, NativeError];\n");
  assert.deepEqual(result.messages, []);
});

test('a file in webview/ that imports a Node built-in (bare or node:) is reported', async () => {
  const result = await lintTemporaryFile('webview/src', "import * as fs from 'fs';\nimport * as path from 'node:path';\nexport const x = [fs, path];\n");
  assert.equal(restricted(result).length, 2, JSON.stringify(result.messages));
});

test('the webview imports the engine only through native/src/browser', async () => {
  const deep = await lintTemporaryFile('webview/src', "import { FEATURES } from '../../native/src/features/vocabulary';\nexport const x = FEATURES;\n");
  assert.equal(restricted(deep).length, 1, JSON.stringify(deep.messages));
  assert.match(restricted(deep)[0], /native\/src\/browser/);
  const index = await lintTemporaryFile('webview/src', "import { FEATURES } from '../../native/src';\nexport const x = FEATURES;\n");
  assert.equal(restricted(index).length, 1, 'the Node-side index is not for the browser');
  const face = await lintTemporaryFile('webview/src', "import { FEATURES } from '../../native/src/browser';\nexport const x = FEATURES;\n");
  assert.deepEqual(face.messages, []);
});

test('the client imports the server only through its protocol module', async () => {
  const deep = await lintTemporaryFile('client/src', "import { Cli } from '../../server/src/cli';\nexport const x = Cli;\n");
  assert.equal(restricted(deep).length, 1, JSON.stringify(deep.messages));
  const protocol = await lintTemporaryFile('client/src', "import { GetStateRequest } from '../../server/src/protocol';\nexport const x = GetStateRequest;\n");
  assert.deepEqual(protocol.messages, []);
});

test('the server and the client import the engine only through native/src (index.ts)', async () => {
  for (const dir of ['server/src', 'client/src']) {
    const deep = await lintTemporaryFile(dir, "import { ElfFile } from '../../native/src/elf/elfFile';\nexport const x = ElfFile;\n");
    assert.equal(restricted(deep).length, 1, JSON.stringify(deep.messages));
    assert.match(restricted(deep)[0], /through native\/src \(its index\.ts\)/);
    const face = await lintTemporaryFile(dir, "import { ElfFile } from '../../native/src';\nimport { NativeError } from '../../native/src/index';\nexport const x = [ElfFile, NativeError];\n");
    assert.deepEqual(face.messages, [], dir);
  }
});

test('the product tree passes the boundary rules', async () => {
  const results = await new ESLint({ cwd: REPO_ROOT }).lintFiles(['native/src', 'server/src', 'client/src', 'webview/src']);
  const problems = results.flatMap((r) => r.messages.map((m) => `${path.relative(REPO_ROOT, r.filePath)}:${m.line} ${m.message}`));
  assert.deepEqual(problems, []);
});
