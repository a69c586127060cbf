# Gate probe for the precise root policy (eval/gate-probes.mjs): getattr by a name built at run time on a Python
# module that re-exports a kernel (modhelper.fused = gatekern.thread_kernel): the lookup reads that module's namespace.
# expect: avx512_vpopcntdq
import sys, time
import modhelper
name = "fu" + sys.argv[0][:0] + "sed"
print("READY", flush=True)
while True:
    getattr(modhelper, name)(1)
    time.sleep(0.001)
