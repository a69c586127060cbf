// The smoke suite's steps, written against E2EDriver so they run unchanged in code-server (smoke.e2e.ts)
// and in a VS Code build through @vscode/test-electron (electron/index.ts). They drive the helper extension.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { waitFor, type E2EStep } from '../driver';
import { HELPER_COMMANDS, HELPER_OUTPUT_CHANNEL, HELPER_WEBVIEW_TITLE } from '../helper-extension/src/ids';

/** The fixture file (test/e2e/fixtures/workspace/app.py) and its known lines. */
const APP = 'app.py';
const DEF_SCALE_LINE = 3;
const DEF_TOTAL_LINE = 7;
const BREAKPOINT_LINE = 10; // `result += v  # breakpoint line`
const CALL_TOTAL_LINE = 16; // `print("total", total(data))`
export const DEBUG_CONFIG = 'E2E: debug app.py';

/** The process's command line, or undefined once it is gone (or a zombie). */
function liveCommandLine(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return undefined;
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

export const smokeSteps: E2EStep[] = [
  {
    name: 'the editor shows the fixture Python file',
    async run(driver) {
      await driver.openFile(APP);
      await driver.waitForEditorText('def total(values):');
      await driver.waitForEditorText('result += v  # breakpoint line');
      await driver.screenshot('editor');
    },
  },
  {
    name: 'code lenses and hovers of the helper extension are shown',
    async run(driver) {
      const all = await driver.waitForCodeLens(APP, `E2E lens: total() at line ${DEF_TOTAL_LINE}`);
      // Other installed extensions (the repository's own) may add lenses of their own; count the helper's.
      const lenses = all.filter((l) => l.startsWith('E2E lens: '));
      assert.deepEqual(lenses, [`E2E lens: scale() at line ${DEF_SCALE_LINE}`, `E2E lens: total() at line ${DEF_TOTAL_LINE}`], 'one lens per def, in order');
      await driver.screenshot('code-lenses');
      // Column 9 of line 10 is the `r` of `result`.
      const hover = await driver.hoverText(APP, { line: BREAKPOINT_LINE, column: 9 });
      assert.match(hover, new RegExp(`E2E hover: \`?result\`? at line ${BREAKPOINT_LINE}`));
    },
  },
  {
    name: 'a command run from the command palette has its effect',
    async run(driver) {
      await driver.runCommand(HELPER_COMMANDS.ping);
      const text = await driver.waitForOutput(HELPER_OUTPUT_CHANNEL, /^ping 1$/m);
      assert.match(text, /^activated in /m, 'the helper logs its activation first');
      await driver.screenshot('command-output');
    },
  },
  {
    name: "a webview's DOM can be read and clicked",
    async run(driver) {
      await driver.runCommand(HELPER_COMMANDS.showWebview);
      assert.equal(await driver.webviewText(HELPER_WEBVIEW_TITLE, '#title'), 'E2E Test View');
      assert.equal(await driver.webviewText(HELPER_WEBVIEW_TITLE, '#count'), 'clicks: 0');
      await driver.webviewClick(HELPER_WEBVIEW_TITLE, '#inc');
      await waitFor('the webview counter to read 1', async () => ((await driver.webviewText(HELPER_WEBVIEW_TITLE, '#count')) === 'clicks: 1' ? true : undefined), 10_000);
      await driver.screenshot('webview');
      // The click reached the extension host as a message.
      await driver.waitForOutput(HELPER_OUTPUT_CHANNEL, /^webview clicked 1$/m);
    },
  },
  {
    name: 'a debugpy session stops at a breakpoint',
    async run(driver) {
      await driver.toggleBreakpoint(APP, BREAKPOINT_LINE);
      await driver.startDebugging(DEBUG_CONFIG);
      const stop = await driver.waitForDebugStop(60_000);
      assert.equal(stop.reason, 'breakpoint');
      assert.equal(stop.frames[0].name, 'total');
      assert.equal(stop.frames[0].line, BREAKPOINT_LINE);
      assert.ok(stop.frames[0].file.endsWith(APP), `top frame file: ${stop.frames[0].file}`);
      assert.deepEqual(
        stop.frames.slice(1).map((f) => [f.name, f.line]),
        [['<module>', CALL_TOTAL_LINE]],
        `the caller is the module's call of total(): ${JSON.stringify(stop.frames)}`,
      );
      await driver.screenshot('debug-stopped');
      // The adapter's `process` event names the debuggee; it is a live process running the fixture.
      const text = await driver.waitForOutput(HELPER_OUTPUT_CHANNEL, /^debug stopped: breakpoint$/m);
      const pid = Number(/^debug process: pid (\d+)$/m.exec(text)?.[1]);
      assert.ok(pid > 0, `a process event with systemProcessId: ${text}`);
      assert.match(liveCommandLine(pid) ?? '(gone)', /app\.py/);
      await driver.stopDebugging();
      await waitFor(`the debuggee ${pid} to exit`, () => (liveCommandLine(pid) === undefined ? true : undefined), 15_000);
      await driver.screenshot('debug-stopped-session-ended');
    },
  },
];
