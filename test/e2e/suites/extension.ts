// The end-to-end steps of the Pygration extension itself (issue 4), written against E2EDriver so they run
// unchanged in code-server through the UI (extension.e2e.ts) and in an extension host through the vscode API.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultCatalog } from '../../../native/src/catalog/catalog';
import type { Feature } from '../../../native/src/features/vocabulary';
import { E2E_COMMANDS, Ids } from '../../../client/src/logic/ids';
import { DEBIAN_PYTHON, REPO_ROOT, buildC, hostFlags, startProcess, type StartedProcess } from '../../helpers/fixtures';
import { waitFor, type CodeLensInfo, type E2EDriver, type E2EStep } from '../driver';

/** The extension under test, as installed from its .vsix. */
export const EXTENSION_ID = 'pygration.pygration-vscode';
/** The language status item's id, and the title of its link (what the code-server driver finds it by). */
export const STATUS_ITEM_ID = Ids.languageStatusId;
export const STATUS_ITEM_LINK = /^(Show Migration Targets|Restart Server)$/;
export const VIEW_TITLE = Ids.instanceViewTitle;
export const OUTPUT_CHANNEL = Ids.outputChannel;
/** The test-only commands the extension-host driver reads the view and the language status with (PYGRATION_E2E=1). */
export const PYGRATION_BRIDGES = {
  webview: { [Ids.instanceViewTitle]: E2E_COMMANDS.webviewQuery },
  statusBar: { [STATUS_ITEM_ID]: E2E_COMMANDS.statusBarText },
};

const FIXTURE = path.join(REPO_ROOT, 'test', 'e2e', 'fixtures', 'extension-workspace');
export const KERNELS = 'kernels.py';
export const WORKLOAD = 'workload.py';
export const DEBUG_CONFIG = 'E2E: debug kernels.py';
const CATALOG_TOTAL = defaultCatalog().instances.length;

const COMMANDS = {
  analyzeProcess: { id: Ids.command.analyzeProcess, title: 'Pygration: Analyze Running Process' },
  clearLive: { id: Ids.command.clearLive, title: 'Pygration: Clear Live Results' },
  copyRestore: { id: Ids.command.copyRestoreCommand, title: 'Pygration: Copy the criu restore Command for a Target…' },
  clearNotifications: { id: 'notifications.clearAll', title: 'Notifications: Clear All Notifications' },
  closePanel: { id: 'workbench.action.closePanel', title: 'View: Hide Panel' },
  maximizeGroup: { id: 'workbench.action.toggleMaximizeEditorGroup', title: 'View: Toggle Maximize Editor Group' },
  focusFirstGroup: { id: 'workbench.action.focusFirstEditorGroup', title: 'View: Focus First Editor Group' },
};

/**
 * Builds the workspace the suite opens: a copy of test/e2e/fixtures/extension-workspace plus the C-API
 * extension pyext_kernels.so, compiled with gcc against Debian's python3.11 headers. Returns `dest`.
 */
export function buildExtensionWorkspace(dest: string): string {
  const so = buildC('c/pyext_kernels.c', { shared: true, flags: ['-I/usr/include/python3.11', '-fno-stack-protector'], outName: 'e2e/pyext_kernels.so' });
  fs.rmSync(dest, { recursive: true, force: true });
  fs.cpSync(FIXTURE, dest, { recursive: true });
  fs.copyFileSync(so, path.join(dest, 'pyext_kernels.so'));
  return dest;
}

/** True when the suite can run here: the C extension needs Debian's python3.11 headers. */
export function extensionSuiteSkipReason(): string | undefined {
  if (!fs.existsSync('/usr/include/python3.11/Python.h')) return 'python3-dev headers (/usr/include/python3.11) are missing';
  if (!fs.existsSync(DEBIAN_PYTHON)) return `${DEBIAN_PYTHON} is missing`;
  return undefined;
}

/** The 1-based line and column of the first occurrence of `text` in a workspace file. */
function find(driver: E2EDriver, relPath: string, text: string): { line: number; column: number } {
  const lines = fs.readFileSync(path.join(driver.workspaceRoot, relPath), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(text));
  if (i < 0) throw new Error(`${relPath} has no line with ${JSON.stringify(text)}`);
  return { line: i + 1, column: lines[i].indexOf(text) + 1 };
}

