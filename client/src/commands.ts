// The smaller commands: show the instance view, focus it on a call site (the code lens command), pick the
// analysis mode, choose an instance catalog, export the result, copy the `criu restore` line for a chosen
// target, clear live results, restart, show the output.

import * as os from 'node:os';
import * as vscode from 'vscode';
import { CallSiteAtRequest, DetachNotification, type CallSiteDetail } from '../../server/src/protocol';
import { hasControllingTerminal, loadCatalog, type AnalysisMode } from '../../native/src';
import type { ExportFormat } from '../../webview/src/messages';
import type { InstanceView } from './instanceView';
import type { PygrationServer } from './languageClient';
import { Ids } from './logic/ids';
import { errorFromException } from './logic/messages';
import { exportFileName, exportText, focusFromCallSite, isCallSiteDetail } from './logic/report';
import { restoreLine, restoreTargets } from './logic/restoreLine';
import { ANALYSIS_MODES, MODE_DESCRIPTIONS, type Settings } from './logic/settings';

/**
 * Writes a setting where it is defined now (folder, workspace, or user), else in `fallback`: picking a
 * value should change the one in effect, not add a shadowed copy elsewhere.
 */
async function writeSetting(key: string, value: unknown, fallback: vscode.ConfigurationTarget): Promise<void> {
  const config = vscode.workspace.getConfiguration();
  const inspected = config.inspect(key);
  let target = fallback;
  if (inspected?.workspaceFolderValue !== undefined) target = vscode.ConfigurationTarget.WorkspaceFolder;
  else if (inspected?.workspaceValue !== undefined) target = vscode.ConfigurationTarget.Workspace;
  else if (inspected?.globalValue !== undefined) target = vscode.ConfigurationTarget.Global;
  if (target !== vscode.ConfigurationTarget.Global && !vscode.workspace.workspaceFolders?.length) target = vscode.ConfigurationTarget.Global;
  await config.update(key, value, target);
}

async function selectAnalysisMode(settings: () => Settings, arg?: unknown): Promise<AnalysisMode | undefined> {
  let mode: AnalysisMode | undefined = typeof arg === 'string' && (ANALYSIS_MODES as readonly string[]).includes(arg) ? (arg as AnalysisMode) : undefined;
  if (!mode) {
    const current = settings().server.analysisMode;
    const picked = await vscode.window.showQuickPick(
      ANALYSIS_MODES.map((m) => ({
        label: MODE_DESCRIPTIONS[m].label,
        description: m === current ? `${m} · current` : m,
        detail: MODE_DESCRIPTIONS[m].detail,
        mode: m,
      })),
      { title: 'Pygration: Analysis Mode for Live Processes', placeHolder: `Current: ${MODE_DESCRIPTIONS[current].label}` },
    );
    mode = picked?.mode;
  }
  if (!mode) return undefined;
  await writeSetting(Ids.setting.analysisMode, mode, vscode.ConfigurationTarget.Global);
  return mode;
}

async function selectCatalog(log: vscode.LogOutputChannel, settings: () => Settings, arg?: unknown): Promise<string | undefined> {
  let file: string | undefined = typeof arg === 'string' ? arg : arg instanceof vscode.Uri ? arg.fsPath : undefined;
  if (file === undefined) {
    const current = settings().server.catalogPath;
    const choice = await vscode.window.showQuickPick(
      [
        { label: '$(file) Choose a catalog file…', description: current ? `current: ${current}` : undefined, id: 'file' as const },
        { label: '$(cloud) The shipped AWS EC2 catalog', description: current ? undefined : 'current', detail: 'Every current x86-64 instance type: measured on live instances, or derived from its CPU\'s micro-architecture', id: 'shipped' as const },
      ],
      { title: 'Pygration: Instance Catalog' },
    );
    if (!choice) return undefined;
    if (choice.id === 'shipped') {
      await writeSetting(Ids.setting.catalogPath, '', vscode.ConfigurationTarget.Global);
      return '';
    }
    const uris = await vscode.window.showOpenDialog({
      canSelectMany: false,
      canSelectFolders: false,
      openLabel: 'Use as Instance Catalog',
      title: 'Pygration: Instance Catalog',
      filters: { 'Instance catalogs': ['json'], 'All files': ['*'] },
      defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
    });
    if (!uris?.[0]) return undefined;
    file = uris[0].fsPath;
  }
  if (file !== '') {
    // Check it now, so a wrong file is reported here rather than by every later analysis.
    try {
      const catalog = loadCatalog(file);
      const warnings = catalog.warnings ?? [];
      log.info(`Instance catalog ${file}: ${catalog.instances.length} types${warnings.length ? `; ${warnings.length} warnings: ${warnings.join(' ')}` : ''}.`);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      log.error(`Instance catalog ${file} refused: ${message}`);
      void vscode.window.showErrorMessage(`Pygration: ${file} is not a usable instance catalog: ${message}`);
      return undefined;
    }
  }
  // In Restricted Mode the workspace's value of this setting is ignored (restrictedConfigurations): the
  // choice goes to the user settings, where it takes effect.
  if (vscode.workspace.isTrusted) await writeSetting(Ids.setting.catalogPath, file, vscode.ConfigurationTarget.Workspace);
  else await vscode.workspace.getConfiguration().update(Ids.setting.catalogPath, file, vscode.ConfigurationTarget.Global);
  return file;
}

