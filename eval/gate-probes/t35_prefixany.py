# Gate probe for the precise root policy (eval/gate-probes.mjs): getattr by a constant prefix joined to a computed rest,
# on an object of unknown type (a parameter): every function whose name has that prefix stays.
# expect: avx512_bf16
# absent: avx512_bitalg avx512_vpopcntdq avx512vbmi gfni
import time, sys
import gatekern
def call(obj, rest):
    return getattr(obj, 'signal_' + rest)(1)
rest = 'kern' + sys.argv[0][:0] + 'el'
print("READY", flush=True)
while True:
    call(gatekern, rest)
    time.sleep(0.001)
