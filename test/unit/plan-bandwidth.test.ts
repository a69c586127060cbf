// The planner's bandwidth data and overrides: the shipped network-performance file covers every type of
// the shipped catalog with well-formed AWS figures, "up to" figures count as bursts (lower-bound times),
// one TCP flow is capped at the EC2 single-flow limit, overrides per type/family/category/all win in that
// order, and rates parse with their units or are refused.

import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultCatalog } from '../../native/src/catalog/catalog';
import { isNativeError } from '../../native/src/errors';
import { formatRate } from '../../native/src/units';
import {
  bandwidthSourceText,
  instanceBandwidth,
  loadBandwidthOverrides,
  NETWORK_DATA,
  networkPerformance,
  parseBandwidthOverrides,
  parseNetworkPerformance,
  parseRate,
} from '../../native/src/plan/bandwidth';

const CATEGORIES = new Set(['Very Low', 'Low', 'Low to Moderate', 'Moderate', 'High']);

describe('network performance data', () => {
  test('every measured type of the shipped catalog has a published figure or category, in AWS\'s wording', () => {
    const catalog = defaultCatalog();
    // The derived rows (docs/catalog.md) have no network figure yet: the planner gives them no estimate
    // unless a bandwidth file supplies one (docs/planner.md).
    const missing = catalog.instances.filter((i) => i.provenance?.kind !== 'derived' && networkPerformance(i.name) === undefined).map((i) => i.name);
    assert.deepEqual(missing, []);
    for (const [family, { confidence, sizes }] of Object.entries(NETWORK_DATA.families)) {
      assert.ok(confidence === 'high' || confidence === 'medium', `${family}: confidence ${confidence}`);
      for (const [size, text] of Object.entries(sizes)) {
        const f = parseNetworkPerformance(text);
        if (f.gbit === null) assert.ok(CATEGORIES.has(text), `${family}.${size}: "${text}" is neither a figure nor an AWS category`);
        else assert.ok(f.gbit > 0 && f.gbit <= 400, `${family}.${size}: ${f.gbit} Gbit`);
      }
    }
  });

  test('figures and bursts parse; categories have no figure', () => {
    assert.deepEqual(parseNetworkPerformance('Up to 10 Gigabit'), { text: 'Up to 10 Gigabit', gbit: 10, burst: true });
    assert.deepEqual(parseNetworkPerformance('25 Gigabit'), { text: '25 Gigabit', gbit: 25, burst: false });
    assert.deepEqual(parseNetworkPerformance('Up to 12.5 Gigabit'), { text: 'Up to 12.5 Gigabit', gbit: 12.5, burst: true });
    assert.equal(parseNetworkPerformance('Moderate').gbit, null);
  });

  test('the source text names AWS\'s pages, the single-flow limit and the burst treatment', () => {
    const text = bandwidthSourceText();
    assert.match(text, /Amazon EC2 instance network bandwidth/);
    assert.match(text, /single-flow/);
    assert.match(text, /5 to 60 minutes/);
    assert.match(text, /lower bound/);
    assert.match(bandwidthSourceText({ singleFlow: null }), /No single-flow cap/);
  });
});

