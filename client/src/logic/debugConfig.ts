// The debug-configuration half of the debug integration: adds LD_BIND_NOW=1 to the env of python/debugpy
// launch configurations (so GOT slots hold final addresses when the live analysis reads them). Pure.

import { BIND_NOW, Ids } from './ids';

/** The fields of a launch configuration we look at; everything else is passed through untouched. */
export interface DebugConfigLike {
  type?: unknown;
  request?: unknown;
  env?: unknown;
  envFile?: unknown;
  connect?: unknown;
  host?: unknown;
  [key: string]: unknown;
}

export type BindNowOutcome =
  /** LD_BIND_NOW=1 was added to `env`. */
  | 'injected'
  /** The user turned injection off (pygration.debug.injectBindNow). */
  | 'disabled'
  /** Not a python/debugpy configuration. */
  | 'other-type'
  /** An attach configuration: the process already runs, its environment cannot be changed. */
  | 'attach'
  /** The configuration's env, its envFile or the inherited environment already sets LD_BIND_NOW. */
  | 'already-set'
  /** `env` is not an object of strings; left alone rather than guessed at. */
  | 'env-malformed';

export interface BindNowDecision {
  /** The configuration to hand back to VS Code: a copy when injected, else the same object. */
  config: DebugConfigLike;
  outcome: BindNowOutcome;
  /** Where LD_BIND_NOW was found when `already-set`. */
  source?: 'env' | 'envFile' | 'inherited';
}

export interface BindNowOptions {
  /** pygration.debug.injectBindNow. */
  enabled: boolean;
  /** The text of the configuration's envFile (when it exists; variables already substituted in its path). */
  envFileText?: string;
  /** The environment the debuggee inherits (the extension host's), e.g. process.env. */
  inheritedEnv?: Readonly<Record<string, string | undefined>>;
}

/** True for `python` and `debugpy` configurations. */
export function isPythonDebugType(type: unknown): boolean {
  return typeof type === 'string' && Ids.debugTypes.includes(type);
}

/** Whether an env file (dotenv syntax, as debugpy reads it) assigns `name`. */
export function envFileSets(text: string, name: string): boolean {
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line);
    if (m && m[1] === name) return true;
  }
  return false;
}

/**
 * Decides whether to add LD_BIND_NOW=1 to a launch configuration and returns the configuration to use.
 * Never overrides a value the user set (to anything, even empty or null, which debugpy reads as "unset").
 */
export function injectBindNow(config: DebugConfigLike, options: BindNowOptions): BindNowDecision {
  if (!isPythonDebugType(config.type)) return { config, outcome: 'other-type' };
  if (config.request !== 'launch') return { config, outcome: 'attach' };
  if (!options.enabled) return { config, outcome: 'disabled' };
  const env = config.env;
  if (env !== undefined && env !== null && (typeof env !== 'object' || Array.isArray(env))) return { config, outcome: 'env-malformed' };
  const envObject = (env ?? {}) as Record<string, unknown>;
  if (Object.values(envObject).some((v) => v !== null && typeof v !== 'string')) return { config, outcome: 'env-malformed' };
  if (Object.prototype.hasOwnProperty.call(envObject, BIND_NOW)) return { config, outcome: 'already-set', source: 'env' };
  if (options.envFileText !== undefined && envFileSets(options.envFileText, BIND_NOW)) return { config, outcome: 'already-set', source: 'envFile' };
  const inherited = options.inheritedEnv?.[BIND_NOW];
  if (inherited !== undefined && inherited !== '') return { config, outcome: 'already-set', source: 'inherited' };
  return { config: { ...config, env: { ...envObject, [BIND_NOW]: '1' } }, outcome: 'injected' };
}

/**
 * Whether a debug session's process runs on another machine (debugpy attach over the network), so its
 * systemProcessId is not a local pid and must not be analysed here.
 */
export function isRemoteAttach(config: DebugConfigLike): boolean {
  if (config.request !== 'attach') return false;
  const connect = config.connect;
  let host: unknown = config.host;
  if (typeof connect === 'object' && connect !== null) host = (connect as Record<string, unknown>).host ?? host;
  if (typeof host !== 'string' || host === '') return false;
  return !['localhost', '127.0.0.1', '::1', '0.0.0.0', '[::1]'].includes(host.toLowerCase());
}

/** Why we inject, told once (with a button to turn it off). */
export const BIND_NOW_EXPLANATION =
  'Pygration started this debug session with LD_BIND_NOW=1, so the dynamic loader binds every library call at start-up. ' +
  'The live analysis then reads final call targets (and the CPU-specific variants the loader picked) from the process, ' +
  'instead of guessing for calls that were not bound yet. Start-up is a little slower.';
