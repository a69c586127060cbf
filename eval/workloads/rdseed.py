# Workload "rdseed": hardware seeds through ctypes from our C library (eval/workloads/native/rdseedlib.c:
# RDSEED, else RDRAND, else getrandom). Prints the path, READY, then loops until killed.
import ctypes
import os

lib = ctypes.CDLL(os.path.join(os.environ.get("PYGRATION_EVAL_EXT", "."), "librdseedlib.so"))
lib.seed_path.restype = ctypes.c_char_p
lib.seed_fill.argtypes = (ctypes.POINTER(ctypes.c_uint64), ctypes.c_int)
buf = (ctypes.c_uint64 * 4)()
assert lib.seed_fill(buf, 4) == 4
print("PATH", lib.seed_path().decode(), flush=True)
print("READY", flush=True)
acc = 0
while True:
    lib.seed_fill(buf, 4)
    acc ^= buf[0] ^ buf[3]
