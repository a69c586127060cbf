# Gate probe for the precise root policy (eval/gate-probes.mjs): getattr by a name built at run time on a Python
# module with a module __getattr__ (hookhelper), which passes the name on to gatekern.
# expect: avx512_bf16
import sys, time
import hookhelper
name = "signal_" + sys.argv[0][:0] + "kernel"
print("READY", flush=True)
while True:
    getattr(hookhelper, name)(1)
    time.sleep(0.001)
