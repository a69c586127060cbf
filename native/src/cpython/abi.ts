// CPython ABI layouts for x86-64 release builds of 3.8–3.13: the structures symbol resolution reads in
// extension modules and interpreters (PyMethodDef, PyModuleDef, PyTypeObject and its slot suites, PyType_Spec).
// Every offset here is checked against offsetof() compiled with each version's headers (test/unit/python-abi.test.ts).

/** The CPython versions whose layouts are described (and verified) here. */
export type PyVersion = '3.8' | '3.9' | '3.10' | '3.11' | '3.12' | '3.13';
export const PY_VERSIONS: readonly PyVersion[] = ['3.8', '3.9', '3.10', '3.11', '3.12', '3.13'];

/** Field offsets of one C structure and its sizeof (absent for structures read only by prefix). */
export interface StructLayout {
  readonly fields: Readonly<Record<string, number>>;
  readonly size?: number;
}

export interface AbiLayout {
  readonly version: PyVersion;
  readonly PyObject: StructLayout;
  readonly PyMethodDef: StructLayout;
  readonly PyModuleDef: StructLayout;
  readonly PyModuleDef_Base: StructLayout;
  readonly PyModuleDef_Slot: StructLayout;
  readonly PyTypeObject: StructLayout;
  readonly PyNumberMethods: StructLayout;
  readonly PySequenceMethods: StructLayout;
  readonly PyMappingMethods: StructLayout;
  readonly PyAsyncMethods: StructLayout;
  readonly PyBufferProcs: StructLayout;
  readonly PyGetSetDef: StructLayout;
  readonly PyMemberDef: StructLayout;
  readonly PyType_Spec: StructLayout;
  readonly PyType_Slot: StructLayout;
  /** Prefix of the object behind a builtin function (`time.sleep`): m_ml points at its PyMethodDef. */
  readonly PyCFunctionObject: StructLayout;
  /** Prefix of a method descriptor (`ndarray.sum` on the type): d_method points at its PyMethodDef. */
  readonly PyMethodDescrObject: StructLayout;
  /** METH_* flag values. */
  readonly METH: Readonly<Record<string, number>>;
  /** Py_mod_* slot ids of PyModuleDef_Slot. */
  readonly Py_mod: Readonly<Record<string, number>>;
  /** Py_* slot ids of PyType_Slot (typeslots.h), e.g. Py_nb_add = 7. */
  readonly typeslots: Readonly<Record<string, number>>;
}

const PTR = 8;

/** Consecutive pointer-sized fields starting at offset 0. */
function pointerFields(names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  names.forEach((n, i) => (out[n] = i * PTR));
  return out;
}

/** PyTypeObject fields up to tp_vectorcall; each is 8 bytes (tp_flags is unsigned long, tp_version_tag is padded). */
const TYPE_FIELDS = [
  'tp_name', 'tp_basicsize', 'tp_itemsize', 'tp_dealloc', 'tp_vectorcall_offset', 'tp_getattr', 'tp_setattr',
  'tp_as_async', 'tp_repr', 'tp_as_number', 'tp_as_sequence', 'tp_as_mapping', 'tp_hash', 'tp_call', 'tp_str',
  'tp_getattro', 'tp_setattro', 'tp_as_buffer', 'tp_flags', 'tp_doc', 'tp_traverse', 'tp_clear', 'tp_richcompare',
  'tp_weaklistoffset', 'tp_iter', 'tp_iternext', 'tp_methods', 'tp_members', 'tp_getset', 'tp_base', 'tp_dict',
  'tp_descr_get', 'tp_descr_set', 'tp_dictoffset', 'tp_init', 'tp_alloc', 'tp_new', 'tp_free', 'tp_is_gc', 'tp_bases',
  'tp_mro', 'tp_cache', 'tp_subclasses', 'tp_weaklist', 'tp_del', 'tp_version_tag', 'tp_finalize', 'tp_vectorcall',
] as const;

/** PyVarObject_HEAD: ob_refcnt, ob_type, ob_size. */
const VAR_HEAD = 24;