/** The kernel calls of kernels.py, with the feature each must show (when the host has it) and its label. */
function kernelCalls(driver: E2EDriver) {
  return [
    { fn: 'k_sha', feature: 'sha_ni' as Feature, label: 'SHA-NI', ...find(driver, KERNELS, 'pk.k_sha()') },
    { fn: 'k_avx2', feature: 'avx2' as Feature, label: 'AVX2', ...find(driver, KERNELS, 'pk.k_avx2(i)') },
    { fn: 'k_plain', feature: undefined, label: undefined, ...find(driver, KERNELS, 'pk.k_plain(i)') },
  ];
}

/** Pygration's lenses start with its chip (static), pulse (live) or question (unknown) icon; the helper's do not. */
function pygrationLenses(lenses: CodeLensInfo[]): CodeLensInfo[] {
  return lenses.filter((l) => /^\$\((chip|pulse|question)\) /.test(l.title));
}

/** A live lens starts with the pulse and ends in `· live`; a static one has the chip and no origin suffix. */
function isOrigin(title: string, origin: 'static' | 'live'): boolean {
  return origin === 'live' ? title.startsWith('$(pulse) ') && title.endsWith(' · live') : title.startsWith('$(chip) ') && !/ · (live|static)$/.test(title);
}

/** Lenses that only repeat what the interpreter needs (`range`, `print`) are hidden by default. */
const SHARED_ONLY = '(the interpreter needs these too)';

/** A feature label as a whole word of a lens or hover (`SHA` must not match inside `SHA512`). */
function hasLabel(text: string, label: string): boolean {
  return new RegExp(`(^|[^\\w-])${label}([^\\w-]|$)`).test(text);
}

/** How many of the catalog's instance types lack a feature (what hovers and lenses count). */
function lackingCount(feature: Feature): number {
  return defaultCatalog().instances.filter((i) => !i.features.includes(feature)).length;
}

/**
 * Whether the lenses of kernels.py show what this host's CPU implies, with every lens of `origin`: the SHA-NI
 * lens above `pk.k_sha()` when the host has sha_ni (the interpreter never needs SHA-NI, so the call adds it).
 * The AVX2 lens above `pk.k_avx2(i)` shows only when the interpreter does not need AVX2 itself (the hover
 * step checks which). Used as the wait condition; `checkKernelLenses` then says precisely what is wrong.
 */
function kernelLensesReady(driver: E2EDriver, lenses: CodeLensInfo[], origin: 'static' | 'live'): boolean {
  const flags = hostFlags();
  const calls = kernelCalls(driver);
  const ours = pygrationLenses(lenses);
  // The kernel calls' lenses all show `origin` (other calls, e.g. of builtins, may keep static results live).
  if (ours.some((l) => calls.some((c) => c.line === l.line) && !isOrigin(l.title, origin))) return false;
  const expected = calls.filter((c) => c.feature === 'sha_ni' && flags.has(c.feature));
  return expected.every((c) => ours.some((l) => l.line === c.line && hasLabel(l.title, c.label!) && isOrigin(l.title, origin)));
}

