# Gate probe for the precise root policy (eval/gate-probes.mjs): codecs' delegation, a __getattr__ whose builtin getattr
# is a default argument, passing the name it is given on to an object held in an attribute (no module receiver).
# expect: avx512_bf16
# absent: avx512_bitalg avx512_vpopcntdq avx512vbmi gfni
import time
import gatekern
class Wrapper:
    def __init__(self, inner):
        self.inner = inner
    def __getattr__(self, name, getattr=getattr):
        return getattr(self.inner, name)
w = Wrapper(gatekern)
print("READY", flush=True)
while True:
    w.signal_kernel(1)
    time.sleep(0.001)
