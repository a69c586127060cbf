# Gate probe helper: re-exports a kernel of gatekern under another name (t01_alias.py).
from gatekern import signal_kernel as fast
