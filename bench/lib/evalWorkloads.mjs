// `npm run bench -- --eval`: our analysis (the evaluation's `ours`, eval/lib/measure.mjs) of each evaluation
// workload, started as the evaluation starts it, timed from outside (wall, CPU, peak RSS) with a cold cache.
// Only the timing: the oracle, the baselines and the report are `npm run eval`'s.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { workloadEnv } from '../../eval/lib/ready.mjs';
import { startUntilReady, timed } from './run.mjs';

export async function evalWorkloads({ root, only, log }) {
  const { buildLauncher, buildNativeParts, DEBIAN_PYTHON } = await import(path.join(root, 'eval', 'lib', 'build.mjs'));
  const { engine } = await import(path.join(root, 'eval', 'lib', 'engine.mjs'));
  const { WORKLOADS } = await import(path.join(root, 'eval', 'lib', 'workloads.mjs'));
  log('evaluation workloads: building the native parts and the launcher');
  const nativeDir = buildNativeParts();
  const launcher = buildLauncher();
  const E = engine();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-bench-eval-'));
  const hostFile = path.join(tmp, 'host.json');
  fs.writeFileSync(hostFile, JSON.stringify(E.hostToJson(await E.collectHost())));
  const out = [];
  try {
    for (const w of WORKLOADS.filter((x) => !only?.length || only.includes(x.name))) {
      try {
        if (w.modules.length) execFileSync(DEBIAN_PYTHON, ['-c', w.modules.map((m) => `import ${m}`).join('; ')], { stdio: 'ignore', timeout: 120_000 });
      } catch {
        out.push({ name: w.name, skipped: `python3 cannot import ${w.modules.join(', ')}` });
        continue;
      }
      log(`evaluation workload ${w.name}`);
      const env = workloadEnv(w, nativeDir, tmp);
      let proc;
      try {
        proc = await startUntilReady([launcher, DEBIAN_PYTHON, path.join(root, 'eval', 'workloads', w.script)], { env, cwd: tmp, timeoutMs: w.readyTimeoutMs ?? 60_000 });
      } catch (e) {
        out.push({ name: w.name, error: e.message.split('\n')[0] });
        continue;
      }
      const cacheDir = fs.mkdtempSync(path.join(tmp, 'cache-'));
      try {
        const r = await timed(process.execPath, [path.join(root, 'eval', 'lib', 'measure.mjs'), 'ours', String(proc.pid), hostFile], {
          env: { ...process.env, PYGRATION_CACHE_DIR: cacheDir },
        });
        const j = JSON.parse(r.stdout.trim().split('\n').pop());
        out.push({ name: w.name, seconds: r.seconds, cpuSeconds: r.cpuSeconds, peakMB: r.peakMB, analysisSeconds: j.stats?.seconds });
      } catch (e) {
        out.push({ name: w.name, error: e.message.split('\n')[0] });
      } finally {
        await proc.stop();
        fs.rmSync(cacheDir, { recursive: true, force: true });
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}
