# Gate probe helper (t54_fromhook.py): a module __getattr__ (PEP 562) that forwards missing names to gatekern.
import gatekern
def __getattr__(name):
    return getattr(gatekern, name)
