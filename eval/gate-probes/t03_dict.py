# Gate probe for the precise root policy (eval/gate-probes.mjs): a kernel kept in a module-level dict and called through it.
# expect: avx512_bf16
import time, sys
import gatekern
T = {'a': gatekern.signal_kernel}
print("READY", flush=True)
while True:
    T['a'](1)
    time.sleep(0.001)
