# Gate probe for the precise root policy (eval/gate-probes.mjs): a kernel as a default argument value.
# expect: avx512_bf16
import time, sys
import gatekern
def f(k=gatekern.signal_kernel):
    return k(1)
print("READY", flush=True)
while True:
    f()
    time.sleep(0.001)