/** Asserts the right features on the right lines (derived from the host's flags) and the lens format. */
function checkKernelLenses(driver: E2EDriver, lenses: CodeLensInfo[], origin: 'static' | 'live'): void {
  const flags = hostFlags();
  const ours = pygrationLenses(lenses);
  const all = JSON.stringify(ours);
  const icon = origin === 'live' ? '$(pulse)' : '$(chip)';
  for (const call of kernelCalls(driver)) {
    const here = ours.filter((l) => l.line === call.line);
    // The lens of this kernel's own call stands above it, nowhere else (calls of step() name it too, as step → k_sha).
    for (const l of ours.filter((x) => x.title.includes(` pyext_kernels.${call.fn} → `))) assert.equal(l.line, call.line, `the ${call.fn} lens stands above line ${call.line}: ${all}`);
    if (call.feature !== undefined && flags.has(call.feature)) {
      const lens = here.find((l) => hasLabel(l.title, call.label!));
      // AVX2 may be one the interpreter needs too: then the call adds nothing and has no lens by default.
      if (!lens && call.feature !== 'sha_ni') continue;
      assert.ok(lens, `a lens naming ${call.label} above line ${call.line} (${call.fn}; the host has ${call.feature}): ${all}`);
      assert.ok(lens.title.startsWith(`${icon} `), `the ${origin} icon: ${lens.title}`);
      assert.ok(lens.title.includes(` — pyext_kernels.${call.fn} → ${call.fn} (pyext_kernels)`), `the native path in the lens: ${lens.title}`);
      assert.ok(isOrigin(lens.title, origin), origin === 'live' ? `marked live: ${lens.title}` : `no origin suffix on a static lens: ${lens.title}`);
    } else if (call.feature !== undefined) {
      for (const l of here) assert.ok(!hasLabel(l.title, call.label!), `the host lacks ${call.feature}, so no lens may name ${call.label}: ${l.title}`);
    }
  }
  // k_plain needs nothing beyond the baseline: no lens above it may name another kernel's feature.
  const plain = kernelCalls(driver).find((c) => c.fn === 'k_plain')!;
  for (const l of ours.filter((x) => x.line === plain.line)) {
    assert.ok(!hasLabel(l.title, 'SHA-NI') && !hasLabel(l.title, 'AVX2'), `k_plain needs neither SHA-NI nor AVX2: ${l.title}`);
  }
  // By default no lens only repeats the interpreter's own requirement (range(3), print(…) had such lenses).
  for (const l of ours) assert.ok(!l.title.includes(SHARED_ONLY), `a lens that adds nothing beyond the interpreter is hidden by default: ${l.title}`);
  for (const text of ['for _ in range(3):', 'print("done", n)']) {
    const line = find(driver, KERNELS, text).line;
    assert.ok(!ours.some((l) => l.line === line), `no lens above ${text} (its calls need only what the interpreter needs): ${all}`);
  }
  // `n = step(n)` calls Python code that calls the kernels: its lens follows step() down to k_sha.
  if (flags.has('sha_ni')) {
    const caller = find(driver, KERNELS, 'n = step(n)').line;
    const lens = ours.find((l) => l.line === caller);
    assert.ok(lens && hasLabel(lens.title, 'SHA-NI') && lens.title.includes('kernels.step → k_sha (pyext_kernels)'), `the call of step() needs SHA-NI through k_sha: ${all}`);
  }
}

/**
 * Live: `$(pulse) x86-64-v4 · 23 features · migratable to 36/383`. Static: the same with `$(chip)` when every
 * call site of the workspace is resolved, else the lower bound `$(chip) at least x86-64-v4 · 11 features · 3
 * call sites unknown` (the fixtures' `n += 1` has a left operand of a type bytecode tracking does not know),
 * which never names a compatible count. Groups: level, features, and compatible or bound + unknown.
 */
function statusPattern(origin: 'static' | 'live'): RegExp {
  const icon = origin === 'live' ? '\\$\\(pulse\\)' : '\\$\\(chip\\)';
  const verdict = `migratable to (?<compatible>\\d+)/${CATALOG_TOTAL}`;
  if (origin === 'live') return new RegExp(`^${icon} x86-64-v(?<level>[1-4]) · (?<features>\\d+) features? · ${verdict}$`);
  return new RegExp(`^${icon} (?:x86-64-v(?<level>[1-4]) · (?<features>\\d+) features? · ${verdict}|(?<bound>at least )x86-64-v(?<boundLevel>[1-4]) · (?<boundFeatures>\\d+) features? · (?<unknown>\\d+) call sites? unknown)$`);
}

/** The level of a language status match (verdict or lower bound). */
function statusLevel(m: RegExpExecArray): number {
  return Number(m.groups!.level ?? m.groups!.boundLevel);
}

