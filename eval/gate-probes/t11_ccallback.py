# Gate probe for the precise root policy (eval/gate-probes.mjs): a Python method the extension calls back by name (each → on_item) calls a kernel.
# expect: avx512_bf16
import time, sys
import gatekern
class Sink:
    def on_item(self, i):
        gatekern.signal_kernel(i)
s = Sink()
print("READY", flush=True)
while True:
    gatekern.each(s, 2)
    time.sleep(0.001)
