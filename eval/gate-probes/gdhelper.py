# Helper of gate probe t68_getattrdict.py: `zqdict` is reached only through getattr(gdhelper, '__dict__')[key].
import gatekern


def zqdict(x):
    return gatekern.signal_kernel(x)
