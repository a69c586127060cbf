// bytecodeTracking: the entry point, and the session that keeps an interpreter warm between runs. A run goes
// through the import closure (closureRun.ts), then resolves every call site (trackingResult.ts).

import * as path from 'node:path';
import { BytecodeCache } from './cache';
import { ClosureRun } from './closureRun';
import { Decoder } from './decode';
import { abortError, PythonHelper } from './helper';
import { defaultHelperPath, type HelperOptions } from './helperLaunch';
import { DiskCache, defaultCacheDir } from './diskCache';
import type { StdlibExports } from './stdlibExports';
import type { BytecodeTrackingResult, CallEdge } from './types';

export interface TrackingProgress {
  phase: 'closure' | 'resolve' | 'done';
  /** Modules received from the helper so far. */
  modules: number;
  /** Modules requested and not yet received. */
  pending: number;
}

export interface BytecodeTrackingOptions {
  /** The interpreter the program runs on: a path (/usr/bin/python3, a pyenv python, /proc/PID/exe). */
  python: string;
  /** Source files to analyse (a script, workspace files). Their directory roots go first on sys.path. */
  files?: string[];
  /** Module names to analyse (found through the interpreter's sys.path). */
  modules?: string[];
  /** Put first on sys.path (the workspace folder). */
  workspaceRoot?: string;
  /** Follow imports that run at import time (module and class level) through sys.path: the import closure. */
  followImports: boolean;
  /** Also follow imports inside functions (default false: they run only when the function is called). */
  followLazyImports?: boolean;
  cancel?: AbortSignal;
  onProgress?: (p: TrackingProgress) => void;
  /** Reuse analyses across runs (keyed by file identity). */
  cache?: BytecodeCache;
  /** Reuse a running session (a warm interpreter); otherwise one is started and closed. */
  session?: BytecodeSession;
  /** Replace the interpreter's sys.path; default: its own (site-packages included). */
  sysPath?: string[];
  env?: NodeJS.ProcessEnv;
  /** The helper's working directory (relative PYTHONPATH entries resolve against it). */
  cwd?: string;
  helperPath?: string;
  /**
   * Directory of the on-disk cache of module records (shared by processes: a new one starts warm); null
   * disables it. Default: $PYGRATION_CACHE_DIR, else $XDG_CACHE_HOME/pygration, else ~/.cache/pygration.
   * Used when no session is given (a session has its own).
   */
  cacheDir?: string | null;
  /** Stop following imports beyond this many modules (default 20000). */
  maxModules?: number;
  /** Which modules' call sites to report: all of the closure (default) or only the requested roots. */
  callSitesOf?: 'all' | 'roots';
}

/** Analyses files and modules with the interpreter given; see BytecodeTrackingResult. */
export async function bytecodeTracking(options: BytecodeTrackingOptions): Promise<BytecodeTrackingResult> {
  const own = options.session === undefined;
  const session = options.session ?? new BytecodeSession({ python: options.python, helperPath: options.helperPath, sysPath: options.sysPath, env: options.env, cwd: options.cwd, cache: options.cache, cacheDir: options.cacheDir });
  try {
    return await session.track(options);
  } finally {
    if (own) void session.close();
  }
}

export interface SessionOptions extends Omit<HelperOptions, 'prependPath'> {
  cache?: BytecodeCache;
  /** The on-disk cache's directory (see BytecodeTrackingOptions.cacheDir); null disables it. */
  cacheDir?: string | null;
}

/** A warm interpreter with its helper, decoder and cache: what the language server keeps between runs. */
export class BytecodeSession {
  readonly cache: BytecodeCache;
  private helper: PythonHelper | null = null;
  private starting: Promise<PythonHelper> | null = null;
  private decoder: Decoder | null = null;
  private readonly prepended = new Set<string>();
  /** @internal CPU seconds the current helper had used at the end of the last run. */
  helperCpu = 0;
  /** @internal The edges of the last run per roots (reused when nothing had to be resolved again). */
  readonly lastEdges = new Map<string, { sites: number; edges: CallEdge[] }>();
  /** @internal The standard library's real exports per interpreter (executable + magic), asked once each. */
  readonly stdlibExports = new Map<string, StdlibExports>();
  /** @internal The on-disk cache of this interpreter's module records (null: none or unusable). */
  disk: DiskCache | null = null;
  private diskOpened = false;

  constructor(private readonly options: SessionOptions) {
    this.cache = options.cache ?? new BytecodeCache();
  }

  /** Starts (or returns) the helper process. */
  async ensureHelper(): Promise<PythonHelper> {
    if (this.helper && this.helper.running) return this.helper;
    if (!this.starting) {
      this.starting = PythonHelper.start(this.options).then(
        (h) => {
          this.helper = h;
          this.decoder = new Decoder(h.model);
          // A helper run as another user (a live process's) could write anything into our cache: not kept.
          if (!this.diskOpened && h.credentials === undefined) {
            this.diskOpened = true;
            const dir = this.options.cacheDir === undefined ? defaultCacheDir() : this.options.cacheDir;
            if (dir) this.disk = DiskCache.open(dir, h.info, this.options.helperPath ?? defaultHelperPath());
          }
          this.prepended.clear();
          this.helperCpu = 0;
          this.starting = null;
          return h;
        },
        (e) => {
          this.starting = null;
          throw e;
        },
      );
    }
    return this.starting;
  }

  /** Ends the helper; the promise resolves once it has exited (a caller that exits next may wait for it). */
  close(): Promise<void> {
    const helper = this.helper;
    helper?.close();
    this.helper = null;
    return helper ? helper.exited() : Promise.resolve();
  }

  async track(options: BytecodeTrackingOptions): Promise<BytecodeTrackingResult> {
    const t0 = performance.now();
    const signal = options.cancel;
    if (signal?.aborted) throw abortError();
    const helper = await this.ensureHelper();
    const decoder = this.decoder!;
    const interpreterKey = `${helper.info.executable}\0${helper.info.magic}`;
    const files = (options.files ?? []).map((f) => path.resolve(f));
    const prepend: string[] = [];
    if (options.workspaceRoot) prepend.push(path.resolve(options.workspaceRoot));
    const newRoots = prepend.filter((p) => !this.prepended.has(p));
    if (newRoots.length) {
      await helper.prependPath(newRoots);
      for (const p of newRoots) this.prepended.add(p);
    }
    const run = new ClosureRun(this, helper, decoder, interpreterKey, options, files);
    const result = await run.execute();
    result.stats.seconds.total = (performance.now() - t0) / 1000;
    return result;
  }

  /** @internal Registers directories the helper has put on sys.path. */
  notePrepended(dirs: string[]): void {
    for (const d of dirs) this.prepended.add(d);
  }

  /** @internal */
  hasPrepended(dir: string): boolean {
    return this.prepended.has(dir);
  }
}
