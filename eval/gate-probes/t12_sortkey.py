# Gate probe for the precise root policy (eval/gate-probes.mjs): a kernel as a sorted() key.
# expect: gfni
import time, sys
import gatekern

print("READY", flush=True)
while True:
    sorted([3, 1, 2], key=gatekern.sort_key)
    time.sleep(0.001)
