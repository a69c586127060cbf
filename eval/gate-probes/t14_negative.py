# Gate probe for the precise root policy (eval/gate-probes.mjs): control: one kernel called; the others must not be required.
# absent: avx512_bf16 avx512_bitalg avx512_vpopcntdq avx512vbmi gfni
import time, sys
import gatekern

print("READY", flush=True)
while True:
    gatekern.map_kernel(1)
    time.sleep(0.001)
