/* rdseedlib: a plain shared library (loaded with ctypes) returning hardware seeds with RDSEED when the
 * CPU has it, falling back to RDRAND, then to getrandom(2); the path is chosen at the first call. */
#include <immintrin.h>
#include <stdint.h>
#include <sys/random.h>

static int path = -1; /* 0 rdseed, 1 rdrand, 2 getrandom */

__attribute__((target("rdseed"))) static int seed_rdseed(uint64_t *out) {
  unsigned long long v;
  for (int tries = 0; tries < 100; tries++)
    if (_rdseed64_step(&v)) {
      *out = v;
      return 1;
    }
  return 0;
}

__attribute__((target("rdrnd"))) static int seed_rdrand(uint64_t *out) {
  unsigned long long v;
  for (int tries = 0; tries < 10; tries++)
    if (_rdrand64_step(&v)) {
      *out = v;
      return 1;
    }
  return 0;
}

static int seed_getrandom(uint64_t *out) { return getrandom(out, sizeof *out, 0) == (ssize_t)sizeof *out; }

/* Which path this CPU uses: "rdseed", "rdrand" or "getrandom". */
const char *seed_path(void) {
  if (path < 0) {
    __builtin_cpu_init();
    path = __builtin_cpu_supports("rdseed") ? 0 : __builtin_cpu_supports("rdrnd") ? 1 : 2;
  }
  return path == 0 ? "rdseed" : path == 1 ? "rdrand" : "getrandom";
}

/* Fills out[0..n) with 64-bit seeds; returns how many were produced. */
int seed_fill(uint64_t *out, int n) {
  seed_path();
  int i = 0;
  for (; i < n; i++) {
    int ok = path == 0 ? seed_rdseed(&out[i]) : path == 1 ? seed_rdrand(&out[i]) : seed_getrandom(&out[i]);
    if (!ok && !seed_getrandom(&out[i])) break;
  }
  return i;
}
