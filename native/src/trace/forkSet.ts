// A copy of a Set that shares the original instead of copying it: the kept walk of a debug session is copied at every
// stop (trace/stopWalk.ts), and its sets (tens of thousands of addresses) are then read far more than they grow.

/**
 * A Set that answers as a copy of `base` would, without copying it: additions go to its own entries, reads fall
 * through to `base`, which must not change afterwards (a kept walk's state is only ever copied). Iterates in the
 * order a copy would (base first, then what was added). Deleting an entry of `base` is not supported: the walk
 * never deletes from these sets, so it throws to catch a change that would start to.
 */
export class ForkSet<T> extends Set<T> {
  private base: ReadonlySet<T>;

  constructor(base: ReadonlySet<T>) {
    super();
    this.base = base;
  }

  override has(value: T): boolean {
    return super.has(value) || this.base.has(value);
  }

  override add(value: T): this {
    if (!this.base.has(value)) super.add(value);
    return this;
  }

  override delete(value: T): boolean {
    if (this.base.has(value)) throw new Error('ForkSet: an entry of the shared set cannot be deleted');
    return super.delete(value);
  }

  override clear(): void {
    this.base = new Set();
    super.clear();
  }

  override get size(): number {
    return super.size + this.base.size;
  }

  override *values(): SetIterator<T> {
    yield* this.base;
    yield* super.values();
  }

  override keys(): SetIterator<T> {
    return this.values();
  }

  override *entries(): SetIterator<[T, T]> {
    for (const v of this.values()) yield [v, v];
  }

  override [Symbol.iterator](): SetIterator<T> {
    return this.values();
  }

  override forEach(callback: (value: T, key: T, set: Set<T>) => void, thisArg?: unknown): void {
    for (const v of this.values()) callback.call(thisArg, v, v, this);
  }
}
