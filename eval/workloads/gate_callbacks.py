# Gate-attack workload "gate-callbacks": native kernels reached through callbacks from C: sorted(key=...),
# map with a C function, functools.reduce, a ctypes CFUNCTYPE called by our C library (native/gatecb.c), and our
# extension calling a Python method by name (gatekern.each → Sink.on_item). READY, then loops until killed.
import ctypes
import functools
import os

import gatekern
import gatelib_callbacks as cbs

lib = ctypes.CDLL(os.path.join(os.environ.get("PYGRATION_EVAL_EXT", "."), "libgatecb.so"))
CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)
lib.drive.argtypes = (CALLBACK, ctypes.c_int)
lib.drive.restype = ctypes.c_int
c_callback = CALLBACK(cbs.from_c)
sink = cbs.Sink()
xs = [5, 3, 9, 1]


def once():
    a = sorted(xs, key=cbs.weight)
    b = list(map(gatekern.map_kernel, xs))  # AVX512_VBMI2
    c = functools.reduce(cbs.combine, xs)
    d = lib.drive(c_callback, 2)
    gatekern.each(sink, 2)
    return a[0] ^ b[0] ^ c ^ d


once()
print("PATH gfni,avx512_vbmi2,avx512_bitalg,avx512_vpopcntdq,avx512vbmi", flush=True)
print("READY", flush=True)
acc = 0
while True:
    acc ^= once()
