# Gate probe for the precise root policy (eval/gate-probes.mjs): a kernel kept as a staticmethod class attribute.
# expect: avx512_bf16
import time, sys
import gatekern
class C:
    k = staticmethod(gatekern.signal_kernel)
print("READY", flush=True)
while True:
    C.k(1)
    time.sleep(0.001)
