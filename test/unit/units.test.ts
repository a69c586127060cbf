// Tests of the one units formatter (native/src/units.ts) shared by the CLI's plan text, the client's plan
// message and the webview's downtime cells: each scale's boundaries, and the same text on every side.

import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { formatBytes, formatDuration, formatRate } from '../../native/src/units';
import { downtimeCell } from '../../webview/src/migration';

describe('units', () => {
  it('formats bytes in binary units', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1024), '1 KiB');
    assert.equal(formatBytes(5 * 1024 * 1024 + 512 * 1024), '5.5 MiB');
    assert.equal(formatBytes(3 * 2 ** 30), '3.00 GiB');
  });

  it('formats bit rates from bit/s to Tbit/s with four significant digits', () => {
    assert.equal(formatRate(800), '800 bit/s');
    assert.equal(formatRate(1e3), '1 kbit/s');
    assert.equal(formatRate(12_345_678), '12.35 Mbit/s');
    assert.equal(formatRate(3.125e9), '3.125 Gbit/s');
    assert.equal(formatRate(1.6e12), '1.6 Tbit/s');
  });

  it('formats durations from microseconds to minutes', () => {
    assert.equal(formatDuration(0), '0 µs');
    assert.equal(formatDuration(850e-6), '850 µs');
    assert.equal(formatDuration(0.0124), '12.4 ms');
    assert.equal(formatDuration(1.25), '1.25 s');
    assert.equal(formatDuration(119), '119 s');
    assert.equal(formatDuration(200), '3 min 20 s');
  });

  it('gives the webview the same duration text as the CLI', () => {
    const cell = downtimeCell({ bandwidthBitsPerSecond: 1e9, network: 'Up to 10 Gigabit', basis: 'published', flowCapped: false, lowerBound: false, strategy: 'pre-copy', downtimeSeconds: 0.0124, totalSeconds: 200 }, true);
    assert.equal(cell.text, formatDuration(0.0124));
    assert.match(cell.title, new RegExp(formatDuration(200)));
  });
});
