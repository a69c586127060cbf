# Library module of the gate-concurrency workload: the function a worker thread runs (started by the program
# with this module's function as its target). It sleeps 200 ms between calls, leaving the GIL
# to the event loop (single-stepped, the process runs ~30 times slower, and a busy thread would take the GIL often).
import time

import gatekern


def spin():
    i = 0
    while True:
        gatekern.thread_kernel(i)  # AVX512_VPOPCNTDQ
        i += 1
        time.sleep(0.2)