function typeObjectLayout(v: PyVersion): StructLayout {
  const fields: Record<string, number> = {};
  TYPE_FIELDS.forEach((n, i) => (fields[n] = VAR_HEAD + i * PTR));
  const tail = VAR_HEAD + TYPE_FIELDS.length * PTR; // 408
  if (v === '3.8') fields.tp_print = tail; // Kept in 3.8 only, for binary compatibility (bpo-37250).
  if (v === '3.12' || v === '3.13') fields.tp_watched = tail;
  if (v === '3.13') fields.tp_versions_used = tail + 2;
  const size = v === '3.8' || v === '3.12' || v === '3.13' ? tail + PTR : tail;
  return { fields, size };
}

export const NUMBER_SLOTS = [
  'nb_add', 'nb_subtract', 'nb_multiply', 'nb_remainder', 'nb_divmod', 'nb_power', 'nb_negative', 'nb_positive',
  'nb_absolute', 'nb_bool', 'nb_invert', 'nb_lshift', 'nb_rshift', 'nb_and', 'nb_xor', 'nb_or', 'nb_int', 'nb_reserved',
  'nb_float', 'nb_inplace_add', 'nb_inplace_subtract', 'nb_inplace_multiply', 'nb_inplace_remainder', 'nb_inplace_power',
  'nb_inplace_lshift', 'nb_inplace_rshift', 'nb_inplace_and', 'nb_inplace_xor', 'nb_inplace_or', 'nb_floor_divide',
  'nb_true_divide', 'nb_inplace_floor_divide', 'nb_inplace_true_divide', 'nb_index', 'nb_matrix_multiply',
  'nb_inplace_matrix_multiply',
] as const;
export const SEQUENCE_SLOTS = [
  'sq_length', 'sq_concat', 'sq_repeat', 'sq_item', 'was_sq_slice', 'sq_ass_item', 'was_sq_ass_slice', 'sq_contains',
  'sq_inplace_concat', 'sq_inplace_repeat',
] as const;
export const MAPPING_SLOTS = ['mp_length', 'mp_subscript', 'mp_ass_subscript'] as const;
export const BUFFER_SLOTS = ['bf_getbuffer', 'bf_releasebuffer'] as const;

function asyncSlots(v: PyVersion): string[] {
  return v === '3.8' || v === '3.9' ? ['am_await', 'am_aiter', 'am_anext'] : ['am_await', 'am_aiter', 'am_anext', 'am_send'];
}

/** typeslots.h ids, which are part of the stable ABI and never renumbered. */
const TYPESLOT_IDS: ReadonlyArray<[string, number]> = [
  ['Py_bf_getbuffer', 1], ['Py_bf_releasebuffer', 2], ['Py_mp_ass_subscript', 3], ['Py_mp_length', 4],
  ['Py_mp_subscript', 5], ['Py_nb_absolute', 6], ['Py_nb_add', 7], ['Py_nb_and', 8], ['Py_nb_bool', 9],
  ['Py_nb_divmod', 10], ['Py_nb_float', 11], ['Py_nb_floor_divide', 12], ['Py_nb_index', 13], ['Py_nb_inplace_add', 14],
  ['Py_nb_inplace_and', 15], ['Py_nb_inplace_floor_divide', 16], ['Py_nb_inplace_lshift', 17],
  ['Py_nb_inplace_multiply', 18], ['Py_nb_inplace_or', 19], ['Py_nb_inplace_power', 20], ['Py_nb_inplace_remainder', 21],
  ['Py_nb_inplace_rshift', 22], ['Py_nb_inplace_subtract', 23], ['Py_nb_inplace_true_divide', 24],
  ['Py_nb_inplace_xor', 25], ['Py_nb_int', 26], ['Py_nb_invert', 27], ['Py_nb_lshift', 28], ['Py_nb_multiply', 29],
  ['Py_nb_negative', 30], ['Py_nb_or', 31], ['Py_nb_positive', 32], ['Py_nb_power', 33], ['Py_nb_remainder', 34],
  ['Py_nb_rshift', 35], ['Py_nb_subtract', 36], ['Py_nb_true_divide', 37], ['Py_nb_xor', 38], ['Py_sq_ass_item', 39],
  ['Py_sq_concat', 40], ['Py_sq_contains', 41], ['Py_sq_inplace_concat', 42], ['Py_sq_inplace_repeat', 43],
  ['Py_sq_item', 44], ['Py_sq_length', 45], ['Py_sq_repeat', 46], ['Py_tp_alloc', 47], ['Py_tp_base', 48],
  ['Py_tp_bases', 49], ['Py_tp_call', 50], ['Py_tp_clear', 51], ['Py_tp_dealloc', 52], ['Py_tp_del', 53],
  ['Py_tp_descr_get', 54], ['Py_tp_descr_set', 55], ['Py_tp_doc', 56], ['Py_tp_getattr', 57], ['Py_tp_getattro', 58],
  ['Py_tp_hash', 59], ['Py_tp_init', 60], ['Py_tp_is_gc', 61], ['Py_tp_iter', 62], ['Py_tp_iternext', 63],
  ['Py_tp_methods', 64], ['Py_tp_new', 65], ['Py_tp_repr', 66], ['Py_tp_richcompare', 67], ['Py_tp_setattr', 68],
  ['Py_tp_setattro', 69], ['Py_tp_str', 70], ['Py_tp_traverse', 71], ['Py_tp_members', 72], ['Py_tp_getset', 73],
  ['Py_tp_free', 74], ['Py_nb_matrix_multiply', 75], ['Py_nb_inplace_matrix_multiply', 76], ['Py_am_await', 77],
  ['Py_am_aiter', 78], ['Py_am_anext', 79], ['Py_tp_finalize', 80], ['Py_am_send', 81],
];

