// Builds the evaluation's native parts with gcc, cached by a hash of source and flags under out/eval/:
// the CPython extensions and the ctypes library of eval/workloads/native/, and the ptrace oracle
// (test/fixtures/c/oracle_tracer.c), and the launcher workloads start through.
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const EVAL_OUT = path.join(REPO_ROOT, 'out', 'eval');
export const NATIVE_DIR = path.join(EVAL_OUT, 'native');
export const DEBIAN_PYTHON = '/usr/bin/python3';
const NATIVE_SRC = path.join(REPO_ROOT, 'eval', 'workloads', 'native');

/** Native parts: CPython extensions (`ext`) and plain shared libraries for ctypes (`lib`). */
export const NATIVE_PARTS = {
  int8dot: { source: 'int8dot.c', kind: 'ext' },
  shani: { source: 'shani.c', kind: 'ext' },
  pkeys: { source: 'pkeys.c', kind: 'ext' },
  rdseedlib: { source: 'rdseedlib.c', kind: 'lib' },
  gatekern: { source: 'gatekern.c', kind: 'ext' },
  gatelate: { source: 'gatelate.c', kind: 'ext' },
  gatecb: { source: 'gatecb.c', kind: 'lib' },
};

/** `python3-config ARG` of an interpreter (its headers, its extension suffix): the one next to it. */
function pythonConfig(arg, python = DEBIAN_PYTHON) {
  const config = python === DEBIAN_PYTHON ? `${DEBIAN_PYTHON}-config` : path.join(path.dirname(python), 'python3-config');
  return execFileSync(config, [arg], { encoding: 'utf8' }).trim();
}

/** Compiles `src` to `out` with `args` unless an output built from the same inputs exists. */
function compile(src, out, args) {
  const hash = crypto.createHash('sha256').update(fs.readFileSync(src)).update(JSON.stringify(args)).digest('hex').slice(0, 16);
  const stamp = `${out}.hash`;
  if (fs.existsSync(out) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === hash) return out;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.tmp${process.pid}`;
  execFileSync('gcc', [...args, '-o', tmp, src], { stdio: ['ignore', 'inherit', 'inherit'] });
  fs.renameSync(tmp, out);
  fs.writeFileSync(stamp, hash);
  return out;
}

/**
 * Builds every native part into NATIVE_DIR (the directory workloads get as PYTHONPATH and
 * PYGRATION_EVAL_EXT) and returns it. Needs gcc and python3-dev (python3-config). `python`: another interpreter
 * whose extensions to build (its python3-config next to it, as pyenv's have); each version's extension suffix
 * keeps them apart in the one directory.
 */
export function buildNativeParts(python = DEBIAN_PYTHON) {
  const includes = pythonConfig('--includes', python).split(/\s+/).filter(Boolean);
  const suffix = pythonConfig('--extension-suffix', python);
  for (const [name, part] of Object.entries(NATIVE_PARTS)) {
    const src = path.join(NATIVE_SRC, part.source);
    const flags = ['-O2', '-g0', '-Wall', '-shared', '-fPIC'];
    if (part.kind === 'ext') compile(src, path.join(NATIVE_DIR, `${name}${suffix}`), [...flags, ...includes]);
    else compile(src, path.join(NATIVE_DIR, `lib${name}.so`), flags);
  }
  return NATIVE_DIR;
}

/** Builds the launcher that lets siblings trace the workload under Yama (ptracer_any.c) and returns its path. */
export function buildLauncher() {
  return compile(path.join(NATIVE_SRC, 'ptracer_any.c'), path.join(EVAL_OUT, 'ptracer_any'), ['-O2', '-g0', '-Wall']);
}

/** Builds the ptrace oracle and returns its path. */
export function buildOracle() {
  return compile(path.join(REPO_ROOT, 'test', 'fixtures', 'c', 'oracle_tracer.c'), path.join(EVAL_OUT, 'oracle_tracer'), ['-O2', '-g0', '-Wall']);
}
