// Text output of `pygration plan`: memory, dirty rate and regions, the three strategies at the plan's
// bandwidth, the recommendation with its CRIU commands, and the per-instance-type estimates grouped by
// bandwidth.

import type { CriuStep } from './criu';
import { formatBytes, formatDuration, formatRate } from '../units';
import type { MigrationEstimate } from './types';

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function plural(n: number, word: string): string {
  return `${int.format(n)} ${word}${n === 1 ? '' : 's'}`;
}

const MODEL_TEXT = { idle: 'idle', trend: 'steady: trend', ewma: 'bursty: EWMA+1σ' } as const;

export interface FormatPlanExtras {
  /** "Compatible with X of N types (CRIU would allow Y)." */
  compatibility?: string;
  criu: CriuStep[];
  /** Why the restore uses these flags (criuAdvice.why), when it adds any. */
  restoreWhy?: string;
  restoreFlags?: string[];
  /** The target type, when --target was given, and whether our verdict accepts it. */
  target?: { name: string; compatible: boolean | undefined; missing?: string[] };
  verbose?: boolean;
}

export function formatPlan(m: MigrationEstimate, x: FormatPlanExtras): string {
  const out: string[] = [];
  const how = m.method === 'soft-dirty' ? 'soft-dirty bits' : 'comparing page contents (read-only)';
  out.push(`Process ${m.pid}: sampled ${m.sampledSeconds.toFixed(1)} s every ${Math.round(m.intervalSeconds * 1000)} ms by ${how}${m.sampledFraction < 1 ? `, ${(100 * m.sampledFraction).toFixed(1)} % of pages compared` : ''}.`);
  out.push(
    `Memory: resident ${formatBytes(m.memory.residentBytes)}, anonymous ${formatBytes(m.memory.anonymousBytes)}${m.memory.swapBytes ? `, swapped ${formatBytes(m.memory.swapBytes)}` : ''}; to transfer ${formatBytes(m.memory.transferBytes)} (${int.format(m.memory.transferBytes / m.pageSize)} pages) + ~${formatBytes(m.stateBytes)} of CPU/device state.`,
  );
  out.push(
    `Dirty pages: ${int.format(m.dirty.pagesPerSecond)} pages/s on average (${formatBytes(m.dirty.pagesPerSecond * m.pageSize)}/s), peak ${int.format(m.dirty.peakPagesPerSecond)} pages/s; ${int.format(m.dirty.distinctPages)} distinct pages over the whole sampling.`,
  );
  const regions = x.verbose ? m.regions : m.regions.slice(0, 6);
  if (regions.length) {
    out.push('Regions (most active first):');
    for (const r of regions) {
      out.push(
        `  ${r.label.length > 44 ? `…${r.label.slice(-43)}` : r.label.padEnd(44)} ${formatBytes(r.sizeBytes).padStart(10)} ${int.format(r.pagesPerSecond).padStart(8)} pages/s  variation ${r.variation.toFixed(2)}  ${MODEL_TEXT[r.model]} → ${int.format(r.forecastPagesPerSecond)} pages/s`,
      );
    }
    if (m.regions.length > regions.length) out.push(`  … ${m.regions.length - regions.length} more (--verbose)`);
  }
  out.push(`Sampling cost: ${m.cost.scans} scans, ${formatDuration(m.cost.meanScanSeconds)} each on average (max ${formatDuration(m.cost.maxScanSeconds)}), ${m.cost.cpuSeconds.toFixed(2)} s CPU, ${formatBytes(m.cost.bytesRead)} read.`);
  out.push('');
  const p = m.plan;
  out.push(`At ${formatRate(p.bandwidthBitsPerSecond)} (${p.bandwidthSource}):`);
  out.push(`  stop-and-copy  downtime ${formatDuration(p.stopAndCopy.downtimeSeconds)}, total ${formatDuration(p.stopAndCopy.totalSeconds)}`);
  const rounds = p.preCopy.rounds
    .slice(0, 8)
    .map((r, i) => `${i}: ${int.format(r.pages)} p ${formatDuration(r.seconds)} → ${int.format(r.dirtied)}`)
    .join('; ');
  out.push(`  pre-copy       rounds ${rounds}${p.preCopy.rounds.length > 8 ? '; …' : ''}`);
  out.push(
    `                 best stop after ${plural(p.preCopy.bestRounds, 'round')}: ${plural(p.preCopy.pagesLeft, 'page')} left, downtime ${formatDuration(p.preCopy.downtimeSeconds)}, total ${formatDuration(p.preCopy.totalSeconds)}${p.preCopy.diverges ? ' (dirtying keeps up with the bandwidth)' : ''}`,
  );
  out.push(
    `  post-copy      downtime ${formatDuration(p.postCopy.downtimeSeconds)}, total ${formatDuration(p.postCopy.totalSeconds)}, ~${int.format(p.postCopy.remoteFaults)} remote faults (${(100 * p.postCopy.faultFraction).toFixed(0)} % of the pages written meanwhile; pages only read fault too)`,
  );
  out.push('');
  if (x.target && x.target.compatible === false) {
    out.push(`Do not migrate to ${x.target.name}: the process needs ${x.target.missing?.join(', ') ?? 'features'} it lacks.`);
  } else {
    out.push(`Recommendation: ${p.recommendation}${p.recommendation === 'pre-copy' ? ` with ${p.preCopy.bestRounds} round${p.preCopy.bestRounds === 1 ? '' : 's'}` : ''} (downtime target ${formatDuration(m.downtimeTargetSeconds)}). ${p.why}`);
    out.push('CRIU commands ($DST/$SRC: the destination/source addresses):');
    for (const s of x.criu) out.push(`  [${s.host}] ${s.command}${s.comment ? `\n      # ${s.comment}` : ''}`);
    if (x.restoreWhy) out.push(x.verbose ? `  Restore flags: ${x.restoreWhy}` : `  Restore flags: ${x.restoreFlags?.join(' ') ?? ''} skips CRIU's whole-host CPU check, which refuses types the process can run on (--verbose for why).`);
  }
  if (x.compatibility) {
    out.push('');
    out.push(x.compatibility);
  }
  const names = Object.keys(m.perInstance);
  if (names.length) {
    const groups = new Map<string, { bits: number | null; lowerBound: boolean; names: string[]; downtime?: number; total?: number; strategy?: string; flow: boolean }>();
    for (const n of names) {
      const e = m.perInstance[n];
      const key = `${e.bandwidthBitsPerSecond}|${e.lowerBound}|${e.flowCapped}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { bits: e.bandwidthBitsPerSecond, lowerBound: e.lowerBound, names: [], downtime: e.downtimeSeconds, total: e.totalSeconds, strategy: e.strategy, flow: e.flowCapped }));
      g.names.push(n);
    }
    out.push(`Estimated downtime per type (${names.length} type${names.length === 1 ? '' : 's'}, grouped by bandwidth):`);
    const sorted = [...groups.values()].sort((a, b) => (b.bits ?? -1) - (a.bits ?? -1) || Number(a.lowerBound) - Number(b.lowerBound));
    for (const g of sorted) {
      const bw = g.bits === null ? 'no figure' : `${formatRate(g.bits)}${g.flow ? ' (one-flow cap)' : ''}${g.lowerBound ? ' burst' : ''}`;
      const est = g.downtime === undefined ? '—' : `${g.strategy}, downtime ${g.lowerBound ? '≥ ' : ''}${formatDuration(g.downtime)}, total ${g.lowerBound ? '≥ ' : ''}${formatDuration(g.total!)}`;
      const ex = g.names.slice(0, 3).join(', ') + (g.names.length > 3 ? ', …' : '');
      out.push(`  ${bw.padEnd(30)} ${plural(g.names.length, 'type').padStart(10)}  ${est}   e.g. ${ex}`);
    }
  }
  if (m.notes.length) {
    out.push('');
    out.push('Notes:');
    for (const n of m.notes) out.push(`  - ${n}`);
  }
  return out.join('\n');
}
