# Gate probe for the precise root policy (eval/gate-probes.mjs): a module's __getattribute__ kept in a list (not called
# where it is loaded) and called later with a computed name.
# expect: avx512_bf16
import time, sys
import gatekern
looks = [gatekern.__getattribute__]
name = 'signal_' + sys.argv[0][:0] + 'kernel'
print("READY", flush=True)
while True:
    looks[0](name)(1)
    time.sleep(0.001)
