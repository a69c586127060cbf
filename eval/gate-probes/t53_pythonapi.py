# Gate probe for the precise root policy (eval/gate-probes.mjs): the interpreter's C API called through ctypes
# (PyObject_GetAttrString) looks an attribute up by a computed name.
# expect: avx512_bf16
import time, sys, ctypes
import gatekern
api = ctypes.pythonapi
look = api.PyObject_GetAttrString
look.restype = ctypes.py_object
look.argtypes = [ctypes.py_object, ctypes.c_char_p]
name = ('signal_' + sys.argv[0][:0] + 'kernel').encode()
print("READY", flush=True)
while True:
    look(gatekern, name)(1)
    time.sleep(0.001)
