# Gate probe for the precise root policy (eval/gate-probes.mjs): a function of the program that no code calls: the kernel it
# would call must not be required (the loop's kernel is).
# absent: avx512_bf16
# expect: avx512_vbmi2
import time
import gatekern

def never_called():
    return gatekern.signal_kernel(1)

print("READY", flush=True)
while True:
    gatekern.map_kernel(1)
    time.sleep(0.001)
