// The values of the extension's context keys (CONTEXT_KEYS) from its state, for the `when` clauses of
// package.json's menus and walkthrough. Pure.

import type { PygrationState } from '../../../server/src/protocol';
import { CONTEXT_KEYS } from './ids';
import type { ServerStatus } from './status';

export interface ContextInput {
  /** Linux x86-64 (platformSupport). */
  supported: boolean;
  server: ServerStatus;
  state?: PygrationState;
  /** The instance view has a report to export or restore from. */
  hasReport: boolean;
}

export function contextKeyValues(i: ContextInput): Record<string, boolean> {
  return {
    [CONTEXT_KEYS.activated]: true,
    [CONTEXT_KEYS.unsupportedPlatform]: !i.supported,
    [CONTEXT_KEYS.active]: i.supported,
    [CONTEXT_KEYS.hasReport]: i.supported && i.hasReport,
    [CONTEXT_KEYS.hasLive]: i.supported && i.server === 'running' && i.state?.live !== undefined,
    [CONTEXT_KEYS.hasStaticResult]: i.supported && i.state?.static !== undefined,
  };
}

/** The keys whose value differs from `previous` (all of them the first time), so setContext runs only on change. */
export function changedKeys(next: Record<string, boolean>, previous: Record<string, boolean> | undefined): Array<[string, boolean]> {
  return Object.entries(next).filter(([k, v]) => previous?.[k] !== v);
}
