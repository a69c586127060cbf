# Gate probe for the precise root policy (eval/gate-probes.mjs): vars() of the module read by a computed key.
# expect: avx512_bf16
import time, sys
import gatekern

print("READY", flush=True)
while True:
    vars(gatekern)['signal' + sys.argv[0][:0] + '_kernel'](1)
    time.sleep(0.001)