async function waitForStatus(driver: E2EDriver, origin: 'static' | 'live', timeoutMs: number): Promise<RegExpExecArray> {
  const pattern = statusPattern(origin);
  return waitFor(
    `the Pygration language status item to show ${origin} results (${pattern})`,
    async () => {
      const text = await driver.languageStatusText(STATUS_ITEM_ID, STATUS_ITEM_LINK);
      const m = text === undefined ? null : pattern.exec(text);
      if (!m) throw new Error(`language status: ${JSON.stringify(text)}`);
      return m;
    },
    timeoutMs,
    250,
  );
}

/** The x86-64 level the host's flags imply at least, for the requirement of a program calling k_avx2. */
function checkLevel(level: number): void {
  if (hostFlags().has('avx2')) assert.ok(level >= 3, `a requirement with AVX2 is x86-64-v3 or above, got v${level}`);
}

/** The debuggee's environment variables (its /proc/PID/environ). */
function environOf(pid: number): Map<string, string> {
  const env = new Map<string, string>();
  for (const entry of fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

/** Generous bounds: the server's first analysis takes seconds, up to ~20 s on a loaded 2-core machine. */
const FIRST_ANALYSIS_MS = 180_000;
const LIVE_MS = 120_000;

export const extensionSteps: E2EStep[] = [
  {
    name: 'the extension activates on a Python file and its first static analysis reaches the language status',
    async run(driver) {
      await driver.openFile(KERNELS);
      await driver.waitForEditorText('def step(i):');
      const m = await waitForStatus(driver, 'static', FIRST_ANALYSIS_MS);
      checkLevel(statusLevel(m));
      // A verdict names a count of the catalog; a lower bound (some call site unknown) names how many are unknown.
      if (m.groups!.bound) assert.ok(Number(m.groups!.unknown) >= 1, m[0]);
      else assert.ok(Number(m.groups!.compatible) <= CATALOG_TOTAL, m[0]);
      // Checked now, while the log is short: the Output panel shows the end of the channel only.
      await driver.waitForOutput(OUTPUT_CHANNEL, /Pygration activated in \d+ ms/, 30_000);
      await driver.runCommand(COMMANDS.closePanel);
    },
  },
  {
    name: 'code lenses show the features each kernel call needs on this host, on its own line',
    async run(driver) {
      const lenses = await driver.waitForCodeLenses(KERNELS, 'the static lenses of the kernel calls (per the host flags)', (l) => kernelLensesReady(driver, l, 'static'), FIRST_ANALYSIS_MS);
      checkKernelLenses(driver, lenses, 'static');
      await driver.runCommand(COMMANDS.clearNotifications);
      await driver.screenshot('lenses');
    },
  },
  {
    name: 'hovering a call shows its native path and how many instance types lack each feature',
    async run(driver) {
      const flags = hostFlags();
      const lenses = pygrationLenses(await driver.waitForCodeLenses(KERNELS, 'the static lenses', (l) => kernelLensesReady(driver, l, 'static'), FIRST_ANALYSIS_MS));
      for (const call of kernelCalls(driver).filter((c) => c.feature !== undefined)) {
        // On the function name of `pk.k_sha()`: the call site's range covers the whole call.
        const text = await driver.hoverText(KERNELS, { line: call.line, column: call.column + 3 });
        assert.match(text, new RegExp(`\`?pyext_kernels\\.${call.fn}\`? → \`?${call.fn}\`? in \`?[^\\s\`]*pyext_kernels\\.so`), `the native path: ${text}`);
        assert.match(text, /static, from the files on disk/);
        if (flags.has(call.feature!)) {
          assert.match(text, /lacking on/, `the feature table: ${text}`);
          // A row `| AVX2 (the interpreter needs it too) | 19 of 383 types | … |` (markdown, or the rendered table).
          const row = new RegExp(`(?:^|[\\s|])${call.label}(?: \\(the interpreter needs it too\\))?[\\s|]+(\\d+) of ${CATALOG_TOTAL} types`, 'm').exec(text);
          assert.ok(row, `a row for ${call.label}: ${text}`);
          assert.equal(Number(row[1]), lackingCount(call.feature!), `the types of the catalog lacking ${call.feature}`);
          // A feature the interpreter does not need is one the call adds: its lens names it. One it needs
          // too may leave the call with nothing to add, and then without a lens (never one saying so).
          const lens = lenses.find((l) => l.line === call.line && hasLabel(l.title, call.label!));
          if (!row[0].includes('the interpreter needs it too')) assert.ok(lens, `${call.label} is not the interpreter's: the lens above ${call.fn} names it: ${JSON.stringify(lenses)}`);
          else if (lens) assert.ok(!lens.title.includes(SHARED_ONLY), lens.title);
        } else {
          assert.ok(!hasLabel(text, call.label!), `the host lacks ${call.feature}: ${text}`);
        }
      }
    },
  },
  {
    name: 'Analyze Running Process on a started workload shows the grid of all instance types',
    async run(driver) {
      let workload: StartedProcess | undefined;
      try {
        // LD_BIND_NOW=1, as the extension recommends, so the analysis follows final call targets.
        workload = await startProcess(DEBIAN_PYTHON, [WORKLOAD, '300'], { cwd: driver.workspaceRoot, env: { ...process.env, LD_BIND_NOW: '1' }, timeoutMs: 60_000 });
        const pid = workload.pid;
        await driver.runCommandAndPick(COMMANDS.analyzeProcess, {
          title: 'Pygration: Analyze Running Process',
          filter: String(pid),
          row: new RegExp(`workload\\.py.*\\bpid ${pid}\\b`),
          argument: pid,
        });
        const count = await waitFor(
          `the instance view to show the analysis of pid ${pid}`,
          async () => {
            if ((await driver.webviewCount(VIEW_TITLE, '.origin-label')) === 0) return undefined;
            const origin = await driver.webviewText(VIEW_TITLE, '.origin-label');
            if (!origin.includes(`${pid}`)) throw new Error(`origin: ${origin}`);
            const n = await driver.webviewText(VIEW_TITLE, '#compatible-count');
            return /^\d+$/.test(n.trim()) ? Number(n.trim()) : undefined;
          },
          LIVE_MS,
          500,
        );
        assert.match(await driver.webviewText(VIEW_TITLE, '.origin-label'), /workload\.py/);
        assert.equal((await driver.webviewText(VIEW_TITLE, '.view-header .tag.origin')).trim(), 'Live');
        assert.equal((await driver.webviewText(VIEW_TITLE, '.headline .of')).trim(), `of ${CATALOG_TOTAL}`);
        const vs = /vs CRIU\u2019s (\d+)/.exec(await driver.webviewText(VIEW_TITLE, '.headline .vs'));
        assert.ok(vs, 'the summary names CRIU\u2019s count');
        const criu = Number(vs[1]);
        // CRIU's host check accepts a subset of what the workload's own requirement accepts.
        assert.ok(criu <= count, `CRIU's ${criu} ≤ Pygration's ${count}`);
        // The grid lists every type of the catalog, the compatible ones marked as such.
        assert.equal(await driver.webviewCount(VIEW_TITLE, '#instance-grid .grid-body [role="row"][data-name]'), CATALOG_TOTAL);
        assert.equal(await driver.webviewCount(VIEW_TITLE, '#instance-grid .grid-body [role="row"].ok[data-name]'), count);
        assert.equal((await driver.webviewText(VIEW_TITLE, '#shown-count')).trim(), `${CATALOG_TOTAL} types`);
        const flags = hostFlags();
        for (const feature of ['sha_ni', 'avx2'] as const) {
          if (!flags.has(feature)) continue;
          // The workload calls the kernel in its loop, so the feature is required, and every type lacking it is refused.
          const chips = await driver.webviewCount(VIEW_TITLE, `#requirement .chips [data-feature="${feature}"]`);
          assert.equal(chips, 1, `one chip for ${feature} among the required features`);
          assert.ok(count <= CATALOG_TOTAL - lackingCount(feature), `${count} compatible, but ${lackingCount(feature)} types lack ${feature}`);
        }
        checkLevel(Number(/x86-64-v([1-4])/.exec(await driver.webviewText(VIEW_TITLE, '#level'))?.[1]));

        // The `criu restore` line for a chosen compatible type goes to the clipboard (and the log).
        if (count > 0) {
          const target = (await driver.webviewText(VIEW_TITLE, '#instance-grid .grid-body [role="row"].ok[data-name] .name')).trim();
          await driver.runCommandAndPick(COMMANDS.copyRestore, {
            title: 'Pygration: Copy the criu restore Command for…',
            filter: target,
            row: new RegExp(`^${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')},`),
            argument: target,
          });
          const log = await driver.waitForOutput(OUTPUT_CHANNEL, new RegExp(`Copied the restore command for ${target.replace('.', '\\.')} `), 30_000);
          // The Output panel wraps long lines: join them, and end the line where the next log line's date starts.
          const joined = log.replace(/\n/g, '');
          assert.match(joined, new RegExp(`Copied the restore command for ${target.replace('.', '\\.')} \\(stop-and-copy\\): criu restore -D /var/lib/pygration/${pid}/1( --shell-job)?( --cpu-cap=none)?(?=\\d{4}-\\d\\d-\\d\\d |$)`));
          await driver.runCommand(COMMANDS.closePanel);
        }
        await driver.runCommand(COMMANDS.clearNotifications);
        await driver.runCommand(COMMANDS.maximizeGroup);
        await driver.screenshot('instances');
        await driver.runCommand(COMMANDS.maximizeGroup);
        // The view opened beside the editor and took the focus: files open in the first group again.
        await driver.runCommand(COMMANDS.focusFirstGroup);
      } finally {
        await workload?.stop();
      }
    },
  },
  {
    name: 'a debug session switches the lenses and the language status to live at a breakpoint, and back when it ends',
    async run(driver) {
      // The analysed workload left live results: clear them, so the switch below is the debug session's.
      await driver.runCommand(COMMANDS.clearLive);
      await driver.waitForCodeLenses(KERNELS, 'the lenses back to static after Clear Live Results', (l) => kernelLensesReady(driver, l, 'static'), LIVE_MS);
      await waitForStatus(driver, 'static', LIVE_MS);

      const breakpoint = find(driver, KERNELS, 'return i + 1  # breakpoint line').line;
      await driver.toggleBreakpoint(KERNELS, breakpoint);
      await driver.startDebugging(DEBUG_CONFIG);
      const stop = await driver.waitForDebugStop(LIVE_MS);
      assert.equal(stop.reason, 'breakpoint');
      assert.equal(stop.frames[0]?.name, 'step', JSON.stringify(stop.frames));
      assert.equal(stop.frames[0]?.line, breakpoint);

      const lenses = await driver.waitForCodeLenses(KERNELS, 'the lenses switched to live', (l) => pygrationLenses(l).length > 0 && kernelLensesReady(driver, l, 'live'), LIVE_MS);
      checkKernelLenses(driver, lenses, 'live');
      const m = await waitForStatus(driver, 'live', LIVE_MS);
      checkLevel(statusLevel(m));
      const flags = hostFlags();
      const sha = kernelCalls(driver)[0];
      if (flags.has('sha_ni')) {
        const hover = await driver.hoverText(KERNELS, { line: sha.line, column: sha.column + 3 });
        assert.match(hover, /exact, from the live process/, `the live hover: ${hover}`);
      }
      await driver.runCommand(COMMANDS.clearNotifications);
      await driver.screenshot('lenses-live');

      // The tracker read the debuggee's pid; the configuration provider gave it LD_BIND_NOW=1.
      const log = await driver.waitForOutput(OUTPUT_CHANNEL, /debuggee pid \d+/, 30_000);
      const pid = Number(/debuggee pid (\d+)/.exec(log)![1]);
      assert.equal(environOf(pid).get('LD_BIND_NOW'), '1', `the debuggee ${pid} runs with LD_BIND_NOW=1`);

      await driver.stopDebugging();
      await driver.waitForCodeLenses(KERNELS, 'the lenses back to static after the session ended', (l) => kernelLensesReady(driver, l, 'static'), LIVE_MS);
      await waitForStatus(driver, 'static', LIVE_MS);
      await driver.toggleBreakpoint(KERNELS, breakpoint);
    },
  },
];
