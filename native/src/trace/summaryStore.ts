// Function summaries on disk, so that a new process (a restarted language server) walks the libraries it
// walked before without decoding them again. One file per library, keyed by its identity (device, inode,
// size, mtime), its path and a fingerprint of its first and last 64 KiB, under a directory named after the
// engine that made them: another build of the engine never reads them.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cachedSummariesOf, type SummaryStore } from './ept';
import { cachedVerdictsOf, fileVerdicts } from './summaryCache';
import type { Feature } from '../features/vocabulary';
import type { FeatureHits, FunctionSummary } from './summary';
import { StampedDir } from './stampedDir';

/** Bumped when what is stored changes (3: JSON, each summary's features as [feature, hits] pairs). */
const FORMAT = 3;
/** Libraries whose summaries serialize to more than this are not stored. */
const MAX_FILE_BYTES = 128 * 1024 * 1024;

/** A summary as stored: JSON has no Map, so its features are their entries. */
type StoredSummary = Omit<FunctionSummary, 'features'> & { features: Array<[Feature, FeatureHits]> };

/**
 * JSON, not V8's serializer: a library's summaries are plain records of numbers, strings and arrays but for one
 * Map each, and JSON.parse reads them in about half the time v8.deserialize takes (a second analysis of the
 * scikit-learn workload loads 30 MB of them).
 */
interface StoredSummaries {
  entries: Array<[number, StoredSummary]>;
  /** The file's transform verdicts (summaryCache.ts fileVerdicts), when the walks asked for any. */
  transforms?: Array<[string, boolean]>;
}

/** A summary as stored (the same fields in the same order, the features as an array). */
export function toStored(s: FunctionSummary): StoredSummary {
  return { ...s, features: [...s.features] };
}

/** The summary a stored one holds; `s` becomes it (its features a Map again). */
export function fromStored(s: StoredSummary): FunctionSummary {
  const out = s as unknown as FunctionSummary;
  out.features = new Map(s.features);
  return out;
}

/** The bundles that hold the whole engine (esbuild.mjs writes them side by side into dist/, with their entry files). */
const ENGINE_BUNDLES = ['cliMain.js', 'serverMain.js'];

/**
 * A stamp of the engine's code: the hash of the file that holds it (a bundle), together with the other
 * engine bundles beside it, so that the CLI and the language server of one build share their summaries.
 */
export function engineStamp(engineFile: string): string {
  const dir = path.dirname(engineFile);
  const files = new Set([path.resolve(engineFile)]);
  if (ENGINE_BUNDLES.includes(path.basename(engineFile))) {
    for (const b of ENGINE_BUNDLES) if (fs.existsSync(path.join(dir, b))) files.add(path.resolve(dir, b));
  }
  const h = createHash('sha1');
  for (const f of [...files].sort()) h.update(path.basename(f)).update('\0').update(fs.readFileSync(f));
  return h.digest('hex').slice(0, 16);
}

export class DiskSummaryStore implements SummaryStore {
  /** Files asked for in this process: their identity, path and how many summaries and transform verdicts the disk had. */
  private readonly seen = new Map<string, { file: string; stored: number; verdicts: number }>();
  private readonly files: StampedDir;
  /** Statistics, for logs and tests. */
  readonly stats = { loadedFiles: 0, loadedSummaries: 0, savedFiles: 0, savedSummaries: 0 };

  /**
   * @param base the cache directory (e.g. ~/.cache/pygration); @param stamp engineStamp() of the engine, or a
   * function computing it at the first load or save (hashing the bundles takes tens of milliseconds, which a
   * language server should not spend before its first answer).
   */
  constructor(base: string, stampOf: string | (() => string)) {
    this.files = new StampedDir(base, 'summaries', stampOf);
  }

  /** The engine stamp (computed on first use when given as a function). */
  get stamp(): string {
    return this.files.stamp;
  }

  /** Where this engine's summaries are. */
  get dir(): string {
    return this.files.dir;
  }

  load(identity: string, file: string): Map<number, FunctionSummary> | undefined {
    if (this.seen.has(identity)) return undefined;
    this.seen.set(identity, { file, stored: 0, verdicts: 0 });
    // A damaged or unreadable entry is the same as none: the summaries are made again.
    const data = this.files.readEntry<StoredSummaries>(identity, file, 'json', FORMAT);
    if (!data) return undefined;
    const m = new Map<number, FunctionSummary>();
    for (const [address, s] of data.entries) m.set(address, fromStored(s));
    const verdicts = fileVerdicts(identity);
    for (const [key, v] of data.transforms ?? []) if (!verdicts.has(key)) verdicts.set(key, v);
    this.seen.set(identity, { file, stored: m.size, verdicts: data.transforms?.length ?? 0 });
    this.stats.loadedFiles++;
    this.stats.loadedSummaries += m.size;
    return m;
  }

  /** Writes the summaries of every file walked since it was loaded or last saved, when there are new ones. */
  save(): void {
    for (const [identity, entry] of this.seen) {
      const m = cachedSummariesOf(identity);
      const verdicts = cachedVerdictsOf(identity);
      if (!m || (m.size <= entry.stored && (verdicts?.size ?? 0) <= entry.verdicts)) continue;
      try {
        const stored: StoredSummaries = { entries: Array.from(m, ([address, s]) => [address, toStored(s)]) };
        if (verdicts?.size) stored.transforms = [...verdicts];
        const outcome = this.files.writeEntry(identity, entry.file, 'json', FORMAT, stored, MAX_FILE_BYTES);
        if (outcome === 'changed') continue;
        // Too large or not writable: not tried again until more summaries (or verdicts) are made.
        entry.stored = m.size;
        entry.verdicts = verdicts?.size ?? 0;
        if (outcome !== 'written') continue;
        this.stats.savedFiles++;
        this.stats.savedSummaries += m.size;
      } catch {
        // The cache only saves time.
      }
    }
  }
}

