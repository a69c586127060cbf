# Gate probe for the precise root policy (eval/gate-probes.mjs): str.format looks attributes up by the names in its
# format string ('{0.signal_kernel}'), which no co_names holds and no identifier constant spells; here through an
# attribute hook that passes the name on.
# expect: avx512_bf16
import time, sys
import gatekern
class Proxy:
    def __getattr__(self, name):
        return getattr(gatekern, name)(1)
proxy = Proxy()
fmt = '{0.signal_kernel}'
print("READY", flush=True)
while True:
    fmt.format(proxy)
    time.sleep(0.001)
