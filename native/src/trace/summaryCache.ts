// The in-process cache of function summaries (per file identity and function start), with an optional second
// level the caller passes in (EptOptions.summaryStore; summaryStore.ts keeps one on disk); and of the verdicts
// transformedProducts.ts draws from a file's code, kept with its summaries.

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
  return fileEntry(summaryCache, identity, () => {
    try {
      return store?.load(identity, file) ?? new Map();
    } catch {
      return new Map();
    }
  });
}

/** `cache`'s entry for a file identity, made by `make` the first time; past SUMMARY_CACHE_FILES files the oldest goes. */
function fileEntry<T>(cache: Map<string, T>, identity: string, make: () => T): T {
  let e = cache.get(identity);
  if (e === undefined) {
    if (cache.size >= SUMMARY_CACHE_FILES) cache.delete(cache.keys().next().value as string);
    cache.set(identity, (e = make()));
  }
  return e;
}

/**
 * Whether a function of a file keeps a code address it produces transformed (transformedProducts.ts), by a key of
 * link-time addresses: a property of the file's code, shared by every walk of this process and stored on disk with the
 * file's summaries (summaryStore.ts).
 */
const verdictCache = new Map<string, Map<string, boolean>>();

/** The transform verdicts of a file identity, made empty on first use (bounded as the summaries are). */
export function fileVerdicts(identity: string): Map<string, boolean> {
  return fileEntry(verdictCache, identity, () => new Map());
}

/** The transform verdicts this process holds for a file identity (a store saves them), or undefined. */
export function cachedVerdictsOf(identity: string): ReadonlyMap<string, boolean> | undefined {
  return verdictCache.get(identity);
}

/** Drops cached function summaries and transform verdicts (for benchmarks that measure cold runs). */
export function clearSummaryCache(): void {
  summaryCache.clear();
  verdictCache.clear();
}
