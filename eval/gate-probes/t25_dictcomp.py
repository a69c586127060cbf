# Gate probe for the precise root policy (eval/gate-probes.mjs): a dict of kernels built with getattr over constant names.
# expect: avx512_bf16
import time, sys
import gatekern
T = {n: getattr(gatekern, n) for n in ['signal_kernel', 'map_kernel']}
print("READY", flush=True)
while True:
    T['signal_kernel'](1)
    time.sleep(0.001)
