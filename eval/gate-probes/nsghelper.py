# Helper of gate probe t65_libglobals.py: `zqkernel` is reached only through `call.__globals__[key]`.
import gatekern


def zqkernel(x):
    return gatekern.signal_kernel(x)


def call(key):
    return call.__globals__[key](1)
