# The bundled example workload for `pygration demo`: NumPy matrix products (OpenBLAS) in a loop, with a
# ready line once warmed up. Runs until stopped.
import numpy as np

a = np.random.default_rng(0).random((64, 64))
b = a @ a  # warm up: loads OpenBLAS and binds its kernels
print("READY", flush=True)
while True:
    b = (a @ b) / np.linalg.norm(b)