async function exportReport(view: InstanceView, log: vscode.LogOutputChannel, formatArg?: unknown, targetArg?: unknown): Promise<vscode.Uri | undefined> {
  const report = view.report;
  if (!report) {
    const choice = await vscode.window.showInformationMessage('Pygration: nothing to export yet. Analyse a running process first.', 'Analyze Running Process');
    if (choice) void vscode.commands.executeCommand(Ids.command.analyzeProcess);
    return undefined;
  }
  let format: ExportFormat | undefined = formatArg === 'json' || formatArg === 'list' ? formatArg : undefined;
  if (!format) {
    const picked = await vscode.window.showQuickPick(
      [
        { label: 'Report as JSON', detail: 'The whole analysis: required features with their sites, every instance verdict, statistics.', format: 'json' as const },
        { label: 'Compatible instance types', detail: `The ${report.instances.compatible.length} types the process can migrate to, one per line.`, format: 'list' as const },
      ],
      { title: 'Pygration: Export Result' },
    );
    format = picked?.format;
  }
  if (!format) return undefined;
  let target: vscode.Uri | undefined = targetArg instanceof vscode.Uri ? targetArg : typeof targetArg === 'string' && targetArg !== '' ? vscode.Uri.file(targetArg) : undefined;
  if (!target) {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(os.homedir());
    target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.joinPath(folder, exportFileName(report, format)),
      filters: format === 'json' ? { JSON: ['json'] } : { Text: ['txt'] },
      saveLabel: 'Export',
      title: format === 'json' ? 'Export the Pygration report' : 'Export the compatible instance types',
    });
  }
  if (!target) return undefined;
  try {
    await vscode.workspace.fs.writeFile(target, Buffer.from(exportText(report, format), 'utf8'));
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    log.error(`Export to ${target.toString()} failed: ${message}`);
    void vscode.window.showErrorMessage(`Pygration: could not write ${target.fsPath}: ${message}`);
    return undefined;
  }
  log.info(`Exported the ${format === 'json' ? 'report' : 'compatible instance types'} to ${target.fsPath}.`);
  if (targetArg === undefined) {
    void vscode.window.showInformationMessage(`Pygration: exported to ${target.fsPath}.`, 'Open').then((c) => {
      if (c === 'Open') void vscode.window.showTextDocument(target);
    });
  }
  return target;
}

/**
 * Copies the `criu restore` line for a target instance type (the argument, else picked among the report's
 * compatible types) to the clipboard; returns the line, or undefined when nothing was copied.
 */