describe('bandwidth per instance type', () => {
  const flow = NETWORK_DATA.singleFlow.gbit * 1e9;

  test('a burst figure above the flow cap: capped, and marked a lower bound', () => {
    const published = parseNetworkPerformance(networkPerformance('m5.large')!);
    assert.equal(published.burst, true);
    const b = instanceBandwidth('m5.large');
    assert.equal(b.bitsPerSecond, Math.min(published.gbit! * 1e9, flow));
    assert.equal(b.basis, 'burst');
    assert.equal(b.lowerBound, true);
    assert.equal(b.flowCapped, published.gbit! * 1e9 > flow);
  });

  test('a fixed figure: capped by one flow unless the cap is lifted (placement group) or switched off', () => {
    const text = networkPerformance('c5n.18xlarge')!;
    const gbit = parseNetworkPerformance(text).gbit!;
    assert.ok(gbit * 1e9 > flow, `${text} exceeds one flow`);
    assert.deepEqual(instanceBandwidth('c5n.18xlarge'), { bitsPerSecond: flow, network: text, basis: 'published', flowCapped: true, linkCapped: false, lowerBound: false });
    assert.equal(instanceBandwidth('c5n.18xlarge', { singleFlow: NETWORK_DATA.singleFlow.placementGroupGbit * 1e9 }).bitsPerSecond, NETWORK_DATA.singleFlow.placementGroupGbit * 1e9);
    assert.equal(instanceBandwidth('c5n.18xlarge', { singleFlow: null }).bitsPerSecond, gbit * 1e9);
  });

  test('a category has no figure until overridden; a user link bandwidth makes it a lower bound', () => {
    assert.equal(networkPerformance('m3.medium'), 'Moderate');
    const none = instanceBandwidth('m3.medium');
    assert.equal(none.bitsPerSecond, null);
    assert.equal(none.basis, 'unknown');
    const cat = instanceBandwidth('m3.medium', { categories: { Moderate: 0.3e9 } });
    assert.equal(cat.bitsPerSecond, 0.3e9);
    assert.equal(cat.basis, 'override');
    const link = instanceBandwidth('m3.medium', {}, 1e9);
    assert.equal(link.bitsPerSecond, 1e9);
    assert.equal(link.lowerBound, true);
    assert.equal(instanceBandwidth('no.such-type').bitsPerSecond, null);
  });

  test('overrides: type before family before all; the link bandwidth caps everything', () => {
    const o = { all: 2e9, families: { m5: 3e9 }, types: { 'm5.large': 0.75e9 } };
    assert.equal(instanceBandwidth('m5.large', o).bitsPerSecond, 0.75e9);
    assert.equal(instanceBandwidth('m5.xlarge', o).bitsPerSecond, 3e9);
    assert.equal(instanceBandwidth('c5.large', o).bitsPerSecond, 2e9);
    assert.equal(instanceBandwidth('c5.large', o).basis, 'override');
    assert.match(instanceBandwidth('c5.large', o).network, /override \(published: /);
    const linked = instanceBandwidth('c5n.18xlarge', {}, 1e9);
    assert.equal(linked.bitsPerSecond, 1e9);
    assert.equal(linked.linkCapped, true);
    assert.equal(linked.flowCapped, false);
  });

  test('override files: rates with units or Gbit numbers; bad entries named', () => {
    const o = parseBandwidthOverrides({ all: 10, types: { 'm5.large': '750Mbit' }, categories: { High: '1Gbps' }, singleFlow: null }, 'x.json');
    assert.deepEqual(o, { all: 10e9, types: { 'm5.large': 0.75e9 }, categories: { High: 1e9 }, singleFlow: null });
    for (const [bad, where] of [
      [{ types: { 'm5.large': 'fast' } }, /types\["m5\.large"\]/],
      [{ all: -1 }, /all/],
      [{ tpyes: {} }, /tpyes: unknown key/],
      [[], /top level/],
    ] as const) {
      assert.throws(() => parseBandwidthOverrides(bad, 'x.json'), (e: unknown) => isNativeError(e) && e.kind === 'malformed' && where.test(e.message));
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyg-bw-'));
    try {
      const file = path.join(dir, 'bw.json');
      fs.writeFileSync(file, '{"families": {"t3": "0.5Gbit"}}');
      assert.equal(instanceBandwidth('t3.nano', loadBandwidthOverrides(file)).bitsPerSecond, 0.5e9);
      fs.writeFileSync(file, '{oops');
      assert.throws(() => loadBandwidthOverrides(file), (e: unknown) => isNativeError(e) && e.kind === 'malformed');
      assert.throws(() => loadBandwidthOverrides(path.join(dir, 'none.json')), (e: unknown) => isNativeError(e) && e.kind === 'io');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('rates', () => {
  test('bits and bytes with SI and binary prefixes', () => {
    assert.equal(parseRate('10Gbit'), 10e9);
    assert.equal(parseRate('10 Gbps'), 10e9);
    assert.equal(parseRate('10Gb/s'), 10e9);
    assert.equal(parseRate('500Mbit'), 500e6);
    assert.equal(parseRate('1.25GB/s'), 10e9);
    assert.equal(parseRate('1.25GBps'), 10e9);
    assert.equal(parseRate('100MiB/s'), 100 * 1048576 * 8);
    for (const bad of ['10', '10G', 'fast', '-1Gbit', '0Gbit']) assert.throws(() => parseRate(bad), RangeError, bad);
  });

  test('formatting', () => {
    assert.equal(formatRate(5e9), '5 Gbit/s');
    assert.equal(formatRate(3.125e9), '3.125 Gbit/s');
    assert.equal(formatRate(750e6), '750 Mbit/s');
  });
});
