// The native side of static call-site analyses kept between runs (the language server's edit + save): the
// interpreter's files at rest with the objects resolution loaded into them, and each resolution and walk made.
//
// A fresh run loads extension modules into its space in the order its call sites resolve, and a resolution or
// a walk depends on the objects loaded before it (a symbol resolves to its first definition in load order,
// destructors of every loaded object are interpreter roots). So each result kept here records how many objects
// were loaded when it was made (objects are only ever appended, so a count names one list of objects), and a
// new run replays a fresh run step by step: a kept result is used where the fresh run would have exactly those
// objects loaded, a new one is computed where the kept space holds exactly the fresh run's objects, and
// otherwise the replay has diverged (ReplayDiverged): the caller drops the state and starts a fresh one.
// Results are therefore those of a fresh run; an edit that keeps the order of the earlier calls' native code
// (the usual edit) only resolves and walks what it added.

import * as fs from 'node:fs';
import { fileIdentityOf, NativeResolver, OverlaySpace, StaticAddressSpace, type EptResult, type Feature, type NativeRequest, type NativeResolution } from '../../native/src';

/** One kept result: the objects loaded before it was made, and after (a resolution may load some). */
interface Kept<T> {
  before: number;
  after: number;
  value: T;
}

/**
 * A resolution's key in the kept state: the request, and the identity of the file it names (an extension
 * module, a ctypes library given by path), so that a file rebuilt, added or removed since is resolved again.
 */
export function requestKey(request: NativeRequest, json = JSON.stringify(request)): string {
  const file = request.kind === 'ctypes' ? (request.library?.includes('/') ? request.library : undefined) : request.file;
  if (file === undefined) return json;
  let identity = 'absent';
  try {
    identity = fileIdentityOf(fs.statSync(fs.realpathSync(file)));
  } catch {
    // Absent or unreadable: resolved again once it is there.
  }
  return `${json}\0${identity}`;
}

/** A step of a replay that a fresh run would have made over other objects than the kept space holds. */
export class ReplayDiverged extends Error {
  constructor(readonly context: NativeContext) {
    super('The kept native state cannot replay this run: a fresh one is needed.');
    this.name = 'ReplayDiverged';
  }
}

/** The kept space of one interpreter and one set of options, with its results by loaded-object count. */
export class NativeContext {
  readonly resolver: NativeResolver;
  /** Objects of the space before any resolution loaded one (the interpreter and its libraries). */
  readonly baseCount: number;
  private readonly resolutions = new Map<string, Kept<NativeResolution>[]>();
  private readonly walks = new Map<string, Kept<EptResult>[]>();
  private readonly interpreter: Kept<Feature[] | undefined>[] = [];
  /** How many libraries the overlay had left out when this many objects were loaded. */
  private readonly missingAt = new Map<number, number>();
  /** Walks as described for this context's options (the same EptResult is described the same way). */
  readonly described = new WeakMap<EptResult, unknown>();

  constructor(
    readonly key: string,
    readonly space: StaticAddressSpace,
  ) {
    this.resolver = new NativeResolver(space);
    this.baseCount = space.modules().length;
    this.noteMissing();
  }

  /** Objects loaded now. */
  loaded(): number {
    return this.resolver.space.modules().length;
  }

  /** True while every loaded object is the file it was read from (same device, inode, size and mtime). */
  unchanged(): boolean {
    for (const m of this.resolver.space.modules()) {
      try {
        if (fileIdentityOf(fs.statSync(fs.realpathSync(m.path))) !== m.identity) return false;
      } catch {
        return false;
      }
    }
    return true;
  }

  private noteMissing(): void {
    const overlay = this.resolver.space;
    this.missingAt.set(this.loaded(), overlay instanceof OverlaySpace ? overlay.missing.length : 0);
  }

  /** The overlay's left-out libraries as a fresh run that loaded `count` objects has them. */
  missing(count: number): Array<{ name: string; neededBy: string; reason: string }> {
    const overlay = this.resolver.space;
    return overlay instanceof OverlaySpace ? overlay.missing.slice(0, this.missingAt.get(count) ?? overlay.missing.length) : [];
  }

  /** A new run's replay. */
  replay(): Replay {
    return new Replay(this);
  }

  /** @internal The kept step for `loaded` objects, else the computed one (recorded), else ReplayDiverged. */
  step<T>(kept: Kept<T>[], loaded: number, compute: () => T): Kept<T> {
    const hit = kept.find((k) => k.before === loaded);
    if (hit) return hit;
    if (loaded !== this.loaded()) throw new ReplayDiverged(this);
    const value = compute();
    const made = { before: loaded, after: this.loaded(), value };
    kept.push(made);
    this.noteMissing();
    return made;
  }

  /** @internal */
  keptFor<T>(map: Map<string, Kept<T>[]>, key: string): Kept<T>[] {
    let list = map.get(key);
    if (!list) map.set(key, (list = []));
    return list;
  }

  /** @internal */
  tables() {
    return { resolutions: this.resolutions, walks: this.walks, interpreter: this.interpreter };
  }

  close(): void {
    this.resolver.close();
    this.space.close();
  }
}

/** One run over a kept context: the objects a fresh run would have loaded so far, and its steps. */
export class Replay {
  /** Objects a fresh run would have loaded by now. */
  private count: number;
  /** Steps (resolutions, walks, the interpreter's requirement) taken from the kept state, and computed. */
  readonly steps = { reused: 0, computed: 0 };

  constructor(readonly context: NativeContext) {
    this.count = context.baseCount;
  }

  private run<T>(kept: Kept<T>[], compute: () => T): T {
    const before = kept.length;
    const made = this.context.step(kept, this.count, compute);
    if (kept.length > before) this.steps.computed++;
    else this.steps.reused++;
    this.count = made.after;
    return made.value;
  }

  resolve(key: string, compute: () => NativeResolution): NativeResolution {
    return this.run(this.context.keptFor(this.context.tables().resolutions, key), compute);
  }

  walk(key: string, compute: () => EptResult): EptResult {
    return this.run(this.context.keptFor(this.context.tables().walks, key), compute);
  }

  interpreterRequirement(compute: () => Feature[] | undefined): Feature[] | undefined {
    return this.run(this.context.tables().interpreter, compute);
  }

  /** The libraries left out as the fresh run has them. */
  missing(): Array<{ name: string; neededBy: string; reason: string }> {
    return this.context.missing(this.count);
  }
}

/**
 * What the language server keeps between static analyses: one context (the latest interpreter and options).
 * A context is dropped when its key changes, when a loaded object changed on disk, or after a divergence.
 */
export class StaticNativeState {
  private context?: NativeContext;
  /** Contexts made so far (a test tells a reused one from a new one). */
  made = 0;

  /** The context for `key`, reused when it is still valid, else made by `open`. */
  contextFor(key: string, open: () => StaticAddressSpace): NativeContext {
    if (this.context && (this.context.key !== key || !this.context.unchanged())) this.reset();
    if (!this.context) {
      this.context = new NativeContext(key, open());
      this.made++;
    }
    return this.context;
  }

  /** Drops the context, or only `context` if it is still the kept one (the next run makes a fresh one). */
  reset(context?: NativeContext): void {
    if (context && context !== this.context) return;
    this.context?.close();
    this.context = undefined;
  }

  close(): void {
    this.reset();
  }
}
