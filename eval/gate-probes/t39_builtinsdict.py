# Gate probe for the precise root policy (eval/gate-probes.mjs): getattr taken from the builtins' namespace by a
# constant key (no LOAD_GLOBAL of getattr) and called with a computed name.
# expect: avx512_bf16
import time, sys
import builtins
import gatekern
look = builtins.__dict__['getattr']
name = 'signal_' + sys.argv[0][:0] + 'kernel'
print("READY", flush=True)
while True:
    look(gatekern, name)(1)
    time.sleep(0.001)
