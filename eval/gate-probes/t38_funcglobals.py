# Gate probe for the precise root policy (eval/gate-probes.mjs): a function's __globals__ is its module's namespace,
# like globals(): a lookup in it by a computed key reaches whatever the module binds (here a kernel imported under
# another name and never used by that name).
# expect: avx512_bf16
import time, sys
from gatekern import signal_kernel as fast
def call(key):
    return call.__globals__[key](1)
key = 'fa' + sys.argv[0][:0] + 'st'
print("READY", flush=True)
while True:
    call(key)
    time.sleep(0.001)
