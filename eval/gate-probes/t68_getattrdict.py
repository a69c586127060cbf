# Gate probe for the precise root policy (eval/gate-probes.mjs): a module's namespace fetched by
# getattr(module, '__dict__') and read by a key built at run time (gdhelper.zqdict, named by no code that can run).
# expect: avx512_bf16
import sys, time
import gdhelper
key = "zq" + sys.argv[0][:0] + "dict"
print("READY", flush=True)
while True:
    getattr(gdhelper, '__dict__')[key](1)
    time.sleep(0.001)
