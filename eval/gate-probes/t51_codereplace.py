# Gate probe for the precise root policy (eval/gate-probes.mjs): a function's code object rebuilt at run time with
# other names (code.replace(co_names=...)): the code that runs looks up a name no code object shows.
# expect: avx512_bf16
import time
import gatekern
def template():
    return gatekern.map_kernel(1)
names = ('gatekern', ''.join(['signal', '_kernel']))
fn = type(template)(template.__code__.replace(co_names=names), {'gatekern': gatekern})
print("READY", flush=True)
while True:
    fn()
    time.sleep(0.001)
