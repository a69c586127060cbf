# Gate probe for the precise root policy (eval/gate-probes.mjs): operator.attrgetter kept in a list (loaded, not called
# where it is loaded) and called later with a computed name.
# expect: avx512_bf16
import time, sys, operator
import gatekern
tools = [operator.attrgetter]
name = 'signal_' + sys.argv[0][:0] + 'kernel'
print("READY", flush=True)
while True:
    tools[0](name)(gatekern)(1)
    time.sleep(0.001)
