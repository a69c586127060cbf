# Gate probe for the precise root policy (eval/gate-probes.mjs): eval of a built string.
# expect: avx512_bf16
import time, sys
import gatekern

print("READY", flush=True)
while True:
    eval('gatekern.signal' + sys.argv[0][:0] + '_kernel')(1)
    time.sleep(0.001)
