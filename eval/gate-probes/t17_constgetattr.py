# Gate probe for the precise root policy (eval/gate-probes.mjs): getattr with a constant name.
# expect: avx512_bf16
import time, sys
import gatekern

print("READY", flush=True)
while True:
    getattr(gatekern, 'signal_kernel')(1)
    time.sleep(0.001)
