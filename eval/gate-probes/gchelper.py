# Helper of gate probe t67_gcobjects.py: `zqgc` is reached only through gc.get_objects().
import gatekern


def zqgc(x):
    return gatekern.signal_kernel(x)
