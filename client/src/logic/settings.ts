// Typed reading of the `pygration.*` settings: each key is checked against its type and range and falls
// back to its default, so a hand-edited settings.json never reaches the server malformed. Pure.

import { ANALYSIS_MODES, DEFAULT_SETTINGS, type PygrationSettings } from '../../../server/src/protocol';
import { parseRate, type AnalysisMode } from '../../../native/src';
import { Ids } from './ids';

/** Settings only the client uses. */
export interface ClientSettings {
  /** Add LD_BIND_NOW=1 to the env of python/debugpy launch configurations. */
  injectBindNow: boolean;
  /** Run the live analysis when a debug session stops. */
  analyzeOnStop: boolean;
  /** Quiet time after a stop before the analysis starts (stepping stops many times a second). */
  stopDebounceMs: number;
  /** "Plan Migration of Running Process…": what the server's PlanMigration request is sent. */
  plan: PlanSettings;
}

export interface PlanSettings {
  /** How long to sample the process's memory writes, seconds. */
  seconds: number;
  /** The migration link's bandwidth (`10Gbit`, `500Mbit`, `1.25GB/s`); '' = each type's published figure, one TCP flow at most. */
  bandwidth: string;
  /** The downtime target of the recommendation, milliseconds. */
  maxDowntimeMs: number;
}

export interface Settings {
  /** What the server reads (sent in initializationOptions and synchronised). */
  server: PygrationSettings;
  client: ClientSettings;
  /** One sentence per value that was ignored because of its type or range. */
  problems: string[];
}

export const DEFAULT_CLIENT_SETTINGS: ClientSettings = {
  injectBindNow: true,
  analyzeOnStop: true,
  stopDebounceMs: 250,
  plan: { seconds: 5, bandwidth: '', maxDowntimeMs: 300 },
};

export { ANALYSIS_MODES };
export const STOP_DEBOUNCE_RANGE = { min: 0, max: 5000 } as const;
/** The server refuses more than 600 s (MAX_PLAN_SECONDS); a sampling shorter than one 500 ms interval is shortened too. */
export const PLAN_SECONDS_RANGE = { min: 0.5, max: 600 } as const;
export const PLAN_DOWNTIME_RANGE = { min: 1, max: 600_000 } as const;

/** Every setting key with its default, as package.json must declare it (a unit test compares them). */
export const SETTING_DEFAULTS: Readonly<Record<string, unknown>> = {
  [Ids.setting.pythonPath]: DEFAULT_SETTINGS.pythonPath,
  [Ids.setting.codeLensEnable]: DEFAULT_SETTINGS.codeLensEnable,
  [Ids.setting.codeLensShowShared]: DEFAULT_SETTINGS.codeLensShowShared,
  [Ids.setting.showBaselineLenses]: DEFAULT_SETTINGS.showBaselineLenses,
  [Ids.setting.analysisMode]: DEFAULT_SETTINGS.analysisMode,
  [Ids.setting.analysisStrict]: DEFAULT_SETTINGS.analysisStrict,
  [Ids.setting.catalogPath]: DEFAULT_SETTINGS.catalogPath,
  [Ids.setting.followImports]: DEFAULT_SETTINGS.followImports,
  [Ids.setting.countMaskedFeatures]: DEFAULT_SETTINGS.countMaskedFeatures,
  [Ids.setting.injectBindNow]: DEFAULT_CLIENT_SETTINGS.injectBindNow,
  [Ids.setting.analyzeOnStop]: DEFAULT_CLIENT_SETTINGS.analyzeOnStop,
  [Ids.setting.stopDebounceMs]: DEFAULT_CLIENT_SETTINGS.stopDebounceMs,
  [Ids.setting.planSeconds]: DEFAULT_CLIENT_SETTINGS.plan.seconds,
  [Ids.setting.planBandwidth]: DEFAULT_CLIENT_SETTINGS.plan.bandwidth,
  [Ids.setting.planMaxDowntimeMs]: DEFAULT_CLIENT_SETTINGS.plan.maxDowntimeMs,
  [Ids.setting.traceServer]: 'off',
};

/**
 * Reads every setting through `get` (a full key such as `pygration.analysisMode` → its value, or undefined
 * when unset), e.g. `(k) => vscode.workspace.getConfiguration().get(k)`.
 */
