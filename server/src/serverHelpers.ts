// Small helpers of the language server: pid checks and error results of its requests, path comparison, and the
// walk that collects a workspace's Python files.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { isNativeError, ProcessView } from '../../native/src';
import type { AnalyzeProcessResult } from './protocol';

const SKIP_DIRS = new Set(['.git', '.hg', '.svn', 'node_modules', '__pycache__', '.venv', 'venv', 'env', '.tox', '.mypy_cache', 'site-packages', 'dist', 'build', '.eggs']);

/** The process's executable; opening it turns a vanished pid or a permission problem into its NativeError. */
export function processExe(pid: number): string {
  const view = new ProcessView(pid);
  try {
    return view.exe();
  } finally {
    view.close();
  }
}

/** A usage error for a pid that is not a positive integer (a request's pid comes from any client), else undefined. */
export function pidProblem(pid: unknown): AnalyzeProcessResult | undefined {
  if (typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 0) return undefined;
  return fail('usage', `${JSON.stringify(pid) ?? String(pid)} is not a process id: a pid is a positive integer.`, 'Pass the number of a running process, e.g. { "pid": 1234 }.');
}

export function fail(kind: NonNullable<AnalyzeProcessResult['error']>['kind'], message: string, hint?: string): AnalyzeProcessResult {
  return { ok: false, error: { kind, message, hint } };
}

export function errorText(e: unknown): string {
  return isNativeError(e) ? e.describe() : e instanceof Error ? e.message : String(e);
}

export function samePath(a: string, b: string): boolean {
  try {
    return fs.realpathSync(a) === fs.realpathSync(b.replace(/ \(deleted\)$/, ''));
  } catch {
    return false;
  }
}

/** Python files under `dir` (skipping virtual environments, caches and VCS folders), up to `max` in total. */
export function collectPythonFiles(dir: string, out: Set<string>, max: number, depth = 0): void {
  if (out.size >= max || depth > 12) return;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (out.size >= max) return;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name) && !e.name.startsWith('.') && !fs.existsSync(path.join(p, 'pyvenv.cfg'))) collectPythonFiles(p, out, max, depth + 1);
    } else if (e.isFile() && e.name.endsWith('.py')) out.add(p);
  }
}
