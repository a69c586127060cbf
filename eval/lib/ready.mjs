// Starting a workload the way the evaluation and the benchmark both do: its environment (LD_BIND_NOW=1, the
// native extensions on PYTHONPATH, a private matplotlib directory) and a child process awaited until it prints
// a line READY; `stop()` kills it.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The environment an evaluation workload runs in; `tmp`: where its matplotlib config directory is made. */
export function workloadEnv(w, nativeDir, tmp) {
  return {
    ...process.env,
    LD_BIND_NOW: '1',
    PYTHONPATH: nativeDir,
    PYGRATION_EVAL_EXT: nativeDir,
    PYTHONDONTWRITEBYTECODE: '1',
    MPLCONFIGDIR: fs.mkdtempSync(path.join(tmp, 'pygration-eval-mpl-')),
    ...(w.env ?? {}),
  };
}

/**
 * Starts `argv` and resolves once it printed a line READY, with { pid, child, stdout(), stderr(), stop() };
 * rejects (after killing it) when it exits first or prints nothing within `timeoutMs`. `label` names it in errors.
 */
export function startUntilReady(argv, { env, cwd, timeoutMs = 120_000, label = argv.join(' ') } = {}) {
  const child = spawn(argv[0], argv.slice(1), { env: env ?? process.env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${label} did not print READY within ${timeoutMs / 1000} s. stderr: ${err.slice(-2000)}`));
    }, timeoutMs);
    child.stdout.on('data', (d) => {
      out += d.toString();
      if (/^READY$/m.test(out)) {
        clearTimeout(timer);
        resolve({ pid: child.pid, child, stdout: () => out, stderr: () => err, stop });
      }
    });
    child.stderr.on('data', (d) => (err += d.toString()));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (${code ?? signal}) before READY. stderr: ${err.slice(-2000)}`));
    });
  });
}
