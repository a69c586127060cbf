/* gatekern: a CPython extension for the gate-attack workloads (eval/workloads/gate_*.py). Each Python-callable
 * entry runs one small kernel whose instructions need one distinctive CPU feature (GFNI, AVX512_VBMI2, ...), so
 * the oracle sees which route reached it; `each` calls back into Python by method name (obj.on_item). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <immintrin.h>
#include <stdint.h>

#define LOW64(z) ((uint64_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(z)))

/* One kernel per feature; noinline keeps each instruction in its own function, on its route only. */
__attribute__((target("gfni,sse2"), noinline)) static uint64_t k_gfni(uint64_t v) {
  __m128i x = _mm_set1_epi64x((long long)v);
  return (uint64_t)_mm_cvtsi128_si64(_mm_gf2p8mul_epi8(x, x));
}
__attribute__((target("avx512vbmi2,avx512f"), noinline)) static uint64_t k_vbmi2(uint64_t v) {
  __m512i x = _mm512_set1_epi64((long long)v);
  return LOW64(_mm512_shldv_epi32(x, x, x));
}
__attribute__((target("avx512bitalg,avx512bw,avx512f"), noinline)) static uint64_t k_bitalg(uint64_t v) {
  return LOW64(_mm512_popcnt_epi8(_mm512_set1_epi64((long long)v)));
}
__attribute__((target("avx512vpopcntdq,avx512f"), noinline)) static uint64_t k_vpopcntdq(uint64_t v) {
  return LOW64(_mm512_popcnt_epi64(_mm512_set1_epi64((long long)v)));
}
__attribute__((target("avx512vbmi,avx512f"), noinline)) static uint64_t k_vbmi(uint64_t v) {
  __m512i x = _mm512_set1_epi64((long long)v);
  return LOW64(_mm512_permutexvar_epi8(x, x));
}
__attribute__((target("avx512bf16,avx512f"), noinline)) static uint64_t k_bf16(uint64_t v) {
  __m512 x = _mm512_castsi512_ps(_mm512_set1_epi64((long long)v));
  return LOW64(_mm512_castps_si512(_mm512_dpbf16_ps(x, (__m512bh)x, (__m512bh)x)));
}

static PyObject *run(uint64_t (*k)(uint64_t), PyObject *arg) {
  unsigned long long v = PyLong_AsUnsignedLongLongMask(arg);
  if (v == (unsigned long long)-1 && PyErr_Occurred()) return NULL;
  return PyLong_FromUnsignedLongLong(k(v) & 0xffff);
}

/* Module functions, one per route (the names say which workload and route use them). */
#define ENTRY(name, kernel) \
  static PyObject *name(PyObject *self, PyObject *arg) { \
    (void)self; \
    return run(kernel, arg); \
  }
ENTRY(exec_kernel, k_vbmi2)
ENTRY(unpickle_kernel, k_bitalg)
ENTRY(lib_exec_kernel, k_vbmi2)
ENTRY(lib_unpickle_kernel, k_bitalg)
ENTRY(thread_kernel, k_vpopcntdq)
ENTRY(signal_kernel, k_bf16)
ENTRY(async_kernel, k_vbmi)
ENTRY(sort_key, k_gfni)
ENTRY(map_kernel, k_vbmi2)
ENTRY(ctypes_kernel, k_vpopcntdq)
ENTRY(ext_kernel, k_vbmi)

static PyObject *reduce_kernel(PyObject *self, PyObject *args) {
  PyObject *a, *b;
  (void)self;
  if (!PyArg_ParseTuple(args, "OO", &a, &b)) return NULL;
  unsigned long long x = PyLong_AsUnsignedLongLongMask(a) ^ PyLong_AsUnsignedLongLongMask(b);
  if (PyErr_Occurred()) return NULL;
  return PyLong_FromUnsignedLongLong(k_bitalg(x) & 0xffff);
}

/* each(obj, n): calls obj.on_item(i) for i in range(n), C code calling Python by a method name. */
static PyObject *each(PyObject *self, PyObject *args) {
  PyObject *obj;
  int n;
  (void)self;
  if (!PyArg_ParseTuple(args, "Oi", &obj, &n)) return NULL;
  for (int i = 0; i < n; i++) {
    PyObject *r = PyObject_CallMethod(obj, "on_item", "i", i);
    if (!r) return NULL;
    Py_DECREF(r);
  }
  Py_RETURN_NONE;
}

/* Kernels: a type whose instances' methods the workloads call by computed names. */
typedef struct {
  PyObject_HEAD
} KernelsObject;

static PyObject *gf_mix(PyObject *self, PyObject *arg) {
  (void)self;
  return run(k_gfni, arg);
}
static PyObject *gf_mix_lib(PyObject *self, PyObject *arg) {
  (void)self;
  return run(k_gfni, arg);
}

static PyMethodDef kernels_methods[] = {
    {"gf_mix", gf_mix, METH_O, "GFNI kernel (gate-reflect: called by a computed name)."},
    {"gf_mix_lib", gf_mix_lib, METH_O, "GFNI kernel (gate-libreflect: called by a computed name in a library)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject KernelsType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "gatekern.Kernels",
    .tp_basicsize = sizeof(KernelsObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_methods = kernels_methods,
};

static PyMethodDef methods[] = {
    {"exec_kernel", exec_kernel, METH_O, NULL},
    {"unpickle_kernel", unpickle_kernel, METH_O, NULL},
    {"lib_exec_kernel", lib_exec_kernel, METH_O, NULL},
    {"lib_unpickle_kernel", lib_unpickle_kernel, METH_O, NULL},
    {"thread_kernel", thread_kernel, METH_O, NULL},
    {"signal_kernel", signal_kernel, METH_O, NULL},
    {"async_kernel", async_kernel, METH_O, NULL},
    {"sort_key", sort_key, METH_O, NULL},
    {"map_kernel", map_kernel, METH_O, NULL},
    {"reduce_kernel", reduce_kernel, METH_VARARGS, NULL},
    {"ctypes_kernel", ctypes_kernel, METH_O, NULL},
    {"ext_kernel", ext_kernel, METH_O, NULL},
    {"each", each, METH_VARARGS, "each(obj, n): obj.on_item(i) for i in range(n)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, .m_name = "gatekern", .m_doc = "Kernels for the gate-attack workloads.", .m_size = -1, .m_methods = methods};

PyMODINIT_FUNC PyInit_gatekern(void) {
  if (PyType_Ready(&KernelsType) < 0) return NULL;
  PyObject *m = PyModule_Create(&module);
  if (!m) return NULL;
  Py_INCREF(&KernelsType);
  if (PyModule_AddObject(m, "Kernels", (PyObject *)&KernelsType) < 0) {
    Py_DECREF(&KernelsType);
    Py_DECREF(m);
    return NULL;
  }
  return m;
}
