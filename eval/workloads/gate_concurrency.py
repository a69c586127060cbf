# Gate-attack workload "gate-concurrency": native kernels reached from a worker thread running a function of
# another module, from a signal handler a library registered at import time, and from an asyncio task. READY
# (once the loop runs), then loops until killed.
import threading

import gatelib_async
import gatelib_handlers  # noqa: F401  (registers the SIGALRM handler)
import gatelib_worker

threading.Thread(target=gatelib_worker.spin, daemon=True).start()


def ready():
    print("PATH avx512_vpopcntdq,avx512_bf16,avx512vbmi", flush=True)
    print("READY", flush=True)


gatelib_async.run_forever(ready)
