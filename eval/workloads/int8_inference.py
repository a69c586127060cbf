# Workload "int8dot": int8 dot products through our C extension (eval/workloads/native/int8dot.c), which
# picks its AVX512_VNNI, AVX2 or scalar path at run time. Prints the path, READY, then loops until killed.
import os

import int8dot

a = [os.urandom(256) for _ in range(8)]
b = [os.urandom(256) for _ in range(8)]
for x, y in zip(a, b):
    assert int8dot.dot(x, y) == int8dot.reference(x, y)
print("PATH", int8dot.path(), flush=True)
print("READY", flush=True)
total = 0
while True:
    for x, y in zip(a, b):
        total = (total + int8dot.dot(x, y)) & 0xFFFFFFFF
