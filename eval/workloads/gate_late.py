# Gate-attack workload "gate-late" (a documented limit): code loaded after the analysis. It prints READY, then
# loops on plain Python until the file named by PYGRATION_EVAL_TRIGGER appears (the evaluation creates it once
# the static analyses are done), imports gatelib_late by a computed name, prints LOADED, then loops on its kernel.
import importlib
import os

trigger = os.environ.get("PYGRATION_EVAL_TRIGGER", "")
print("PATH avx512_vpopcntdq", flush=True)
print("READY", flush=True)
late = None
i = 0
acc = 0
while late is None:
    acc = (acc * 31 + i) & 0xFFFF
    i += 1
    if i % 2000 == 0 and trigger and os.path.exists(trigger):
        late = importlib.import_module("_".join(("gatelib", "late")))
        print("LOADED", flush=True)
while True:
    acc ^= late.work(i)
    i += 1
