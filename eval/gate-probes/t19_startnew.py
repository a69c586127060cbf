# Gate probe for the precise root policy (eval/gate-probes.mjs): a kernel as a _thread.start_new_thread target.
# expect: avx512_vpopcntdq
import time, sys
import gatekern
import _thread
print("READY", flush=True)
while True:
    _thread.start_new_thread(gatekern.thread_kernel, (1,)); time.sleep(0.01)
    time.sleep(0.001)
