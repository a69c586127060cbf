# Pygration's bytecode dump helper, the standard library's real exports: imports STANDARD-LIBRARY modules only
# (never third-party or user code, never calls a function) and says what a name the code binds at run time is.
"""
A stdlib module may bind names in ways bytecode does not show (hashlib fills its namespace through globals()
from _hashlib or _sha256). For such names the resolver asks the `introspect` request: the module is imported
with sys.path cut down to the standard library's own directories, non-standard finders set aside, stdout and
stderr captured; the name is read from the module's __dict__ (no module __getattr__, no descriptor, no call)
and described:

  {'kind': 'native-function', 'module': '_hashlib', 'name': 'openssl_sha256', 'file': '.../_hashlib...so'}
  {'kind': 'native-method', 'module': '_random', 'type': 'Random', 'name': 'random', 'file': ...}
  {'kind': 'native-type', 'module': '_hashlib', 'type': 'HASH', 'file': ...}
  {'kind': 'function' | 'class', 'module': 'hashlib', 'qualname': '__hash_new'}
  {'kind': 'module', 'module': 'posixpath'}
  {'kind': 'instance', 'of': <one of the above for its type>}

Modules imported for the request are dropped from sys.modules afterwards, so the finder's answers (which
consult sys.modules for aliases) do not depend on what was asked before.
"""

import importlib
import importlib.machinery
import io
import os
import sys
import sysconfig
import types

from pygration_model import EXT_SUFFIXES, STANDARD_FINDERS

# Imported for a side effect (a browser, an IDE, printed text) or not a library at all: never imported.
NEVER = frozenset(['antigravity', 'this', 'idlelib', 'turtledemo', 'test', 'tkinter.__main__', '__hello__',
                   '__phello__', '__main__', 'lib2to3.__main__', 'ensurepip.__main__', 'venv.__main__'])

# The path hooks of the import system itself (zip files, directories); others are set aside while importing.
STANDARD_HOOK_MODULES = frozenset(['zipimport', 'importlib._bootstrap_external', '_frozen_importlib_external'])


def _norm(p):
    return os.path.normcase(os.path.realpath(p)) if p else None


def _third_party_dirs():
    out = set()
    paths = sysconfig.get_paths()
    for key in ('purelib', 'platlib'):
        if paths.get(key):
            out.add(_norm(paths[key]))
    for p in sys.path:
        base = os.path.basename(p.rstrip(os.sep))
        if base in ('site-packages', 'dist-packages'):
            out.add(_norm(p))
    return tuple(d for d in out if d)


def _stdlib_dirs():
    """The directories the standard library lives in: stdlib, platstdlib, lib-dynload, the zip of the stdlib."""
    paths = sysconfig.get_paths()
    dirs = []
    for key in ('stdlib', 'platstdlib'):
        p = paths.get(key)
        if p and p not in dirs and os.path.isdir(p):
            dirs.append(p)
    here = os.path.dirname(os.__file__) if getattr(os, '__file__', None) else None
    if here and here not in dirs:
        dirs.append(here)
    for p in list(dirs):
        dyn = os.path.join(p, 'lib-dynload')
        if os.path.isdir(dyn) and dyn not in dirs:
            dirs.append(dyn)
    # The sys.path entries the interpreter itself put there for the stdlib (python3X.zip, lib-dynload).
    for p in sys.path:
        if p and (p.endswith('.zip') or os.path.basename(p) == 'lib-dynload') and _under(_norm(p), dirs + [sys.prefix, getattr(sys, 'base_prefix', sys.prefix)]):
            if p not in dirs:
                dirs.append(p)
    return dirs


def _has_python_code(t):
    """Whether a type's own namespace holds Python code (a function, or one wrapped by staticmethod, classmethod, property)."""
    for v in vars(t).values():
        for x in (v, getattr(v, '__func__', None), getattr(v, 'fget', None)):
            if isinstance(x, types.FunctionType):
                return True
    return False


def _under(path, dirs):
    if not path:
        return False
    for d in dirs:
        d = _norm(d)
        if d and (path == d or path.startswith(d.rstrip(os.sep) + os.sep)):
            return True
    return False


