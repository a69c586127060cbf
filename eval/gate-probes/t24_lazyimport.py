# Gate probe for the precise root policy (eval/gate-probes.mjs): the extension imported inside a function under another name.
# expect: avx512_bf16
import time, sys
import gatekern
def f():
    import gatekern as g
    return g.signal_kernel(1)
print("READY", flush=True)
while True:
    f()
    time.sleep(0.001)
