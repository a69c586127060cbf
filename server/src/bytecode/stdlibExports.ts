// The standard library's real exports: names a stdlib module binds at import time in ways bytecode does not
// show (hashlib through globals()), asked of the helper once per interpreter and kept for the session.

import * as path from 'node:path';
import type { InterpreterInfo, IntrospectAnswer, RuntimeBinding } from './helperRecords';

/** A module the helper imported (or refused to), with what each name asked was bound to. */
interface ModuleAnswer {
  reason?: string;
  names: Map<string, RuntimeBinding | null>;
}

/**
 * What the resolver asked and what the helper answered, per interpreter. The resolver notes the names it
 * could not find in a stdlib module (misses); the tracking run asks the helper for them and resolves again.
 * A name is asked once: answers (null too) and failures stay.
 */
export class StdlibExports {
  private readonly answers = new Map<string, ModuleAnswer>();
  private readonly misses = new Map<string, { file: string | null; names: Set<string> }>();
  /** Native modules the answers name (their extension file, or builtin), for modules outside the closure. */
  readonly nativeModules = new Map<string, { file?: string; builtin: boolean }>();
  private readonly stdlibDir: string | null;

  constructor(info: InterpreterInfo) {
    this.stdlibDir = info.stdlib ? path.resolve(info.stdlib) : null;
  }

  /**
   * Whether a Python module found at `file` may be the standard library's (a cheap filter: the helper decides,
   * from sysconfig and sys.stdlib_module_names, before it imports anything).
   */
  mayBeStdlib(file: string | undefined): boolean {
    if (!file || !this.stdlibDir) return false;
    const f = path.resolve(file);
    if (!f.startsWith(this.stdlibDir + path.sep)) return false;
    const rest = f.slice(this.stdlibDir.length + 1).split(path.sep);
    return !rest.includes('site-packages') && !rest.includes('dist-packages');
  }

  /**
   * Whether lookups of names not asked yet are noted (while the run resolves its roots' call sites). Other
   * resolutions only read the answers: what a module's sites resolve to then depends on the roots alone,
   * not on whether they were listed in full or walked lazily.
   */
  collecting = false;

  /** The binding of module.name: a binding, null (asked: none known), undefined (not asked yet: noted when collecting). */
  lookup(module: string, file: string | undefined, name: string): RuntimeBinding | null | undefined {
    const a = this.answers.get(module);
    if (a) {
      if (a.reason !== undefined) return null;
      const b = a.names.get(name);
      if (b !== undefined) return b;
    }
    if (!this.collecting) return undefined;
    let m = this.misses.get(module);
    if (!m) this.misses.set(module, (m = { file: file ?? null, names: new Set() }));
    m.names.add(name);
    return undefined;
  }

  /** Notes names of a module to ask the helper, whatever `collecting` says: those not answered yet. */
  ask(module: string, file: string | undefined, names: Iterable<string>): void {
    const a = this.answers.get(module);
    if (a?.reason !== undefined) return;
    for (const n of names) {
      if (a?.names.has(n)) continue;
      let m = this.misses.get(module);
      if (!m) this.misses.set(module, (m = { file: file ?? null, names: new Set() }));
      m.names.add(n);
    }
  }

  /** Names noted since the last takeMisses, as the helper's introspect request wants them. */
  takeMisses(): [string, string | null, string[]][] {
    const out: [string, string | null, string[]][] = [];
    for (const [module, m] of this.misses) out.push([module, m.file, [...m.names].sort()]);
    this.misses.clear();
    return out;
  }

  /** Records the helper's answers; names it did not answer (a failed request) are recorded as unknown. */
  record(asked: [string, string | null, string[]][], answers: IntrospectAnswer[], failure?: string): void {
    const byModule = new Map(answers.map((a) => [a.module, a]));
    for (const [module, , names] of asked) {
      let entry = this.answers.get(module);
      if (!entry) this.answers.set(module, (entry = { names: new Map() }));
      const a = byModule.get(module);
      if (!a) {
        entry.reason = failure ?? 'the helper did not answer';
        continue;
      }
      if (a.reason !== undefined) entry.reason = a.reason;
      for (const n of names) {
        const b = a.names?.[n] ?? null;
        entry.names.set(n, b);
        if (b) this.noteNative(b);
      }
    }
  }

  /** Why a module's names are not known at run time (not the stdlib's, import failed), if so. */
  reason(module: string): string | undefined {
    return this.answers.get(module)?.reason;
  }

  private noteNative(b: RuntimeBinding): void {
    if (b.kind === 'instance') {
      this.noteNative(b.of);
      return;
    }
    if ((b.kind === 'native-function' || b.kind === 'native-method' || b.kind === 'native-type') && !this.nativeModules.has(b.module)) {
      this.nativeModules.set(b.module, { file: b.file, builtin: !!b.builtin });
    }
  }
}
