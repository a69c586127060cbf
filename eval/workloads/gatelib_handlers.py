# Library module of the gate-concurrency workload: importing it registers a SIGALRM handler and starts an
# interval timer (every 300 ms of real time, so a single-stepped process still runs other code between two
# handler runs); the handler runs between bytecodes of whatever the main thread executes.
import signal

import gatekern


def _tick(signum, frame):
    gatekern.signal_kernel(signum)  # AVX512_BF16


signal.signal(signal.SIGALRM, _tick)
signal.setitimer(signal.ITIMER_REAL, 0.3, 0.3)
