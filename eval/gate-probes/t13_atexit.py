# Gate probe for the precise root policy (eval/gate-probes.mjs): a kernel registered with atexit (runs at exit only).
# expect: avx512_bf16
import time, sys
import gatekern
import atexit
atexit.register(gatekern.signal_kernel, 1)
print("READY", flush=True)
while True:
    pass
    time.sleep(0.001)