function typeslotIds(v: PyVersion): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, id] of TYPESLOT_IDS) {
    // 3.8 headers #undef the buffer slots (bpo-10181); am_send is new in 3.10.
    if (v === '3.8' && (name === 'Py_bf_getbuffer' || name === 'Py_bf_releasebuffer')) continue;
    if ((v === '3.8' || v === '3.9') && name === 'Py_am_send') continue;
    out[name] = id;
  }
  return out;
}

/** Every typeslots.h id of any supported version → the slot's field name (`7` → `nb_add`). */
export const TYPESLOT_NAMES: ReadonlyMap<number, string> = new Map(TYPESLOT_IDS.map(([n, id]) => [id, n.slice(3)]));

const METH_ALL: Record<string, number> = {
  METH_VARARGS: 0x1,
  METH_KEYWORDS: 0x2,
  METH_NOARGS: 0x4,
  METH_O: 0x8,
  METH_CLASS: 0x10,
  METH_STATIC: 0x20,
  METH_COEXIST: 0x40,
  METH_FASTCALL: 0x80,
  METH_METHOD: 0x200,
};

export const METH_VARARGS = 0x1;
export const METH_KEYWORDS = 0x2;
export const METH_NOARGS = 0x4;
export const METH_O = 0x8;
export const METH_CLASS = 0x10;
export const METH_STATIC = 0x20;
export const METH_COEXIST = 0x40;
export const METH_FASTCALL = 0x80;
/** METH_STACKLESS is 0 in CPython builds (non-zero only in Stackless Python). */
export const METH_STACKLESS = 0x100;
export const METH_METHOD = 0x200;

const layouts = new Map<PyVersion, AbiLayout>();

