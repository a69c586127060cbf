#!/usr/bin/env python3
# Pygration's bytecode dump helper: finds modules through importlib's finders WITHOUT importing them, loads
# their code (validated .pyc or compile()) and prints code objects as JSON lines. Stdlib only, CPython 3.8-3.13.
"""
Run by the interpreter whose code is analysed (a path, a pyenv python, /proc/PID/exe of a live process).

Usage:
    pygration_dump.py [--serve] [--sys-path-json JSON | --target-site-json JSON] [--prepend-path DIR]...
                      [--format compact|full] [--module NAME]... [--file PATH]...

--target-site-json describes a live process (its interpreter flags, PYTHONPATH, PYTHONHOME, HOME, working
directory): the helper, run with -I -S by that process's own interpreter, then computes the sys.path the
process started with, without running its start-up code (see target_sys_path).

Output is JSON lines on stdout. The first line is a `hello` record (interpreter facts and the decode model:
opcode names, argument kinds, inline cache sizes and `dis.stack_effect` tables of THIS interpreter). Then one
`module` record per requested module and a `done` record per request. With --serve, requests are read as JSON
lines on stdin: {"id": 1, "op": "dump", "modules": [...], "files": [...], "known": {name: [path, size, mtimeNs]}},
{"id": 2, "op": "prependPath", "paths": [...]}, {"op": "exit"}. See docs/bytecode.md for the schema.

Two code formats:
  compact (default, fast): per code object the raw co_code and (3.11+) co_linetable in base64, the tables
      (consts, names, local names), line ranges (3.8-3.10), the exception table and the stack effects of
      instructions whose argument is >= 256. The TypeScript side decodes it with the hello record's model.
  full (reference, slow): per instruction [offset, opname, arg, argval, line, col, endLine, endCol, effect,
      jumpEffect] from dis.get_instructions; the tests check the compact decoder against it.
"""

import binascii
import dis
import importlib.machinery
import importlib.util
import json
import marshal
import opcode
import os
import sys
import time
import warnings

PROTOCOL = 1
V = sys.version_info[:2]
HAVE_CO_LINES = V >= (3, 10)
HAVE_POSITIONS = V >= (3, 11)
LOCALSPLUS = V >= (3, 11)
MAX_STR = 200  # longer string constants are summarised (docstrings); import and library names are short
MAX_BYTES = 64
CO_OPTIMIZED = 0x1  # set on function code objects (not on module code and class bodies)

CODE_TYPE = type(compile('0', '<probe>', 'eval'))
EXT_SUFFIXES = tuple(importlib.machinery.EXTENSION_SUFFIXES)
SOURCE_SUFFIXES = tuple(importlib.machinery.SOURCE_SUFFIXES)
BYTECODE_SUFFIXES = tuple(importlib.machinery.BYTECODE_SUFFIXES)
STANDARD_FINDERS = (importlib.machinery.BuiltinImporter, importlib.machinery.FrozenImporter,
                    importlib.machinery.PathFinder)


# ---------------------------------------------------------------------------------------------------------
# The decode model: everything version-specific the TypeScript decoder needs, read from this interpreter.

def _has_arg(op):
    if V >= (3, 12):
        return op in dis.hasarg
    return op >= dis.HAVE_ARGUMENT


def _cache_count(op):
    entries = getattr(opcode, '_inline_cache_entries', None)
    if entries is None:
        return 0
    if isinstance(entries, dict):  # 3.13: keyed by name
        return entries.get(dis.opname[op], 0)
    return entries[op] if op < len(entries) else 0


def _arg_kind(op):
    """How dis turns this opcode's arg into argval (mirrors dis._get_instructions_bytes of each version)."""
    name = dis.opname[op]
    if op in dis.hasconst:
        return 'const'
    if op in dis.hasname:
        if V >= (3, 11) and name == 'LOAD_GLOBAL':
            return 'name1'
        if V >= (3, 12) and name == 'LOAD_ATTR':
            return 'name1'
        if V >= (3, 12) and name == 'LOAD_SUPER_ATTR':
            return 'name2'
        return 'name'
    if op in dis.hasjabs:
        return 'jabs'
    if op in dis.hasjrel:
        if V >= (3, 11) and 'JUMP_BACKWARD' in name:
            return 'jback'
        return 'jrel'
    if name in ('LOAD_FAST_LOAD_FAST', 'STORE_FAST_LOAD_FAST', 'STORE_FAST_STORE_FAST'):
        return 'local2'
    if op in dis.haslocal:
        return 'local'
    if op in dis.hasfree:
        return 'free'
    if op in dis.hascompare:
        return 'compare'
    return 'int'


