// The evaluation's workloads: our own Python programs under eval/workloads/ (modeled on the paper's 14),
// each run by Debian's python3 with LD_BIND_NOW=1, what it needs (Python modules, our native parts), and
// which of them form the `--quick` subset (small processes whose feature-bearing kernel runs in every loop
// iteration: a C extension and a ctypes library, so a CI run stays near a minute). The gate-* workloads attack
// the root policy (computed names, callbacks from C, threads, signals, asyncio, pickle, late imports): each route
// ends in a kernel of ours with its own CPU feature (`routes`), so a miss names the route.

/**
 * @typedef {object} Workload
 * @property {string} name          Short name used in tables.
 * @property {string} script        File under eval/workloads/.
 * @property {string} about         One line for the report.
 * @property {string[]} modules     Python modules Debian's python3 must import (else the workload is skipped).
 * @property {string[]} [native]    Our native parts it loads (built by lib/build.mjs).
 * @property {Record<string,string>} [env] Extra environment.
 * @property {boolean} [quick]      Part of the --quick subset.
 * @property {boolean} [heavy]      Long iterations (milliseconds): the oracle takes more windows.
 * @property {number} [readyTimeoutMs]
 * @property {string[]} [hostFeatures] CPU features (cpuinfo names) the source host must have, else skipped.
 * @property {Record<string,string>} [routes] Gate attacks: distinctive feature → the route that reaches it.
 * @property {string} [trigger]     After the static analyses, create the file named by PYGRATION_EVAL_TRIGGER and
 *                                  wait for the workload to print this line before the oracle runs.
 * @property {string} [limit]       A documented limit: a miss is expected and reported as such, not as a failure.
 */

