# Gate probe for the precise root policy (eval/gate-probes.mjs): a kernel called from a lambda.
# expect: avx512_bf16
import time, sys
import gatekern
g = lambda: gatekern.signal_kernel(1)
print("READY", flush=True)
while True:
    g()
    time.sleep(0.001)
