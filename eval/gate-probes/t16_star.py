# Gate probe for the precise root policy (eval/gate-probes.mjs): a kernel from a star import of the extension.
# expect: avx512_bf16
import time, sys
import gatekern
from gatekern import *
print("READY", flush=True)
while True:
    signal_kernel(1)
    time.sleep(0.001)
