// Pure presentation of call-site analyses: code lens titles (features sorted by rarity in the catalog,
// `· live` only for live results), which lenses show, the lenses with their command, hovers (the native path
// and where each feature was found, how many instance types lack it, the masked features' warning), and the
// CallSiteDetail the instance view focuses on.

import * as path from 'node:path';
import type { CodeLens, Hover } from 'vscode-languageserver-protocol';
import { featureLabel, isBaseline, type Catalog, type Feature } from '../../native/src';
import type { CallSiteAnalysis } from './model';
import type { CallSiteDetail } from './protocol';

/** Per feature: the instance types of the catalog that lack it (the rarer the feature, the more). */
export interface Rarity {
  total: number;
  /** Names of the catalog's instance types that lack `f` (memoized). */
  lacking(f: Feature): string[];
}

export function catalogRarity(catalog: Catalog): Rarity {
  const memo = new Map<Feature, string[]>();
  const sets = catalog.instances.map((i) => new Set(i.features));
  return {
    total: catalog.instances.length,
    lacking(f: Feature): string[] {
      let names = memo.get(f);
      if (!names) {
        names = catalog.instances.filter((_, k) => !sets[k].has(f)).map((i) => i.name);
        memo.set(f, names);
      }
      return names;
    },
  };
}

/** Features sorted rarest first (most instance types lack them), then by name; baseline dropped. */
export function sortByRarity(features: Iterable<Feature>, rarity: Rarity): Feature[] {
  const n = (f: Feature) => rarity.lacking(f).length;
  return [...new Set(features)].filter((f) => !isBaseline(f)).sort((a, b) => n(b) - n(a) || a.localeCompare(b));
}

const MAX_LENS_FEATURES = 4;

function nativeText(site: CallSiteAnalysis): string {
  if (site.natives.length === 0) return '';
  const first = site.natives[0];
  const lib = first.library.replace(/\.cpython-[^.]*\.so$/, '').replace(/\.so(\.\d+)*$/, '');
  const more = site.natives.length > 1 ? ` +${site.natives.length - 1}` : '';
  return ` → ${first.symbol} (${lib})${more}`;
}

/**
 * The lens text, e.g. `$(chip) SHA-NI + 9 shared with the interpreter — pyext.k_sha → k_sha (pyext)`:
 * every feature beyond the x86-64 baseline is represented, the ones this call adds to the interpreter's own
 * requirement first (rarest first), the rest counted. A lens from a live process ends in `· live` (its icon
 * is `$(pulse)`); a static one, the usual case, carries no suffix.
 */
export function lensTitle(site: CallSiteAnalysis, rarity: Rarity, interpreter?: ReadonlySet<Feature>): string {
  const name = site.qualifiedName ?? site.callee;
  if (site.origin === 'unknown') return `$(question) CPU features unknown — ${name}${site.reason ? `: ${site.reason}` : ''}`;
  const unknown = site.unknownCallees ?? 0;
  const all = sortByRarity(site.features, rarity);
  const added = all.filter((f) => !interpreter?.has(f));
  const shared = all.length - added.length;
  let what: string;
  if (all.length === 0) what = unknown > 0 ? 'the x86-64 baseline' : 'x86-64 baseline';
  else if (added.length === 0) {
    what = `${all.slice(0, 3).map(featureLabel).join(' · ')}${all.length > 3 ? ` +${all.length - 3}` : ''} (the interpreter needs these too)`;
  } else {
    what = added.slice(0, MAX_LENS_FEATURES).map(featureLabel).join(' · ');
    if (added.length > MAX_LENS_FEATURES) what += ` +${added.length - MAX_LENS_FEATURES}`;
    if (shared > 0) what += ` + ${shared} shared with the interpreter`;
  }
  // Some native callees are unknown: what the resolved ones need is a lower bound.
  if (unknown > 0) what = `at least ${what} (${unknownCalleesText(unknown)})`;
  const live = site.origin === 'live';
  return `${live ? '$(pulse)' : '$(chip)'} ${what} — ${name}${nativeText(site)}${live ? ' · live' : ''}`;
}

/** `1 native callee unknown`, `2 native callees unknown`. */
export function unknownCalleesText(n: number): string {
  return `${n} native callee${n === 1 ? '' : 's'} unknown`;
}

/**
 * Whether a call adds nothing to the interpreter's own requirement: every feature it needs beyond the
 * baseline, the interpreter needs too, and none of its native callees is unknown (`range`, `print`).
 */
export function addsNothingBeyondInterpreter(site: CallSiteAnalysis, interpreter: ReadonlySet<Feature> | undefined): boolean {
  if (!interpreter || site.origin === 'unknown' || (site.unknownCallees ?? 0) > 0) return false;
  const needs = site.features.filter((f) => !isBaseline(f));
  return needs.length > 0 && needs.every((f) => interpreter.has(f));
}

export interface LensOptions {
  /** Show lenses at all (`pygration.codeLens.enable`, default on). */
  enabled?: boolean;
  /** Also show lenses for calls that need nothing beyond the x86-64 baseline, or are unresolved (default off). */
  showBaseline: boolean;
  /** Also show lenses for calls that add nothing beyond the interpreter's own requirement (default off). */
  showShared?: boolean;
  /** The interpreter's own requirement: lenses put what a call adds to it first. */
  interpreter?: ReadonlySet<Feature>;
  /** Command run when a lens is clicked (the client opens the instance view focused on the call). */
  command: string;
}

