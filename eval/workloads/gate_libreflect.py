# Gate-attack workload "gate-libreflect": a library module (gatelib_reflect.py) reaches native kernels by names
# it builds at run time (getattr, exec, pickle.loads), which the program's own file never names. READY, then loops.
import gatekern
import gatelib_reflect

runner = gatelib_reflect.Runner(gatekern.Kernels())
for i in range(4):
    runner.step(i)
print("PATH gfni,avx512_vbmi2,avx512_bitalg", flush=True)
print("READY", flush=True)
i = 0
acc = 0
while True:
    acc ^= runner.step(i)
    i += 1
