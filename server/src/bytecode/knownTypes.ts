// Small, explicit tables: Python operators → type slots, and well-known constructors whose result type we
// state (np.array(...) is a numpy.ndarray, ctypes.CDLL('x') is a library). Nothing here is inferred.

import type { Target } from './targets';

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

/**
 * C functions of standard-library extension modules whose result type is always the one stated, by the C
 * function's qualified name (`module.function`, or `module.Type.method`). hashlib.sha256 is bound at import
 * time to one of them (see stdlibExports.ts), so `hashlib.sha256(b).hexdigest()` resolves to the C method.
 * test/unit/stdlib-exports.test.ts calls each one present under every interpreter and checks the type.
 * Not listed: `_hashlib.new` (HASH or HASHXOF, by the name it is given).
 */
export const STDLIB_RESULT_TYPES: Record<string, string> = {
  ...Object.fromEntries(['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512', 'sha3_224', 'sha3_256', 'sha3_384', 'sha3_512'].map((h) => [`_hashlib.openssl_${h}`, '_hashlib.HASH'])),
  '_hashlib.openssl_shake_128': '_hashlib.HASHXOF',
  '_hashlib.openssl_shake_256': '_hashlib.HASHXOF',
  '_hashlib.hmac_new': '_hashlib.HMAC',
  '_hashlib.HASH.copy': '_hashlib.HASH',
  '_hashlib.HASHXOF.copy': '_hashlib.HASHXOF',
  '_hashlib.HMAC.copy': '_hashlib.HMAC',
  // The hashes built into the interpreter when it has no OpenSSL (3.8-3.11: _sha256, _sha512; 3.12+: _sha2).
  '_md5.md5': '_md5.md5',
  '_sha1.sha1': '_sha1.sha1',
  '_sha256.sha256': '_sha256.sha256',
  '_sha256.sha224': '_sha256.sha224',
  '_sha512.sha512': '_sha512.sha512',
  '_sha512.sha384': '_sha512.sha384',
  '_sha2.sha224': '_sha2.SHA224Type',
  '_sha2.sha256': '_sha2.SHA256Type',
  '_sha2.sha384': '_sha2.SHA384Type',
  '_sha2.sha512': '_sha2.SHA512Type',
  'zlib.compressobj': 'zlib.Compress',
  'zlib.decompressobj': 'zlib.Decompress',
};

/**
 * Builtins the interpreter binds to another module's function at start-up: `builtins.open is _io.open` in CPython
 * 3.8–3.13 (pylifecycle's init_set_builtins_open takes `io.open`, which is `_io.open`), so `open(…)` is that C function.
 */
const BUILTIN_BINDINGS: Readonly<Record<string, { module: string; path: string[] }>> = {
  open: { module: '_io', path: ['open'] },
};

/** The target a name of the builtins module stands for: the builtin, or the C function it is bound to. */
export function builtinTarget(name: string): Target {
  return Object.prototype.hasOwnProperty.call(BUILTIN_BINDINGS, name) ? { kind: 'native', ...BUILTIN_BINDINGS[name] } : { kind: 'builtin', name };
}

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
