// Keeps module analyses between runs, keyed by interpreter (executable + bytecode magic) and module name and
// validated by file identity (path, size, mtime in ns): re-analysis after an edit touches only what changed.

import type { ModuleRecord } from './helperRecords';
import type { ModuleSummary, PendingBodies } from './simulate';
import type { BytecodeDiagnostic, CallSite, FunctionInfo } from './types';

/** One module as last analysed. */
export interface CachedModule {
  /** The helper's record without code. */
  record: Omit<ModuleRecord, 'codes' | 'id' | 'lazyCodes' | 'source'>;
  summary?: ModuleSummary;
  /** Function bodies not simulated yet (the summary completes in place when they are). */
  pending?: PendingBodies;
  diagnostics: BytecodeDiagnostic[];
  /** Call sites and functions as last resolved; valid while no module this one imports (transitively) changed. */
  resolved?: { sites: CallSite[]; functions: FunctionInfo[] };
}

/** In-memory cache of module analyses; share one instance between runs (the language server keeps it). */
export class BytecodeCache {
  private readonly byInterpreter = new Map<string, Map<string, CachedModule>>();
  private readonly closures = new Map<string, string[]>();
  hits = 0;
  misses = 0;

  private table(interpreter: string): Map<string, CachedModule> {
    let t = this.byInterpreter.get(interpreter);
    if (!t) {
      t = new Map();
      this.byInterpreter.set(interpreter, t);
    }
    return t;
  }

  get(interpreter: string, name: string): CachedModule | undefined {
    return this.byInterpreter.get(interpreter)?.get(name);
  }

  set(interpreter: string, name: string, entry: CachedModule): void {
    this.table(interpreter).set(name, entry);
  }

  delete(interpreter: string, name: string): void {
    this.byInterpreter.get(interpreter)?.delete(name);
  }

  /** name → [file, size, mtimeNs] of every cached Python module with code (what the helper may skip). */
  known(interpreter: string, names: Iterable<string>): Record<string, [string, number, string]> {
    const t = this.byInterpreter.get(interpreter);
    const out: Record<string, [string, number, string]> = {};
    if (!t) return out;
    for (const n of names) {
      const e = t.get(n);
      const r = e?.record;
      if (e && r && r.file && r.size !== undefined && r.mtimeNs !== undefined && (e.summary || r.syntaxError)) out[n] = [r.file, r.size, r.mtimeNs];
    }
    return out;
  }

  /** The module names the last run from these roots reached (requested up front when re-running). */
  lastClosure(interpreter: string, rootsKey: string): string[] | undefined {
    return this.closures.get(`${interpreter}\0${rootsKey}`);
  }

  setLastClosure(interpreter: string, rootsKey: string, names: string[]): void {
    this.closures.set(`${interpreter}\0${rootsKey}`, names);
  }

  /** Number of cached modules (all interpreters). */
  get size(): number {
    let n = 0;
    for (const t of this.byInterpreter.values()) n += t.size;
    return n;
  }

  clear(): void {
    this.byInterpreter.clear();
    this.closures.clear();
  }
}
