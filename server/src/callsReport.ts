// The output of `pygration calls` (cli.ts): each call site with its native functions and features, and the
// whole program's requirement and verdict (or why it is only a lower bound), as JSON or text.

import * as path from 'node:path';
import { effectiveRequirement, featureLabel, sortFeatures, summarizeInstances, x86Level, type Catalog, type Feature, type Vendor } from '../../native/src';
import type { CallSiteResults } from './callSites';
import { catalogRarity, sortByRarity, unknownCalleesText } from './presentation';

/** What the run was about: the files, the process (live), the catalog and this host. */
export interface CallsRun {
  files: string[];
  pid?: number;
  catalog: Catalog;
  host: Set<Feature>;
  vendor: Vendor;
}

/** The whole program's requirement (call sites ∪ the interpreter's own) and the catalog's verdicts on it. */
function programOf(r: CallSiteResults, run: CallsRun) {
  const required = sortFeatures(new Set([...r.callSiteRequired, ...(r.pvmRequired ?? [])]));
  const verdicts = summarizeInstances({ required, source: run.host, catalog: run.catalog, sourceVendor: run.vendor });
  const effective = effectiveRequirement(required, run.host);
  return { verdicts, effective };
}

/** The call sites as printed: 1-based positions, features rarest first. */
function siteRows(r: CallSiteResults, run: CallsRun) {
  const rarity = catalogRarity(run.catalog);
  return [...r.byFile.entries()].flatMap(([file, list]) =>
    list.map((s) => ({
      file,
      line: s.range.line + 1,
      column: s.range.character + 1,
      callee: s.callee,
      qualifiedName: s.qualifiedName,
      natives: s.natives,
      features: sortByRarity(s.features, rarity),
      origin: s.origin,
      reason: s.reason,
      masked: s.masked?.map((m) => m.feature),
      unknownCallees: s.unknownCallees,
    })),
  );
}

/** The JSON output. */
export function callsJson(r: CallSiteResults, run: CallsRun): unknown {
  const { verdicts, effective } = programOf(r, run);
  return {
    python: r.tracking.python,
    files: run.files,
    callSites: siteRows(r, run),
    program: {
      callSites: r.callSiteRequired,
      interpreter: r.pvmRequired ?? null,
      required: effective,
      level: x86Level(effective).name,
      // With lowerBound, `required` is a lower bound and `compatible` an upper bound: not a verdict.
      lowerBound: r.lowerBound,
      unknownCallSites: r.unknownCallSites,
      compatible: verdicts.compatible.length,
      criu: verdicts.criu.length,
      crossVendor: verdicts.crossVendor?.length ?? 0,
      total: verdicts.total,
    },
    notes: r.notes,
    stats: { ...r.stats, modules: r.tracking.stats.modules },
    diagnostics: r.tracking.diagnostics.filter((d) => d.severity === 'error'),
  };
}

/** The text output (without the final newline). */
export function callsText(r: CallSiteResults, run: CallsRun): string {
  const { files, pid } = run;
  const { verdicts, effective } = programOf(r, run);
  const lines: string[] = [];
  lines.push(`Python ${r.tracking.python.version} (${r.tracking.python.executable}): ${r.tracking.stats.modules} modules tracked, ${r.stats.callSites} call sites in ${files.length} file(s), ${r.stats.resolved} resolved to native code (${pid !== undefined ? 'live, exact' : 'static'}).`);
  for (const d of r.tracking.diagnostics) if (d.severity === 'error' && d.file && files.includes(path.resolve(d.file))) lines.push(`${d.file}:${d.line ?? '?'}: ${d.message}`);
  for (const s of siteRows(r, run)) {
    const where = `${path.relative(process.cwd(), s.file)}:${s.line}:${s.column}`;
    const native = s.natives.length ? ` → ${s.natives.slice(0, 2).map((n) => `${n.symbol} (${n.library})`).join(', ')}${s.natives.length > 2 ? ` +${s.natives.length - 2}` : ''}` : '';
    let feats = s.origin === 'unknown' ? `unknown: ${s.reason}` : s.features.length ? s.features.map(featureLabel).join(' · ') : 'x86-64 baseline';
    // Some native callees behind the call are unknown: what the others need is a lower bound.
    if (s.origin !== 'unknown' && s.unknownCallees) feats = `at least ${feats} (${unknownCalleesText(s.unknownCallees)})`;
    lines.push(`${where}  ${s.qualifiedName ?? s.callee}${native}`);
    lines.push(`    ${s.origin === 'unknown' ? '' : `[${s.origin}] `}${feats}`);
    if (s.masked?.length) lines.push(`    warning: uses ${s.masked.map(featureLabel).join(', ')}, which this host's CPUID hides (masked; not counted)`);
  }
  lines.push('');
  const scope = pid !== undefined ? "call sites ∪ the live interpreter's own: entry point, threads and every C function Python can call" : "call sites ∪ the interpreter's own";
  const what = effective.length ? `${x86Level(effective).name} — ${effective.map(featureLabel).join(', ')}` : 'x86-64 baseline';
  const unknown = `${r.unknownCallSites} call site${r.unknownCallSites === 1 ? '' : 's'} unknown`;
  if (r.lowerBound) {
    lines.push(`Whole program (${scope}): at least ${what}; ${unknown}`);
    lines.push(`Not a verdict: could be compatible with at most ${verdicts.compatible.length} of ${verdicts.total} instance types — ${unknown}, so the requirement is a lower bound (CRIU would allow ${verdicts.criu.length}). Run the program and use --pid N for a verdict.`);
  } else {
    lines.push(`Whole program (${scope}): ${what}${r.unknownCallSites > 0 ? ` (${unknown}; the live interpreter's roots include every C function of the method tables and type slots, as analyze's do)` : ''}`);
    lines.push(`Compatible with ${verdicts.compatible.length} of ${verdicts.total} instance types (CRIU would allow ${verdicts.criu.length}).`);
  }
  if (r.notes.length) lines.push('', 'Notes:', ...r.notes.map((n) => `  - ${n}`));
  if (verdicts.crossVendor?.length) lines.push(`Feature-compatible, another vendor, unproven: ${verdicts.crossVendor.length} more type(s), not counted (docs/catalog.md, "Cross-vendor restores").`);
  return lines.join('\n');
}