/** The layout of one CPython version's structures (x86-64, release build, not free-threaded). */
export function abiLayout(v: PyVersion): AbiLayout {
  let l = layouts.get(v);
  if (l) return l;
  const asyncNames = asyncSlots(v);
  const meth = { ...METH_ALL };
  if (v === '3.8') delete meth.METH_METHOD;
  const mod: Record<string, number> = { Py_mod_create: 1, Py_mod_exec: 2 };
  if (v === '3.12' || v === '3.13') mod.Py_mod_multiple_interpreters = 3;
  if (v === '3.13') mod.Py_mod_gil = 4;
  l = {
    version: v,
    PyObject: { fields: { ob_refcnt: 0, ob_type: 8 }, size: 16 },
    PyMethodDef: { fields: { ml_name: 0, ml_meth: 8, ml_flags: 16, ml_doc: 24 }, size: 32 },
    PyModuleDef: {
      fields: { m_base: 0, m_name: 40, m_doc: 48, m_size: 56, m_methods: 64, m_slots: 72, m_traverse: 80, m_clear: 88, m_free: 96 },
      size: 104,
    },
    PyModuleDef_Base: { fields: { m_init: 16, m_index: 24, m_copy: 32 }, size: 40 },
    PyModuleDef_Slot: { fields: { slot: 0, value: 8 }, size: 16 },
    PyTypeObject: typeObjectLayout(v),
    PyNumberMethods: { fields: pointerFields(NUMBER_SLOTS), size: NUMBER_SLOTS.length * PTR },
    PySequenceMethods: { fields: pointerFields(SEQUENCE_SLOTS), size: SEQUENCE_SLOTS.length * PTR },
    PyMappingMethods: { fields: pointerFields(MAPPING_SLOTS), size: MAPPING_SLOTS.length * PTR },
    PyAsyncMethods: { fields: pointerFields(asyncNames), size: asyncNames.length * PTR },
    PyBufferProcs: { fields: pointerFields(BUFFER_SLOTS), size: BUFFER_SLOTS.length * PTR },
    PyGetSetDef: { fields: { name: 0, get: 8, set: 16, doc: 24, closure: 32 }, size: 40 },
    PyMemberDef: { fields: { name: 0, type: 8, offset: 16, flags: 24, doc: 32 }, size: 40 },
    PyType_Spec: { fields: { name: 0, basicsize: 8, itemsize: 12, flags: 16, slots: 24 }, size: 32 },
    PyType_Slot: { fields: { slot: 0, pfunc: 8 }, size: 16 },
    PyCFunctionObject: { fields: { m_ml: 16, m_self: 24, m_module: 32 } },
    PyMethodDescrObject: { fields: { d_method: 40 } },
    METH: meth,
    Py_mod: mod,
    typeslots: typeslotIds(v),
  };
  layouts.set(v, l);
  return l;
}

/** Offsets that are the same in every supported version (the readers use these directly). */
export const METHODDEF = { ml_name: 0, ml_meth: 8, ml_flags: 16, ml_doc: 24, size: 32 } as const;
export const MODULEDEF = { m_name: 40, m_doc: 48, m_size: 56, m_methods: 64, m_slots: 72, m_traverse: 80, m_clear: 88, m_free: 96, size: 104 } as const;
export const MODULEDEF_SLOT = { slot: 0, value: 8, size: 16 } as const;
export const GETSETDEF = { name: 0, get: 8, set: 16, doc: 24, closure: 32, size: 40 } as const;
export const TYPE_SPEC = { name: 0, basicsize: 8, itemsize: 12, flags: 16, slots: 24, size: 32 } as const;
export const TYPE_SLOT = { slot: 0, pfunc: 8, size: 16 } as const;
/** Offsets of PyTypeObject fields (identical from 3.8 to 3.13 up to tp_vectorcall). */
export const TYPE: Readonly<Record<(typeof TYPE_FIELDS)[number], number>> = typeObjectLayout('3.11').fields as Record<
  (typeof TYPE_FIELDS)[number],
  number
>;
/** The part of PyTypeObject every supported version has: through tp_finalize (3.7's size; tp_vectorcall follows). */
export const TYPE_MIN_SIZE = TYPE.tp_finalize + PTR;

/** Slot suites reached through a PyTypeObject pointer field. */
export type SlotSuite = 'type' | 'number' | 'sequence' | 'mapping' | 'async' | 'buffer';

/** PyTypeObject fields that hold a function pointer (the type's own slots). */
export const TYPE_FUNCTION_SLOTS = [
  'tp_dealloc', 'tp_getattr', 'tp_setattr', 'tp_repr', 'tp_hash', 'tp_call', 'tp_str', 'tp_getattro', 'tp_setattro',
  'tp_traverse', 'tp_clear', 'tp_richcompare', 'tp_iter', 'tp_iternext', 'tp_descr_get', 'tp_descr_set', 'tp_init',
  'tp_alloc', 'tp_new', 'tp_free', 'tp_is_gc', 'tp_del', 'tp_finalize', 'tp_vectorcall',
] as const;