/** @type {Workload[]} */
export const WORKLOADS = [
  {
    name: 'matmul',
    script: 'matmul.py',
    about: 'NumPy 16×16 matrix products (OpenBLAS) and element-wise work',
    modules: ['numpy'],
  },
  {
    name: 'int8dot',
    script: 'int8_inference.py',
    about: 'int8 dot products in our C extension (AVX512_VNNI / AVX2 / scalar chosen at run time)',
    modules: [],
    native: ['int8dot'],
    quick: true,
  },
  {
    name: 'sha',
    script: 'sha.py',
    about: 'SHA-256 in our C extension (SHA-NI when present) checked against hashlib (OpenSSL)',
    modules: [],
    native: ['shani'],
  },
  {
    name: 'rsa',
    heavy: true,
    script: 'rsa.py',
    about: 'RSA-1024 sign + verify with cryptography (OpenSSL bignum: MULX/ADX)',
    modules: ['cryptography'],
  },
  {
    name: 'rdseed',
    script: 'rdseed.py',
    about: 'ctypes calls into our C library (RDSEED, else RDRAND, else getrandom)',
    modules: ['ctypes'],
    native: ['rdseedlib'],
    quick: true,
  },
  {
    name: 'pku',
    script: 'pku.py',
    about: 'writes to a buffer guarded by a protection key in our C extension (pkey_mprotect, WRPKRU)',
    modules: [],
    native: ['pkeys'],
  },
  {
    name: 'scikit-learn',
    heavy: true,
    script: 'sklearn_models.py',
    about: 'random forest, SVM, logistic regression, k-means fitted in turn on 40×4 data',
    modules: ['sklearn'],
    env: { OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' },
    readyTimeoutMs: 120_000,
  },
  {
    name: 'xgboost',
    heavy: true,
    script: 'xgboost_train.py',
    about: '3 boosting rounds on 64×4 synthetic data, then predict',
    modules: ['xgboost'],
    env: { OMP_NUM_THREADS: '1' },
    readyTimeoutMs: 120_000,
  },
  {
    name: 'matplotlib',
    heavy: true,
    script: 'matplotlib_plot.py',
    about: 'line plot + histogram with the Agg backend to a PNG file',
    modules: ['matplotlib'],
    readyTimeoutMs: 120_000,
  },
  {
    name: 'beautifulsoup4',
    script: 'bs4_parse.py',
    about: 'parse a small static page with html.parser and select/find_all',
    modules: ['bs4'],
  },
  {
    name: 'falcon',
    script: 'falcon_app.py',
    about: 'a Falcon app on 127.0.0.1 (wsgiref, server thread) with a bounded client loop',
    modules: ['falcon'],
  },
  {
    name: 'fastapi',
    script: 'fastapi_app.py',
    about: 'a FastAPI app on 127.0.0.1 (uvicorn, server thread) with a bounded client loop',
    modules: ['fastapi', 'uvicorn'],
    readyTimeoutMs: 120_000,
  },
  {
    name: 'dask',
    heavy: true,
    script: 'dask_graph.py',
    about: 'a small delayed graph and a chunked array reduction on the threaded scheduler',
    modules: ['dask', 'dask.array'],
    readyTimeoutMs: 120_000,
  },
  {
    name: 'gate-reflect',
    script: 'gate_reflect.py',
    about: 'gate attack: the program calls kernels by names built at run time (getattr on a live object, exec, pickle.loads)',
    modules: [],
    native: ['gatekern'],
    hostFeatures: ['gfni', 'avx512_vbmi2', 'avx512_bitalg'],
    routes: {
      gfni: 'getattr(Kernels(), computed name) in the program',
      avx512_vbmi2: 'function defined by exec of a built string in the program',
      avx512_bitalg: 'pickle.loads in the program of a pickle naming a C function',
    },
  },
  {
    name: 'gate-libreflect',
    script: 'gate_libreflect.py',
    about: 'gate attack: a library module calls kernels by names it builds (getattr, exec, pickle.loads)',
    modules: [],
    native: ['gatekern'],
    hostFeatures: ['gfni', 'avx512_vbmi2', 'avx512_bitalg'],
    routes: {
      gfni: 'getattr(Kernels(), computed name) in a library module',
      avx512_vbmi2: 'function defined by exec of a built string in a library module',
      avx512_bitalg: 'pickle.loads in a library module of a pickle naming a C function',
    },
  },
  {
    name: 'gate-concurrency',
    heavy: true,
    script: 'gate_concurrency.py',
    about: 'gate attack: kernels run by a worker thread (function of another module), a SIGALRM handler, an asyncio task',
    modules: ['asyncio'],
    native: ['gatekern'],
    hostFeatures: ['avx512_vpopcntdq', 'avx512_bf16', 'avx512vbmi'],
    routes: {
      avx512_vpopcntdq: 'worker thread whose target is a function of another module',
      avx512_bf16: 'signal handler a library module registered at import time',
      avx512vbmi: 'task of an asyncio event loop in a library module',
    },
  },
  {
    name: 'gate-callbacks',
    script: 'gate_callbacks.py',
    about: 'gate attack: kernels reached through callbacks from C (sorted key, map, reduce, ctypes CFUNCTYPE, our extension)',
    modules: ['ctypes'],
    native: ['gatekern', 'gatecb'],
    hostFeatures: ['gfni', 'avx512_vbmi2', 'avx512_bitalg', 'avx512_vpopcntdq', 'avx512vbmi'],
    routes: {
      gfni: 'sorted(key=Python function of a library module)',
      avx512_vbmi2: 'map(C function, ...)',
      avx512_bitalg: 'functools.reduce(Python function of a library module, ...)',
      avx512_vpopcntdq: 'ctypes CFUNCTYPE callback called by a C library',
      avx512vbmi: 'C extension calling a Python method by name (PyObject_CallMethod)',
    },
  },
  {
    name: 'gate-late',
    script: 'gate_late.py',
    about: 'gate attack: a module imported by importlib.import_module only after the analysis loads a new extension',
    modules: ['importlib'],
    native: ['gatelate'],
    hostFeatures: ['avx512_vpopcntdq'],
    trigger: 'LOADED',
    routes: { avx512_vpopcntdq: 'extension imported (and mapped) only after the analysis' },
    limit:
      'code loaded after the analysis: the extension is not mapped when the process is analysed, so no static method (ours, full scan) can see it; only a host-level check (CRIU) covers it. Analyse again after the program loads new code.',
  },
];
