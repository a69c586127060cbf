// Discovered Python tables on disk (cpython/tables.ts: method tables, module definitions, static types of each
// extension module and interpreter), keyed like the function summaries (file identity, path, fingerprint, engine
// build), so that a new process finds the Python-callable functions of the modules it analysed before unscanned.

import { PythonTables, type TablesStore } from '../cpython/tables';
import { StampedDir } from './stampedDir';

/** Bumped when what is stored changes (2: the names the file's C code may look up). */
const FORMAT = 2;

interface OnDisk {
  /** PythonTables' constructor arguments after `file`. */
  fields: ConstructorParameters<typeof PythonTables> extends [string, ...infer Rest] ? Rest : never;
  /** PythonTables.lookupNames, once worked out. */
  lookupNames?: readonly string[];
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
    // A damaged or unreadable entry is the same as none: the file is discovered again.
    const data = this.files.readEntry<OnDisk>(identity, file, 'v8', FORMAT);
    if (!data) return undefined;
    this.stats.loaded++;
    const t = new PythonTables(data.file, ...data.fields);
    if (data.lookupNames) t.lookupNames = data.lookupNames;
    return t;
  }

  /** Also told when something worked out later is added to tables already stored (their lookupNames): written again. */
  discovered(identity: string, file: string, tables: PythonTables): void {
    this.pending.set(identity, { file, tables });
  }

  /** Writes the files discovered since the last save (at the end of a run: writing costs nothing during it). */
  save(): void {
    for (const [identity, { file, tables: t }] of this.pending) {
      try {
        const stored: OnDisk = { fields: [t.version, t.methodTables, t.standaloneMethods, t.moduleDefs, t.types, t.inittab, t.stats], lookupNames: t.lookupNames };
        if (this.files.writeEntry(identity, file, 'v8', FORMAT, stored) === 'written') this.stats.saved++;
      } catch {
        // The cache only saves time.
      }
    }
    this.pending.clear();
  }
}
