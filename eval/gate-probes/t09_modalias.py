# Gate probe for the precise root policy (eval/gate-probes.mjs): a kernel fetched through a module alias at start-up and called later.
# expect: avx512_bf16
import time, sys
import gatekern
import gatekern as g2
fn = g2.signal_kernel
print("READY", flush=True)
while True:
    fn(1)
    time.sleep(0.001)
