// Migration bandwidth per instance type: the shipped AWS network-performance data (native/data/
// aws-ec2-network.json, joined to catalog types by name at load time), the user's overrides (per type,
// family, category or for all types), the single-TCP-flow cap, and parsing/formatting of rates.

import * as fs from 'node:fs';
import { NativeError } from '../errors';
import { formatRate } from '../units';
import { readUserJson } from '../userFile';
import networkJson from '../../data/aws-ec2-network.json';
import type { BandwidthBasis } from './types';

const GBIT = 1e9;

export interface NetworkData {
  name: string;
  source: string;
  singleFlow: { gbit: number; placementGroupGbit: number; source: string };
  burst: string;
  categories: string;
  families: Record<string, { confidence: string; sizes: Record<string, string> }>;
}

export const NETWORK_DATA = networkJson as NetworkData;

/** A parsed "network performance" text. */
export interface NetworkFigure {
  text: string;
  /** Gigabits per second, or null for a category without a figure ("Moderate"). */
  gbit: number | null;
  /** "Up to X": a burst ceiling. */
  burst: boolean;
}

const FIGURE = /^(up to\s+)?(\d+(?:\.\d+)?)\s*gigabit$/i;

export function parseNetworkPerformance(text: string): NetworkFigure {
  const m = FIGURE.exec(text.trim());
  if (m) return { text, gbit: Number(m[2]), burst: m[1] !== undefined };
  return { text, gbit: null, burst: false };
}

/** The published network performance of an instance type, or undefined when the data has no entry. */
export function networkPerformance(name: string, data: NetworkData = NETWORK_DATA): string | undefined {
  const dot = name.indexOf('.');
  if (dot < 0) return undefined;
  return data.families[name.slice(0, dot)]?.sizes[name.slice(dot + 1)];
}

const RATE = /^(\d+(?:\.\d+)?)\s*([kmgt]?i?)(bit|bps|b\/s|bit\/s|byte\/s)$/i;
const UNITS: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, ki: 1024, mi: 1024 ** 2, gi: 1024 ** 3, ti: 1024 ** 4 };

/**
 * Parses a rate into bits per second: `10Gbit`, `10Gbps`, `10 Gb/s`, `500Mbit`, `1.25GB/s`, `100MiB/s`.
 * A lower-case `b` or `bit` means bits, an upper-case `B` or `byte` means bytes. Throws a RangeError
 * (with the accepted forms) on anything else, including a bare number.
 */
export function parseRate(text: string): number {
  const t = text.trim().replace(/\s+/g, '');
  const m = RATE.exec(t);
  if (!m) throw new RangeError(`'${text}' is not a rate: write it with its unit, e.g. 10Gbit, 500Mbit, 1.25GB/s.`);
  const value = Number(m[1]);
  const prefix = m[2].toLowerCase();
  const unit = m[3];
  // Upper-case B (B/s, Bps) or "byte" means bytes; lower-case b or "bit" means bits.
  const bytes = unit.toLowerCase() === 'byte/s' || unit[0] === 'B';
  const bits = value * UNITS[prefix] * (bytes ? 8 : 1);
  if (!(bits > 0) || !Number.isFinite(bits)) throw new RangeError(`'${text}' must be a positive rate.`);
  return bits;
}

export interface BandwidthOverrides {
  /** Replaces every type's figure (a global override), bits per second. */
  all?: number;
  types?: Record<string, number>;
  families?: Record<string, number>;
  /** Figures for categories AWS publishes without one ("Moderate", "High", ...). */
  categories?: Record<string, number>;
  /** The single-flow cap in bits per second, or null for none (default: 5 Gbit/s, the EC2 limit outside a cluster placement group). */
  singleFlow?: number | null;
}

/**
 * Parses an overrides file: `{"all": "10Gbit", "types": {"m5.large": "0.75Gbit"}, "families": {...},
 * "categories": {"Moderate": "0.5Gbit"}, "singleFlow": "10Gbit" | null}`. Rates are strings with units
 * or numbers in Gbit/s. Throws NativeError('malformed') naming the bad entry.
 */
