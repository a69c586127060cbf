// The evaluation's workloads: our own Python programs under eval/workloads/ (modeled on the paper's 14),
// each run by Debian's python3 with LD_BIND_NOW=1, what it needs (Python modules, our native parts), and
// which of them form the `--quick` subset (small processes whose feature-bearing kernel runs in every loop
// iteration: a C extension and a ctypes library, so a CI run stays near a minute).

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
];
