/* int8dot: a CPython extension computing the dot product of two equal-length byte strings (unsigned ×
 * signed 8-bit, as in quantized inference), with AVX512_VNNI, AVX2 and scalar paths chosen at run time. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <immintrin.h>
#include <stdint.h>

/* vpdpbusd on 64-byte blocks (AVX512_VNNI with AVX512BW for the masked tail). */
__attribute__((target("avx512vnni,avx512bw,avx512f"))) static int64_t dot_vnni(const uint8_t *a, const int8_t *b, Py_ssize_t n) {
  __m512i acc = _mm512_setzero_si512();
  Py_ssize_t i = 0;
  for (; i + 64 <= n; i += 64) {
    __m512i va = _mm512_loadu_si512((const void *)(a + i));
    __m512i vb = _mm512_loadu_si512((const void *)(b + i));
    acc = _mm512_dpbusd_epi32(acc, va, vb);
  }
  if (i < n) {
    __mmask64 m = (1ull << (n - i)) - 1; /* n - i < 64 here */
    __m512i va = _mm512_maskz_loadu_epi8(m, a + i);
    __m512i vb = _mm512_maskz_loadu_epi8(m, b + i);
    acc = _mm512_dpbusd_epi32(acc, va, vb);
  }
  return _mm512_reduce_add_epi32(acc);
}

/* vpmaddubsw + vpmaddwd on 32-byte blocks (AVX2); vpmaddubsw saturates, so pairs are widened first. */
__attribute__((target("avx2"))) static int64_t dot_avx2(const uint8_t *a, const int8_t *b, Py_ssize_t n) {
  __m256i acc = _mm256_setzero_si256();
  const __m256i ones = _mm256_set1_epi16(1);
  Py_ssize_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i va = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(a + i)));
    __m256i vb = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i)));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_mullo_epi16(va, vb), ones));
  }
  int32_t lanes[8];
  _mm256_storeu_si256((__m256i *)lanes, acc);
  int64_t s = 0;
  for (int k = 0; k < 8; k++) s += lanes[k];
  for (; i < n; i++) s += (int64_t)a[i] * b[i];
  return s;
}

static int64_t dot_scalar(const uint8_t *a, const int8_t *b, Py_ssize_t n) {
  int64_t s = 0;
  for (Py_ssize_t i = 0; i < n; i++) s += (int64_t)a[i] * b[i];
  return s;
}

typedef int64_t (*dot_fn)(const uint8_t *, const int8_t *, Py_ssize_t);
static dot_fn chosen;
static const char *chosen_name;

static PyObject *int8dot_dot(PyObject *self, PyObject *args) {
  Py_buffer a, b;
  (void)self;
  if (!PyArg_ParseTuple(args, "y*y*", &a, &b)) return NULL;
  if (a.len != b.len) {
    PyBuffer_Release(&a);
    PyBuffer_Release(&b);
    PyErr_SetString(PyExc_ValueError, "operands differ in length");
    return NULL;
  }
  int64_t s = chosen((const uint8_t *)a.buf, (const int8_t *)b.buf, a.len);
  PyBuffer_Release(&a);
  PyBuffer_Release(&b);
  return PyLong_FromLongLong(s);
}

static PyObject *int8dot_reference(PyObject *self, PyObject *args) {
  Py_buffer a, b;
  (void)self;
  if (!PyArg_ParseTuple(args, "y*y*", &a, &b)) return NULL;
  Py_ssize_t n = a.len < b.len ? a.len : b.len;
  int64_t s = dot_scalar((const uint8_t *)a.buf, (const int8_t *)b.buf, n);
  PyBuffer_Release(&a);
  PyBuffer_Release(&b);
  return PyLong_FromLongLong(s);
}

static PyObject *int8dot_path(PyObject *self, PyObject *noargs) {
  (void)self;
  (void)noargs;
  return PyUnicode_FromString(chosen_name);
}

static PyMethodDef methods[] = {
    {"dot", int8dot_dot, METH_VARARGS, "dot(a, b): sum of a[i] (unsigned) * b[i] (signed) over two byte strings."},
    {"reference", int8dot_reference, METH_VARARGS, "The scalar path, for checking."},
    {"path", int8dot_path, METH_NOARGS, "The path chosen on this CPU: avx512_vnni, avx2 or scalar."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, .m_name = "int8dot", .m_doc = "Int8 dot products with run-time CPU dispatch.", .m_size = -1, .m_methods = methods};

PyMODINIT_FUNC PyInit_int8dot(void) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw")) {
    chosen = dot_vnni;
    chosen_name = "avx512_vnni";
  } else if (__builtin_cpu_supports("avx2")) {
    chosen = dot_avx2;
    chosen_name = "avx2";
  } else {
    chosen = dot_scalar;
    chosen_name = "scalar";
  }
  return PyModule_Create(&module);
}
