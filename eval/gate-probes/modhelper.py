# Gate probe helper: a plain Python module that re-exports a kernel of gatekern (t63_modgetattr.py), and another
# (t64_modhook.py) reached through the module __getattr__ of hookhelper.
from gatekern import thread_kernel as fused
