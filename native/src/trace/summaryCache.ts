// The in-process cache of function summaries (per file identity and function start), with an optional second
// level the caller passes in (EptOptions.summaryStore; summaryStore.ts keeps one on disk).

import type { FunctionSummary } from './summary';

/** Summaries are pure functions of the file bytes: cache them per (file identity, function start). */
const summaryCache = new Map<string, Map<number, FunctionSummary>>();
/** Far above one process's modules: a walk that visits more files than this would summarise them again and again. */
const SUMMARY_CACHE_FILES = 2048;

/**
 * A second level of the summary cache (summaryStore.ts keeps one on disk): asked for a file's summaries the
 * first time this process walks the file.
 */
export interface SummaryStore {
  load(identity: string, file: string): Map<number, FunctionSummary> | undefined;
}

/** The summaries this process holds for a file identity (a store saves them), or undefined. */
export function cachedSummariesOf(identity: string): ReadonlyMap<number, FunctionSummary> | undefined {
  return summaryCache.get(identity);
}

/** The summaries of a file identity, asking `store` the first time this process walks the file. */
export function cachedSummaries(identity: string, file: string, store?: SummaryStore): Map<number, FunctionSummary> {
  let m = summaryCache.get(identity);
  if (!m) {
    if (summaryCache.size >= SUMMARY_CACHE_FILES) summaryCache.delete(summaryCache.keys().next().value as string);
    let stored: Map<number, FunctionSummary> | undefined;
    try {
      stored = store?.load(identity, file);
    } catch {
      stored = undefined;
    }
    summaryCache.set(identity, (m = stored ?? new Map()));
  }
  return m;
}

/** Drops cached function summaries (for benchmarks that measure cold runs). */
export function clearSummaryCache(): void {
  summaryCache.clear();
}
