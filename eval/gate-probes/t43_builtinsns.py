# Gate probe for the precise root policy (eval/gate-probes.mjs): getattr taken from the __builtins__ namespace of an
# imported module (a dict there) by a constant key, and called with a computed name.
# expect: avx512_bf16
import time, sys
import gatekern
import nshelper
name = 'signal_' + sys.argv[0][:0] + 'kernel'
print("READY", flush=True)
while True:
    nshelper.fetch(gatekern, name)(1)
    time.sleep(0.001)
