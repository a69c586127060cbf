// The @vscode/test-electron test entry (`extensionTestsPath`): runs inside the extension host of a real VS
// Code build and executes shared steps with the vscode-API driver: the smoke steps, or with
// PYGRATION_E2E_SUITE=extension the Pygration extension's steps. Started by runTests.ts (and in code-server).

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { HelperApi } from '../helper-extension/src/extension';
import { HELPER_COMMANDS, HELPER_EXTENSION_ID, HELPER_WEBVIEW_TITLE } from '../helper-extension/src/ids';
import { EXTENSION_ID, PYGRATION_BRIDGES, extensionSteps } from '../suites/extension';
import { smokeSteps } from '../suites/smoke';
import type { E2EStep } from '../driver';
import { VscodeApiDriver } from './vscodeApiDriver';

/** One step's outcome, as written to PYGRATION_E2E_RESULTS. */
export interface StepResult {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
}

/**
 * Called by VS Code's test host; rejects when any step failed, which makes VS Code exit non-zero. Also
 * writes the results as JSON to $PYGRATION_E2E_RESULTS when set (the code-server launcher reads them).
 */
export async function run(): Promise<void> {
  const results: StepResult[] = [];
  try {
    await runSteps(results);
  } catch (e) {
    results.push({ name: 'setup', ok: false, ms: 0, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  } finally {
    if (process.env.PYGRATION_E2E_RESULTS) fs.writeFileSync(process.env.PYGRATION_E2E_RESULTS, JSON.stringify(results, null, 2));
  }
  const failed = results.filter((r) => !r.ok);
  console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
  if (failed.length > 0) throw new Error(`failed: ${failed.map((f) => f.name).join('; ')}`);
}

async function runSteps(results: StepResult[]): Promise<void> {
  const helper = vscode.extensions.getExtension<HelperApi>(HELPER_EXTENSION_ID);
  if (!helper) throw new Error(`the helper extension ${HELPER_EXTENSION_ID} is not loaded`);
  const api = await helper.activate();
  const workspaceRoot = process.env.PYGRATION_E2E_WORKSPACE ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!workspaceRoot) throw new Error('no workspace folder is open');
  const suite = process.env.PYGRATION_E2E_SUITE ?? 'smoke';
  let steps: E2EStep[];
  if (suite === 'extension') {
    // The extension under test is installed from its .vsix; its test-only commands exist with PYGRATION_E2E=1.
    const pygration = vscode.extensions.getExtension(EXTENSION_ID);
    if (!pygration) throw new Error(`the extension under test ${EXTENSION_ID} is not installed`);
    if (process.env.PYGRATION_E2E !== '1') throw new Error('PYGRATION_E2E=1 must be set for the extension suite (its test-only commands)');
    await pygration.activate();
    steps = extensionSteps;
  } else if (suite === 'smoke') {
    steps = smokeSteps;
  } else {
    throw new Error(`unknown PYGRATION_E2E_SUITE ${suite}`);
  }
  const driver = new VscodeApiDriver({
    workspaceRoot,
    // The extension host's log folder (the helper's parent) holds every output channel's log file.
    logsDir: process.env.PYGRATION_E2E_LOGS ?? path.dirname(api.logDir),
    webviewBridges: { [HELPER_WEBVIEW_TITLE]: HELPER_COMMANDS.webviewBridge.id, ...PYGRATION_BRIDGES.webview },
    statusBarBridges: PYGRATION_BRIDGES.statusBar,
  });
  try {
    for (const step of steps) {
      const t0 = Date.now();
      try {
        await step.run(driver);
        results.push({ name: step.name, ok: true, ms: Date.now() - t0 });
        console.log(`ok - ${step.name} (${Date.now() - t0} ms)`);
      } catch (e) {
        results.push({ name: step.name, ok: false, ms: Date.now() - t0, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
        console.log(`not ok - ${step.name}\n${e instanceof Error ? e.stack : String(e)}`);
      }
    }
  } finally {
    driver.dispose();
  }
}
