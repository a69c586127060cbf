# Workload "pku": writes into a buffer guarded by a memory protection key through our C extension
# (eval/workloads/native/pkeys.c: pkey_mprotect, WRPKRU/RDPKRU through glibc). READY, then loops until killed.
import pkeys

print("PATH", pkeys.path(), flush=True)
data = [bytes([i]) * 16 for i in range(8)]
for i, d in enumerate(data):
    pkeys.write(i * 16, d)
print("READY", flush=True)
i = 0
while True:
    pkeys.write((i & 7) * 16, data[i & 7])
    if i & 63 == 0:
        pkeys.rights()
    i += 1
