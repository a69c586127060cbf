# Workload "dask": a small task graph (delayed functions and a chunked array reduction) computed with the
# threaded scheduler on two workers, again and again. READY after the first result, then loops until killed.
import dask
import dask.array as da
import numpy as np


def load(i):
    return np.arange(i, i + 20, dtype=float)


def clean(x):
    return x[x % 3 != 0]


def summarize(parts):
    return float(sum(p.sum() for p in parts))


def step(i):
    parts = [dask.delayed(clean)(dask.delayed(load)(i + k)) for k in range(4)]
    total = dask.delayed(summarize)(parts)
    arr = da.from_array(np.arange(64, dtype=float).reshape(8, 8), chunks=(4, 4))
    return dask.compute(total, (arr * 2 + i).mean(axis=0).sum(), scheduler="threads", num_workers=2)


step(0)
print("READY", flush=True)
i = 0
while True:
    step(i)
    i += 1
