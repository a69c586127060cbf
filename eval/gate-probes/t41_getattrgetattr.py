# Gate probe for the precise root policy (eval/gate-probes.mjs): getattr fetched by a constant name (getattr(builtins,
# 'getattr')) and called with a computed name.
# expect: avx512_bf16
import time, sys
import builtins
import gatekern
look = getattr(builtins, 'getattr')
name = 'signal_' + sys.argv[0][:0] + 'kernel'
print("READY", flush=True)
while True:
    look(gatekern, name)(1)
    time.sleep(0.001)