export const SUITE_FIELD: Readonly<Record<Exclude<SlotSuite, 'type'>, string>> = {
  number: 'tp_as_number',
  sequence: 'tp_as_sequence',
  mapping: 'tp_as_mapping',
  async: 'tp_as_async',
  buffer: 'tp_as_buffer',
};

/** Where a slot lives: in the type object itself or in one of its suites, and at which offset. */
export interface SlotLocation {
  suite: SlotSuite;
  offset: number;
}

const ALL_ASYNC = ['am_await', 'am_aiter', 'am_anext', 'am_send'];

/**
 * The location of a slot by its C field name (`nb_matrix_multiply`, `tp_call`, `sq_item`, `am_send`...), or
 * undefined for a name that is not a function slot (`was_sq_slice`, `nb_reserved` and data fields included).
 */
export function slotLocation(name: string): SlotLocation | undefined {
  if ((TYPE_FUNCTION_SLOTS as readonly string[]).includes(name)) return { suite: 'type', offset: TYPE[name as keyof typeof TYPE] };
  const lists: Array<[SlotSuite, readonly string[]]> = [
    ['number', NUMBER_SLOTS],
    ['sequence', SEQUENCE_SLOTS],
    ['mapping', MAPPING_SLOTS],
    ['async', ALL_ASYNC],
    ['buffer', BUFFER_SLOTS],
  ];
  for (const [suite, names] of lists) {
    const i = names.indexOf(name);
    if (i >= 0 && name !== 'was_sq_slice' && name !== 'was_sq_ass_slice' && name !== 'nb_reserved') return { suite, offset: i * PTR };
  }
  return undefined;
}

/** The slots of a suite, in field order, without the reserved placeholders. */
export function suiteSlots(suite: Exclude<SlotSuite, 'type'>): readonly string[] {
  const names = suite === 'number' ? NUMBER_SLOTS : suite === 'sequence' ? SEQUENCE_SLOTS : suite === 'mapping' ? MAPPING_SLOTS : suite === 'async' ? ALL_ASYNC : BUFFER_SLOTS;
  return names.filter((n) => n !== 'was_sq_slice' && n !== 'was_sq_ass_slice' && n !== 'nb_reserved');
}

/**
 * Python-level names → the C slots that implement them, in the order CPython tries them: `a @ b` calls
 * `__matmul__`, i.e. nb_matrix_multiply of the left operand's type; `a[i]` tries mp_subscript, then sq_item.
 */
export const DUNDER_SLOTS: Readonly<Record<string, readonly string[]>> = {
  __add__: ['nb_add', 'sq_concat'],
  __sub__: ['nb_subtract'],
  __mul__: ['nb_multiply', 'sq_repeat'],
  __mod__: ['nb_remainder'],
  __divmod__: ['nb_divmod'],
  __pow__: ['nb_power'],
  __neg__: ['nb_negative'],
  __pos__: ['nb_positive'],
  __abs__: ['nb_absolute'],
  __bool__: ['nb_bool'],
  __invert__: ['nb_invert'],
  __lshift__: ['nb_lshift'],
  __rshift__: ['nb_rshift'],
  __and__: ['nb_and'],
  __xor__: ['nb_xor'],
  __or__: ['nb_or'],
  __int__: ['nb_int'],
  __float__: ['nb_float'],
  __iadd__: ['nb_inplace_add', 'sq_inplace_concat'],
  __isub__: ['nb_inplace_subtract'],
  __imul__: ['nb_inplace_multiply', 'sq_inplace_repeat'],
  __imod__: ['nb_inplace_remainder'],
  __ipow__: ['nb_inplace_power'],
  __ilshift__: ['nb_inplace_lshift'],
  __irshift__: ['nb_inplace_rshift'],
  __iand__: ['nb_inplace_and'],
  __ixor__: ['nb_inplace_xor'],
  __ior__: ['nb_inplace_or'],
  __floordiv__: ['nb_floor_divide'],
  __truediv__: ['nb_true_divide'],
  __ifloordiv__: ['nb_inplace_floor_divide'],
  __itruediv__: ['nb_inplace_true_divide'],
  __index__: ['nb_index'],
  __matmul__: ['nb_matrix_multiply'],
  __imatmul__: ['nb_inplace_matrix_multiply'],
  __len__: ['mp_length', 'sq_length'],
  __getitem__: ['mp_subscript', 'sq_item'],
  __setitem__: ['mp_ass_subscript', 'sq_ass_item'],
  __delitem__: ['mp_ass_subscript', 'sq_ass_item'],
  __contains__: ['sq_contains'],
  __call__: ['tp_call'],
  __repr__: ['tp_repr'],
  __str__: ['tp_str'],
  __hash__: ['tp_hash'],
  __getattribute__: ['tp_getattro'],
  __getattr__: ['tp_getattro'],
  __setattr__: ['tp_setattro'],
  __delattr__: ['tp_setattro'],
  __lt__: ['tp_richcompare'],
  __le__: ['tp_richcompare'],
  __eq__: ['tp_richcompare'],
  __ne__: ['tp_richcompare'],
  __gt__: ['tp_richcompare'],
  __ge__: ['tp_richcompare'],
  __iter__: ['tp_iter'],
  __next__: ['tp_iternext'],
  __get__: ['tp_descr_get'],
  __set__: ['tp_descr_set'],
  __init__: ['tp_init'],
  __new__: ['tp_new'],
  __del__: ['tp_finalize'],
  __await__: ['am_await'],
  __aiter__: ['am_aiter'],
  __anext__: ['am_anext'],
};

