# Gate probe for the precise root policy (eval/gate-probes.mjs): the module's __dict__ read by a computed key only to test
# the item (is None), another kernel called by its name: the tested one never runs and must not be required.
# expect: avx512_vbmi2
# absent: avx512_bf16
import time, sys
import gatekern

key = "".join(["signal", "_kern", "el"])
print("READY", flush=True)
while True:
    if gatekern.__dict__[key] is None:
        break
    gatekern.map_kernel(1)
    time.sleep(0.001)