export function readSettings(get: (key: string) => unknown): Settings {
  const problems: string[] = [];
  const str = (key: string, fallback: string): string => {
    const v = get(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string') {
      problems.push(`${key} must be a string; using ${JSON.stringify(fallback)}.`);
      return fallback;
    }
    return v.trim();
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = get(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') {
      problems.push(`${key} must be true or false; using ${fallback}.`);
      return fallback;
    }
    return v;
  };
  const mode = ((): AnalysisMode => {
    const v = get(Ids.setting.analysisMode);
    if (v === undefined || v === null) return DEFAULT_SETTINGS.analysisMode;
    if (typeof v === 'string' && (ANALYSIS_MODES as readonly string[]).includes(v)) return v as AnalysisMode;
    problems.push(`${Ids.setting.analysisMode} must be one of ${ANALYSIS_MODES.join(', ')}; using ${DEFAULT_SETTINGS.analysisMode}.`);
    return DEFAULT_SETTINGS.analysisMode;
  })();
  /** A number in [min, max] (clamped, with a problem), or the fallback when it is not a number. */
  const num = (key: string, fallback: number, range: { min: number; max: number }, unit: string, integer: boolean): number => {
    const v = get(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      problems.push(`${key} must be a number of ${unit}; using ${fallback}.`);
      return fallback;
    }
    const r = Math.min(range.max, Math.max(range.min, integer ? Math.round(v) : v));
    if (r !== v) problems.push(`${key} must be ${integer ? 'an integer' : 'a number'} from ${range.min} to ${range.max}; using ${r}.`);
    return r;
  };
  const bandwidth = ((): string => {
    const key = Ids.setting.planBandwidth;
    const v = str(key, DEFAULT_CLIENT_SETTINGS.plan.bandwidth);
    if (v === '') return v;
    try {
      parseRate(v);
      return v;
    } catch (e) {
      problems.push(`${key}: ${(e as Error).message} Using each instance type's published bandwidth instead.`);
      return DEFAULT_CLIENT_SETTINGS.plan.bandwidth;
    }
  })();
  return {
    server: {
      pythonPath: str(Ids.setting.pythonPath, DEFAULT_SETTINGS.pythonPath),
      codeLensEnable: bool(Ids.setting.codeLensEnable, DEFAULT_SETTINGS.codeLensEnable),
      codeLensShowShared: bool(Ids.setting.codeLensShowShared, DEFAULT_SETTINGS.codeLensShowShared),
      showBaselineLenses: bool(Ids.setting.showBaselineLenses, DEFAULT_SETTINGS.showBaselineLenses),
      analysisMode: mode,
      analysisStrict: bool(Ids.setting.analysisStrict, DEFAULT_SETTINGS.analysisStrict),
      catalogPath: str(Ids.setting.catalogPath, DEFAULT_SETTINGS.catalogPath),
      followImports: bool(Ids.setting.followImports, DEFAULT_SETTINGS.followImports),
      countMaskedFeatures: bool(Ids.setting.countMaskedFeatures, DEFAULT_SETTINGS.countMaskedFeatures),
    },
    client: {
      injectBindNow: bool(Ids.setting.injectBindNow, DEFAULT_CLIENT_SETTINGS.injectBindNow),
      analyzeOnStop: bool(Ids.setting.analyzeOnStop, DEFAULT_CLIENT_SETTINGS.analyzeOnStop),
      stopDebounceMs: num(Ids.setting.stopDebounceMs, DEFAULT_CLIENT_SETTINGS.stopDebounceMs, STOP_DEBOUNCE_RANGE, 'milliseconds', true),
      plan: {
        seconds: num(Ids.setting.planSeconds, DEFAULT_CLIENT_SETTINGS.plan.seconds, PLAN_SECONDS_RANGE, 'seconds', false),
        bandwidth,
        maxDowntimeMs: num(Ids.setting.planMaxDowntimeMs, DEFAULT_CLIENT_SETTINGS.plan.maxDowntimeMs, PLAN_DOWNTIME_RANGE, 'milliseconds', false),
      },
    },
    problems,
  };
}

/** What each analysis mode means, for the quick pick and the docs. */
export const MODE_DESCRIPTIONS: Readonly<Record<AnalysisMode, { label: string; detail: string }>> = {
  ept: {
    label: 'Execution path tracking',
    detail: 'Follows every call from the entry point, the threads and the Python callees; for indirect calls it cannot resolve, also takes the functions their modules can point to (safe; default).',
  },
  'ept-plain': {
    label: 'Execution path tracking (paper)',
    detail: "The paper's algorithm: follows only calls whose target is known, so code reached only through an unresolved indirect call is missed.",
  },
  full: {
    label: 'Full scan',
    detail: "Decodes every instruction of every executable mapping. Complete but counts code that never runs (every multiversioned variant), so it rules out more instance types.",
  },
};
