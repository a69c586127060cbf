/* pkeys: a CPython extension guarding a small buffer with a memory protection key (pkey_alloc,
 * pkey_mprotect) and opening it around each write with pkey_set (WRPKRU/RDPKRU in glibc); without
 * protection keys (no PKU, or the kernel refuses) it falls back to mprotect(2). */
#define _GNU_SOURCE
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

static uint8_t *page;
static int pkey = -1;
static size_t page_size = 4096;

/* Writes `data` into the guarded page at `offset` and returns the byte sum of the page's first 256 bytes. */
static PyObject *pkeys_write(PyObject *self, PyObject *args) {
  Py_buffer b;
  Py_ssize_t offset;
  (void)self;
  if (!PyArg_ParseTuple(args, "ny*", &offset, &b)) return NULL;
  if (offset < 0 || (size_t)offset + (size_t)b.len > page_size) {
    PyBuffer_Release(&b);
    PyErr_SetString(PyExc_ValueError, "out of range");
    return NULL;
  }
  if (pkey >= 0) {
    pkey_set(pkey, 0);
  } else if (mprotect(page, page_size, PROT_READ | PROT_WRITE) != 0) {
    PyBuffer_Release(&b);
    return PyErr_SetFromErrno(PyExc_OSError);
  }
  memcpy(page + offset, b.buf, (size_t)b.len);
  unsigned sum = 0;
  for (int i = 0; i < 256; i++) sum += page[i];
  if (pkey >= 0) pkey_set(pkey, PKEY_DISABLE_WRITE);
  else mprotect(page, page_size, PROT_READ);
  PyBuffer_Release(&b);
  return PyLong_FromUnsignedLong(sum);
}

/* The current access rights of our key (pkey_get, RDPKRU), or -1 without protection keys. */
static PyObject *pkeys_rights(PyObject *self, PyObject *noargs) {
  (void)self;
  (void)noargs;
  return PyLong_FromLong(pkey >= 0 ? pkey_get(pkey) : -1);
}

static PyObject *pkeys_path(PyObject *self, PyObject *noargs) {
  (void)self;
  (void)noargs;
  return PyUnicode_FromString(pkey >= 0 ? "pku" : "mprotect");
}

static PyMethodDef methods[] = {
    {"write", pkeys_write, METH_VARARGS, "write(offset, data) into the guarded page; returns a checksum."},
    {"rights", pkeys_rights, METH_NOARGS, "pkey_get() of the guard key, or -1."},
    {"path", pkeys_path, METH_NOARGS, "pku or mprotect."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, .m_name = "pkeys", .m_doc = "A buffer guarded by a memory protection key.", .m_size = -1, .m_methods = methods};

PyMODINIT_FUNC PyInit_pkeys(void) {
  long ps = sysconf(_SC_PAGESIZE);
  if (ps > 0) page_size = (size_t)ps;
  page = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return PyErr_SetFromErrno(PyExc_OSError);
  pkey = pkey_alloc(0, PKEY_DISABLE_WRITE);
  if (pkey >= 0 && pkey_mprotect(page, page_size, PROT_READ | PROT_WRITE, pkey) != 0) {
    pkey_free(pkey);
    pkey = -1;
  }
  if (pkey < 0) mprotect(page, page_size, PROT_READ);
  return PyModule_Create(&module);
}
