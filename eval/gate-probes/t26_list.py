# Gate probe for the precise root policy (eval/gate-probes.mjs): a list of kernels indexed at run time.
# expect: avx512_bf16
import time, sys
import gatekern
L = [gatekern.signal_kernel, gatekern.map_kernel]
print("READY", flush=True)
while True:
    L[0](1)
    time.sleep(0.001)