class Introspector:
    def __init__(self):
        self.dirs = _stdlib_dirs()
        self.third = _third_party_dirs()
        names = getattr(sys, 'stdlib_module_names', None)  # 3.10+
        self.names = frozenset(names) if names is not None else None

    def is_stdlib_file(self, path):
        p = _norm(path)
        if not p or not _under(p, self.dirs):
            return False
        return not any(p == t or p.startswith(t.rstrip(os.sep) + os.sep) for t in self.third)

    def why_not(self, module, file):
        """None when `module` (found at `file`) is the standard library's, else the reason it is not."""
        top = module.split('.')[0]
        parts = module.split('.')
        for k in range(1, len(parts) + 1):
            if '.'.join(parts[:k]) in NEVER:
                return '%s is never imported by the helper (side effects)' % module
        if parts[-1] == '__main__' or top.startswith('_test') or top.startswith('test'):
            return '%s is never imported by the helper' % module
        if self.names is not None and top not in self.names:
            return '%s is not a standard-library module' % module
        if top in sys.builtin_module_names and module == top:
            return None
        if not file and self.names is not None and importlib.machinery.FrozenImporter.find_spec(module) is not None:
            return None  # a frozen stdlib module (3.11+ freezes os, codecs, ...): no file, and listed above
        if not file or not self.is_stdlib_file(file):
            return '%s (%s) is not in the standard library\'s directories' % (module, file)
        return None

    def handle(self, request):
        """[[module, file, [names...]], ...] -> one answer per module."""
        out = []
        for item in request.get('modules') or []:
            try:
                module, file, names = item[0], item[1], [n for n in item[2] if isinstance(n, str)]
            except (TypeError, IndexError, KeyError):
                continue
            if not isinstance(module, str) or not module:
                continue
            out.append(self.one(module, file if isinstance(file, str) else None, names))
        return out

    def one(self, module, file, names):
        answer = {'module': module, 'names': {}}
        reason = self.why_not(module, file)
        if reason is not None:
            answer['reason'] = reason
            return answer
        mod, reason = self._import(module, file)
        if mod is None:
            answer['reason'] = reason
            return answer
        try:
            d = vars(mod)
            for n in names:
                if n not in d:
                    answer['names'][n] = None  # not bound at import time either (a __getattr__ name, a typo)
                    continue
                try:
                    answer['names'][n] = self.describe(d[n])
                except Exception:
                    answer['names'][n] = None
        finally:
            self._forget()
        return answer

    def _import(self, module, file):
        saved_path = sys.path[:]
        saved_meta = sys.meta_path[:]
        saved_hooks = sys.path_hooks[:]
        saved_cache = dict(sys.path_importer_cache)
        saved_out, saved_err = sys.stdout, sys.stderr
        self._before = set(sys.modules)
        sys.path[:] = self.dirs
        sys.path_hooks[:] = [h for h in saved_hooks if getattr(h, '__module__', None) in STANDARD_HOOK_MODULES]
        sys.path_importer_cache.clear()
        sys.meta_path[:] = [f for f in saved_meta if f in STANDARD_FINDERS or isinstance(f, STANDARD_FINDERS) or
                            (isinstance(f, type) and issubclass(f, STANDARD_FINDERS))]
        sys.stdout = io.StringIO()
        sys.stderr = io.StringIO()
        try:
            importlib.invalidate_caches()
            mod = importlib.import_module(module)
        except BaseException as e:  # SystemExit and KeyboardInterrupt too: a module must not end the helper
            self._forget()
            return None, 'importing %s failed: %s: %s' % (module, type(e).__name__, e)
        finally:
            sys.path[:] = saved_path
            sys.meta_path[:] = saved_meta
            sys.path_hooks[:] = saved_hooks
            sys.path_importer_cache.clear()
            sys.path_importer_cache.update(saved_cache)
            sys.stdout, sys.stderr = saved_out, saved_err
        got = getattr(mod, '__file__', None)
        if file and got and _norm(got) != _norm(file):
            self._forget()
            return None, '%s imports from %s, not %s' % (module, got, file)
        return mod, None

    def _forget(self):
        before = getattr(self, '_before', None)
        if before is None:
            return
        for name in list(sys.modules):
            if name not in before:
                sys.modules.pop(name, None)
        self._before = None

    # -----------------------------------------------------------------------------------------------------
    # What a value is, without calling it.

    def _module_file(self, name):
        m = sys.modules.get(name)
        if name in sys.builtin_module_names:
            return None, True
        f = getattr(m, '__file__', None)
        return f, False

    def _native(self, record, module):
        """Adds where the C code of `module` lives; None when it is not the standard library's C code."""
        if not isinstance(module, str):
            return None
        if module == 'builtins':
            record['builtin'] = True
            return record
        f, builtin = self._module_file(module)
        if builtin:
            record['builtin'] = True
            return record
        if f and f.endswith(EXT_SUFFIXES) and self.is_stdlib_file(f):
            record['file'] = f
            return record
        return None

    def _is_python_module(self, name):
        m = sys.modules.get(name)
        f = getattr(m, '__file__', None)
        return bool(f) and not f.endswith(EXT_SUFFIXES)

    def describe_type(self, t):
        mod = getattr(t, '__module__', None)
        qual = getattr(t, '__qualname__', None)
        if not isinstance(mod, str) or not isinstance(qual, str) or '<' in qual:
            return None
        if self._is_python_module(mod):
            # python: whether a class statement made it (its own dict holds Python code), or it is a C type that says
            # it is the Python module's (operator.attrgetter is _operator's, bound over operator.py's own class).
            return {'kind': 'class', 'module': mod, 'qualname': qual, 'python': _has_python_code(t)}
        return self._native({'kind': 'native-type', 'module': mod, 'type': qual}, mod)

    def describe(self, v):
        if isinstance(v, types.ModuleType):
            return {'kind': 'module', 'module': v.__name__}
        if isinstance(v, types.BuiltinFunctionType):  # builtin_function_or_method: C functions and bound C methods
            owner = getattr(v, '__self__', None)
            name = v.__name__
            if owner is None or isinstance(owner, types.ModuleType):
                mod = owner.__name__ if owner is not None else v.__module__
                return self._native({'kind': 'native-function', 'module': mod, 'name': name}, mod)
            cls = owner if isinstance(owner, type) else type(owner)
            for c in cls.__mro__:
                if name in vars(c):
                    t = self.describe_type(c)
                    if t is None or t['kind'] != 'native-type':
                        return None
                    t['kind'] = 'native-method'
                    t['name'] = name
                    return t
            return None
        if isinstance(v, types.FunctionType):
            if '<' in v.__qualname__:
                return None
            return {'kind': 'function', 'module': v.__module__, 'qualname': v.__qualname__}
        if isinstance(v, types.MethodType):
            return self.describe(v.__func__) if isinstance(v.__func__, types.FunctionType) else None
        if isinstance(v, type):
            return self.describe_type(v)
        t = self.describe_type(type(v))
        return {'kind': 'instance', 'of': t} if t is not None else None
