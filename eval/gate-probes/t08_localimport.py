# Gate probe for the precise root policy (eval/gate-probes.mjs): a kernel imported under another name inside a function.
# expect: avx512_bf16
import time, sys
import gatekern
def f():
    from gatekern import signal_kernel as s
    s(1)
print("READY", flush=True)
while True:
    f()
    time.sleep(0.001)
