# Gate probe for the precise root policy (eval/gate-probes.mjs): a functools.partial of a kernel made at start-up.
# expect: avx512_bf16
import time, sys
import gatekern
import functools
f = functools.partial(gatekern.signal_kernel, 1)
print("READY", flush=True)
while True:
    f()
    time.sleep(0.001)
