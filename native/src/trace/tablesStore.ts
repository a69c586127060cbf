// Discovered Python tables on disk (cpython/tables.ts: method tables, module definitions, static types of each
// extension module and interpreter), keyed like the function summaries (file identity, path, fingerprint, engine
// build), so that a new process finds the Python-callable functions of the modules it analysed before unscanned.

import * as fs from 'node:fs';
import * as v8 from 'node:v8';
import { PythonTables, type TablesStore } from '../cpython/tables';
import { StampedDir } from './stampedDir';
import { currentFingerprint } from './summaryStore';

/** Bumped when what is stored changes. */
const FORMAT = 1;

interface OnDisk {
  format: number;
  identity: string;
  file: string;
  fingerprint: string;
  /** PythonTables' constructor arguments after `file`. */
  fields: ConstructorParameters<typeof PythonTables> extends [string, ...infer Rest] ? Rest : never;
}

export class DiskTablesStore implements TablesStore {
  private readonly files: StampedDir;
  /** Discovered in this process and not yet written. */
  private readonly pending = new Map<string, { file: string; tables: PythonTables }>();
  /** Statistics, for logs and tests. */
  readonly stats = { loaded: 0, saved: 0 };

  /** @param base the cache directory; @param stamp engineStamp() of the engine, or a function computing it on first use. */
  constructor(base: string, stampOf: string | (() => string)) {
    this.files = new StampedDir(base, 'tables', stampOf);
  }

  get dir(): string {
    return this.files.dir;
  }

  load(identity: string, file: string): PythonTables | undefined {
    try {
      const where = this.files.fileOf(identity, file, '.v8');
      if (!fs.existsSync(where)) return undefined;
      const fingerprint = currentFingerprint(identity, file);
      if (!fingerprint) return undefined;
      const data = v8.deserialize(fs.readFileSync(where)) as OnDisk;
      if (data.format !== FORMAT || data.identity !== identity || data.file !== file || data.fingerprint !== fingerprint) return undefined;
      this.stats.loaded++;
      return new PythonTables(data.file, ...data.fields);
    } catch {
      // A damaged or unreadable entry is the same as none: the file is discovered again.
      return undefined;
    }
  }

  discovered(identity: string, file: string, tables: PythonTables): void {
    this.pending.set(identity, { file, tables });
  }

  /** Writes the files discovered since the last save (at the end of a run: writing costs nothing during it). */
  save(): void {
    for (const [identity, { file, tables: t }] of this.pending) {
      try {
        const fingerprint = currentFingerprint(identity, file);
        if (!fingerprint) continue;
        const data: OnDisk = { format: FORMAT, identity, file, fingerprint, fields: [t.version, t.methodTables, t.standaloneMethods, t.moduleDefs, t.types, t.inittab, t.stats] };
        this.files.write(this.files.fileOf(identity, file, '.v8'), v8.serialize(data));
        this.stats.saved++;
      } catch {
        // The cache only saves time.
      }
    }
    this.pending.clear();
  }
}
