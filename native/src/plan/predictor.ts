// The dirty-page predictor: per region, from the sampled series, how many distinct pages a future window
// of a given length will dirty. Steady regions follow their least-squares trend (held after one sampled
// span); bursty ones an exponentially weighted mean plus one standard deviation of recent intervals. The
// shape in window length comes from the measured distinct-pages curve (writes to the same pages saturate).

import type { DirtySampling, RegionSeries } from './sampler';
import type { RegionModel } from './types';

/** Half-life of the exponentially weighted statistics, in intervals. */
export const EWMA_HALF_LIFE = 2;
const EWMA_ALPHA = 1 - Math.pow(2, -1 / EWMA_HALF_LIFE);
/** A region is steady when its rates vary by at most this much beyond counting noise. */
export const STEADY_VARIATION = 0.25;

export interface RegionPrediction {
  key: string;
  label: string;
  sizeBytes: number;
  /** Most pages the region can have dirty (its virtual size in pages). */
  capPages: number;
  /** Mean rate while sampled, pages per second. */
  meanRate: number;
  /** Coefficient of variation of the per-interval rates. */
  variation: number;
  model: RegionModel;
  /** Trend model: rate = intercept + slope · t, t in seconds from the start of sampling. */
  intercept: number;
  slope: number;
  /** EWMA model: level and standard deviation, pages per second. */
  level: number;
  deviation: number;
  /** Mean interval length (s) and the distinct-pages curve over 1..K intervals. */
  interval: number;
  window: number[];
  /** Seconds from the start of sampling to its end (where forecasts start). */
  sampledSpan: number;
}

export interface Series {
  /** Pages per interval. */
  dirty: readonly number[];
  /** Interval lengths, seconds. */
  durations: readonly number[];
  /** Distinct pages over 1..K intervals (window[0] = mean of dirty). */
  window: readonly number[];
  capPages: number;
}

/** Least-squares line through (x, y). */
function fitLine(xs: readonly number[], ys: readonly number[]): { intercept: number; slope: number } {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i] - mx) * (xs[i] - mx);
    sxy += (xs[i] - mx) * (ys[i] - my);
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  return { intercept: my - slope * mx, slope };
}

/** Fits the region's model: idle, steady (trend) or bursty (EWMA + 1σ). */
export function predictSeries(key: string, label: string, sizeBytes: number, s: Series): RegionPrediction {
  const n = s.dirty.length;
  const rates = s.dirty.map((d, i) => (s.durations[i] > 0 ? d / s.durations[i] : 0));
  const span = s.durations.reduce((a, b) => a + b, 0);
  const interval = n > 0 ? span / n : 0;
  const totalPages = s.dirty.reduce((a, b) => a + b, 0);
  const meanRate = span > 0 ? totalPages / span : 0;
  const base: RegionPrediction = {
    key,
    label,
    sizeBytes,
    capPages: s.capPages,
    meanRate,
    variation: 0,
    model: 'idle',
    intercept: 0,
    slope: 0,
    level: 0,
    deviation: 0,
    interval,
    window: [...s.window],
    sampledSpan: span,
  };
  if (n === 0 || totalPages === 0) return base;
  const mean = rates.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(rates.reduce((a, r) => a + (r - mean) * (r - mean), 0) / n);
  base.variation = mean > 0 ? sd / mean : 0;
  // Counting noise alone gives a variation of about 1/sqrt(pages per interval); allow twice that.
  const noise = 2 / Math.sqrt(Math.max(1, totalPages / n));
  let level = rates[0];
  let variance = 0;
  for (let i = 1; i < n; i++) {
    const diff = rates[i] - level;
    level += EWMA_ALPHA * diff;
    variance = (1 - EWMA_ALPHA) * (variance + EWMA_ALPHA * diff * diff);
  }
  base.level = level;
  base.deviation = Math.sqrt(variance);
  if (base.variation <= Math.max(STEADY_VARIATION, noise)) {
    const mids: number[] = [];
    let t = 0;
    for (const d of s.durations) {
      mids.push(t + d / 2);
      t += d;
    }
    const line = fitLine(mids, rates);
    base.model = 'trend';
    base.intercept = line.intercept;
    base.slope = line.slope;
  } else {
    base.model = 'ewma';
  }
  return base;
}

/** The predicted rate (pages/s) `tau` seconds after the end of sampling. */
export function forecastRate(p: RegionPrediction, tau: number): number {
  switch (p.model) {
    case 'idle':
      return 0;
    case 'trend':
      // The trend is held after one sampled span: extrapolating a line further is not evidence.
      return Math.max(0, p.intercept + p.slope * (p.sampledSpan + Math.min(Math.max(0, tau), p.sampledSpan)));
    case 'ewma':
      return p.level + p.deviation;
  }
}

/**
 * Distinct pages the region dirtied in a window of `seconds` while sampled: linear up to one interval,
 * interpolated between the measured 1..K-interval points, extended with the last segment's slope.
 */
export function windowPages(p: RegionPrediction, seconds: number): number {
  const w = p.window;
  if (seconds <= 0 || w.length === 0 || p.interval <= 0) return 0;
  const x = seconds / p.interval;
  let v: number;
  if (x <= 1) v = w[0] * x;
  else if (x <= w.length) {
    const k = Math.floor(x);
    const lo = w[k - 1];
    const hi = k < w.length ? w[k] : w[k - 1];
    v = lo + (hi - lo) * (x - k);
  } else {
    const last = w[w.length - 1];
    const slope = w.length >= 2 ? w[w.length - 1] - w[w.length - 2] : w[0];
    v = last + Math.max(0, slope) * (x - w.length);
  }
  return Math.min(p.capPages, v);
}

/**
 * Predicted distinct pages the region dirties in a window of `seconds` starting `start` seconds after the
 * end of sampling: the measured window curve scaled by forecast rate / mean rate, capped at its size.
 */
export function predictPages(p: RegionPrediction, start: number, seconds: number): number {
  if (p.model === 'idle' || p.meanRate <= 0) return 0;
  const scale = forecastRate(p, start + seconds / 2) / p.meanRate;
  return Math.min(p.capPages, scale * windowPages(p, seconds));
}

export interface DirtyModel {
  regions: RegionPrediction[];
  /** Predicted distinct pages dirtied in [start, start + seconds), seconds after the end of sampling. */
  dirtied(start: number, seconds: number): number;
}

export function regionPrediction(r: RegionSeries, durations: readonly number[], pageSize: number): RegionPrediction {
  return predictSeries(r.key, r.label, r.sizeBytes, { dirty: r.dirty, durations, window: r.window, capPages: Math.max(1, Math.floor(r.sizeBytes / pageSize)) });
}

/** The per-region predictor over a sampling. */
export function dirtyModel(sampling: DirtySampling): DirtyModel {
  const regions = sampling.regions.map((r) => regionPrediction(r, sampling.durations, sampling.pageSize));
  return {
    regions,
    dirtied: (start, seconds) => regions.reduce((sum, r) => sum + predictPages(r, start, seconds), 0),
  };
}
