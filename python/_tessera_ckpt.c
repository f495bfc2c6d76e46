/* python/_tessera_ckpt.c: tessera.checkpoint.save / load over
 * tess_checkpoint_* (include/tessera/checkpoint.h). Each call opens, does
 * everything and closes or commits in one go: checkpoint handles are
 * collective, so none is left to a garbage collector that runs at different
 * times on different ranks. Saving is atomic (a temporary file, renamed by
 * the commit; on any failure the previous file is untouched); arrays are
 * stored whole, so a load may use any mesh and rank count. */
#include "_tessera_ext.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *key;
  int kind;   /* 0 int, 1 double, 2 string */
  int64_t i;
  double d;
  const char *s;
} attr_t;

/* Python values -> attr_t, before any collective call (a bad value must not
 * leave the other ranks inside one). Pointers live as long as the dict. */
static int parse_attrs(PyObject *dict, attr_t **out, Py_ssize_t *n)
{
  PyObject *k, *v;
  Py_ssize_t pos = 0, i = 0;
  *n = PyDict_Size(dict);
  *out = calloc((size_t)*n + 1, sizeof **out);
  if (!*out) {
    PyErr_NoMemory();
    return -1;
  }
  while (PyDict_Next(dict, &pos, &k, &v)) {
    attr_t *a = &(*out)[i++];
    if (!(a->key = PyUnicode_AsUTF8(k))) goto fail;
    if (PyBool_Check(v) || PyLong_Check(v)) {
      a->kind = 0;
      a->i = PyLong_AsLongLong(v);
    } else if (PyFloat_Check(v)) {
      a->kind = 1;
      a->d = PyFloat_AsDouble(v);
    } else if (PyUnicode_Check(v)) {
      a->kind = 2;
      a->s = PyUnicode_AsUTF8(v);
    } else {
      PyErr_Format(PyExc_TypeError, "checkpoint attribute '%s': int, float, bool or str, not %s", a->key,
                   Py_TYPE(v)->tp_name);
      goto fail;
    }
    if (PyErr_Occurred()) goto fail;
  }
  return 0;
fail:
  free(*out);
  *out = NULL;
  return -1;
}

/* ckpt_save(path, [(name, array capsule)], {attr: value}). Collective on the
 * arrays' mesh (MPI_COMM_WORLD without arrays). */
static PyObject *py_ckpt_save(PyObject *self, PyObject *args)
{
  const char *path;
  PyObject *items, *attrs;
  attr_t *at = NULL;
  Py_ssize_t na = 0, n;
  const char **names = NULL;
  tess_array_t **arrs = NULL;
  tess_checkpoint_t *ck = NULL;
  tess_err_t err = TESS_OK;
  (void)self;
  if (!PyArg_ParseTuple(args, "sO!O!", &path, &PyList_Type, &items, &PyDict_Type, &attrs)) return NULL;
  n = PyList_Size(items);
  names = calloc((size_t)n + 1, sizeof *names);
  arrs = calloc((size_t)n + 1, sizeof *arrs);
  if (!names || !arrs) {
    PyErr_NoMemory();
    goto fail;
  }
  for (Py_ssize_t i = 0; i < n; i++) {
    PyObject *nm, *ac;
    if (!PyArg_ParseTuple(PyList_GetItem(items, i), "UO", &nm, &ac)) goto fail;
    if (!(names[i] = PyUnicode_AsUTF8(nm)) || !(arrs[i] = PyCapsule_GetPointer(ac, "tessera.array"))) goto fail;
  }
  if (parse_attrs(attrs, &at, &na) < 0) goto fail;
  MPI_Comm comm = n ? tess_mesh_comm(tess_array_mesh(arrs[0])) : MPI_COMM_WORLD;
  Py_BEGIN_ALLOW_THREADS
  err = tess_checkpoint_begin(comm, path, &ck);
  for (Py_ssize_t i = 0; !err && i < n; i++) err = tess_checkpoint_write_array(ck, names[i], arrs[i]);
  for (Py_ssize_t i = 0; !err && i < na; i++)
    err = at[i].kind == 0   ? tess_checkpoint_set_attr_int(ck, at[i].key, at[i].i)
          : at[i].kind == 1 ? tess_checkpoint_set_attr_double(ck, at[i].key, at[i].d)
                            : tess_checkpoint_set_attr_string(ck, at[i].key, at[i].s);
  if (!err) err = tess_checkpoint_commit(&ck);
  tess_checkpoint_close(&ck);   /* after a failure: removes the temporary file */
  Py_END_ALLOW_THREADS
  free(at);
  free(names);
  free(arrs);
  if (err) return tess_py_raise(err);
  Py_RETURN_NONE;
fail:
  free(at);
  free(names);
  free(arrs);
  return NULL;
}

/* One attribute of whatever type it has: int, then float, then string.
 * Each try is collective and fails alike on every rank. */
