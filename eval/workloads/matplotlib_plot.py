# Workload "matplotlib": a line plot and a histogram rendered with the Agg backend to a temporary PNG file,
# again and again. READY after the first figure, then loops until killed.
import os
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

rng = np.random.default_rng(4)
out = os.path.join(tempfile.mkdtemp(prefix="pygration-eval-"), "plot.png")


def step():
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(2, 1), dpi=40)
    x = np.linspace(0, 6, 30)
    ax1.plot(x, np.sin(x))
    ax2.hist(rng.normal(size=50), bins=8)
    fig.savefig(out)
    plt.close(fig)


step()
print("READY", flush=True)
while True:
    step()
