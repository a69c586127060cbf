# Gate probe for the precise root policy (eval/gate-probes.mjs): top-level functions that the module code calls once
# (`launch()`, which calls `pump()`), each calling a kernel at its start, before the loop that runs now. Nothing can call
# them anew, so those calls cannot run again and their features must not be required (the loop's kernel is). (Named
# `main`, the first would count whole under 3.8 and 3.9, whose interpreters may look the name `main` up from C.)
# expect: avx512_vbmi2
# absent: avx512_bf16 avx512_bitalg
import time
import gatekern


def pump():
    gatekern.reduce_kernel(1, 2)
    print("READY", flush=True)
    while True:
        gatekern.map_kernel(1)
        time.sleep(0.001)


def launch():
    gatekern.signal_kernel(1)
    pump()


if __name__ == "__main__":
    launch()