def _stack_effect(op, arg, jump):
    try:
        return dis.stack_effect(op, arg, jump=jump)
    except (ValueError, TypeError):
        return None


def _nb_ops():
    ops = getattr(opcode, '_nb_ops', None)
    if ops is None:
        return None
    return [symbol for _name, symbol in ops]


def _intrinsics(which):
    descs = getattr(opcode, '_intrinsic_%d_descs' % which, None)
    return list(descs) if descs is not None else None


def decode_model():
    opnames = []
    arg_kinds = []
    has_arg = []
    caches = []
    effects = []
    jump_effects = []
    for op in range(256):
        name = dis.opname[op]
        valid = not name.startswith('<')
        opnames.append(name if valid else None)
        takes_arg = valid and _has_arg(op)
        has_arg.append(takes_arg)
        arg_kinds.append(_arg_kind(op) if valid else None)
        caches.append(_cache_count(op) if valid else 0)
        if not valid:
            effects.append(None)
            jump_effects.append(None)
            continue
        is_jump = op in dis.hasjrel or op in dis.hasjabs
        if takes_arg:
            row = [_stack_effect(op, a, False) for a in range(256)]
            effects.append(row[0] if all(e == row[0] for e in row) else row)
            if is_jump:
                jrow = [_stack_effect(op, a, True) for a in range(256)]
                jump_effects.append(jrow[0] if all(e == jrow[0] for e in jrow) else jrow)
            else:
                jump_effects.append(None)
        else:
            effects.append(_stack_effect(op, None, False))
            jump_effects.append(_stack_effect(op, None, True) if is_jump else None)
    cmp_shift = 5 if V >= (3, 13) else 4 if V >= (3, 12) else 0
    return {
        'opnames': opnames,
        'hasArg': has_arg,
        'argKinds': arg_kinds,
        'caches': caches,
        'effects': effects,
        'jumpEffects': jump_effects,
        'extendedArg': dis.opmap['EXTENDED_ARG'],
        'jumpUnit': 1 if V < (3, 10) else 2,
        'jumpAddsCaches': V >= (3, 12),
        'cmpOps': list(dis.cmp_op),
        'cmpShift': cmp_shift,
        'nbOps': _nb_ops(),
        'intrinsic1': _intrinsics(1),
        'intrinsic2': _intrinsics(2),
        'localsPlus': LOCALSPLUS,
        'positions': HAVE_POSITIONS,
        'exceptionTable': V >= (3, 11),
    }


def interpreter_info():
    import builtins
    names = sorted(n for n in dir(builtins))
    types = sorted(n for n in names if isinstance(getattr(builtins, n, None), type))
    return {
        'version': list(sys.version_info[:3]),
        'versionString': sys.version.split()[0],
        'implementation': sys.implementation.name,
        'cacheTag': sys.implementation.cache_tag,
        'magic': binascii.hexlify(importlib.util.MAGIC_NUMBER).decode('ascii'),
        'executable': sys.executable,
        'prefix': sys.prefix,
        'basePrefix': getattr(sys, 'base_prefix', sys.prefix),
        'platform': sys.platform,
        'byteorder': sys.byteorder,
        'sysPath': list(sys.path),
        'builtinModules': sorted(sys.builtin_module_names),
        'builtins': names,
        'builtinTypes': types,
        'extensionSuffixes': list(EXT_SUFFIXES),
        'stdlib': os.path.dirname(os.__file__) if getattr(os, '__file__', None) else None,
        'maxsize': sys.maxsize,
        'pid': os.getpid(),
        'skippedPth': list(SITE_NOTES),
    }


# ---------------------------------------------------------------------------------------------------------
# Finding modules without importing them.

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


