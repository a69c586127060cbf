# Gate probe helper (t43_builtinsns.py): getattr from this module's __builtins__ (a dict in an imported module).
def fetch(obj, name):
    look = __builtins__['getattr'] if isinstance(__builtins__, dict) else __builtins__.getattr
    return look(obj, name)
