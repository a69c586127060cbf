# Library module of the gate-libreflect workload: the same three routes as gate_reflect.py (getattr with a
# computed name, exec of a built string, pickle.loads), but in a module the program imports, not in its own file,
# and done once when a Runner is made (so no live frame of the analysed process is in that code).
import pickle

import gatekern

_PIECES = ("gf", "mix", "lib")
_EXEC = ("lib", "exec", "kernel")
_PICKLE = ("lib", "unpickle", "kernel")


class Runner:
    def __init__(self, target):
        self.method = getattr(target, "_".join(_PIECES))  # Kernels.gf_mix_lib: GFNI
        namespace = {"gatekern": gatekern}
        exec("def built(i):\n    return gatekern." + "_".join(_EXEC) + "(i)\n", namespace)  # AVX512_VBMI2
        self.built = namespace["built"]
        # A pickle whose only object is a C function (GLOBAL, STOP): gatekern.lib_unpickle_kernel, AVX512_BITALG.
        self.loaded = pickle.loads(b"cgatekern\n" + "_".join(_PICKLE).encode() + b"\n.")

    def step(self, i):
        return self.method(i) ^ self.built(i) ^ self.loaded(i)
