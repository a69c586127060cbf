# Gate probe for the precise root policy (eval/gate-probes.mjs): a kernel as a threading.Thread target.
# expect: avx512_vpopcntdq
import time, sys
import gatekern
import threading
print("READY", flush=True)
while True:
    t = threading.Thread(target=gatekern.thread_kernel, args=(1,)); t.start(); t.join()
    time.sleep(0.001)
