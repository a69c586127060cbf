// Per-file full-scan results on disk (feature counts and example sites of every instruction of a library's
// executable sections), keyed like the function summaries (file identity, path, fingerprint, engine build), so
// that the comparison full scan of `pygration analyze` decodes each library once per build, not once per run.

import type { Feature } from '../features/vocabulary';
import { StampedDir } from './stampedDir';

/** What the full scan found in one file (fullScan.ts's FileScan). */
export interface StoredFileScan {
  features: Map<Feature, { count: number; sites: number[] }>;
  instructions: number;
}

/** Bumped when what is stored changes. */
const FORMAT = 1;

interface OnDisk {
  instructions: number;
  features: Array<[Feature, { count: number; sites: number[] }]>;
}

export class DiskFullScanStore {
  private readonly files: StampedDir;
  /** Statistics, for logs and tests. */
  readonly stats = { loaded: 0, saved: 0 };

  /** @param base the cache directory; @param stamp engineStamp() of the engine, or a function computing it on first use. */
  constructor(base: string, stampOf: string | (() => string)) {
    this.files = new StampedDir(base, 'fullscan', stampOf);
  }

  get dir(): string {
    return this.files.dir;
  }

  load(identity: string, file: string): StoredFileScan | undefined {
    // A damaged or unreadable entry is the same as none: the file is scanned again.
    const data = this.files.readEntry<OnDisk>(identity, file, 'json', FORMAT);
    if (!data) return undefined;
    this.stats.loaded++;
    return { features: new Map(data.features), instructions: data.instructions };
  }

  save(identity: string, file: string, scan: StoredFileScan): void {
    try {
      const stored: OnDisk = { instructions: scan.instructions, features: [...scan.features] };
      if (this.files.writeEntry(identity, file, 'json', FORMAT, stored) === 'written') this.stats.saved++;
    } catch {
      // The cache only saves time.
    }
  }
}
