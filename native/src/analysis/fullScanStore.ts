// Per-file full-scan results on disk (feature counts and example sites of every instruction of a library's
// executable sections), keyed like the function summaries (file identity, path, fingerprint, engine build), so
// that the comparison full scan of `pygration analyze` decodes each library once per build, not once per run.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Feature } from '../features/vocabulary';
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
  private pruned = false;
  private stampValue?: string;
  /** Statistics, for logs and tests. */
  readonly stats = { loaded: 0, saved: 0 };

  /** @param base the cache directory; @param stamp engineStamp() of the engine, or a function computing it on first use. */
  constructor(
    private readonly base: string,
    private readonly stampOf: string | (() => string),
  ) {}

  get dir(): string {
    this.stampValue ??= typeof this.stampOf === 'string' ? this.stampOf : this.stampOf();
    return path.join(this.base, 'fullscan', this.stampValue);
  }

  load(identity: string, file: string): StoredFileScan | undefined {
    try {
      const where = this.pathOf(identity, file);
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
      this.prune();
      fs.mkdirSync(this.dir, { recursive: true });
      const data: OnDisk = { format: FORMAT, identity, file, fingerprint, instructions: scan.instructions, features: [...scan.features] };
      const where = this.pathOf(identity, file);
      const tmp = `${where}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(data));
      fs.renameSync(tmp, where);
      this.stats.saved++;
    } catch {
      // The cache only saves time.
    }
  }

  private pathOf(identity: string, file: string): string {
    return path.join(this.dir, `${createHash('sha1').update(`${identity}\0${file}`).digest('hex').slice(0, 32)}.json`);
  }

  /** Removes what other builds of the engine stored. */
  private prune(): void {
    if (this.pruned) return;
    this.pruned = true;
    const keep = path.basename(this.dir);
    const parent = path.join(this.base, 'fullscan');
    try {
      for (const e of fs.readdirSync(parent)) if (e !== keep) fs.rmSync(path.join(parent, e), { recursive: true, force: true });
    } catch {
      // Nothing stored yet.
    }
  }
}