# ---------------------------------------------------------------------------------------------------------
# JSON-safe constants.

def const_json(value, codes, serialize_code):
    t = type(value)
    if value is None or t is bool or t is str and len(value) <= MAX_STR:
        return value
    if t is int:
        return value if -(1 << 53) < value < (1 << 53) else {'int': str(value)}
    if t is float:
        if value != value or value in (float('inf'), float('-inf')):
            return {'float': repr(value)}
        return value
    if t is str:
        return {'str': value[:64], 'len': len(value)}
    if t is tuple:
        return {'tuple': [const_json(v, codes, serialize_code) for v in value]}
    if t is frozenset:
        return {'frozenset': [const_json(v, codes, serialize_code) for v in value]}
    if t is bytes:
        if len(value) <= MAX_BYTES:
            return {'bytes': value.decode('latin-1')}
        return {'bytes': value[:MAX_BYTES].decode('latin-1'), 'len': len(value)}
    if t is complex:
        return {'complex': [const_json(value.real, codes, serialize_code),
                            const_json(value.imag, codes, serialize_code)]}
    if value is Ellipsis:
        return {'ellipsis': True}
    if t is CODE_TYPE:
        return {'code': serialize_code(value)}
    if isinstance(value, (str, int, float)):  # subclasses (rare in co_consts)
        return const_json(t.__mro__[-2](value), codes, serialize_code)
    return {'repr': t.__name__}


# ---------------------------------------------------------------------------------------------------------
# Code object serialisation.

def _exception_table(co):
    table = getattr(co, 'co_exceptiontable', None)
    if not table:
        return []
    out = []
    it = iter(table)

    def varint():
        b = next(it)
        val = b & 63
        while b & 64:
            val <<= 6
            b = next(it)
            val |= b & 63
        return val

    try:
        while True:
            start = varint() * 2
            length = varint() * 2
            target = varint() * 2
            dl = varint()
            out.extend((start, start + length, target, dl >> 1, dl & 1))
    except StopIteration:
        pass
    return out


def _local_names(co):
    if LOCALSPLUS:
        varnames = co.co_varnames
        cells = tuple(c for c in co.co_cellvars if c not in varnames)
        return list(varnames + cells + co.co_freevars)
    return list(co.co_varnames)


