# Gate probe for the precise root policy (eval/gate-probes.mjs): a module whose namespace a star import of the extension
# filled, read through globals() by a computed key (os.py's pattern, `from posix import *`).
# expect: avx512_bf16
import time, sys
import starhelper
print("READY", flush=True)
while True:
    starhelper.call('signal' + sys.argv[0][:0] + '_kernel')
    time.sleep(0.001)
