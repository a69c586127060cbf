// Small, explicit tables: Python operators → type slots, and well-known constructors whose result type we
// state (np.array(...) is a numpy.ndarray, ctypes.CDLL('x') is a library). Nothing here is inferred.

/** Operator symbol (as BINARY_OP shows it) → the C slot of the left operand's type and the dunder. */
export const OPERATOR_SLOTS: Record<string, { slot: string; dunder: string }> = {
  '+': { slot: 'nb_add', dunder: '__add__' },
  '-': { slot: 'nb_subtract', dunder: '__sub__' },
  '*': { slot: 'nb_multiply', dunder: '__mul__' },
  '@': { slot: 'nb_matrix_multiply', dunder: '__matmul__' },
  '/': { slot: 'nb_true_divide', dunder: '__truediv__' },
  '//': { slot: 'nb_floor_divide', dunder: '__floordiv__' },
  '%': { slot: 'nb_remainder', dunder: '__mod__' },
  '**': { slot: 'nb_power', dunder: '__pow__' },
  '<<': { slot: 'nb_lshift', dunder: '__lshift__' },
  '>>': { slot: 'nb_rshift', dunder: '__rshift__' },
  '&': { slot: 'nb_and', dunder: '__and__' },
  '|': { slot: 'nb_or', dunder: '__or__' },
  '^': { slot: 'nb_xor', dunder: '__xor__' },
  '+=': { slot: 'nb_inplace_add', dunder: '__iadd__' },
  '-=': { slot: 'nb_inplace_subtract', dunder: '__isub__' },
  '*=': { slot: 'nb_inplace_multiply', dunder: '__imul__' },
  '@=': { slot: 'nb_inplace_matrix_multiply', dunder: '__imatmul__' },
  '/=': { slot: 'nb_inplace_true_divide', dunder: '__itruediv__' },
  '//=': { slot: 'nb_inplace_floor_divide', dunder: '__ifloordiv__' },
  '%=': { slot: 'nb_inplace_remainder', dunder: '__imod__' },
  '**=': { slot: 'nb_inplace_power', dunder: '__ipow__' },
  '<<=': { slot: 'nb_inplace_lshift', dunder: '__ilshift__' },
  '>>=': { slot: 'nb_inplace_rshift', dunder: '__irshift__' },
  '&=': { slot: 'nb_inplace_and', dunder: '__iand__' },
  '|=': { slot: 'nb_inplace_or', dunder: '__ior__' },
  '^=': { slot: 'nb_inplace_xor', dunder: '__ixor__' },
};

/**
 * Functions whose result type is stated here, by public qualified name (aliases expanded) or by the
 * defining module's name. The value is the qualified name of the result's type, resolved like any name.
 * Only constructors that always return that type are listed (np.dot may return a scalar: not listed).
 */
export const KNOWN_RESULT_TYPES: Record<string, string> = {
  'numpy.array': 'numpy.ndarray',
  'numpy.asarray': 'numpy.ndarray',
  'numpy.asanyarray': 'numpy.ndarray',
  'numpy.ascontiguousarray': 'numpy.ndarray',
  'numpy.asfortranarray': 'numpy.ndarray',
  'numpy.zeros': 'numpy.ndarray',
  'numpy.ones': 'numpy.ndarray',
  'numpy.empty': 'numpy.ndarray',
  'numpy.full': 'numpy.ndarray',
  'numpy.zeros_like': 'numpy.ndarray',
  'numpy.ones_like': 'numpy.ndarray',
  'numpy.empty_like': 'numpy.ndarray',
  'numpy.full_like': 'numpy.ndarray',
  'numpy.arange': 'numpy.ndarray',
  'numpy.linspace': 'numpy.ndarray',
  'numpy.logspace': 'numpy.ndarray',
  'numpy.eye': 'numpy.ndarray',
  'numpy.identity': 'numpy.ndarray',
  'numpy.frombuffer': 'numpy.ndarray',
  'numpy.fromfile': 'numpy.ndarray',
  'numpy.concatenate': 'numpy.ndarray',
  'numpy.stack': 'numpy.ndarray',
  'numpy.vstack': 'numpy.ndarray',
  'numpy.hstack': 'numpy.ndarray',
  'numpy.random.rand': 'numpy.ndarray',
  'numpy.random.randn': 'numpy.ndarray',
  'numpy.random.random': 'numpy.ndarray',
  'numpy.random.standard_normal': 'numpy.ndarray',
  'numpy.random.default_rng': 'numpy.random.Generator',
};

/** ctypes library constructors: calling one with a library name yields that library. */
export const CTYPES_LOADERS = new Set([
  'ctypes.CDLL',
  'ctypes.PyDLL',
  'ctypes.cdll.LoadLibrary',
  'ctypes.pydll.LoadLibrary',
  'ctypes.LibraryLoader.LoadLibrary',
  'ctypes.CDLL.__init__',
]);

/** ctypes.util.find_library(name): the result names a library to find by the linker's rules. */
export const CTYPES_FIND_LIBRARY = 'ctypes.util.find_library';

/** Attribute loaders: `ctypes.cdll.libm` loads libm (LibraryLoader.__getattr__). */
export const CTYPES_LIBRARY_LOADER_OBJECTS = new Set(['ctypes.cdll', 'ctypes.pydll']);