class CodeSerializer:
    """Serialises a module's code objects. With `split`, function bodies (CO_OPTIMIZED code objects and
    everything nested in them) are set apart: `codes` holds a stub {name, qualname, firstlineno, flags,
    lazy: true} in their place and `lazy` their full entries in index order, which the caller prints on a
    line of its own so the reader can keep it unparsed until a function body is needed."""

    def __init__(self, model_tables, fmt, split=False):
        self.extended_arg = dis.opmap['EXTENDED_ARG']
        self.ext_byte = bytes([self.extended_arg])
        self.store_global_byte = bytes([dis.opmap['STORE_GLOBAL']])
        self.has_arg = model_tables['hasArg']
        self.caches = model_tables['caches']
        self.jump_ops = set(dis.hasjrel) | set(dis.hasjabs)
        self.fmt = fmt
        self.split = split and fmt != 'full'

    def serialize_module(self, code):
        codes = []
        self._codes = codes
        self.lazy = []
        self.lazy_globals = set()
        self._serialize(code)
        self.lazy.sort(key=lambda pair: pair[0])
        self.lazy = [entry for _index, entry in self.lazy]
        return codes

    def _serialize(self, co, in_lazy=False):
        codes = self._codes
        index = len(codes)
        codes.append(None)
        lazy = self.split and (in_lazy or bool(co.co_flags & CO_OPTIMIZED))
        serialize_child = (lambda c: self._serialize(c, True)) if lazy else self._serialize
        consts = []
        for c in co.co_consts:
            t = type(c)
            if t is str:
                consts.append(c if len(c) <= MAX_STR else {'str': c[:64], 'len': len(c)})
            elif t is int and -(1 << 53) < c < (1 << 53) or c is None or t is bool:
                consts.append(c)
            else:
                consts.append(const_json(c, codes, serialize_child))
        entry = {
            'name': co.co_name,
            'qualname': getattr(co, 'co_qualname', None),
            'firstlineno': co.co_firstlineno,
            'flags': co.co_flags,
            'argcount': co.co_argcount,
            'posonlyargcount': getattr(co, 'co_posonlyargcount', 0),
            'kwonlyargcount': co.co_kwonlyargcount,
            'cellvars': co.co_cellvars,
            'freevars': co.co_freevars,
            'names': co.co_names,
            'consts': consts,
        }
        if self.fmt == 'full':
            entry['varnames'] = co.co_varnames
            entry['instructions'] = self._full_instructions(co, consts)
        else:
            raw = co.co_code
            entry['code'] = binascii.b2a_base64(raw, newline=False).decode('ascii')
            if LOCALSPLUS:
                entry['nvarnames'] = len(co.co_varnames)
                entry['localNames'] = _local_names(co)
                entry['linetable'] = binascii.b2a_base64(co.co_linetable, newline=False).decode('ascii')
                entry['exceptions'] = _exception_table(co)
            else:
                entry['varnames'] = co.co_varnames
                entry['cellNames'] = co.co_cellvars + co.co_freevars
                if HAVE_CO_LINES:
                    entry['lines'] = list(co.co_lines())
                else:
                    entry['lineStarts'] = list(dis.findlinestarts(co))
            ext = self._extended(raw)
            if ext:
                entry['ext'] = ext
        if lazy:
            codes[index] = {'name': co.co_name, 'qualname': entry['qualname'], 'firstlineno': co.co_firstlineno,
                            'flags': co.co_flags, 'lazy': True}
            self.lazy.append((index, entry))
            # Globals a function body stores (`global x; x = ...`) change what the module's names resolve to:
            # the reader must know them without simulating the body. STORE_GLOBAL is rare; only the opcode
            # bytes are searched (inline caches are zero bytes in co_code, never this opcode).
            if co.co_code[0::2].find(self.store_global_byte) >= 0:
                for ins in dis.get_instructions(co):
                    if ins.opname == 'STORE_GLOBAL':
                        self.lazy_globals.add(ins.argval)
        else:
            codes[index] = entry
        return index

    def _extended(self, raw):
        """Stack effects of instructions whose argument needs EXTENDED_ARG (>= 256): [offset, effect, jump].
        Only the EXTENDED_ARG prefixes are visited (inline caches are zero bytes in co_code, so every match of
        the opcode byte at an even offset is a real EXTENDED_ARG)."""
        ops = raw[0::2]
        ext_byte = self.ext_byte
        unit = ops.find(ext_byte)
        if unit < 0:
            return None
        out = []
        n = len(ops)
        extended_arg = self.extended_arg
        while unit >= 0:
            ext = 0
            while unit < n and ops[unit] == extended_arg:
                ext = (ext | raw[2 * unit + 1]) << 8
                unit += 1
            if unit >= n:
                break
            op = ops[unit]
            arg = ext | raw[2 * unit + 1]
            if arg >= 256 and self.has_arg[op]:
                jump = _stack_effect(op, arg, True) if op in self.jump_ops else None
                out.extend((2 * unit, _stack_effect(op, arg, False), jump))
            unit = ops.find(ext_byte, unit + 1)
        return out

    def _full_instructions(self, co, consts):
        """The reference format: what dis itself says about every instruction. `consts` are the code's
        constants as serialised here, so a LOAD_CONST of a code object shows the same {"code": i}."""
        out = []
        line = None
        for ins in dis.get_instructions(co):
            if V >= (3, 13):
                line = ins.line_number
            elif ins.starts_line is not None:
                line = ins.starts_line
            pos = getattr(ins, 'positions', None)
            if HAVE_POSITIONS and pos is not None:
                line_here = pos.lineno
                cols = [pos.col_offset, pos.end_lineno, pos.end_col_offset]
            else:
                line_here = line
                cols = [None, None, None]
            op = ins.opcode
            arg = ins.arg
            is_jump = op in self.jump_ops
            effect = _stack_effect(op, arg if _has_arg(op) else None, False)
            jump = _stack_effect(op, arg if _has_arg(op) else None, True) if is_jump else None
            if op in dis.hasconst:
                argval = consts[arg]
            else:
                argval = const_json(ins.argval, None, lambda c: None)
            out.append([ins.offset, ins.opname, arg, argval, line_here] + cols + [effect, jump])
        return out


