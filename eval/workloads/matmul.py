# Workload "matmul": NumPy matrix products through OpenBLAS on 16×16 matrices (small, so an oracle window
# covers whole iterations: the GEMM kernel and the NumPy work around it). Prints READY after warming up, then loops until killed.
import numpy as np

rng = np.random.default_rng(1)
a = rng.random((16, 16))
b = rng.random((16, 16))


def step(b):
    c = a @ b
    c /= np.abs(c).max()
    return c + 0.5 * np.tanh(c.T)


for _ in range(50):
    b = step(b)
print("READY", flush=True)
while True:
    b = step(b)
