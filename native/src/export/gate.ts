// The CI gate of `analyze`/`plan`: --require-compatible TYPE[,TYPE] (each type must be compatible) and
// --max-level vN (the requirement's x86-64 level must not exceed N). Pure: parses the options, checks a report.

import type { AnalysisReport } from '../report';
import { FEATURES, featureLabel } from '../features/vocabulary';

/** The exit code of a command whose gate is not met (the analysis itself succeeded). */
export const GATE_EXIT_CODE = 4;

export interface Gate {
  requireCompatible: string[];
  /** 1..4, or undefined when not asked. */
  maxLevel?: number;
}

export class GateSyntaxError extends Error {}

/** Parses `--max-level` values: `v3`, `3`, `x86-64-v3`. */
export function parseLevel(text: string): number {
  const m = /^(?:x86-64-)?v?([1-4])$/i.exec(text.trim());
  if (!m) throw new GateSyntaxError(`--max-level must be v1, v2, v3 or v4 (or x86-64-v3), not '${text}'.`);
  return Number(m[1]);
}

/** Parses `--require-compatible a.large,b.xlarge` (commas or spaces). */
export function parseTypeList(text: string): string[] {
  const names = text.split(/[,\s]+/).filter(Boolean);
  if (names.length === 0) throw new GateSyntaxError('--require-compatible needs at least one instance type.');
  return [...new Set(names)];
}

export interface GateResult {
  ok: boolean;
  /** One sentence per unmet condition. */
  failures: string[];
}

/** Checks a report against the gate; an empty gate always passes. */
export function checkGate(r: AnalysisReport, gate: Gate): GateResult {
  const failures: string[] = [];
  const verdicts = new Map(r.instances.verdicts.map((v) => [v.name, v]));
  for (const name of gate.requireCompatible) {
    const v = verdicts.get(name);
    if (!v) failures.push(`${name} is not in the catalog ${r.instances.catalog}.`);
    else if (v.crossVendor) failures.push(`${name} has every feature needed but another CPU vendor (feature-compatible, another vendor, unproven): not compatible.`);
    else if (!v.compatible) {
      const unknown = new Set(v.unknown ?? []);
      const lacks = v.missing.map((f) => (unknown.has(f) ? `${featureLabel(f)} (unknown there, counted as absent)` : featureLabel(f)));
      failures.push(`${name} is not compatible: it lacks ${lacks.join(', ')}.`);
    }
  }
  if (gate.maxLevel !== undefined) {
    const m = /v(\d)$/.exec(r.level);
    const level = m ? Number(m[1]) : 4;
    if (level > gate.maxLevel) {
      const above = r.required.filter((f) => (FEATURES[f]?.level ?? 0) > gate.maxLevel!);
      failures.push(`the requirement is ${r.level}, above x86-64-v${gate.maxLevel}: it needs ${above.map(featureLabel).join(', ')}.`);
    }
  }
  return { ok: failures.length === 0, failures };
}
