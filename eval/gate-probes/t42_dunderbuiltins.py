# Gate probe for the precise root policy (eval/gate-probes.mjs): getattr as an attribute of the __builtins__ global
# (the builtins module in __main__), passed through a parameter, and called with a computed name.
# expect: avx512_bf16
import time, sys
import gatekern
def fetch(b, obj, name):
    return b.getattr(obj, name)
name = 'signal_' + sys.argv[0][:0] + 'kernel'
print("READY", flush=True)
while True:
    fetch(__builtins__, gatekern, name)(1)
    time.sleep(0.001)