# ---------------------------------------------------------------------------------------------------------
# The driver: requests in, JSON lines out.

class Dumper:
    def __init__(self, out, fmt='compact'):
        self.out = out
        self.finder = Finder()
        self.model = decode_model()
        self.fmt = fmt

    def emit(self, obj):
        self.out.write(json.dumps(obj, separators=(',', ':'), ensure_ascii=True))
        self.out.write('\n')

    def hello(self):
        self.emit({'type': 'hello', 'protocol': PROTOCOL, 'python': interpreter_info(), 'model': self.model})
        self.out.flush()

    def handle(self, request):
        op = request.get('op', 'dump')
        rid = request.get('id')
        started = time.time()
        if op == 'dump':
            self.dump(request, rid)
        elif op == 'prependPath':
            paths = [p for p in request.get('paths', []) if isinstance(p, str)]
            for p in reversed(paths):
                if p in sys.path:
                    sys.path.remove(p)
                sys.path.insert(0, p)
            self.finder.cache.clear()
            importlib.invalidate_caches()
        elif op == 'invalidate':
            self.finder.cache.clear()
            importlib.invalidate_caches()
        elif op == 'info':
            self.emit({'type': 'info', 'id': rid, 'python': interpreter_info()})
        else:
            self.emit({'type': 'error', 'id': rid, 'message': 'unknown op %r' % (op,)})
        self.emit({'type': 'done', 'id': rid, 'seconds': round(time.time() - started, 6),
                   'maxRssKB': _max_rss_kb(), 'cpuSeconds': _cpu_seconds()})
        self.out.flush()

    def dump(self, request, rid):
        fmt = request.get('format') or self.fmt
        serializer = CodeSerializer(self.model, fmt, bool(request.get('split')))
        known = request.get('known') or {}
        want_code = request.get('code', True)
        if request.get('invalidate'):
            self.finder.cache.clear()
            importlib.invalidate_caches()
        for path in request.get('files') or []:
            name, root = module_name_for_file(path)
            info = {'name': name, 'kind': 'python', 'file': os.path.abspath(path), 'root': root,
                    'isPackage': os.path.basename(path).startswith('__init__.'), 'requested': path}
            if info['isPackage']:
                info['searchLocations'] = [os.path.dirname(info['file'])]
            if os.path.abspath(path).endswith(EXT_SUFFIXES):
                info['kind'] = 'native'
            self.one(rid, info, serializer, known, want_code)
        for name in request.get('modules') or []:
            if not isinstance(name, str) or not name:
                continue
            info = dict(self.finder.find(name))
            self.one(rid, info, serializer, known, want_code)

    def one(self, rid, info, serializer, known, want_code):
        loader = info.pop('_loader', None)
        record = {'type': 'module', 'id': rid}
        record.update(info)
        path = info.get('file')
        lazy = None
        try:
            if path is not None:
                try:
                    st = os.stat(path)
                except OSError as e:
                    record['kind'] = 'missing'
                    record['reason'] = 'cannot stat %s: %s' % (path, e.strerror)
                    self.emit(record)
                    return
                record['size'] = st.st_size
                record['mtimeNs'] = str(st.st_mtime_ns)  # beyond 2**53: a string keeps it exact in JSON
                record['ino'] = st.st_ino
                previous = known.get(info['name'])
                if (previous is not None and previous[0] == path and previous[1] == st.st_size
                        and str(previous[2]) == record['mtimeNs']):
                    record['unchanged'] = True
                elif info['kind'] == 'python' and want_code:
                    t0 = time.time()
                    code, how, error = load_code(path, st, loader, info['name'], info.get('sourceless', False))
                    record['load'] = how
                    if error is not None:
                        record['syntaxError'] = error
                    elif code is not None:
                        record['codes'] = serializer.serialize_module(code)
                        record['format'] = serializer.fmt
                        if serializer.lazy:
                            lazy = serializer.lazy
                            record['lazy'] = len(lazy)
                            record['lazyGlobals'] = sorted(serializer.lazy_globals)
                    record['seconds'] = round(time.time() - t0, 6)
            self.emit(record)
            if lazy is not None:
                # The function bodies, on the next line after a '#': JSON the reader parses only when needed.
                self.out.write('#')
                self.emit(lazy)
        except Exception as e:  # never let one module end the batch
            self.emit({'type': 'module', 'id': rid, 'name': info.get('name'), 'kind': 'error',
                       'file': path, 'reason': '%s: %s' % (type(e).__name__, e)})
        self.out.flush()


