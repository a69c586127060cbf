// Reads the `pygration` settings section into typed settings with defaults; anything malformed falls back
// to its default (never throws), so a typo in settings.json cannot take the server down.

import type { AnalysisMode } from '../../native/src';
import { ANALYSIS_MODES, DEFAULT_SETTINGS, type PygrationSettings } from './protocol';

export function readSettings(raw: unknown): PygrationSettings {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const str = (k: keyof PygrationSettings) => (typeof r[k] === 'string' ? (r[k] as string).trim() : (DEFAULT_SETTINGS[k] as string));
  const bool = (k: keyof PygrationSettings) => (typeof r[k] === 'boolean' ? (r[k] as boolean) : (DEFAULT_SETTINGS[k] as boolean));
  /** A boolean under its typed name, else nested in the raw section (`codeLens.enable`), else its default. */
  const nested = (k: 'codeLensEnable' | 'codeLensShowShared', group: string, key: string): boolean => {
    if (typeof r[k] === 'boolean') return r[k] as boolean;
    const g = r[group];
    const v = typeof g === 'object' && g !== null ? (g as Record<string, unknown>)[key] : undefined;
    return typeof v === 'boolean' ? v : DEFAULT_SETTINGS[k];
  };
  const mode = ANALYSIS_MODES.includes(r.analysisMode as AnalysisMode) ? (r.analysisMode as AnalysisMode) : DEFAULT_SETTINGS.analysisMode;
  return {
    pythonPath: str('pythonPath'),
    // Typed settings say codeLensEnable / codeLensShowShared; the raw section nests them under codeLens.
    codeLensEnable: nested('codeLensEnable', 'codeLens', 'enable'),
    codeLensShowShared: nested('codeLensShowShared', 'codeLens', 'showSharedWithInterpreter'),
    showBaselineLenses: bool('showBaselineLenses'),
    analysisMode: mode,
    // Typed settings (initializationOptions) say analysisStrict; the raw section nests it as analysis.strict.
    analysisStrict: typeof r.analysisStrict === 'boolean' ? r.analysisStrict : typeof (r.analysis as { strict?: unknown } | undefined)?.strict === 'boolean' ? ((r.analysis as { strict: boolean }).strict) : DEFAULT_SETTINGS.analysisStrict,
    catalogPath: str('catalogPath'),
    followImports: bool('followImports'),
    countMaskedFeatures: bool('countMaskedFeatures'),
  };
}
