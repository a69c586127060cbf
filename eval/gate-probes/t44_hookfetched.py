# Gate probe for the precise root policy (eval/gate-probes.mjs): object.__getattribute__ fetched by a constant name
# and called with a computed name.
# expect: avx512_bf16
import time, sys
import gatekern
look = getattr(object, '__getattribute__')
name = 'signal_' + sys.argv[0][:0] + 'kernel'
print("READY", flush=True)
while True:
    look(gatekern, name)(1)
    time.sleep(0.001)
