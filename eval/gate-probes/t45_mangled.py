# Gate probe for the precise root policy (eval/gate-probes.mjs): a class-private method is called by its mangled name
# (`self.__kern()` compiles to `_Runner__kern`), while its code object is named `__kern`.
# expect: avx512_bf16
import time
import manglehelper
r = manglehelper.Runner()
print("READY", flush=True)
while True:
    r.run()
    time.sleep(0.001)