static PyObject *get_attr(tess_checkpoint_t *ck, const char *key)
{
  int64_t i;
  double d;
  const char *s;
  if (tess_checkpoint_get_attr_int(ck, key, &i) == TESS_OK) return PyLong_FromLongLong(i);
  tess_error_clear();
  if (tess_checkpoint_get_attr_double(ck, key, &d) == TESS_OK) return PyFloat_FromDouble(d);
  tess_error_clear();
  tess_err_t e = tess_checkpoint_get_attr_string(ck, key, &s);
  return e ? tess_py_raise(e) : PyUnicode_FromString(s);
}

/* ckpt_load(path, mesh, [(name, spec or None)], [attr keys]) ->
 * ([array capsules], {key: value}). Collective on the mesh. spec: one axis
 * index or -1 per dimension; None: dim 0 over axis 0, the rest replicated. */
static PyObject *py_ckpt_load(PyObject *self, PyObject *args)
{
  const char *path;
  PyObject *mc, *items, *keys, *arrays = NULL, *attrs = NULL;
  tess_checkpoint_t *ck = NULL;
  tess_array_t *a = NULL;
  tess_err_t e;
  (void)self;
  if (!PyArg_ParseTuple(args, "sOO!O!", &path, &mc, &PyList_Type, &items, &PyList_Type, &keys)) return NULL;
  tess_mesh_t *m = PyCapsule_GetPointer(mc, "tessera.mesh");
  if (!m) return NULL;
  Py_BEGIN_ALLOW_THREADS
  e = tess_checkpoint_open(tess_mesh_comm(m), path, &ck);
  Py_END_ALLOW_THREADS
  if (e) return tess_py_raise(e);
  if (!(arrays = PyList_New(0)) || !(attrs = PyDict_New())) goto fail;
  for (Py_ssize_t i = 0; i < PyList_Size(items); i++) {
    const char *name;
    PyObject *spec, *c;
    tess_dtype_t t;
    int nd = 0;
    int64_t shape[TESS_MAX_NDIM];
    tess_shardspec_t sp;
    if (!PyArg_ParseTuple(PyList_GetItem(items, i), "sO", &name, &spec)) goto fail;
    Py_BEGIN_ALLOW_THREADS
    e = tess_checkpoint_array_info(ck, name, &t, &nd, shape);
    Py_END_ALLOW_THREADS
    if (e) {
      tess_py_raise(e);
      goto fail;
    }
    sp.ndim = nd;
    for (int d = 0; d < nd; d++) sp.axis[d] = d == 0 ? 0 : TESS_REPLICATED;
    if (spec != Py_None) {
      if (PySequence_Size(spec) != nd) {
        PyErr_Format(PyExc_ValueError, "checkpoint '%s': dataset '%s' has %d dimensions, the spec %zd entries",
                     path, name, nd, PySequence_Size(spec));
        goto fail;
      }
      for (int d = 0; d < nd; d++) {
        PyObject *x = PySequence_GetItem(spec, d);
        sp.axis[d] = x ? (int)PyLong_AsLong(x) : 0;
        Py_XDECREF(x);
        if (sp.axis[d] < 0) sp.axis[d] = TESS_REPLICATED;
      }
      if (PyErr_Occurred()) goto fail;
    }
    /* every rank reaches here alike (same file, same arguments) */
    Py_BEGIN_ALLOW_THREADS
    e = tess_array_create(m, t, nd, shape, &sp, TESS_MEM_HOST, &a);
    if (!e) e = tess_checkpoint_read_array(ck, name, a);
    Py_END_ALLOW_THREADS
    if (e) {
      tess_array_destroy(&a);
      tess_py_raise(e);
      goto fail;
    }
    c = tess_py_array_capsule(a);
    a = NULL;
    if (!c || PyList_Append(arrays, c) < 0) {
      Py_XDECREF(c);
      goto fail;
    }
    Py_DECREF(c);
  }
  for (Py_ssize_t i = 0; i < PyList_Size(keys); i++) {
    const char *k = PyUnicode_AsUTF8(PyList_GetItem(keys, i));
    PyObject *v = k ? get_attr(ck, k) : NULL;
    if (!v || PyDict_SetItemString(attrs, k, v) < 0) {
      Py_XDECREF(v);
      goto fail;
    }
    Py_DECREF(v);
  }
  tess_checkpoint_close(&ck);
  return Py_BuildValue("(NN)", arrays, attrs);
fail:
  tess_checkpoint_close(&ck);
  Py_XDECREF(arrays);
  Py_XDECREF(attrs);
  return NULL;
}

static PyMethodDef ckpt_methods[] = {
  {"ckpt_save", py_ckpt_save, METH_VARARGS, "(path, [(name, array)], {attr: value})"},
  {"ckpt_load", py_ckpt_load, METH_VARARGS, "(path, mesh, [(name, spec)], [keys]) -> (arrays, attrs)"},
  {NULL, NULL, 0, NULL},
};

int tess_py_ckpt_init(PyObject *m) { return PyModule_AddFunctions(m, ckpt_methods); }
