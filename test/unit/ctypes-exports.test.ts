// Functions a loaded library exports are Python-callable once ctypes is imported: a real /usr/bin/python3 loads
// the ctypes kernels and calls one by a name it computes, which no scan of code or data can see. Exports of a
// library opened with dlopen (CDLL) must be roots; a library loaded only as another's dependency contributes the
// functions the heap holds (one ctypes fetched: heldFunctionRoots), and not its other exports.

import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyzeProcess } from '../../native/src/analyze';
import { collectHost, type HostInfo } from '../../native/src/features/host';
import { DEBIAN_PYTHON, FIXTURE_SRC, hostFlags, startProcess } from '../helpers/fixtures';

// argv: mode, kernels library, user library. The kernel is called by a name built at run time, from the
// environment at every turn of the loop: the program's text never names ct_sha.
const PROGRAM = `import ctypes, os, sys, time
mode, kernels, user = sys.argv[1:4]
if mode == "opened":
    lib = ctypes.CDLL(kernels)
else:
    ctypes.CDLL(user).user_entry()
    lib = None
    if mode == "fetched":
        lib = ctypes.CDLL(kernels)  # already mapped as the user library's dependency: the same object
        fetched = getattr(lib, "ct_" + "".join(("s", "h", "a")))
print("READY", flush=True)
while True:
    if lib is not None and os.environ.get("CT_PIECES"):
        getattr(lib, "ct_" + os.environ["CT_PIECES"])()
    time.sleep(0.05)
`;

let dir: string;
let kernels: string;
let user: string;
let program: string;
let host: HostInfo;
const hasSha = hostFlags().has('sha_ni');

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-ctexports-'));
  kernels = path.join(dir, 'libctk.so');
  execFileSync('gcc', ['-O2', '-shared', '-fPIC', '-fno-stack-protector', '-o', kernels, path.join(FIXTURE_SRC, 'c', 'ctypes_kernels.c'), '-Wl,-soname,libctk.so']);
  user = path.join(dir, 'libctuser.so');
  execFileSync('gcc', ['-O2', '-shared', '-fPIC', '-o', user, path.join(FIXTURE_SRC, 'c', 'ctypes_user.c'), `-L${dir}`, '-lctk', `-Wl,-rpath,${dir}`]);
  program = path.join(dir, 'program.py');
  fs.writeFileSync(program, PROGRAM);
  host = await collectHost();
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The report of an analysis of the program in `mode`: required features and the reason SHA-NI came in. */
async function analyzeMode(mode: string): Promise<{ required: Set<string>; shaVia?: string; notes: string[] }> {
  const proc = await startProcess(DEBIAN_PYTHON, [program, mode, kernels, user]);
  try {
    const r = await analyzeProcess(proc.pid, { host, withFullScan: false });
    assert.equal(r.report.rootPolicy, 'strict');
    const sha = r.report.features.find((f) => f.feature === 'sha_ni');
    return { required: new Set(r.report.required), shaVia: sha?.via, notes: r.report.notes };
  } finally {
    await proc.stop();
  }
}

test('every export of a library ctypes opened is a root: a kernel called by a computed name is required', { timeout: 120_000, skip: hasSha ? false : 'the host has no SHA-NI, so no report can name it' }, async () => {
  const r = await analyzeMode('opened');
  assert.ok(r.required.has('sha_ni'), `sha_ni required: ${[...r.required].join(' ')}`);
  assert.match(r.shaVia ?? '', /libctk\.so ct_sha, exported \(dlsym through _ctypes\)/);
  assert.ok(r.notes.some((n) => /^_ctypes is loaded, so Python code can call any function dlsym finds/.test(n)), r.notes.join('\n'));
});

test('a dependency\'s exports count only once live memory holds them (a function ctypes fetched)', { timeout: 180_000, skip: hasSha ? false : 'the host has no SHA-NI, so no report can name it' }, async () => {
  const loaded = await analyzeMode('dependency');
  assert.ok(!loaded.required.has('sha_ni'), `nothing can call ct_sha: ${loaded.shaVia}`);
  const fetched = await analyzeMode('fetched');
  assert.ok(fetched.required.has('sha_ni'), `sha_ni required once fetched: ${[...fetched.required].join(' ')}`);
  assert.match(fetched.shaVia ?? '', /a function whose address memory outside the modules holds/);
});
