# Gate probe for the precise root policy (eval/gate-probes.mjs): `from lazyhelper import signal_kernel as k` inside a
# function, where lazyhelper's module __getattr__ forwards the name to gatekern: the import hands the hook a name
# that only the import statement spells, and the code calls it under a local alias.
# expect: avx512_bf16
import time
import lazyhelper
def call():
    from lazyhelper import signal_kernel as k
    return k(1)
print("READY", flush=True)
while True:
    call()
    time.sleep(0.001)
