# Pygration's bytecode dump helper, finding modules: importlib's finders consulted WITHOUT importing anything,
# and a module's code loaded from a validated .pyc or compiled from its source.

import importlib.machinery
import importlib.util
import marshal
import os
import sys

from pygration_model import BYTECODE_SUFFIXES, CODE_TYPE, EXT_SUFFIXES, SOURCE_SUFFIXES, STANDARD_FINDERS

class Finder:
    """Maps dotted module names to their location the way the import system would, without executing code:
    parents are located (not imported) and their submodule_search_locations used for children."""

    def __init__(self):
        self.cache = {}

    def find(self, name):
        found = self.cache.get(name)
        if found is None:
            try:
                found = self._find(name)
            except Exception as e:  # a broken finder or an unreadable directory must not stop the batch
                found = {'name': name, 'kind': 'missing', 'reason': '%s: %s' % (type(e).__name__, e)}
            self.cache[name] = found
        return found

    def _find(self, name):
        parent, _, _tail = name.rpartition('.')
        if parent:
            pinfo = self.find(parent)
            locations = pinfo.get('searchLocations')
            if pinfo['kind'] == 'missing':
                return {'name': name, 'kind': 'missing', 'reason': 'parent %s not found' % parent}
            if pinfo['kind'] == 'alias':
                return {'name': name, 'kind': 'missing',
                        'reason': 'parent %s is an alias of %s' % (parent, pinfo.get('target'))}
            if not locations:
                alias = self._installed_alias(name)
                if alias is not None:
                    return alias
                return {'name': name, 'kind': 'missing', 'reason': 'parent %s is not a package' % parent}
            spec = importlib.machinery.PathFinder.find_spec(name, locations)
        else:
            if name in sys.builtin_module_names:
                return {'name': name, 'kind': 'builtin'}
            spec = importlib.machinery.PathFinder.find_spec(name, sys.path)
            if spec is None:
                spec = self._other_finders(name)
            if spec is None and importlib.machinery.FrozenImporter.find_spec(name) is not None:
                return {'name': name, 'kind': 'frozen'}
        if spec is None:
            return {'name': name, 'kind': 'missing', 'reason': 'not found on sys.path'}
        return self._from_spec(name, spec)

    @staticmethod
    def _installed_alias(name):
        """Submodules a module installs in sys.modules when it runs (os.path -> posixpath). Only modules this
        helper has itself imported (the stdlib it runs on) are consulted, so nothing is executed for it."""
        module = sys.modules.get(name)
        real = getattr(module, '__name__', None)
        if module is None or not isinstance(real, str) or real == name:
            return None
        return {'name': name, 'kind': 'alias', 'target': real}

    @staticmethod
    def _other_finders(name):
        for finder in sys.meta_path:
            if isinstance(finder, type) and issubclass(finder, STANDARD_FINDERS):
                continue
            if isinstance(finder, STANDARD_FINDERS):
                continue
            find_spec = getattr(finder, 'find_spec', None)
            if find_spec is None:
                continue
            try:
                spec = find_spec(name, None)
            except Exception:
                continue
            if spec is not None:
                return spec
        return None

    @staticmethod
    def _from_spec(name, spec):
        info = {'name': name}
        locations = spec.submodule_search_locations
        if locations is not None:
            info['searchLocations'] = list(locations)
        origin = spec.origin
        loader = spec.loader
        if origin in (None, 'namespace') or (loader is None and locations is not None):
            info['kind'] = 'namespace'
            return info
        if origin == 'built-in':
            info['kind'] = 'builtin'
            return info
        if origin == 'frozen':
            info['kind'] = 'frozen'
            return info
        info['file'] = origin
        info['isPackage'] = locations is not None
        if isinstance(loader, importlib.machinery.ExtensionFileLoader) or origin.endswith(EXT_SUFFIXES):
            info['kind'] = 'native'
        elif origin.endswith(SOURCE_SUFFIXES):
            info['kind'] = 'python'
        elif origin.endswith(BYTECODE_SUFFIXES):
            info['kind'] = 'python'
            info['sourceless'] = True
        else:
            info['kind'] = 'python'
            info['loader'] = type(loader).__name__
        info['_loader'] = loader
        return info


