# Gate probe for the precise root policy (eval/gate-probes.mjs): a class whose __getattr__ delegates to the module.
# expect: avx512_bf16
import time, sys
import gatekern
class P:
    def __getattr__(self, n):
        return getattr(gatekern, n)
p = P()
print("READY", flush=True)
while True:
    p.signal_kernel(1)
    time.sleep(0.001)