def _cpu_seconds():
    """CPU time (user + system) this process has used so far."""
    try:
        t = os.times()
        return round(t.user + t.system, 3)
    except Exception:
        return None


def _max_rss_kb():
    try:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    except Exception:
        return None


# Set by --target-site-json: what the computed sys.path leaves out (.pth files whose import lines were not run).
SITE_NOTES = []


def target_sys_path(spec):
    """The sys.path a live process started with, computed without running any of its start-up code.

    The helper runs under -I -S, so sys.path is the interpreter's own [zip, stdlib, lib-dynload]. Added here
    as CPython and site.main() would: PYTHONPATH (unless the process ran with -E/-I), PYTHONHOME applied to
    the stdlib entries, the virtual environment (pyvenv.cfg next to the executable the process was started
    as, which is our argv[0]), the user site (unless -s/-I/PYTHONNOUSERSITE) and the site-packages
    directories with the path lines of their .pth files. Never run: .pth `import` lines, sitecustomize,
    usercustomize; a path those add is missing (the skipped .pth files are listed in SITE_NOTES).
    """
    import site
    flags = spec.get('flags') or {}
    env = spec.get('env') or {}
    cwd = spec.get('cwd') or '/'
    ignore_env = bool(flags.get('E') or flags.get('I'))

    def absolute(p):
        return os.path.normpath(os.path.join(cwd, p))

    base = list(sys.path)
    home = None if ignore_env else env.get('PYTHONHOME')
    if home:
        prefix, _, exec_prefix = home.partition(':')
        exec_prefix = exec_prefix or prefix
        moved = []
        for entry in base:
            if entry.startswith(sys.base_exec_prefix + os.sep) and 'lib-dynload' in entry:
                moved.append(exec_prefix + entry[len(sys.base_exec_prefix):])
            elif entry.startswith(sys.base_prefix + os.sep):
                moved.append(prefix + entry[len(sys.base_prefix):])
            else:
                moved.append(entry)
        base = moved
        sys.prefix = sys.base_prefix = prefix
        sys.exec_prefix = sys.base_exec_prefix = exec_prefix
        site.PREFIXES[:] = [prefix, exec_prefix]
    pythonpath = [] if ignore_env else [absolute(p) for p in (env.get('PYTHONPATH') or '').split(os.pathsep) if p]
    path = []
    for p in pythonpath + base:
        if p not in path:
            path.append(p)
    sys.path[:] = path
    if flags.get('S'):
        return path
    if not ignore_env and env.get('PYTHONPLATLIBDIR') and hasattr(sys, 'platlibdir'):
        sys.platlibdir = env['PYTHONPLATLIBDIR']
    known = set(os.path.normcase(p) for p in path)
    user_site = not (flags.get('s') or flags.get('I')) and not (not ignore_env and env.get('PYTHONNOUSERSITE'))
    prefixes = list(site.PREFIXES)
    dirs = []
    # site.venv() would run the venv's .pth files (it calls addsitepackages): its effect, computed here.
    venv = _venv_prefix()
    if venv:
        prefix, system_site = venv
        sys.prefix = sys.exec_prefix = prefix
        dirs.extend(site.getsitepackages([prefix]))
        if system_site:
            prefixes.insert(0, prefix)
        else:
            prefixes = [prefix]
            user_site = False
    for key in ('HOME', 'PYTHONUSERBASE'):
        if env.get(key):
            os.environ[key] = env[key]
        else:
            os.environ.pop(key, None)
    site.USER_BASE = None
    site.USER_SITE = None
    if user_site:
        dirs.append(site.getusersitepackages())
    dirs.extend(site.getsitepackages(prefixes))
    done = set()
    for d in dirs:
        # site reads a venv's .pth files twice (venv(), then addsitepackages): their path lines once is the same.
        if os.path.isdir(d) and os.path.normcase(d) not in done:
            done.add(os.path.normcase(d))
            _add_site_dir(d, known)
    return list(sys.path)


