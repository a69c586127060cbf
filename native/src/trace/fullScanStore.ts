// Per-file full-scan results on disk (feature counts and example sites of every instruction of a library's
// executable sections), keyed like the function summaries (file identity, path, fingerprint, engine build), so
// that the comparison full scan of `pygration analyze` decodes each library once per build, not once per run.

import * as fs from 'node:fs';
import type { Feature } from '../features/vocabulary';
import { StampedDir } from './stampedDir';
import { currentFingerprint } from './summaryStore';

/** What the full scan found in one file (fullScan.ts's FileScan). */
export interface StoredFileScan {
  features: Map<Feature, { count: number; sites: number[] }>;
  instructions: number;
}

/** Bumped when what is stored changes. */
const FORMAT = 1;

interface OnDisk {
  format: number;
  identity: string;
  file: string;
  fingerprint: string;
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
    try {
      const where = this.files.fileOf(identity, file, '.json');
      if (!fs.existsSync(where)) return undefined;
      const fingerprint = currentFingerprint(identity, file);
      if (!fingerprint) return undefined;
      const data = JSON.parse(fs.readFileSync(where, 'utf8')) as OnDisk;
      if (data.format !== FORMAT || data.identity !== identity || data.file !== file || data.fingerprint !== fingerprint) return undefined;
      this.stats.loaded++;
      return { features: new Map(data.features), instructions: data.instructions };
    } catch {
      // A damaged or unreadable entry is the same as none: the file is scanned again.
      return undefined;
    }
  }

  save(identity: string, file: string, scan: StoredFileScan): void {
    try {
      const fingerprint = currentFingerprint(identity, file);
      if (!fingerprint) return;
      const data: OnDisk = { format: FORMAT, identity, file, fingerprint, instructions: scan.instructions, features: [...scan.features] };
      this.files.write(this.files.fileOf(identity, file, '.json'), JSON.stringify(data));
      this.stats.saved++;
    } catch {
      // The cache only saves time.
    }
  }
}
