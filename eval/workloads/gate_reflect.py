# Gate-attack workload "gate-reflect": the program's own code reaches native kernels by names it builds at run
# time (getattr on a live object, exec of a built string, pickle.loads of a built pickle), each route ending in
# a kernel of our extension (eval/workloads/native/gatekern.c) with its own CPU feature. READY, then loops.
import pickle

import gatekern

PIECES = ("gf", "mix")
kern = gatekern.Kernels()
method = getattr(kern, "_".join(PIECES))  # Kernels.gf_mix: GFNI
namespace = {"gatekern": gatekern}
exec("def built(i):\n    return gatekern." + "_".join(("exec", "kernel")) + "(i)\n", namespace)  # AVX512_VBMI2
built = namespace["built"]
target = ("unpickle", "kernel")  # gatekern.unpickle_kernel: AVX512_BITALG


def blob(i):
    return b"cgatekern\n" + "_".join(target).encode() + b"\n(I%d\ntR." % i


for i in range(4):
    method(i), built(i), pickle.loads(blob(i))
print("PATH gfni,avx512_vbmi2,avx512_bitalg", flush=True)
print("READY", flush=True)
i = 0
acc = 0
while True:
    acc ^= method(i) ^ built(i) ^ pickle.loads(blob(i & 255))
    i += 1
