// Human-readable CLI output for an AnalysisReport: required features grouped by where they come from, the
// masked-feature warnings, the x86-64 level, call-site statistics, the instance verdicts (ours, CRIU's, full
// scan's) with why-not, and the feature-compatible types of another vendor as their own verdict.

import * as path from 'node:path';
import { featureLabel } from '../features/vocabulary';
import type { AnalysisReport, InstanceVerdict } from '../report';

const MODE_NAMES: Record<string, string> = {
  ept: 'execution path tracking (sound for unresolved calls)',
  'ept-plain': "plain execution path tracking (the paper's algorithm)",
  full: 'full scan of every executable mapping',
};

function n(x: number): string {
  return x.toLocaleString('en-US');
}

/** Groups instance names by family: `c6i (large, xlarge, 2xlarge)`. */
function groupByFamily(names: string[]): string[] {
  const fam = new Map<string, string[]>();
  for (const name of names) {
    const dot = name.indexOf('.');
    const f = dot >= 0 ? name.slice(0, dot) : name;
    const size = dot >= 0 ? name.slice(dot + 1) : '';
    const list = fam.get(f) ?? [];
    list.push(size);
    fam.set(f, list);
  }
  return [...fam].map(([f, sizes]) => (sizes.length === 1 && sizes[0] ? `${f}.${sizes[0]}` : `${f} (${sizes.filter(Boolean).join(', ')})`));
}

function wrap(items: string[], indent: string, width = 100): string[] {
  const lines: string[] = [];
  let cur = indent;
  for (const it of items) {
    const piece = cur === indent ? it : `, ${it}`;
    if (cur.length + piece.length > width && cur !== indent) {
      lines.push(`${cur},`);
      cur = indent + it;
    } else cur += piece;
  }
  if (cur !== indent) lines.push(cur);
  return lines;
}

export function formatReport(r: AnalysisReport, options: { verbose?: boolean } = {}): string {
  const out: string[] = [];
  const t = r.target;
  const who = [t.exe ? path.basename(t.exe) : undefined, t.python ? `Python ${t.python}` : undefined].filter(Boolean).join(', ');
  out.push(`Pygration ${r.tool.version} — process ${t.pid ?? '?'}${who ? ` (${who})` : ''}`);
  out.push(`Source host: ${r.host.cpu}`);
  out.push(`Analysis: ${MODE_NAMES[r.mode] ?? r.mode}${r.rootPolicy ? `, ${r.rootPolicy} root policy` : ''}${t.ldBindNow === false ? ' — started without LD_BIND_NOW=1' : ''}`);
  out.push('');
  requiredLines(r, out);
  statsLines(r, out);
  instanceLines(r, options.verbose === true, out);
  if (r.criuAdvice) {
    out.push('');
    out.push(`CRIU: restore with ${r.criuAdvice.flags.join(' ')}. ${r.criuAdvice.why}`);
  }
  if (r.notes.length) {
    out.push('');
    out.push('Notes:');
    for (const note of r.notes) out.push(`  - ${note}`);
  }
  return out.join('\n');
}

/** The required features with an example site each, the modules they come from, the absent and masked ones. */
function requiredLines(r: AnalysisReport, out: string[]): void {
  const extras = r.levelExtras.length ? ` + ${r.levelExtras.map(featureLabel).join(', ')}` : '';
  out.push(`Required CPU features: ${r.required.length === 0 ? 'x86-64 baseline only' : `${r.level}${extras}`} (${r.required.length} beyond the baseline)`);
  for (const f of r.features) {
    const site = f.sites[0];
    const where = site ? `${path.basename(site.module)} ${site.function}${site.instruction ? `: ${site.instruction}` : ''}` : '';
    out.push(`  ${featureLabel(f.feature).padEnd(16)} ${n(f.count).padStart(9)} instr.  e.g. ${where}`);
    if (f.via) out.push(`  ${''.padEnd(16)} reached from: ${f.via}`);
    if (f.reason) out.push(`  ${''.padEnd(16)} note: ${f.reason}`);
  }
  // Grouped by library: which features each module contributes.
  const byModule = new Map<string, string[]>();
  for (const f of r.features) for (const m of f.modules ?? []) byModule.set(m.module, [...(byModule.get(m.module) ?? []), featureLabel(f.feature)]);
  if (byModule.size > 0) {
    out.push('');
    out.push('Where they come from:');
    for (const [m, fs] of [...byModule].sort((a, b) => b[1].length - a[1].length)) out.push(`  ${path.basename(m).padEnd(40)} ${fs.join(', ')}`);
  }
  const masked = r.maskedFeatures ?? [];
  const maskedSet = new Set(masked.map((m) => m.feature));
  const absent = r.notOnHost.filter((f) => !maskedSet.has(f));
  if (absent.length) out.push(`  (also decoded but absent on this host, so never executed here: ${absent.join(', ')})`);
  if (masked.length) {
    out.push('');
    out.push(
      r.maskedCounted
        ? `Warning: ${masked.length} masked feature(s), counted as required (--count-masked): this host's CPUID hides them, but nothing else stops their instructions here.`
        : `Warning: ${masked.length} masked feature(s) left out of the requirement: this host's CPUID hides them, but nothing else stops their instructions here (hypervisors hide RDSEED, ADX, LZCNT while they run). Unguarded, such code crashes on a CPU that really lacks them (--count-masked counts them).`,
    );
    for (const m of masked) {
      out.push(`  ! ${featureLabel(m.feature).padEnd(14)} ${n(m.count).padStart(9)} instr.${m.executes ? '  (a probe executed it on this machine)' : ''}`);
      for (const s of m.sites) out.push(`      in ${s.function} (${path.basename(s.module)})${s.instruction ? `: ${s.instruction}` : ''}`);
      out.push(`      ${m.reason}`);
    }
  }
}