async function copyRestoreCommand(view: InstanceView, log: vscode.LogOutputChannel, arg?: unknown): Promise<string | undefined> {
  const report = view.report;
  if (!report) {
    const choice = await vscode.window.showInformationMessage('Pygration: no analysis yet. Analyse a running process first, then pick the target to restore it on.', 'Analyze Running Process');
    if (choice) void vscode.commands.executeCommand(Ids.command.analyzeProcess);
    return undefined;
  }
  let target = typeof arg === 'string' && arg !== '' ? arg : undefined;
  if (!target) {
    const rows = restoreTargets(report);
    if (rows.length === 0) {
      void vscode.window.showWarningMessage(`Pygration: no instance type of ${report.instances.catalog} can run this process, so there is no restore command to copy.`);
      return undefined;
    }
    // ignoreFocusOut: run from the palette while the instance view has the focus, the workbench gives the focus back
    // to the view's frame after the palette closes, which can arrive after this pick opened and closed it at once
    // (seen in E2E runs: the pick went inert, then hidden). Escape still dismisses it.
    const picked = await vscode.window.showQuickPick(
      rows.map((r) => ({ label: r.name, description: r.description, name: r.name })),
      { title: 'Pygration: Copy the criu restore Command for…', placeHolder: `One of the ${rows.length} compatible instance types`, matchOnDescription: true, ignoreFocusOut: true },
    );
    target = picked?.name;
  }
  if (!target) return undefined;
  // The process still running here tells whether it has a controlling terminal (criu needs --shell-job then).
  const pid = report.target.pid;
  const line = restoreLine(report, target, { shellJob: pid !== undefined && hasControllingTerminal(pid) });
  if (!line.ok) {
    void vscode.window.showWarningMessage(`Pygration: ${line.reason}`);
    return undefined;
  }
  await vscode.env.clipboard.writeText(line.command);
  log.info(`Copied the restore command for ${target} (${line.strategy}): ${line.command}`);
  void vscode.window.showInformationMessage(`Pygration: copied \`${line.command}\` (run it on the ${target} host after the ${line.strategy} dump).${line.why ? ' --cpu-cap=none skips CRIU\u2019s host-level CPU check, which refuses this type although the process needs nothing it lacks.' : ''}`);
  return line.command;
}

async function showCallSite(server: PygrationServer, view: InstanceView, log: vscode.LogOutputChannel, arg?: unknown): Promise<void> {
  let detail: CallSiteDetail | null | undefined = isCallSiteDetail(arg) ? arg : undefined;
  if (!detail && arg !== undefined) log.warn(`${Ids.command.showCallSite}: ignoring a malformed call site ${JSON.stringify(arg)?.slice(0, 200)}`);
  if (!detail) {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.document.languageId !== 'python') {
      void vscode.window.showInformationMessage('Pygration: put the cursor on a call in a Python file first.');
      return;
    }
    try {
      const client = await server.ready();
      const pos = editor.selection.active;
      detail = await client.sendRequest(CallSiteAtRequest, { uri: client.code2ProtocolConverter.asUri(editor.document.uri), line: pos.line, character: pos.character });
    } catch (e) {
      void vscode.window.showErrorMessage(`Pygration: ${errorFromException(e).message}`);
      return;
    }
    if (!detail) {
      void vscode.window.showInformationMessage('Pygration: no analysed call at the cursor.');
      return;
    }
  }
  if (!view.show()) return;
  view.setFocus(focusFromCallSite(detail));
}

export function register(
  context: vscode.ExtensionContext,
  log: vscode.LogOutputChannel,
  server: PygrationServer,
  view: InstanceView,
  settings: () => Settings,
): void {
  const c = Ids.command;
  context.subscriptions.push(
    vscode.commands.registerCommand(c.showInstances, () => void view.show()),
    vscode.commands.registerCommand(c.showCallSite, (arg?: unknown) => showCallSite(server, view, log, arg)),
    vscode.commands.registerCommand(c.selectAnalysisMode, (arg?: unknown) => selectAnalysisMode(settings, arg)),
    vscode.commands.registerCommand(c.selectCatalog, (arg?: unknown) => selectCatalog(log, settings, arg)),
    vscode.commands.registerCommand(c.exportReport, (format?: unknown, target?: unknown) => exportReport(view, log, format, target)),
    vscode.commands.registerCommand(c.copyRestoreCommand, (arg?: unknown) => copyRestoreCommand(view, log, arg)),
    vscode.commands.registerCommand(c.clearLive, () => server.sendNotification(DetachNotification, {})),
    vscode.commands.registerCommand(c.restartServer, () =>
      vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Restarting the Pygration server' }, async () => {
        try {
          await server.restart();
        } catch (e) {
          const message = e instanceof Error ? e.message : String(e);
          log.error(`Restart failed: ${message}`);
          void vscode.window.showErrorMessage(`Pygration: the language server could not start. ${message}`, 'Show Output').then((x) => {
            if (x) log.show();
          });
        }
      }),
    ),
    vscode.commands.registerCommand(c.showOutput, () => log.show()),
  );
}
