# Gate probe for the precise root policy (eval/gate-probes.mjs): a function fetched from the garbage collector's
# objects by a name built at run time (gchelper.zqgc, named by no code that can run) and called.
# expect: avx512_bf16
import gc, sys, time
import gchelper
want = "zq" + sys.argv[0][:0] + "gc"
fn = None
print("READY", flush=True)
while True:
    if fn is None:
        for o in gc.get_objects():
            if getattr(o, '__name__', None) == want and callable(o):
                fn = o
                break
    fn(1)
    time.sleep(0.001)