def _venv_prefix():
    """(prefix, include-system-site-packages) of the virtual environment of sys.executable, as site.venv finds it."""
    exe_dir = os.path.dirname(os.path.abspath(sys.executable or ''))
    prefix = os.path.dirname(exe_dir)
    for conf in (os.path.join(exe_dir, 'pyvenv.cfg'), os.path.join(prefix, 'pyvenv.cfg')):
        if not os.path.isfile(conf):
            continue
        system_site = False
        try:
            with open(conf, encoding='utf-8') as f:
                for line in f:
                    key, eq, value = line.partition('=')
                    if eq and key.strip().lower() == 'include-system-site-packages':
                        system_site = value.strip().lower() == 'true'
        except (OSError, UnicodeDecodeError):
            pass
        return prefix, system_site
    return None


def _add_site_dir(sitedir, known):
    """site.addsitedir without executing anything: the directory, then the path lines of its .pth files."""
    case = os.path.normcase(sitedir)
    if case not in known:
        sys.path.append(sitedir)
        known.add(case)
    try:
        names = sorted(n for n in os.listdir(sitedir) if n.endswith('.pth') and not n.startswith('.'))
    except OSError:
        return
    for name in names:
        try:
            with open(os.path.join(sitedir, name), 'rb') as f:
                raw = f.read()
        except OSError:
            continue
        try:
            text = raw.decode('utf-8-sig')
        except UnicodeDecodeError:
            text = raw.decode('latin-1')
        skipped = False
        for line in text.splitlines():
            if line.startswith('#') or not line.strip():
                continue
            if line.startswith(('import ', 'import\t')):
                skipped = True
                continue
            entry = os.path.abspath(os.path.join(sitedir, line.rstrip()))
            if os.path.normcase(entry) not in known and os.path.exists(entry):
                sys.path.append(entry)
                known.add(os.path.normcase(entry))
        if skipped:
            SITE_NOTES.append(os.path.join(sitedir, name))


def main(argv):
    warnings.simplefilter('ignore')  # compile() warnings (invalid escapes, ...) must not reach stdout/stderr
    # Running a script puts its directory first on sys.path; the analysed program would not see it.
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or os.curdir) == here:
        del sys.path[0]
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    args = list(argv)
    serve = False
    fmt = 'compact'
    modules = []
    files = []
    while args:
        a = args.pop(0)
        if a == '--serve':
            serve = True
        elif a == '--sys-path-json':
            sys.path[:] = json.loads(args.pop(0))
        elif a == '--target-site-json':
            sys.path[:] = target_sys_path(json.loads(args.pop(0)))
        elif a == '--prepend-path':
            sys.path.insert(0, args.pop(0))
        elif a == '--format':
            fmt = args.pop(0)
        elif a == '--module':
            modules.append(args.pop(0))
        elif a == '--file':
            files.append(args.pop(0))
        elif a in ('-h', '--help'):
            sys.stdout.write(__doc__)
            return 0
        else:
            sys.stderr.write('pygration_dump: unknown argument %r\n' % a)
            return 2
    out = sys.stdout
    dumper = Dumper(out, fmt)
    dumper.hello()
    if modules or files:
        dumper.handle({'id': 0, 'op': 'dump', 'modules': modules, 'files': files})
    if not serve:
        return 0
    while True:
        line = sys.stdin.readline()
        if not line:
            return 0
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError('request is not an object')
        except ValueError as e:
            dumper.emit({'type': 'error', 'id': None, 'message': 'bad request: %s' % e})
            out.flush()
            continue
        if request.get('op') == 'exit':
            return 0
        try:
            dumper.handle(request)
        except Exception as e:
            dumper.emit({'type': 'error', 'id': request.get('id'), 'message': '%s: %s' % (type(e).__name__, e)})
            dumper.emit({'type': 'done', 'id': request.get('id'), 'seconds': 0, 'maxRssKB': _max_rss_kb()})
            out.flush()


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
