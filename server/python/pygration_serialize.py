# Pygration's bytecode dump helper, code objects as JSON: the compact format (raw co_code, tables, line data,
# exception table) and the full reference format (dis.get_instructions), constants included.

import binascii
import dis

from pygration_model import CODE_TYPE, CO_OPTIMIZED, HAVE_CO_LINES, HAVE_POSITIONS, LOCALSPLUS, MAX_BYTES, MAX_STR, V, op_has_arg, op_stack_effect

def const_json(value, codes, serialize_code):
    t = type(value)
    if value is None or t is bool or t is str and len(value) <= MAX_STR:
        return value
    if t is int:
        return value if -(1 << 53) < value < (1 << 53) else {'int': str(value)}
    if t is float:
        # JSON has one number type: a float with an integral value (2.0) is kept apart from the int 2.
        if value != value or value in (float('inf'), float('-inf')) or value.is_integer():
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



# Methods that change a list in place: `__all__.extend(core.__all__)` in module code, or `__all__.append(a)` in a
# function such as numpy's extend_all, makes the module's exports differ from its `__all__ = [...]` literal.
_LIST_MUTATORS = frozenset(('append', 'extend', 'insert', 'remove', 'pop', 'clear', '__iadd__', '__setitem__'))


def _mutates_all(co):
    """Whether code changes the module's `__all__` other than by binding it anew in module code (which the reader
    sees): a mutating method called on it, or a `global __all__` rebound in a function."""
    previous = None
    for ins in dis.get_instructions(co):
        if ins.opname == 'STORE_GLOBAL' and ins.argval == '__all__':
            return True
        if previous is not None and ins.opname in ('LOAD_METHOD', 'LOAD_ATTR') and ins.argval in _LIST_MUTATORS:
            return True
        previous = ins if ins.opname in ('LOAD_NAME', 'LOAD_GLOBAL') and ins.argval == '__all__' else None
    return False


# The reflection builtins a parameter of the same name is taken to be (PARAMETER_BUILTINS in simulation/gateFacts.ts).
PARAMETER_BUILTINS = frozenset(['getattr', 'hasattr', 'setattr', 'delattr'])


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
        self.all_mutated = False
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
        if not self.all_mutated and '__all__' in co.co_names and _mutates_all(co):
            self.all_mutated = True
        if lazy:
            codes[index] = {'name': co.co_name, 'qualname': entry['qualname'], 'firstlineno': co.co_firstlineno,
                            'flags': co.co_flags, 'lazy': True}
            # Parameters named after an attribute builtin (`getattr=getattr`): the gate asks whether a default
            # it sees loaded in the enclosing code lands in a parameter of that name (gateFacts.ts).
            params = [n for n in co.co_varnames[:co.co_argcount + co.co_kwonlyargcount] if n in PARAMETER_BUILTINS]
            if params:
                codes[index]['reflectionParams'] = params
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
                jump = op_stack_effect(op, arg, True) if op in self.jump_ops else None
                out.extend((2 * unit, op_stack_effect(op, arg, False), jump))
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
            effect = op_stack_effect(op, arg if op_has_arg(op) else None, False)
            jump = op_stack_effect(op, arg if op_has_arg(op) else None, True) if is_jump else None
            if op in dis.hasconst:
                argval = consts[arg]
            else:
                argval = const_json(ins.argval, None, lambda c: None)
            out.append([ins.offset, ins.opname, arg, argval, line_here] + cols + [effect, jump])
        return out
