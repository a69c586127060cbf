# Gate probe for the precise root policy (eval/gate-probes.mjs): a library function looks a function of its own module
# up in its `__globals__` by a key built at run time (nsghelper.call): the kernel that function calls is named by no
# code that can run.
# expect: avx512_bf16
import sys, time
import nsghelper
key = "zq" + sys.argv[0][:0] + "kernel"
print("READY", flush=True)
while True:
    nsghelper.call(key)
    time.sleep(0.001)
