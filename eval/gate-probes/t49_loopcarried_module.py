# Gate probe for the precise root policy (eval/gate-probes.mjs): as t48, in the module body's loop (a live frame of
# the program's module), on an object of unknown type.
# expect: avx512_bf16
import time
import gatekern
def fetch(obj, name):
    return getattr(obj, name)
name = 'map_kernel'
print("READY", flush=True)
while True:
    fetch(gatekern, name)(1)
    name = ''.join(['signal', '_kernel'])
    time.sleep(0.001)
