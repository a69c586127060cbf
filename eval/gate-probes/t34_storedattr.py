# Gate probe for the precise root policy (eval/gate-probes.mjs): a kernel stored on an object by code that ran once at
# start-up (and cannot run again), called in the loop through the attribute's name only.
# expect: avx512_bf16
import time
import gatekern
class Holder:
    pass
h = Holder()
def setup():
    h.run = gatekern.signal_kernel
setup()
print("READY", flush=True)
while True:
    h.run(1)
    time.sleep(0.001)
