# Gate probe for the precise root policy (eval/gate-probes.mjs): a method called on an extension type's instance made at start-up.
# expect: gfni
import time, sys
import gatekern
k = gatekern.Kernels()
print("READY", flush=True)
while True:
    k.gf_mix(1)
    time.sleep(0.001)
