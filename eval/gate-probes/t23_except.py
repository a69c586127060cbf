# Gate probe for the precise root policy (eval/gate-probes.mjs): a kernel called in an exception handler.
# expect: avx512_bf16
import time, sys
import gatekern

print("READY", flush=True)
while True:
    try:
        raise ValueError
    except ValueError:
        gatekern.signal_kernel(1)
    time.sleep(0.001)
