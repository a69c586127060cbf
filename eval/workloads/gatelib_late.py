# Library module of the gate-late workload, imported only after the analysis (by importlib.import_module): it
# loads the gatelate extension (eval/workloads/native/gatelate.c), whose code was not mapped before.
import gatelate


def work(i):
    return gatelate.late_kernel(i)  # AVX512_VPOPCNTDQ
