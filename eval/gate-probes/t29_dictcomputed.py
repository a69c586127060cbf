# Gate probe for the precise root policy (eval/gate-probes.mjs): the module's __dict__ read by a key computed at run time.
# expect: avx512_bf16
import time, sys
import gatekern

key = "".join(["signal", "_kern", "el"])
print("READY", flush=True)
while True:
    gatekern.__dict__[key](1)
    time.sleep(0.001)
