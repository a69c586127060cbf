# Gate probe for the precise root policy (eval/gate-probes.mjs): a kernel re-exported under another name by a Python helper module (helper.fast).
# expect: avx512_bf16
import time, sys
import gatekern
import helper
print("READY", flush=True)
while True:
    helper.fast(1)
    time.sleep(0.001)
