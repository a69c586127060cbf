# Gate probe for the precise root policy (eval/gate-probes.mjs): the module's __dict__ read by a computed key, the item
# tested and then handed to a function that calls it.
# expect: avx512_bf16
import time, sys
import gatekern


def run(f):
    return f(1)


key = "".join(["signal", "_kern", "el"])
print("READY", flush=True)
while True:
    if gatekern.__dict__[key] is not None:
        run(gatekern.__dict__[key])
    time.sleep(0.001)
