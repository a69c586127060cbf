// A real CRIU dump and restore with the exact commands `pygration plan` prints (migration.criuSteps), source and
// destination on this host ($DST = $SRC = 127.0.0.1). Skips, with CRIU's own error, where `criu check` fails.

import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AnalysisReport } from '../../native/src/report';
import { DEBIAN_PYTHON, REPO_ROOT, haveCommand } from '../helpers/fixtures';
import { hostSkipUnless, skipUnless } from '../helpers/skip';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const root = process.getuid?.() === 0;
const haveTools = haveCommand('criu') && haveCommand('rsync');

/** `criu check`'s verdict on this kernel: undefined when it passes, else its last error line. */
function criuCheckFailure(): string | undefined {
  if (!root || !haveTools) return undefined;
  const r = spawnSync('criu', ['check'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status === 0) return undefined;
  const version = spawnSync('criu', ['--version'], { encoding: 'utf8' }).stdout.match(/Version: (\S+)/)?.[1] ?? '?';
  const lines = `${r.stderr}${r.stdout}`.split('\n').filter((l) => /Error/.test(l));
  const why = lines.find((l) => /vdso/i.test(l)) ?? lines.at(-1) ?? `exit ${r.status}`;
  return `criu check fails: CRIU ${version} on Linux ${os.release()}: ${why.replace(/^Error \([^)]*\):\s*/, '')} (docs/planner.md, "CRIU versions and kernels")`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function counter(file: string): number {
  try {
    return Number(fs.readFileSync(file, 'utf8').trim() || '-1');
  } catch {
    return -1;
  }
}

describe('CRIU dump and restore with the commands plan prints', () => {
  const failure = criuCheckFailure();
  test(
    'a Python workload moves (stop-and-copy) and keeps counting',
    {
      skip:
        skipUnless(haveTools, 'needs criu and rsync (scripts/setup.sh installs them)') ||
        hostSkipUnless(root, 'CRIU dumps and restores as root') ||
        hostSkipUnless(failure === undefined, failure ?? ''),
      timeout: 180_000,
    },
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyg-criu-'));
      const count = path.join(dir, 'count');
      // A workload CRIU can take: its own session, no terminal, output to files.
      const src = `import time\nn = 0\nwhile True:\n    n += 1\n    open(${JSON.stringify(count)}, 'w').write(str(n))\n    time.sleep(0.02)\n`;
      const script = path.join(dir, 'work.py');
      fs.writeFileSync(script, src);
      const out = fs.openSync(path.join(dir, 'work.log'), 'w');
      // detached: its own session (setsid), so neither a terminal nor our process group comes along.
      const work = spawn(DEBIAN_PYTHON, [script], { stdio: ['ignore', out, out], detached: true, env: { ...process.env, LD_BIND_NOW: '1' } });
      const background: ChildProcess[] = [];
      let pid = -1;
      try {
        await until('the workload to count', () => counter(count) > 3);
        pid = work.pid!;
        // A huge downtime target makes stop-and-copy the recommendation; the images go under our temporary directory.
        const plan = spawnSync(process.execPath, [CLI, 'plan', '--pid', String(pid), '--seconds', '1', '--interval', '250', '--max-downtime', '600000', '--quiet', '--format', 'json'], { encoding: 'utf8', timeout: 120_000 });
        assert.equal(plan.status, 0, plan.stderr);
        const report = JSON.parse(plan.stdout) as AnalysisReport;
        const steps = report.migration!.criuSteps!;
        assert.equal(report.migration!.plan.recommendation, 'stop-and-copy');
        for (const step of steps) {
          const command = step.command.replaceAll('$DST', '127.0.0.1').replaceAll('$SRC', '127.0.0.1');
          if (/criu page-server/.test(command)) {
            // The destination's page server waits for the dump: started in the background, as in a second terminal.
            const port = Number(/--port (\d+)/.exec(command)![1]);
            background.push(spawn('sh', ['-c', command], { stdio: 'ignore' }));
            await until(`the page server on port ${port}`, () => listening(port));
          } else if (/^criu restore/.test(command)) {
            // Restore stays the parent of the restored task: in the background until the process runs again.
            const before = counter(count);
            background.push(spawn('sh', ['-c', command], { stdio: 'ignore' }));
            await until('the restored workload to count on', () => counter(count) > before + 3);
          } else {
            // rsync's host:path form needs ssh to this very host; here source and destination directory are the
            // same, so the step runs as the local copy it amounts to.
            const r = spawnSync('sh', ['-c', command.replace(/rsync -a (\S+) 127\.0\.0\.1:(\S+)/, 'rsync -a $1 $2')], { encoding: 'utf8', timeout: 120_000 });
            assert.equal(r.status, 0, `${command}: ${r.stderr}`);
          }
        }
        assert.ok(fs.existsSync(`/proc/${pid}`), 'the restored process has its pid back');
      } finally {
        if (pid > 0) spawnSync('kill', ['-9', String(pid)]);
        for (const b of background) b.kill('SIGKILL');
        work.kill('SIGKILL');
        fs.closeSync(out);
        if (pid > 0) fs.rmSync(`/var/lib/pygration/${pid}`, { recursive: true, force: true });
      }
    },
  );
});
