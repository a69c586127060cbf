// Workspace trust: the settings that name executables or files (package.json's restrictedConfigurations)
// are read from the user's settings only while the workspace is not trusted, so a workspace cannot make
// Pygration run a program of its choosing. Pure: the vscode API reaches it as an inspect() function.

import { Ids } from './ids';

/**
 * Settings a workspace must not set in Restricted Mode: `pythonPath` is executed (bytecode tracking and the
 * host probes run it), `catalogPath` is read. package.json's restrictedConfigurations lists exactly these.
 */
export const RESTRICTED_SETTINGS: readonly string[] = [Ids.setting.pythonPath, Ids.setting.catalogPath];

/** What vscode's WorkspaceConfiguration.inspect() returns, as much as we read. */
export interface Inspected<T = unknown> {
  defaultValue?: T;
  globalValue?: T;
  workspaceValue?: T;
  workspaceFolderValue?: T;
}

/**
 * The value of a restricted setting from the user's settings (or its default), ignoring the workspace and
 * folder values, which VS Code itself also ignores in Restricted Mode.
 */
export function userValue<T>(inspected: Inspected<T> | undefined): T | undefined {
  return inspected?.globalValue ?? inspected?.defaultValue;
}

/**
 * A setting reader for readSettings(): in a trusted workspace `get` as is; otherwise the restricted keys
 * come from the user's settings only.
 */
export function trustedGetter(get: (key: string) => unknown, inspect: (key: string) => Inspected | undefined, trusted: boolean): (key: string) => unknown {
  if (trusted) return get;
  return (key) => (RESTRICTED_SETTINGS.includes(key) ? userValue(inspect(key)) : get(key));
}

/**
 * One item of a workspace/configuration answer to the server while the workspace is untrusted: in the
 * `pygration` section the restricted keys get their user values (or go, when unset); a restricted key asked
 * for by its full name (`pygration.pythonPath`) gets its user value. Anything else passes unchanged.
 */
export function sanitizeConfiguration(section: string | undefined, value: unknown, inspect: (key: string) => Inspected | undefined, trusted: boolean): unknown {
  if (trusted || section === undefined) return value;
  if (RESTRICTED_SETTINGS.includes(section)) return userValue(inspect(section));
  if (section !== Ids.section || typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const key of RESTRICTED_SETTINGS) {
    const name = key.slice(Ids.section.length + 1);
    const v = userValue(inspect(key));
    if (v === undefined) delete copy[name];
    else copy[name] = v;
  }
  return copy;
}

/**
 * The log line and tooltip line in Restricted Mode. It names every restricted setting: VS Code hides the
 * workspace's values of restricted settings from inspect() too while untrusted, so which ones the workspace
 * sets cannot be told (checked in code-server).
 */
export function restrictedModeNote(trusted: boolean): string | undefined {
  if (trusted) return undefined;
  return `Restricted Mode: ${RESTRICTED_SETTINGS.join(' and ')} are read from your user settings only, and the Python extension's interpreter selection is not followed, until you trust the workspace.`;
}
