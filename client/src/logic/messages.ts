// Clear messages for failed live analyses, by error kind: permission (ptrace access, explained for the
// host's ptrace_scope), a process that exited, a non-Python or unsupported process, and the rest. Pure.

import type { AnalysisErrorKind } from '../../../server/src/protocol';

export type MessageAction = 'Learn More' | 'Pick Another Process' | 'Show Output' | 'Retry' | 'Open Settings';

export interface UserMessage {
  severity: 'error' | 'warning' | 'info';
  text: string;
  actions: MessageAction[];
}

export interface AnalysisError {
  kind: AnalysisErrorKind;
  message: string;
  hint?: string;
}

/** Parses /proc/sys/kernel/yama/ptrace_scope's text (null when Yama is absent or the text is odd). */
export function parsePtraceScope(text: string | undefined): number | null {
  if (text === undefined) return null;
  const n = Number(text.trim());
  return Number.isInteger(n) && n >= 0 && n <= 3 ? n : null;
}

/** One or two sentences on what ptrace access the host's Yama setting allows. */
export function ptraceScopeExplanation(scope: number | null): string {
  switch (scope) {
    case 0:
      return 'kernel.yama.ptrace_scope is 0 here, so any process of your own user can be read: the process belongs to another user (run it as yourself, or give the reader CAP_SYS_PTRACE).';
    case 1:
      return 'kernel.yama.ptrace_scope is 1 here: a process may only be read by its ancestors, and the Pygration server is not one. Allow same-user reads until the next boot with `sudo sysctl kernel.yama.ptrace_scope=0`, or give the reader CAP_SYS_PTRACE.';
    case 2:
      return 'kernel.yama.ptrace_scope is 2 here: only a process with CAP_SYS_PTRACE may read another one.';
    case 3:
      return 'kernel.yama.ptrace_scope is 3 here: no process may read another until the next boot.';
    default:
      return 'Reading another process needs ptrace access: the process must belong to your user (or the reader needs CAP_SYS_PTRACE).';
  }
}

function withHint(message: string, hint: string | undefined): string {
  const m = message.trim();
  if (!hint) return m;
  return `${m}${/[.!?]$/.test(m) ? '' : '.'} ${hint.trim()}`;
}

/**
 * The message for a failed analysis of `pid` (or migration plan, `action: 'plan'`), or undefined when there
 * is nothing to tell (cancelled).
 */
export function analysisErrorMessage(error: AnalysisError, pid: number, ptraceScope: number | null, action: 'analysis' | 'plan' = 'analysis'): UserMessage | undefined {
  switch (error.kind) {
    case 'cancelled':
      return undefined;
    case 'permission':
      return {
        severity: 'error',
        text: `Pygration may not read the memory of process ${pid} (permission denied). ${ptraceScopeExplanation(ptraceScope)}`,
        actions: ['Learn More', 'Pick Another Process'],
      };
    case 'gone':
      return {
        severity: 'warning',
        text: error.message.includes('while it was being sampled')
          ? `Process ${pid} exited while its memory writes were being sampled: there is nothing left to migrate.`
          : `Process ${pid} has exited, so there is nothing left to ${action === 'plan' ? 'migrate' : 'analyse'}.`,
        actions: ['Pick Another Process'],
      };
    case 'usage':
      // The request named no process (a pid that is not a positive integer): nothing to retry as is.
      return { severity: 'error', text: withHint(error.message, error.hint), actions: ['Pick Another Process'] };
    case 'not-python':
      return {
        severity: 'warning',
        // The server's message names the program (`Process 9 (bash) is not a Python interpreter.`).
        text: withHint(error.message.trim() || `Process ${pid} is not a Python interpreter.`, error.hint),
        actions: ['Pick Another Process'],
      };
    case 'unsupported':
      return {
        severity: 'warning',
        text: `Pygration cannot ${action === 'plan' ? 'plan the migration of' : 'analyse'} process ${pid}: ${withHint(error.message, error.hint)}`,
        actions: ['Pick Another Process', 'Learn More'],
      };
    default:
      if (action === 'plan' && error.kind === 'malformed') {
        // The request's parameters (the pygration.plan.* settings) were refused: nothing to retry as is.
        return { severity: 'error', text: `Pygration cannot plan the migration of process ${pid}: ${withHint(error.message, error.hint)}`, actions: ['Open Settings'] };
      }
      return {
        severity: 'error',
        text: `${action === 'plan' ? 'Planning the migration' : 'The analysis'} of process ${pid} failed: ${withHint(error.message, error.hint)}`,
        actions: ['Retry', 'Show Output'],
      };
  }
}

/** JSON-RPC / LSP error codes the client can see when a request fails. */
const CANCELLED_CODES = new Set([-32800 /* RequestCancelled */, -32802 /* ServerCancelled */]);
const CONNECTION_CODES = new Set([-32099 /* MessageWriteError */, -32098 /* MessageReadError */, -32097 /* PendingResponseRejected */, -32096 /* ConnectionInactive */]);

/** Maps an exception from the language client (a rejected request) to an analysis error. */
export function errorFromException(e: unknown): AnalysisError {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  const message = e instanceof Error ? e.message : typeof e === 'string' ? e : String(JSON.stringify(e));
  if ((typeof code === 'number' && CANCELLED_CODES.has(code)) || (e instanceof Error && e.name === 'Canceled')) {
    return { kind: 'cancelled', message: 'The analysis was cancelled.' };
  }
  if ((typeof code === 'number' && CONNECTION_CODES.has(code)) || /client is not running/i.test(message)) {
    return { kind: 'internal', message: 'the Pygration language server is not running.', hint: 'Restart it with "Pygration: Restart Language Server".' };
  }
  return { kind: 'internal', message };
}
