# Gate probe for the precise root policy (eval/gate-probes.mjs): as t65, with the namespace fetched by
# `getattr(fn, '__globals__')` and the key built at run time.
# expect: avx512vbmi
import sys, time
import nsgahelper
key = "zq" + sys.argv[0][:0] + "async"
print("READY", flush=True)
while True:
    nsgahelper.call(key)
    time.sleep(0.001)
