# Gate probe for the precise root policy (eval/gate-probes.mjs): kernels start-up code touches and keeps: one bound to a
# name the loop calls, one kept in a list the loop calls from after its name was unbound, one handed to atexit. Each
# can run again, so each feature stays required.
# expect: avx512_bf16 avx512_bitalg avx512vbmi
import atexit
import time
import gatekern

k = gatekern.signal_kernel
k(1)
r, _ = gatekern.reduce_kernel, 0
r(1, 2)
table = [r]
r = None
atexit.register(gatekern.async_kernel, 1)
print("READY", flush=True)
while True:
    k(1)
    table[0](1, 2)
    time.sleep(0.001)
