# Gate probe for the precise root policy (eval/gate-probes.mjs): a __getattr__ that looks up a name of its own making
# (the name it is given joined to a suffix): the attribute it fetches is named nowhere.
# expect: avx512_bf16
import time
import gatekern
class Wrapper:
    def __init__(self, inner):
        self.inner = inner
    def __getattr__(self, name, getattr=getattr):
        return getattr(self.inner, name + '_kernel')
w = Wrapper(gatekern)
print("READY", flush=True)
while True:
    w.signal(1)
    time.sleep(0.001)
