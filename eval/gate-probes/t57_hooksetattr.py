# Gate probe for the precise root policy (eval/gate-probes.mjs): a wrapper whose __getattr__ fetches by the name it is
# given and caches the result with setattr under that name; the program calls a kernel through it by a constant name.
# expect: avx512_bf16
import time, sys
import gatekern


class Cached:
    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        value = getattr(self._inner, name)
        setattr(self, name, value)
        return value


w = Cached(gatekern)
print("READY", flush=True)
while True:
    w.signal_kernel(1)
    time.sleep(0.001)
