# Gate probe for the precise root policy (eval/gate-probes.mjs): a kernel the program calls once at start-up, before the
# loop that runs now: that call cannot run again, so its feature must not be required (the loop's kernel is).
# expect: avx512_vbmi2
# absent: avx512_bf16
import time
import gatekern

gatekern.signal_kernel(1)
print("READY", flush=True)
while True:
    gatekern.map_kernel(1)
    time.sleep(0.001)
