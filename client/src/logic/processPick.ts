// Quick-pick items for "Pygration: Analyze Running Process": one per candidate process with its pid, command
// line, Python version, whether it runs with LD_BIND_NOW and whether it is the user's own. Pure.

import type { ProcessCandidate } from '../../../server/src/protocol';

export interface ProcessPickItem {
  label: string;
  description: string;
  detail: string;
  pid: number;
  /** Set for the synthetic "analyse the pid you typed" entry. */
  typed?: boolean;
}

/** Longer labels push the pid (the description) out of the quick pick's one line. */
const MAX_COMMAND = 64;

/** Shortens a long command line in the middle, keeping the program and the end (usually the script). */
export function shortenCommand(command: string, max = MAX_COMMAND): string {
  const c = command.replace(/\s+/g, ' ').trim();
  if (c.length <= max) return c;
  const head = Math.ceil((max - 1) * 0.6);
  return `${c.slice(0, head)}…${c.slice(c.length - (max - 1 - head))}`;
}

/** The command line with the program's directory dropped (`/usr/bin/python3 a.py` → `python3 a.py`), shortened. */
export function compactCommand(command: string, max = MAX_COMMAND): string {
  const c = command.replace(/\s+/g, ' ').trim().replace(/^\S*\//, '');
  return shortenCommand(c, max);
}

/** What LD_BIND_NOW means for the analysis, one phrase per state. */
export function bindNowText(ldBindNow: boolean | null): string {
  if (ldBindNow === true) return '$(check) LD_BIND_NOW=1: every call target is final';
  if (ldBindNow === false) return '$(warning) no LD_BIND_NOW: calls not yet bound are resolved from the files on disk (restart with LD_BIND_NOW=1 for exact results)';
  return '$(question) LD_BIND_NOW unknown (its environment is not readable)';
}

export function processPickItem(p: ProcessCandidate): ProcessPickItem {
  const parts = [`pid ${p.pid}`];
  if (p.python) parts.push(`Python ${p.python}`);
  if (!p.sameUser) parts.push('$(lock) another user');
  const detail = [bindNowText(p.ldBindNow)];
  if (!p.sameUser) detail.push('reading it needs ptrace permission (same user, ptrace_scope, or CAP_SYS_PTRACE)');
  return {
    label: compactCommand(p.command || p.exe || `pid ${p.pid}`),
    description: parts.join(' · '),
    detail: detail.join(' · '),
    pid: p.pid,
  };
}

/**
 * Items in display order: the user's own processes first (they are the ones that can be read), then the
 * newest first (highest pid, a fair proxy without start times); processes listed in `exclude` (the
 * extension host and its helpers) are dropped.
 */
export function processPickItems(candidates: readonly ProcessCandidate[], exclude: ReadonlySet<number> = new Set()): ProcessPickItem[] {
  return candidates
    .filter((c) => !exclude.has(c.pid))
    .slice()
    .sort((a, b) => Number(b.sameUser) - Number(a.sameUser) || b.pid - a.pid)
    .map(processPickItem);
}

/** A pid typed into the quick pick (`4242` or `pid 4242`), if the text is one. */
export function pidFromInput(text: string): number | undefined {
  const m = /^\s*(?:pid\s*)?(\d{1,10})\s*$/i.exec(text);
  if (!m) return undefined;
  const pid = Number(m[1]);
  return Number.isSafeInteger(pid) && pid > 0 && pid <= 0x7fffffff ? pid : undefined;
}

/** The extra item offered when the typed text is a pid that no listed item has. */
export function typedPidItem(text: string, items: readonly ProcessPickItem[]): ProcessPickItem | undefined {
  const pid = pidFromInput(text);
  if (pid === undefined || items.some((i) => i.pid === pid && !i.typed)) return undefined;
  return { label: `Analyze pid ${pid}`, description: 'not in the list', detail: 'A Python process of another name, or started since the list was made.', pid, typed: true };
}

/** Reads the pid argument of the command: a number, a numeric string, or an object with `pid`. */
export function pidFromArgument(arg: unknown): number | undefined {
  if (typeof arg === 'number') return Number.isSafeInteger(arg) && arg > 0 ? arg : undefined;
  if (typeof arg === 'string') return pidFromInput(arg);
  if (typeof arg === 'object' && arg !== null && 'pid' in arg) return pidFromArgument((arg as { pid: unknown }).pid);
  return undefined;
}