/** The call sites by kind (EPT modes) and the size of the walk. */
function statsLines(r: AnalysisReport, out: string[]): void {
  const cs = r.stats.callSites;
  const total = cs.direct + cs.plt + cs.memorySlot + cs.dispatchTable + cs.unresolved;
  if (r.mode !== 'full') {
    out.push('');
    out.push(
      `Call sites: ${n(cs.direct)} direct · ${n(cs.plt)} PLT · ${n(cs.memorySlot)} GOT/data slot · ${n(cs.dispatchTable)} dispatch table · ${n(cs.unresolved)} unresolved` +
        (total ? ` (${((100 * cs.unresolved) / total).toFixed(1)} % untraceable)` : ''),
    );
  }
  out.push(
    `Analysed ${n(r.stats.functionsVisited)} functions, ${n(r.stats.instructionsDecoded)} instructions in ${r.stats.modulesVisited} modules in ${r.stats.seconds.toFixed(2)} s (peak RSS ${r.stats.peakRssMB} MB)`,
  );
}

/** The compatible instance types by family, the other vendor's, and the refused ones with what they lack. */
function instanceLines(r: AnalysisReport, verbose: boolean, out: string[]): void {
  const inst = r.instances;
  out.push('');
  out.push(
    `Compatible with ${inst.compatible.length} of ${inst.total} instance types (CRIU would allow ${inst.criu.length}${r.fullScanRequired ? `; a full scan ${inst.fullScan.length}` : ''}).`,
  );
  if (inst.compatible.length) out.push(...wrap(groupByFamily(inst.compatible), '  '));
  if (inst.provenance) out.push(provenanceLine(inst));
  const cross = inst.verdicts.filter((v) => v.crossVendor);
  if (cross.length) {
    out.push('');
    const vendor = (x: string | undefined) => (x === 'amd' ? 'AMD' : x === 'intel' ? 'Intel' : 'another vendor');
    out.push(
      `Feature-compatible, another vendor, unproven: ${cross.length} type(s) of ${[...new Set(cross.map((v) => vendor(v.vendor)))].join(', ')} (the source is ${vendor(inst.sourceVendor)}), not counted above:`,
    );
    out.push(...wrap(verbose ? groupByFamily(cross.map((v) => v.name)) : ((f) => f.slice(0, 12).concat(f.length > 12 ? [`… ${f.length - 12} more families`] : []))(groupByFamily(cross.map((v) => v.name))), '  '));
    if (inst.crossVendorEvidence) out.push(`  Evidence: ${inst.crossVendorEvidence}`);
  }
  const refused = inst.verdicts.filter((v) => !v.compatible && !v.crossVendor);
  if (refused.length) {
    out.push('');
    out.push('Refused, and why not:');
    const byMissing = groupByMissing(refused);
    for (const [missing, vs] of [...byMissing].sort((a, b) => b[1].length - a[1].length)) {
      out.push(`  lacks ${missing} (${vs.length}):`);
      if (vs.some((v) => v.unknown?.length)) out.push("    (unknown: the catalog does not say whether these types have it, e.g. a flag node-feature-discovery hides; treated as absent)");
      const fams = groupByFamily(vs.map((v) => v.name));
      out.push(...wrap(verbose ? fams : fams.slice(0, 12).concat(fams.length > 12 ? [`… ${fams.length - 12} more families`] : []), '    '));
    }
  }
}

/** How many of the catalog's types are measured and derived, and how many of the compatible ones are derived. */
function provenanceLine(inst: AnalysisReport['instances']): string {
  const compatibleDerived = inst.verdicts.filter((v) => v.compatible && v.provenance?.kind === 'derived').length;
  return (
    `Catalog ${inst.catalog}: ${inst.provenance!.measured} types measured, ${inst.provenance!.derived} derived from their CPU's micro-architecture (not measured)` +
    `${inst.compatible.length ? `; ${compatibleDerived} of the ${inst.compatible.length} compatible are derived` : ''}.`
  );
}

/** Refused types grouped by what they lack (features the catalog cannot decide marked unknown). */
function groupByMissing(refused: InstanceVerdict[]): Map<string, InstanceVerdict[]> {
  const byMissing = new Map<string, InstanceVerdict[]>();
  for (const v of refused) {
    const unknown = new Set(v.unknown ?? []);
    const k = v.missing.map((f) => (unknown.has(f) ? `${featureLabel(f)} (unknown)` : featureLabel(f))).join(', ');
    byMissing.set(k, [...(byMissing.get(k) ?? []), v]);
  }
  return byMissing;
}
