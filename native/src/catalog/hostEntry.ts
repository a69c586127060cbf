// `pygration host --catalog-entry NAME`: this machine as one catalog row (the features form of docs/catalog.md),
// with provenance "measured" and where and when it was measured, for users to build catalogs of their own fleet.

import * as os from 'node:os';
import type { HostInfo } from '../features/host';
import { sortFeatures, type Feature } from '../features/vocabulary';
import { VERSION } from '../version';
import { NativeError } from '../errors';

export interface HostCatalogEntry {
  name: string;
  cpu: string;
  vendor: HostInfo['vendor'];
  generation: string;
  vcpu: number;
  memoryGiB: number;
  /** The host's canonical features (what compatibility uses: masked features are absent). */
  features: Feature[];
  /** Whether xtest executes here; false when the probe could not run (a target is never assumed to have it). */
  xtest: boolean;
  provenance: 'measured';
  measured: { host: string; date: string; tool: string; masked?: Feature[]; probeError?: string };
}

/** This host as a catalog row named `name` (an instance type name: no white space). */
export function catalogEntry(name: string, host: HostInfo, now: Date = new Date()): HostCatalogEntry {
  if (!/^\S+$/.test(name)) throw new NativeError('malformed', `--catalog-entry: '${name}' is not a valid instance name (no spaces).`, { subject: name });
  const features = sortFeatures([...host.flags].filter((f) => f !== 'xtest'));
  const measured: HostCatalogEntry['measured'] = { host: os.hostname(), date: now.toISOString(), tool: `pygration ${VERSION}` };
  if (host.masked.length) measured.masked = [...host.masked].sort();
  if (host.probeError) measured.probeError = host.probeError;
  return {
    name,
    cpu: host.cpu,
    vendor: host.vendor,
    generation: '',
    vcpu: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    features,
    // As a source the host assumes xtest when the probe fails (the safe side there); as a target the safe side is without.
    xtest: host.probeError ? false : host.xtest,
    provenance: 'measured',
    measured,
  };
}
