/* gatecb: a plain shared library (loaded with ctypes) for the gate-callbacks workload: drive(cb, n) calls the
 * C function pointer cb (a ctypes CFUNCTYPE wrapping a Python function) n times and sums its results. */
int drive(int (*cb)(int), int n) {
  int s = 0;
  for (int i = 0; i < n; i++) s += cb(i);
  return s;
}
