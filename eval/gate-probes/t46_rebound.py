# Gate probe for the precise root policy (eval/gate-probes.mjs): getattr by a module global holding a constant name,
# which the program rebinds, from outside, to a name built at run time.
# expect: avx512_bf16
import time
import gatekern, namehelper
namehelper.NAME = ''.join(['signal', '_kernel'])
print("READY", flush=True)
while True:
    namehelper.by_name(gatekern)
    time.sleep(0.001)
