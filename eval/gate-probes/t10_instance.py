# Gate probe for the precise root policy (eval/gate-probes.mjs): getattr with a computed name on an extension type's instance.
# expect: gfni
import time, sys
import gatekern
k = gatekern.Kernels()
print("READY", flush=True)
while True:
    getattr(k, 'gf_' + sys.argv[0][:0] + 'mix')(1)
    time.sleep(0.001)
