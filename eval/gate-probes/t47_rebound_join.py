# Gate probe for the precise root policy (eval/gate-probes.mjs): getattr by a module global prefix joined to a
# constant suffix, the prefix rebound from outside at run time.
# expect: avx512_bf16
import time
import gatekern, namehelper
namehelper.PREFIX = ''.join(['sig', 'nal'])
print("READY", flush=True)
while True:
    namehelper.by_join(gatekern)
    time.sleep(0.001)
