# Gate probe for the precise root policy (eval/gate-probes.mjs): the module's __dict__ read by a constant key.
# expect: avx512_bf16
import time, sys
import gatekern

print("READY", flush=True)
while True:
    gatekern.__dict__['signal_kernel'](1)
    time.sleep(0.001)
