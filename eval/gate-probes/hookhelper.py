# Gate probe helper (t64_modhook.py): a module whose __getattr__ hands the name it is given on to gatekern.
import gatekern


def __getattr__(name):
    return getattr(gatekern, name)
