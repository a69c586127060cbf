# Gate probe for the precise root policy (eval/gate-probes.mjs): the builtin getattr as the default of a parameter with
# another name, called with a computed name: the function calls getattr under a name the gate cannot tie to it.
# expect: avx512_bf16
import time, sys
import gatekern
def fetch(obj, name, look=getattr):
    return look(obj, name)
print("READY", flush=True)
while True:
    fetch(gatekern, 'signal' + sys.argv[0][:0] + '_kernel')(1)
    time.sleep(0.001)
