# Library module of the gate-callbacks workload: Python functions that C code calls back (sorted's key,
# functools.reduce, a ctypes CFUNCTYPE, our extension's each() calling Sink.on_item by name).
import gatekern


def weight(x):
    return gatekern.sort_key(x)  # GFNI


def combine(a, b):
    return gatekern.reduce_kernel(a, b)  # AVX512_BITALG


def from_c(i):
    return gatekern.ctypes_kernel(i) & 0xFF  # AVX512_VPOPCNTDQ


class Sink:
    def __init__(self):
        self.total = 0

    def on_item(self, i):  # called by gatekern.each through PyObject_CallMethod
        self.total ^= gatekern.ext_kernel(i)  # AVX512VBMI