def module_name_for_file(path):
    """The dotted name a file has when imported from the first directory above it without __init__.py,
    and that directory (what `python path` or the package root puts on sys.path)."""
    path = os.path.abspath(path)
    directory, base = os.path.split(path)
    stem = base
    for suffix in sorted(SOURCE_SUFFIXES + BYTECODE_SUFFIXES + EXT_SUFFIXES, key=len, reverse=True):
        if base.endswith(suffix):
            stem = base[:-len(suffix)]
            break
    parts = [] if stem == '__init__' else [stem]
    while os.path.isfile(os.path.join(directory, '__init__.py')):
        directory, package = os.path.split(directory)
        parts.insert(0, package)
        if not package:
            break
    return '.'.join(parts) or stem, directory


# ---------------------------------------------------------------------------------------------------------
# Loading code objects: a validated .pyc when one exists, else compile() (never writes .pyc files).

def _read_pyc(pyc_path, st, source_bytes_reader):
    try:
        with open(pyc_path, 'rb') as f:
            data = f.read()
    except OSError:
        return None
    if len(data) < 16 or data[:4] != importlib.util.MAGIC_NUMBER:
        return None
    flags = int.from_bytes(data[4:8], 'little')
    if flags & ~0b11:
        return None
    if flags & 0b1:  # hash-based pyc: valid when the source hash matches
        source = source_bytes_reader()
        if source is None or importlib.util.source_hash(source) != data[8:16]:
            return None
    else:
        mtime = int.from_bytes(data[8:12], 'little')
        size = int.from_bytes(data[12:16], 'little')
        if mtime != (int(st.st_mtime) & 0xFFFFFFFF) or size != (st.st_size & 0xFFFFFFFF):
            return None
    try:
        code = marshal.loads(data[16:])
    except (EOFError, ValueError, TypeError):
        return None
    return code if isinstance(code, CODE_TYPE) else None


def load_code(path, st, loader=None, name=None, sourceless=False):
    """Returns (code, how, error). error is a dict {file, line, column, endLine, endColumn, message}."""
    if sourceless:
        try:
            with open(path, 'rb') as f:
                data = f.read()
            if data[:4] != importlib.util.MAGIC_NUMBER:
                return None, 'pyc', {'file': path, 'line': None, 'column': None,
                                     'message': 'bytecode file for a different Python version'}
            return marshal.loads(data[16:]), 'pyc', None
        except Exception as e:
            return None, 'pyc', {'file': path, 'line': None, 'column': None, 'message': str(e)}
    if not path.endswith(SOURCE_SUFFIXES) and loader is not None and hasattr(loader, 'get_code'):
        try:  # zipimport and other loaders: their get_code does not write files
            return loader.get_code(name), 'loader', None
        except SyntaxError as e:
            return None, 'loader', _syntax_error(e, path)
        except Exception as e:
            return None, 'loader', {'file': path, 'line': None, 'column': None,
                                    'message': '%s: %s' % (type(e).__name__, e)}
    source_cache = []

    def read_source():
        if not source_cache:
            try:
                with open(path, 'rb') as f:
                    source_cache.append(f.read())
            except OSError:
                source_cache.append(None)
        return source_cache[0]

    try:
        pyc = importlib.util.cache_from_source(path)
    except (NotImplementedError, ValueError):
        pyc = None
    if pyc is not None:
        code = _read_pyc(pyc, st, read_source)
        if code is not None:
            return code, 'pyc', None
    source = read_source()
    if source is None:
        return None, 'source', {'file': path, 'line': None, 'column': None, 'message': 'cannot read file'}
    try:
        return compile(source, path, 'exec', dont_inherit=True), 'compile', None
    except SyntaxError as e:
        return None, 'compile', _syntax_error(e, path)
    except (ValueError, RecursionError, MemoryError, OverflowError) as e:
        return None, 'compile', {'file': path, 'line': None, 'column': None,
                                 'message': '%s: %s' % (type(e).__name__, e)}


def _syntax_error(e, path):
    return {
        'file': e.filename or path,
        'line': e.lineno,
        'column': e.offset,
        'endLine': getattr(e, 'end_lineno', None),
        'endColumn': getattr(e, 'end_offset', None),
        'message': e.msg if getattr(e, 'msg', None) else str(e),
        'type': type(e).__name__,
    }
