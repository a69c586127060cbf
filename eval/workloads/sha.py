# Workload "sha": SHA-256 of short messages through our C extension (eval/workloads/native/shani.c, SHA-NI
# when present) and through hashlib (OpenSSL), checked against each other. READY, then loops until killed.
import hashlib
import os

import shani

msgs = [os.urandom(n) for n in (16, 64, 100, 200)]
for m in msgs:
    assert shani.sha256(m) == hashlib.sha256(m).digest()
print("PATH", shani.path(), flush=True)
print("READY", flush=True)
i = 0
while True:
    m = msgs[i & 3]
    d = shani.sha256(m)
    if i % 4 == 0:
        assert d == hashlib.sha256(m).digest()
    i += 1