export function computeCodeLenses(sites: readonly CallSiteAnalysis[], rarity: Rarity, options: LensOptions): CodeLens[] {
  const out: CodeLens[] = [];
  if (options.enabled === false) return out;
  for (const site of sites) {
    const needs = site.features.some((f) => !isBaseline(f));
    if (site.origin !== 'unknown' && !needs && !options.showBaseline) continue;
    if (site.origin === 'unknown' && !options.showBaseline) continue;
    if (!options.showShared && addsNothingBeyondInterpreter(site, options.interpreter)) continue;
    const detail = callSiteDetail(site, rarity, options.interpreter);
    out.push({
      range: { start: { line: site.range.line, character: site.range.character }, end: { line: site.range.endLine, character: site.range.endCharacter } },
      command: { title: detail.label, command: options.command, arguments: [detail] },
    });
  }
  return out;
}

export function callSiteDetail(site: CallSiteAnalysis, rarity: Rarity, interpreter?: ReadonlySet<Feature>): CallSiteDetail {
  const features = sortByRarity(site.features, rarity);
  const ruledOut = new Set<string>();
  for (const f of features) for (const name of rarity.lacking(f)) ruledOut.add(name);
  return {
    uri: site.uri,
    line: site.range.line,
    character: site.range.character,
    callee: site.callee,
    qualifiedName: site.qualifiedName,
    natives: site.natives,
    features,
    origin: site.origin,
    reason: site.reason,
    ...(site.unknownCallees ? { unknownCallees: site.unknownCallees } : {}),
    ruledOut: [...ruledOut].sort(),
    label: lensTitle(site, rarity, interpreter),
  };
}

/** The call site whose range contains the position (innermost: the last starting before it). */
export function callSiteAt(sites: readonly CallSiteAnalysis[], line: number, character: number): CallSiteAnalysis | undefined {
  let best: CallSiteAnalysis | undefined;
  for (const s of sites) {
    const r = s.range;
    const after = line > r.line || (line === r.line && character >= r.character);
    const before = line < r.endLine || (line === r.endLine && character <= r.endCharacter);
    if (after && before && (!best || r.line > best.range.line || (r.line === best.range.line && r.character >= best.range.character))) best = s;
  }
  return best;
}

/** Hover markdown: the native path and, per feature, where it was found and how many types lack it. */
export function computeHover(site: CallSiteAnalysis, rarity: Rarity, interpreter?: ReadonlySet<Feature>): Hover {
  const lines: string[] = [];
  const name = site.qualifiedName ?? site.callee;
  lines.push(`**Pygration** — \`${site.callee}\`${site.qualifiedName && site.qualifiedName !== site.callee ? ` → \`${site.qualifiedName}\`` : ''}`);
  if (site.origin === 'unknown') {
    lines.push('', `CPU features unknown: ${site.reason ?? 'the callee could not be resolved statically'}.`);
    lines.push('', 'While a call is unknown, a static requirement of the program is a lower bound, not a verdict.');
    return { contents: { kind: 'markdown', value: lines.join('\n') } };
  }
  if (site.natives.length) {
    lines.push('', `Native code (${site.origin === 'live' ? 'exact, from the live process' : 'static, from the files on disk'}):`);
    for (const n of site.natives.slice(0, 6)) lines.push(`- \`${name}\` → \`${n.symbol}\` in \`${n.library}\``);
    if (site.natives.length > 6) lines.push(`- … ${site.natives.length - 6} more`);
  }
  const features = sortByRarity(site.features, rarity);
  const unknown = site.unknownCallees ?? 0;
  if (unknown > 0) {
    lines.push('', `**At least** the features below: ${unknownCalleesText(unknown)}, so what the call needs is a lower bound, not a verdict.`);
  }
  if (features.length === 0) {
    lines.push('', unknown > 0 ? 'The resolved native code needs nothing beyond the x86-64 baseline.' : 'Needs nothing beyond the x86-64 baseline: every instance type can run it.');
  } else {
    lines.push('', '| feature | lacking on | found in |', '| --- | --- | --- |');
    for (const f of features) {
      const prov = site.provenance.find((p) => p.feature === f);
      const where = prov?.sites[0] ? `\`${prov.sites[0].function}\` (${path.basename(prov.sites[0].module)})${prov.sites[0].instruction ? `: \`${prov.sites[0].instruction}\`` : ''}` : '';
      const shared = interpreter?.has(f) ? ' (the interpreter needs it too)' : '';
      lines.push(`| ${featureLabel(f)}${shared} | ${rarity.lacking(f).length} of ${rarity.total} types | ${where} |`);
    }
  }
  lines.push(...maskedHoverLines(site));
  if (site.reason) lines.push('', `_${site.reason}_`);
  return { contents: { kind: 'markdown', value: lines.join('\n') } };
}

/** The hover's warning about the masked features on a call's path, with where each is used. */
export function maskedHoverLines(site: CallSiteAnalysis): string[] {
  const masked = site.masked ?? [];
  if (masked.length === 0) return [];
  const counted = masked.every((m) => site.features.includes(m.feature));
  const lines = [
    '',
    `**Warning — masked on this host:** its CPUID hides ${masked.map((m) => featureLabel(m.feature)).join(', ')}, but nothing else stops the instructions here (hypervisors hide RDSEED, ADX, LZCNT while they run); ` +
      (counted ? 'counted as required (`pygration.countMaskedFeatures`).' : 'not counted as required (`pygration.countMaskedFeatures` counts them).') +
      ' Unguarded, this code crashes on a CPU that really lacks them (LZCNT computes BSR there).',
  ];
  for (const m of masked) {
    const s = m.sites[0];
    lines.push(`- ${featureLabel(m.feature)}${s ? `: \`${s.function}\` (${path.basename(s.module)})${s.instruction ? `: \`${s.instruction}\`` : ''}` : ''}`);
  }
  return lines;
}
