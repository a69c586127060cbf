// Full scan (paper Algorithm 1): decode every instruction of every executable mapping of a process and
// take the union of their features. Complete but imprecise (it counts every multiversioned variant).
// Per-file results are cached by file identity; anonymous executable memory is decoded live.

import type { Feature } from '../features/vocabulary';
import { CodeDecoder } from '../decoder/decoder';
import { NativeError } from '../errors';
import { SITES_PER_FEATURE } from './summary';
import type { FeatureEvidence } from './ept';
import type { AddressSpace, ModuleImage, Region } from '../space/space';

export interface FullScanResult {
  features: Map<Feature, FeatureEvidence>;
  instructionsDecoded: number;
  modulesScanned: number;
  /** Modules or regions that could not be read, with the reason. */
  skipped: Array<{ name: string; reason: string }>;
  cancelled: boolean;
}

interface FileScan {
  /** Feature → count and link-time example sites. */
  features: Map<Feature, { count: number; sites: number[] }>;
  instructions: number;
}

const fileScanCache = new Map<string, FileScan>();

/** A second level of the per-file cache, on disk (fullScanStore.ts): asked when this process has no result. */
export interface FullScanStore {
  load(identity: string, file: string): FileScan | undefined;
  save(identity: string, file: string, scan: FileScan): void;
}

export function clearFullScanCache(): void {
  fileScanCache.clear();
}

function scanModule(decoder: CodeDecoder, m: ModuleImage, store: FullScanStore | undefined): FileScan {
  const cached = fileScanCache.get(m.identity) ?? store?.load(m.identity, m.path);
  if (cached) {
    fileScanCache.set(m.identity, cached);
    return cached;
  }
  const acc: FileScan = { features: new Map(), instructions: 0 };
  for (const sec of m.elf.executableSections()) {
    // Large sections are read in slices so a 40 MB library never sits in memory whole.
    const SLICE = 4 * 1024 * 1024;
    for (let off = 0; off < sec.end - sec.start; off += SLICE) {
      const start = sec.start + off;
      // Overlap slices by 16 bytes so an instruction crossing a boundary is decoded whole once.
      const len = Math.min(SLICE + 16, sec.end - start);
      const bytes = m.elf.readVirtual(start, len);
      const end = Math.min(start + SLICE, sec.end);
      scanBytesUntil(decoder, bytes, start, end, acc);
    }
  }
  fileScanCache.set(m.identity, acc);
  store?.save(m.identity, m.path, acc);
  return acc;
}

/**
 * Decodes `bytes` (at `start`) linearly, adding into `acc` the features and count of the instructions that start
 * before `end` (slices overlap by a few bytes, so an instruction crossing a boundary is counted once).
 */
function scanBytesUntil(decoder: CodeDecoder, bytes: Uint8Array, start: number, end: number, acc: FileScan): void {
  let counted = 0;
  decoder.decodeLinear(bytes, start, (v) => {
    if (v.ip >= end) return 'stop';
    counted++;
    const fs = v.info.features;
    for (let i = 0; i < fs.length; i++) {
      const f = fs[i];
      let hits = acc.features.get(f);
      if (!hits) acc.features.set(f, (hits = { count: 0, sites: [] }));
      hits.count++;
      if (hits.sites.length < SITES_PER_FEATURE) hits.sites.push(v.ip);
    }
    return undefined;
  });
  acc.instructions += counted;
}

/**
 * Runs a full scan over every executable mapping of `space` (the [vdso] excluded: CRIU gives the restored
 * process the target kernel's vDSO).
 */
export interface FullScanOptions {
  isCancelled?: () => boolean;
  /** The on-disk level of the per-file cache (fullScanStore.ts); none by default. */
  store?: FullScanStore;
}

export function fullScan(space: AddressSpace, options: FullScanOptions = {}): FullScanResult {
  const steps = fullScanSteps(space, options);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** fullScan yielding to the event loop after each mapping, so that requests and signals are served. */
export async function fullScanAsync(space: AddressSpace, options: FullScanOptions = {}): Promise<FullScanResult> {
  const steps = fullScanSteps(space, options);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** The full scan, one executable mapping per step. */
function* fullScanSteps(space: AddressSpace, options: FullScanOptions): Generator<void, FullScanResult> {
  const decoder = new CodeDecoder();
  const out: FullScanResult = { features: new Map(), instructionsDecoded: 0, modulesScanned: 0, skipped: [], cancelled: false };
  const add = (scan: FileScan, module: string, bias: number) => {
    out.instructionsDecoded += scan.instructions;
    for (const [f, hits] of scan.features) {
      let ev = out.features.get(f);
      if (!ev) out.features.set(f, (ev = { count: 0, sites: [], modules: new Map() }));
      ev.count += hits.count;
      ev.modules.set(module, (ev.modules.get(module) ?? 0) + hits.count);
      for (const site of hits.sites) if (ev.sites.length < SITES_PER_FEATURE * 2) ev.sites.push({ address: site + bias, module, bias });
    }
  };
  try {
    const seenModules = new Set<number>();
    for (const r of space.regions()) {
      yield;
      if (options.isCancelled?.()) {
        out.cancelled = true;
        break;
      }
      if (!r.exec || r.kind === 'vdso' || r.kind === 'vsyscall') continue;
      if (r.module) {
        if (seenModules.has(r.module.index)) continue;
        seenModules.add(r.module.index);
        try {
          add(scanModule(decoder, r.module, options.store), r.module.path, r.module.bias);
          out.modulesScanned++;
        } catch (e) {
          if (!(e instanceof NativeError)) throw e;
          out.skipped.push({ name: r.module.path, reason: e.message });
        }
        continue;
      }
      scanAnonymous(decoder, space, r, out, add);
    }
  } finally {
    decoder.free();
  }
  return out;
}

function scanAnonymous(
  decoder: CodeDecoder,
  space: AddressSpace,
  r: Region,
  out: FullScanResult,
  add: (scan: FileScan, module: string, bias: number) => void,
): void {
  const bytes = space.readMemory(r.start, r.end - r.start);
  if (!bytes) {
    out.skipped.push({ name: `${r.name} 0x${r.start.toString(16)}`, reason: 'memory not readable' });
    return;
  }
  const acc: FileScan = { features: new Map(), instructions: 0 };
  scanBytesUntil(decoder, bytes, r.start, r.start + bytes.length, acc);
  add(acc, `${r.name || '[anon]'} 0x${r.start.toString(16)}`, 0);
  out.modulesScanned++;
}
