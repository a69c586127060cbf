// Finds optional CPython interpreters for the tests: pyenv's versions ($PYENV_ROOT/versions, else
// ~/.pyenv/versions), then the pythonX.Y on PATH; each candidate is checked by running it.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The pyenv versions directory, or undefined when there is none. */
export function pyenvVersionsDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const roots = [env.PYENV_ROOT, path.join(env.HOME || os.homedir(), '.pyenv')].filter((r): r is string => !!r);
  return roots.map((r) => path.join(r, 'versions')).find((d) => fs.existsSync(d));
}

/** The version (major.minor) an interpreter reports, or undefined when it does not run. */
export function pythonVersion(python: string): string | undefined {
  try {
    return execFileSync(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** An interpreter of CPython `version` (e.g. '3.7'): the newest pyenv 3.7.x, else python3.7 on PATH. */
export function findPython(version: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates: string[] = [];
  const dir = pyenvVersionsDir(env);
  if (dir) {
    const patch = (n: string) => Number(n.split('.')[2]);
    const names = fs.readdirSync(dir).filter((n) => n.startsWith(`${version}.`) && /^\d+\.\d+\.\d+$/.test(n)).sort((a, b) => patch(b) - patch(a));
    for (const n of names) candidates.push(path.join(dir, n, 'bin', `python${version}`));
  }
  for (const d of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) candidates.push(path.join(d, `python${version}`));
  return candidates.find((p) => fs.existsSync(p) && pythonVersion(p) === version);
}
