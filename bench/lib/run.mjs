// Process helpers of the benchmark: a command timed from outside (wall, user + system CPU and peak RSS from
// GNU time, which reads the finished child's rusage), a Python workload started until it prints READY, medians.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';

export const GNU_TIME = ['/usr/bin/time', '/bin/time'].find((f) => fs.existsSync(f));

/** Runs `cmd args` under GNU time; resolves with { seconds, cpuSeconds, peakMB, stdout }. */
export function timed(cmd, args, { env, timeoutMs = 900_000 } = {}) {
  return new Promise((resolve, reject) => {
    if (!GNU_TIME) return reject(new Error('GNU time (/usr/bin/time, Debian package time) is needed to read CPU and peak RSS'));
    const marker = 'PYGRATION-BENCH-TIME';
    execFile(GNU_TIME, ['-f', `${marker} %e %U %S %M`, cmd, ...args], { env: env ?? process.env, maxBuffer: 1 << 28, timeout: timeoutMs }, (err, stdout, stderr) => {
      const m = new RegExp(`${marker} ([\\d.]+) ([\\d.]+) ([\\d.]+) (\\d+)`).exec(stderr);
      if (err || !m) return reject(new Error(`${cmd} ${args.join(' ')} failed: ${err?.message ?? 'no timing'}\n${stderr.slice(-3000)}`));
      resolve({ seconds: Number(m[1]), cpuSeconds: Number(m[2]) + Number(m[3]), peakMB: Math.round(Number(m[4]) / 1024), stdout });
    });
  });
}

// Workloads are started as the evaluation starts them (eval/lib/ready.mjs).
export { startUntilReady } from '../../eval/lib/ready.mjs';

export function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Median of each field of a list of { seconds, cpuSeconds, peakMB? } (peak: the largest), with the runs. */
export function summarize(runs) {
  return {
    seconds: median(runs.map((r) => r.seconds)),
    cpuSeconds: median(runs.map((r) => r.cpuSeconds)),
    peakMB: runs.some((r) => r.peakMB !== undefined) ? Math.max(...runs.map((r) => r.peakMB ?? 0)) : undefined,
    runs: runs.map((r) => +r.seconds.toFixed(3)),
  };
}
