// Environment skips that cannot hide in CI: a test whose tool or data is missing is skipped on a developer's
// machine, but under CI=true (where scripts/setup.sh installs every tool) the missing prerequisite fails.

import type { TestContext } from 'node:test';

/** True when the run is a CI run (CI=true or CI=1, as CI services and .ci/run set it). */
export function underCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.CI ?? '').toLowerCase();
  return v === 'true' || v === '1';
}

/** The error a missing prerequisite raises under CI. */
export class MissingPrerequisite extends Error {
  constructor(reason: string) {
    super(`CI=true: ${reason}. scripts/setup.sh installs the tools and data the tests need; under CI a missing one fails the run instead of skipping tests.`);
    this.name = 'MissingPrerequisite';
  }
}

/**
 * The value of node:test's `skip` option for a test that needs something from the environment: false when
 * `ok`, else `reason`. Under CI=true a missing prerequisite throws instead, which fails the test file at
 * once with the reason (every test of it would have been skipped or would have failed less clearly).
 */
export function skipUnless(ok: unknown, reason: string, env: NodeJS.ProcessEnv = process.env): false | string {
  if (ok) return false;
  if (underCi(env)) throw new MissingPrerequisite(reason);
  return reason;
}

/**
 * The same decision inside a running test (prerequisites found out only by trying, e.g. building an i386
 * fixture): skips the test with `reason`, or under CI=true throws, which fails it. Use it as
 * `return skipOrFail(t, reason)`.
 */
export function skipOrFail(t: TestContext, reason: string, env: NodeJS.ProcessEnv = process.env): void {
  if (underCi(env)) throw new MissingPrerequisite(reason);
  t.skip(reason);
}

/**
 * A skip that is legitimately host-dependent (the kernel, the user's privileges): it stays a skip under CI
 * too. docs/testing.md lists every such skip; the name says at the call site that it is one of them.
 */
export function hostSkip(t: TestContext, reason: string): void {
  t.skip(reason);
}

/** The `skip` option for a legitimately host-dependent test (see hostSkip): false when `ok`, else `reason`. */
export function hostSkipUnless(ok: unknown, reason: string): false | string {
  return ok ? false : reason;
}

/** skipUnless for a check that returns its reason: `skipWhen(missingReason())` (undefined = all there). */
export function skipWhen(reason: string | undefined, env: NodeJS.ProcessEnv = process.env): false | string {
  return reason === undefined ? false : skipUnless(false, reason, env);
}
