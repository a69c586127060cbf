/* gatelate: a CPython extension the gate-late workload imports only after the analysis (importlib), so its
 * code is not even mapped when the process is analysed; late_kernel needs AVX512_VPOPCNTDQ. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <immintrin.h>
#include <stdint.h>

__attribute__((target("avx512vpopcntdq,avx512f"), noinline)) static uint64_t k_vpopcntdq(uint64_t v) {
  return (uint64_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(_mm512_popcnt_epi64(_mm512_set1_epi64((long long)v))));
}

static PyObject *late_kernel(PyObject *self, PyObject *arg) {
  (void)self;
  unsigned long long v = PyLong_AsUnsignedLongLongMask(arg);
  if (v == (unsigned long long)-1 && PyErr_Occurred()) return NULL;
  return PyLong_FromUnsignedLongLong(k_vpopcntdq(v));
}

static PyMethodDef methods[] = {
    {"late_kernel", late_kernel, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, .m_name = "gatelate", .m_doc = "A kernel loaded after the analysis.", .m_size = -1, .m_methods = methods};

PyMODINIT_FUNC PyInit_gatelate(void) { return PyModule_Create(&module); }
