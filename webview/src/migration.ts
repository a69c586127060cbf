// The instance view's migration model: the shape check of the report's `migration` (from `pygration plan`)
// and the text of the "estimated downtime" cell of each compatible type. Pure, no DOM (the host imports
// the shape check through protocol.ts).

import { formatDuration, formatRate, type InstanceMigrationEstimate, type MigrationEstimate } from '../../native/src/browser';

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const optNum = (x: unknown) => x === undefined || isNum(x);
const STRATEGIES = ['stop-and-copy', 'pre-copy', 'post-copy'];

function isInstanceEstimate(x: unknown): x is InstanceMigrationEstimate {
  return (
    isObject(x) &&
    (x.bandwidthBitsPerSecond === null || isNum(x.bandwidthBitsPerSecond)) &&
    typeof x.network === 'string' &&
    typeof x.basis === 'string' &&
    typeof x.flowCapped === 'boolean' &&
    typeof x.lowerBound === 'boolean' &&
    (x.strategy === undefined || STRATEGIES.includes(x.strategy as string)) &&
    optNum(x.downtimeSeconds) &&
    optNum(x.totalSeconds) &&
    optNum(x.preCopyRounds)
  );
}

/** A shape check of every field of `migration` the view reads. */
export function isMigrationEstimate(x: unknown): x is MigrationEstimate {
  if (!isObject(x) || x.schema !== 1) return false;
  const { plan, perInstance, dirty, memory } = x;
  return (
    isNum(x.pid) &&
    (x.method === 'soft-dirty' || x.method === 'content') &&
    isNum(x.sampledSeconds) &&
    isNum(x.downtimeTargetSeconds) &&
    isObject(dirty) &&
    isNum(dirty.pagesPerSecond) &&
    isObject(memory) &&
    isNum(memory.transferBytes) &&
    isObject(plan) &&
    isNum(plan.bandwidthBitsPerSecond) &&
    STRATEGIES.includes(plan.recommendation as string) &&
    typeof plan.why === 'string' &&
    typeof plan.bandwidthSource === 'string' &&
    isObject(plan.preCopy) &&
    isNum(plan.preCopy.downtimeSeconds) &&
    isNum(plan.preCopy.bestRounds) &&
    isObject(plan.postCopy) &&
    isNum(plan.postCopy.downtimeSeconds) &&
    isObject(plan.stopAndCopy) &&
    isNum(plan.stopAndCopy.downtimeSeconds) &&
    isObject(perInstance) &&
    Object.values(perInstance).every(isInstanceEstimate) &&
    Array.isArray(x.notes) &&
    x.notes.every((n) => typeof n === 'string')
  );
}

export const STRATEGY_TEXT: Record<string, string> = { 'stop-and-copy': 'Stop-and-copy', 'pre-copy': 'Pre-copy', 'post-copy': 'Post-copy' };

/** The cell's text and tooltip for one type; '—' for incompatible types and types without a bandwidth figure. */
export function downtimeCell(e: InstanceMigrationEstimate | undefined, compatible: boolean): { text: string; title: string; sortValue?: number } {
  if (!compatible) return { text: '—', title: 'Not a migration target: the process needs features this type lacks' };
  if (!e) return { text: '—', title: 'No estimate for this type (run pygration plan on the process)' };
  if (e.downtimeSeconds === undefined || e.bandwidthBitsPerSecond === null) {
    return { text: '—', title: `No bandwidth figure: AWS publishes "${e.network}" without one. Give one with a bandwidth override (docs/planner.md).` };
  }
  const bound = e.lowerBound ? '≥ ' : '';
  const parts = [
    `${STRATEGY_TEXT[e.strategy ?? ''] ?? e.strategy}${e.preCopyRounds ? ` (${e.preCopyRounds} round${e.preCopyRounds === 1 ? '' : 's'})` : ''}: downtime ${bound}${formatDuration(e.downtimeSeconds)}, total ${bound}${formatDuration(e.totalSeconds ?? e.downtimeSeconds)}`,
    `at ${formatRate(e.bandwidthBitsPerSecond)} (network: ${e.network}${e.flowCapped ? '; one TCP flow is capped lower' : ''})`,
  ];
  if (e.lowerBound) parts.push('A burst ("up to") figure: the sustained bandwidth is lower, so this is a lower bound.');
  return { text: `${bound}${formatDuration(e.downtimeSeconds)}`, title: parts.join('\n'), sortValue: e.downtimeSeconds };
}
