# Gate probe for the precise root policy (eval/gate-probes.mjs): the name given to getattr is a constant on the loop's
# first pass only; the loop body rebinds it, after the call, to a name built at run time (a loop-carried value).
# expect: avx512_bf16
import time
import gatekern
def run(obj):
    name = 'map_kernel'
    while True:
        getattr(obj, name)(1)
        name = ''.join(['signal', '_kernel'])
        time.sleep(0.001)
print("READY", flush=True)
run(gatekern)
