# Gate probe helper (t32_starglobals.py): a namespace filled by a star import of the extension, read by computed keys.
from gatekern import *
def call(name):
    return globals()[name](1)
