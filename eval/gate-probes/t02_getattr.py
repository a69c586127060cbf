# Gate probe for the precise root policy (eval/gate-probes.mjs): getattr on the extension module with a computed name (confined to that module).
# expect: avx512_bf16
import time, sys
import gatekern

print("READY", flush=True)
while True:
    getattr(gatekern, 'signal_' + sys.argv[0][:0] + 'kernel')(1)
    time.sleep(0.001)
