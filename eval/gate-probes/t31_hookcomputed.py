# Gate probe for the precise root policy (eval/gate-probes.mjs): a __getattr__ that looks up a name of its own making
# (a prefix joined to the name it is given): the attribute it fetches is named only by that prefix.
# expect: avx512_bf16
import time
import gatekern
class Wrapper:
    def __init__(self, inner):
        self.inner = inner
    def __getattr__(self, name, getattr=getattr):
        return getattr(self.inner, 'signal_' + name)
w = Wrapper(gatekern)
print("READY", flush=True)
while True:
    w.kernel(1)
    time.sleep(0.001)
