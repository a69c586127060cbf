// "Pygration: Plan Migration of Running Process…" without VS Code: which processes the quick pick offers
// first (the debugged one, the analysed one), the request's parameters from the settings, the warning for a
// debuggee paused at a breakpoint, and the one-line result. Pure.

import { formatDuration, formatRate, type MigrationEstimate } from '../../../native/src';
import type { PlanMigrationParams } from '../../../server/src/protocol';
import { STRATEGY_TEXT } from '../../../webview/src/migration';
import type { ProcessPickItem } from './processPick';
import type { PlanSettings } from './settings';

/** A debug session whose debuggee's pid is known. */
export interface DebuggeeInfo {
  sessionId: string;
  name: string;
  pid: number;
  /** The debuggee is paused (breakpoint, step, exception): it writes no memory meanwhile. */
  paused: boolean;
}

/** A quick-pick entry pinned above the process list, with where it comes from. */
export interface PreferredProcess extends ProcessPickItem {
  source: 'debug' | 'live';
  sessionId?: string;
  paused: boolean;
}

/**
 * The processes the plan most likely concerns, pinned first in the quick pick (Enter takes the first): the
 * active debug session's debuggee, then the process of the live report (analysed by command or at a stop)
 * when it is another one.
 */
export function preferredProcesses(debuggee: DebuggeeInfo | undefined, live: { pid: number; label: string; sessionId?: string } | undefined): PreferredProcess[] {
  const out: PreferredProcess[] = [];
  if (debuggee) {
    out.push({
      label: `$(debug) ${debuggee.name}`,
      description: `pid ${debuggee.pid} · the debugged process`,
      detail: debuggee.paused ? '$(debug-pause) paused: it writes no memory until it continues, so continue it before the sampling ends' : '$(play) running',
      pid: debuggee.pid,
      source: 'debug',
      sessionId: debuggee.sessionId,
      paused: debuggee.paused,
    });
  }
  if (live && live.pid !== debuggee?.pid) {
    out.push({
      label: `$(pulse) ${live.label}`,
      description: `pid ${live.pid} · the analysed process`,
      detail: 'its live report gets the migration plan',
      pid: live.pid,
      source: 'live',
      sessionId: live.sessionId,
      paused: false,
    });
  }
  return out;
}

/** The PlanMigration request for `pid` from the settings (read-only: the server never clears soft-dirty bits). */
export function planParams(pid: number, plan: PlanSettings, extra: { label?: string; sessionId?: string } = {}): PlanMigrationParams {
  const params: PlanMigrationParams = { pid, seconds: plan.seconds, maxDowntimeMs: plan.maxDowntimeMs };
  if (plan.bandwidth !== '') params.bandwidth = plan.bandwidth;
  if (extra.label) params.label = extra.label;
  if (extra.sessionId) params.sessionId = extra.sessionId;
  return params;
}

/** The notification's title while it runs: `Pygration: sampling pid 4242 for 5 s`. */
export function planProgressTitle(pid: number, seconds: number): string {
  return `Pygration: planning the migration of pid ${pid} (sampling ${seconds} s)`;
}

/** Asks before sampling a paused debuggee: a paused process writes nothing, so its plan would look free. */
export const PAUSED_WARNING =
  'The debugged process is paused: it writes no memory while paused, so sampling it now measures no dirty pages and the plan would look cheaper than it is. Continue it and plan while it runs, or plan anyway.';

/**
 * One line for the notification after a plan: the recommendation at the plan's bandwidth, the dirty rate,
 * and how many compatible types have a per-type estimate (the view's Est. downtime column).
 */
export function planResultText(pid: number, m: MigrationEstimate, compatible: number): string {
  const p = m.plan;
  const chosen = p.recommendation === 'stop-and-copy' ? p.stopAndCopy : p.recommendation === 'pre-copy' ? p.preCopy : p.postCopy;
  const rounds = p.recommendation === 'pre-copy' ? ` after ${p.preCopy.bestRounds} round${p.preCopy.bestRounds === 1 ? '' : 's'}` : '';
  const estimated = Object.values(m.perInstance).filter((e) => e.downtimeSeconds !== undefined).length;
  const rate = Math.round(m.dirty.pagesPerSecond).toLocaleString('en-US');
  return (
    `Process ${pid}: ${STRATEGY_TEXT[p.recommendation].toLowerCase()}${rounds}, downtime ${formatDuration(chosen.downtimeSeconds)} at ${formatRate(p.bandwidthBitsPerSecond)} ` +
    `(target ${formatDuration(m.downtimeTargetSeconds)}); it dirties ${rate} pages/s. Downtime estimated for ${estimated} of ${compatible} compatible instance types.`
  );
}
