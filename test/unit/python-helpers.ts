// Shared fixtures of the python-*.test.ts suites: builds the C-API extension, the Cython module and the
// ctypes library from their sources (gcc, cython3) into out/fixtures, finds the pyenv interpreters, starts
// Python processes that report addresses as JSON, and decodes a symbol's range for expected features.

import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as assert from 'node:assert/strict';
import { BASELINE } from '../../native/src/features/vocabulary';
import { buildC, FIXTURE_OUT, FIXTURE_SRC, startProcess, type StartedProcess } from '../helpers/fixtures';
import type { PyVersion } from '../../native/src/cpython/abi';
import { pyenvVersionsDir } from '../helpers/pyenv';

export const DEBIAN_INCLUDE = '/usr/include/python3.11';
const PYENV = pyenvVersionsDir() ?? '/nonexistent-pyenv';

export interface Interpreter {
  version: PyVersion;
  python: string;
  include: string;
}

/** pyenv's CPython 3.8–3.13 installations present on this machine (with headers). */
export function pyenvInterpreters(): Interpreter[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(PYENV);
  } catch {
    return [];
  }
  const out: Interpreter[] = [];
  for (const minor of [8, 9, 10, 11, 12, 13]) {
    const dir = names.filter((n) => n.startsWith(`3.${minor}.`) && /^3\.\d+\.\d+$/.test(n)).sort().pop();
    if (!dir) continue;
    const python = path.join(PYENV, dir, 'bin', `python3.${minor}`);
    const include = path.join(PYENV, dir, 'include', `python3.${minor}`);
    if (fs.existsSync(python) && fs.existsSync(path.join(include, 'Python.h'))) out.push({ version: `3.${minor}` as PyVersion, python, include });
  }
  return out;
}

export interface PyextBuild {
  /** Directory to put on sys.path. */
  dir: string;
  /** The extension file (pyext_kernels.so), with its .symtab. */
  file: string;
  /** The same file with every symbol stripped (in its own directory). */
  stripped: string;
}

/** Builds test/fixtures/c/pyext_kernels.c against one set of Python headers (tag names the output dir). */
export function buildPyext(include: string, tag: string, singlePhase = false): PyextBuild {
  const dir = path.join(FIXTURE_OUT, `pyext-${tag}`);
  const sdir = path.join(FIXTURE_OUT, `pyext-${tag}-stripped`);
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(sdir, { recursive: true });
  const flags = [`-I${include}`, '-fno-stack-protector', ...(singlePhase ? ['-DPYEXT_SINGLE_PHASE'] : [])];
  const file = buildC('c/pyext_kernels.c', { shared: true, flags, outName: `pyext-${tag}/pyext_kernels.so` });
  const stripped = path.join(sdir, 'pyext_kernels.so');
  if (!fs.existsSync(stripped) || fs.statSync(stripped).mtimeMs < fs.statSync(file).mtimeMs) {
    execFileSync('strip', ['--strip-all', '-o', `${stripped}.tmp${process.pid}`, file]);
    fs.renameSync(`${stripped}.tmp${process.pid}`, stripped);
  }
  return { dir, file, stripped };
}

/** Builds the ctypes library test/fixtures/c/ctypes_kernels.c. */
export function buildCtypesLib(): string {
  return buildC('c/ctypes_kernels.c', { shared: true, flags: ['-fno-stack-protector'], outName: 'libctypes_kernels.so' });
}

export interface CythonBuild {
  /** Directory to put on sys.path (holds the package cypkg). */
  dir: string;
  /** cypkg/kern.cpython-311-x86_64-linux-gnu.so, with its .symtab. */
  file: string;
  /** A stripped copy, elsewhere. */
  stripped: string;
}

/** Runs cython3 on test/fixtures/python/cyext/cypkg/kern.pyx and compiles it for Debian's python3.11. */
export function buildCython(): CythonBuild {
  const src = path.join(FIXTURE_SRC, 'python', 'cyext', 'cypkg');
  const files = fs.readdirSync(src).sort();
  const h = crypto.createHash('sha256');
  for (const f of files) h.update(f).update(fs.readFileSync(path.join(src, f)));
  const hash = h.digest('hex').slice(0, 12);
  const dir = path.join(FIXTURE_OUT, `cyext-${hash}`);
  const pkg = path.join(dir, 'cypkg');
  const file = path.join(pkg, 'kern.cpython-311-x86_64-linux-gnu.so');
  const stripped = path.join(FIXTURE_OUT, `cyext-${hash}-stripped`, 'kern.cpython-311-x86_64-linux-gnu.so');
  if (fs.existsSync(file) && fs.existsSync(stripped)) return { dir, file, stripped };
  const tmp = `${dir}.tmp${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(path.join(tmp, 'cypkg'), { recursive: true });
  for (const f of files) fs.copyFileSync(path.join(src, f), path.join(tmp, 'cypkg', f));
  execFileSync('cython3', ['-3', 'cypkg/kern.pyx'], { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] });
  execFileSync(
    'gcc',
    ['-O2', '-g0', '-fno-stack-protector', '-shared', '-fPIC', `-I${DEBIAN_INCLUDE}`, '-Icypkg', '-o', 'cypkg/kern.cpython-311-x86_64-linux-gnu.so', 'cypkg/kern.c'],
    { cwd: tmp, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  fs.mkdirSync(path.dirname(stripped), { recursive: true });
  execFileSync('strip', ['--strip-all', '-o', stripped, file]);
  return { dir, file, stripped };
}

export interface PythonProcess {
  proc: StartedProcess;
  /** The JSON object the script printed before READY. */
  report: Record<string, number>;
}

/**
 * Runs `code` with `python`; the code must print one JSON object line; the harness then prints READY and
 * sleeps, so the process can be inspected. LD_BIND_NOW=1 as the extension's debug integration runs it.
 */
export async function startPython(python: string, code: string, pathDirs: string[] = []): Promise<PythonProcess> {
  const script = `import sys, json, time\nsys.path[:0] = ${JSON.stringify(pathDirs)}\n${code}\nsys.stdout.write('READY\\n'); sys.stdout.flush()\ntime.sleep(600)\n`;
  const proc = await startProcess(python, ['-c', script], { env: { ...process.env, LD_BIND_NOW: '1', PYTHONDONTWRITEBYTECODE: '1' } });
  const line = proc
    .stdout()
    .split('\n')
    .find((l) => l.startsWith('{'));
  assert.ok(line, `the Python script printed its report: ${proc.stdout()}`);
  return { proc, report: JSON.parse(line) as Record<string, number> };
}

/** Python that reads ml_meth of the PyMethodDef behind a builtin function / cyfunction / method descriptor. */
export const PY_ML_METH = `
import ctypes
def ml_meth_of_function(f):
    ml = ctypes.c_void_p.from_address(id(f) + 16).value  # PyCFunctionObject.m_ml
    return ctypes.c_void_p.from_address(ml + 8).value     # PyMethodDef.ml_meth
def ml_meth_of_descriptor(d):
    ml = ctypes.c_void_p.from_address(id(d) + 40).value  # PyMethodDescrObject.d_method
    return ctypes.c_void_p.from_address(ml + 8).value
def type_slot(t, suite_offset, offset):
    base = id(t)
    if suite_offset is not None:
        base = ctypes.c_void_p.from_address(base + suite_offset).value
    return ctypes.c_void_p.from_address(base + offset).value
`;

export { featuresOf } from '../helpers/features';

/** Sorted names without the x86-64 baseline. */
export function nonBaseline(features: Iterable<string>): string[] {
  return [...new Set(features)].filter((f) => !BASELINE.has(f)).sort();
}
