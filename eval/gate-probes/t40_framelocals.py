# Gate probe for the precise root policy (eval/gate-probes.mjs): a frame's f_globals is its module's namespace: a
# lookup in it by a computed key reaches whatever the module binds.
# expect: avx512_bf16
import time, sys
from gatekern import signal_kernel as fast
def call(key):
    return sys._getframe(0).f_globals[key](1)
key = 'fa' + sys.argv[0][:0] + 'st'
print("READY", flush=True)
while True:
    call(key)
    time.sleep(0.001)
