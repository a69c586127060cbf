// The one units formatter of the engine, the CLI, the client and the webview: bytes, bit rates and durations
// as text. Pure (no imports), so the browser-side webview bundles it too.

/** `512 B`, `12 KiB`, `3.4 MiB`, `1.25 GiB`. */
export function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(0)} KiB`;
  return `${n} B`;
}

/** `5 Gbit/s`, `750 Mbit/s`, `3.125 Gbit/s`, `800 bit/s`. */
export function formatRate(bitsPerSecond: number): string {
  const units: Array<[number, string]> = [
    [1e12, 'Tbit/s'],
    [1e9, 'Gbit/s'],
    [1e6, 'Mbit/s'],
    [1e3, 'kbit/s'],
  ];
  for (const [scale, unit] of units) {
    if (bitsPerSecond >= scale) return `${Number((bitsPerSecond / scale).toPrecision(4))} ${unit}`;
  }
  return `${Number(bitsPerSecond.toPrecision(4))} bit/s`;
}

/** `0 µs`, `850 µs`, `12.4 ms`, `1.25 s`, `3 min 20 s`. */
export function formatDuration(seconds: number): string {
  if (seconds < 1e-3) return `${Math.round(seconds * 1e6)} µs`;
  if (seconds < 1) return `${Number((seconds * 1e3).toPrecision(3))} ms`;
  if (seconds < 120) return `${Number(seconds.toPrecision(3))} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}