/**
 * True for a ml_flags value CPython accepts (Objects/methodobject.c and descrobject.c): exactly one calling
 * convention — METH_VARARGS, METH_VARARGS|METH_KEYWORDS, METH_FASTCALL, METH_FASTCALL|METH_KEYWORDS,
 * METH_NOARGS, METH_O, or (3.9+) METH_METHOD|METH_FASTCALL|METH_KEYWORDS — plus at most one of METH_CLASS and
 * METH_STATIC, and METH_COEXIST; no other bit. Without a version, METH_METHOD is accepted.
 */
export function isValidMethodFlags(flags: number, version?: PyVersion): boolean {
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xffff) return false;
  const known = METH_VARARGS | METH_KEYWORDS | METH_NOARGS | METH_O | METH_CLASS | METH_STATIC | METH_COEXIST | METH_FASTCALL | METH_METHOD;
  if ((flags & ~known) !== 0) return false;
  if ((flags & METH_CLASS) !== 0 && (flags & METH_STATIC) !== 0) return false;
  const conv = flags & (METH_VARARGS | METH_KEYWORDS | METH_NOARGS | METH_O | METH_FASTCALL | METH_METHOD);
  switch (conv) {
    case METH_VARARGS:
    case METH_VARARGS | METH_KEYWORDS:
    case METH_FASTCALL:
    case METH_FASTCALL | METH_KEYWORDS:
    case METH_NOARGS:
    case METH_O:
      return true;
    case METH_METHOD | METH_FASTCALL | METH_KEYWORDS:
      return version !== '3.8';
    default:
      return false;
  }
}

/** `METH_FASTCALL|METH_KEYWORDS` for a flags value. */
export function describeMethodFlags(flags: number): string {
  const names = Object.entries(METH_ALL)
    .filter(([, bit]) => (flags & bit) !== 0)
    .map(([n]) => n);
  return names.length > 0 ? names.join('|') : '0';
}

/**
 * The version in a CPython file name: `python3.11`, `libpython3.12.so.1.0`, `x.cpython-313-x86_64-linux-gnu.so`.
 * Undefined for free-threaded builds (`cpython-313t`, `python3.13t`): their object header differs.
 */
export function versionFromFileName(name: string): PyVersion | undefined {
  const base = name.split('/').pop() ?? name;
  if (/\.cpython-3\d+[a-z]*t[a-z]*-/.test(base) || /^(?:lib)?python3\.\d+t/.test(base)) return undefined;
  let m = /\.cpython-3(\d+)[a-z]*-/.exec(base);
  let minor: number | undefined = m ? Number(m[1]) : undefined;
  if (minor === undefined) {
    m = /^(?:lib)?python3\.(\d+)/.exec(base);
    if (m) minor = Number(m[1]);
  }
  if (minor === undefined) return undefined;
  const v = `3.${minor}` as PyVersion;
  return PY_VERSIONS.includes(v) ? v : undefined;
}
