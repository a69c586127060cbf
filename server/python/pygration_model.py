# Pygration's bytecode dump helper, the decode model: this interpreter's opcode names, argument kinds, inline
# cache sizes and stack effects, and the interpreter facts of the hello record. Stdlib only, CPython 3.8-3.13.

import binascii
import dis
import importlib.machinery
import importlib.util
import opcode
import os
import sys

from pygration_site import SITE_NOTES

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

def op_has_arg(op):
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


def op_stack_effect(op, arg, jump):
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
        takes_arg = valid and op_has_arg(op)
        has_arg.append(takes_arg)
        arg_kinds.append(_arg_kind(op) if valid else None)
        caches.append(_cache_count(op) if valid else 0)
        if not valid:
            effects.append(None)
            jump_effects.append(None)
            continue
        is_jump = op in dis.hasjrel or op in dis.hasjabs
        if takes_arg:
            row = [op_stack_effect(op, a, False) for a in range(256)]
            effects.append(row[0] if all(e == row[0] for e in row) else row)
            if is_jump:
                jrow = [op_stack_effect(op, a, True) for a in range(256)]
                jump_effects.append(jrow[0] if all(e == jrow[0] for e in jrow) else jrow)
            else:
                jump_effects.append(None)
        else:
            effects.append(op_stack_effect(op, None, False))
            jump_effects.append(op_stack_effect(op, None, True) if is_jump else None)
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