export function parseBandwidthOverrides(json: unknown, subject: string): BandwidthOverrides {
  const fail = (where: string, message: string): never => {
    throw new NativeError('malformed', `${subject}: ${where}: ${message}`, { subject, hint: 'See docs/planner.md for the bandwidth overrides format.' });
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('top level', 'must be a JSON object.');
  const root = json as Record<string, unknown>;
  const rate = (v: unknown, where: string): number => {
    if (typeof v === 'number') {
      if (!(v > 0) || !Number.isFinite(v)) fail(where, 'a number must be a positive rate in Gbit/s.');
      return v * GBIT;
    }
    if (typeof v !== 'string') return fail(where, 'must be a rate such as "10Gbit" or a number of Gbit/s.');
    try {
      return parseRate(v);
    } catch (e) {
      return fail(where, (e as Error).message);
    }
  };
  const table = (key: string): Record<string, number> | undefined => {
    const v = root[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(key, 'must be an object of name → rate.');
    const out: Record<string, number> = {};
    for (const [k, r] of Object.entries(v as Record<string, unknown>)) out[k] = rate(r, `${key}["${k}"]`);
    return out;
  };
  for (const k of Object.keys(root)) if (!['all', 'types', 'families', 'categories', 'singleFlow', 'about'].includes(k)) fail(k, 'unknown key (expected all, types, families, categories, singleFlow).');
  const out: BandwidthOverrides = {};
  if (root.all !== undefined) out.all = rate(root.all, 'all');
  const types = table('types');
  if (types) out.types = types;
  const families = table('families');
  if (families) out.families = families;
  const categories = table('categories');
  if (categories) out.categories = categories;
  if (root.singleFlow !== undefined) out.singleFlow = root.singleFlow === null ? null : rate(root.singleFlow, 'singleFlow');
  return out;
}

export function loadBandwidthOverrides(file: string): BandwidthOverrides {
  return parseBandwidthOverrides(readUserJson(file, 'bandwidth file'), file);
}

export interface InstanceBandwidth {
  /** Bits per second to use, after the caps; null when nothing gives a figure. */
  bitsPerSecond: number | null;
  /** The published text, or `override`, or `unknown`. */
  network: string;
  basis: BandwidthBasis;
  /** The single-flow cap (not the type's figure) set the bandwidth. */
  flowCapped: boolean;
  /** The link cap the user gave (--bandwidth) set the bandwidth. */
  linkCapped: boolean;
  /** A burst ceiling: the time estimate is a lower bound. */
  lowerBound: boolean;
}

/** The single-flow cap in effect (bits/s), or null when switched off. */
export function singleFlowCap(overrides: BandwidthOverrides = {}, data: NetworkData = NETWORK_DATA): number | null {
  return overrides.singleFlow === undefined ? data.singleFlow.gbit * GBIT : overrides.singleFlow;
}

/**
 * The bandwidth a migration to `name` gets: the most specific override (type, family, all, category),
 * else the published figure ("Up to X" counts as X, flagged as a burst), then capped by the single TCP
 * flow limit and by `linkCap` (the --bandwidth the user measured or knows for the source side).
 */
export function instanceBandwidth(name: string, overrides: BandwidthOverrides = {}, linkCap?: number, data: NetworkData = NETWORK_DATA): InstanceBandwidth {
  const dot = name.indexOf('.');
  const family = dot < 0 ? name : name.slice(0, dot);
  const published = networkPerformance(name, data);
  let figure: number | null = null;
  let basis: BandwidthBasis = 'unknown';
  let network = published ?? 'unknown';
  let burst = false;
  const override = overrides.types?.[name] ?? overrides.families?.[family] ?? overrides.all;
  if (override !== undefined) {
    figure = override;
    basis = 'override';
    network = published ? `override (published: ${published})` : 'override';
  } else if (published !== undefined) {
    const parsed = parseNetworkPerformance(published);
    if (parsed.gbit !== null) {
      figure = parsed.gbit * GBIT;
      basis = parsed.burst ? 'burst' : 'published';
      burst = parsed.burst;
    } else if (overrides.categories?.[published] !== undefined) {
      figure = overrides.categories[published];
      basis = 'override';
      network = `${published} (override)`;
    }
  }
  // Without a figure, the link bandwidth the user gave is only an upper bound of what the type gets.
  if (figure === null) return { bitsPerSecond: linkCap ?? null, network, basis, flowCapped: false, linkCapped: linkCap !== undefined, lowerBound: linkCap !== undefined };
  let bits = figure;
  let flowCapped = false;
  let linkCapped = false;
  const flow = singleFlowCap(overrides, data);
  if (flow !== null && flow < bits) {
    bits = flow;
    flowCapped = true;
  }
  if (linkCap !== undefined && linkCap < bits) {
    bits = linkCap;
    linkCapped = true;
    flowCapped = false;
  }
  return { bitsPerSecond: bits, network, basis, flowCapped, linkCapped, lowerBound: burst };
}

/** One paragraph on where the figures come from and how bursts and flows are treated. */
export function bandwidthSourceText(overrides: BandwidthOverrides = {}, data: NetworkData = NETWORK_DATA): string {
  const flow = singleFlowCap(overrides, data);
  return [
    data.source,
    flow === null ? 'No single-flow cap (switched off by an override).' : `Capped at ${formatRate(flow)} for one TCP flow: ${data.singleFlow.source}`,
    data.burst,
    data.categories,
  ].join(' ');
}
