/* python/_tessera_deck.c: decks and studies for the `tessera` package
 * (tessera.deck.load, tessera.run). A binding, not a second driver: the
 * schemas, the deck reading (rank 0 reads, all validate), the study checks
 * and the study runs are tessera_app's own code (apps/, linked here as the
 * tessera_studies library), so a deck means the same thing and a study
 * writes the same bits from Python as from `mpirun tessera_app deck.toml`.
 * Also the registration hook for the checkpoint and DLPack files. */
#include "_tessera_ext.h"

#include <stdlib.h>
#include <string.h>
#include "app.h"

static void deck_free(PyObject *c)
{
  tess_deck_t *d = PyCapsule_GetPointer(c, "tessera.deck");
  tess_deck_destroy(&d);   /* plain memory: fine after finalize too */
}

static tess_deck_t *as_deck(PyObject *c) { return PyCapsule_GetPointer(c, "tessera.deck"); }

/* deck_load(path, ["key=value", ...]) -> deck capsule. Collective on
 * MPI_COMM_WORLD. What tessera_app does before running: load and validate,
 * the [job] keys, the study's cross-key checks. */
static PyObject *py_deck_load(PyObject *self, PyObject *args)
{
  const char *path;
  PyObject *sets;
  tess_app_opts_t o;
  tess_deck_t *d = NULL;
  tess_err_t e;
  (void)self;
  if (!PyArg_ParseTuple(args, "sO!", &path, &PyList_Type, &sets)) return NULL;
  memset(&o, 0, sizeof o);
  Py_ssize_t n = PyList_Size(sets);
  o.sets = malloc(((size_t)n + 1) * sizeof *o.sets);
  if (!o.sets) return PyErr_NoMemory();
  for (Py_ssize_t i = 0; i < n; i++)   /* UTF-8 buffers live as long as the list */
    if (!(o.sets[i] = PyUnicode_AsUTF8(PyList_GetItem(sets, i)))) {
      free(o.sets);
      return NULL;
    }
  o.deck = path;
  o.nsets = (size_t)n;
  Py_BEGIN_ALLOW_THREADS
  e = tess_app_load_deck(&o, &d);
  if (!e) {
    const tess_study_t *s = tess_app_find_study(tess_deck_study(d));
    e = tess_app_check_job(d);
    if (!e && s && s->check) e = s->check(d);
  }
  Py_END_ALLOW_THREADS
  free(o.sets);
  if (e) {
    tess_deck_destroy(&d);
    return tess_py_raise(e);
  }
  PyObject *c = PyCapsule_New(d, "tessera.deck", deck_free);
  if (!c) tess_deck_destroy(&d);
  return c;
}

/* The schema entry of `path` (the study's keys, then the common ones). */
static const tess_deck_key_t *find_key(const tess_deck_t *d, const char *path)
{
  const tess_deck_schema_t *s = tess_deck_schema(d);
  size_t nc = 0;
  const tess_deck_key_t *c = tess_deck_common_keys(&nc);
  for (size_t i = 0; s && i < s->nkeys; i++)
    if (strcmp(s->keys[i].path, path) == 0) return &s->keys[i];
  for (size_t i = 0; i < nc; i++)
    if (strcmp(c[i].path, path) == 0) return &c[i];
  return NULL;
}

static PyObject *get_array(const tess_deck_t *d, const tess_deck_key_t *k)
{
  size_t n = 0, m = 0;
  void *buf = NULL;
  tess_err_t e;
  PyObject *out = NULL;
  /* the length first: out NULL and max 0 is allowed; a longer array is an error */
  if (k->type == TESS_KEY_INT_ARRAY) e = tess_deck_get_int_array(d, k->path, NULL, 0, &n);
  else if (k->type == TESS_KEY_FLOAT_ARRAY) e = tess_deck_get_double_array(d, k->path, NULL, 0, &n);
  else e = tess_deck_get_string_array(d, k->path, NULL, 0, &n);
  if (e && e != TESS_ERR_DECK) return tess_py_raise(e);
  tess_error_clear();
  buf = malloc((n ? n : 1) * 8);   /* int64, double and pointers: 8 bytes */
  if (!buf) return PyErr_NoMemory();
  if (k->type == TESS_KEY_INT_ARRAY) e = tess_deck_get_int_array(d, k->path, buf, n, &m);
  else if (k->type == TESS_KEY_FLOAT_ARRAY) e = tess_deck_get_double_array(d, k->path, buf, n, &m);
  else e = tess_deck_get_string_array(d, k->path, buf, n, &m);
  if (e) {
    free(buf);
    return tess_py_raise(e);
  }
  out = PyList_New((Py_ssize_t)m);
  for (size_t i = 0; out && i < m; i++) {
    PyObject *v = k->type == TESS_KEY_INT_ARRAY     ? PyLong_FromLongLong(((int64_t *)buf)[i])
                  : k->type == TESS_KEY_FLOAT_ARRAY ? PyFloat_FromDouble(((double *)buf)[i])
                                                    : PyUnicode_FromString(((const char **)buf)[i]);
    if (!v) {
      Py_CLEAR(out);
      break;
    }
    PyList_SET_ITEM(out, (Py_ssize_t)i, v);
  }
  free(buf);
  return out;
}

/* deck_get(deck, "key.path") -> int, float, bool, str or a list of them */
static PyObject *py_deck_get(PyObject *self, PyObject *args)
{
  PyObject *dc;
  const char *path;
  (void)self;
  if (!PyArg_ParseTuple(args, "Os", &dc, &path)) return NULL;
  const tess_deck_t *d = as_deck(dc);
  if (!d) return NULL;
  const tess_deck_key_t *k = find_key(d, path);
  if (!k) {   /* the library's own message, naming the key */
    const char *s;
    return tess_py_raise(tess_deck_get_string(d, path, &s));
  }
  switch (k->type) {
  case TESS_KEY_INT: {
    int64_t v;
    tess_err_t e = tess_deck_get_int(d, path, &v);
    return e ? tess_py_raise(e) : PyLong_FromLongLong(v);
  }
  case TESS_KEY_FLOAT: {
    double v;
    tess_err_t e = tess_deck_get_double(d, path, &v);
    return e ? tess_py_raise(e) : PyFloat_FromDouble(v);
  }
  case TESS_KEY_BOOL: {
    int v;
    tess_err_t e = tess_deck_get_bool(d, path, &v);
    return e ? tess_py_raise(e) : PyBool_FromLong(v);
  }
  case TESS_KEY_STRING: {
    const char *v;
    tess_err_t e = tess_deck_get_string(d, path, &v);
    return e ? tess_py_raise(e) : PyUnicode_FromString(v);
  }
  default: return get_array(d, k);
  }
}

/* deck_info(deck) -> (path, study, effective TOML, [(key, is_set), ...]) */
static PyObject *py_deck_info(PyObject *self, PyObject *dc)
{
  (void)self;
  const tess_deck_t *d = as_deck(dc);
  if (!d) return NULL;
  const tess_deck_schema_t *s = tess_deck_schema(d);
  size_t nc = 0;
  const tess_deck_key_t *c = tess_deck_common_keys(&nc);
  PyObject *keys = PyList_New(0);
  for (size_t i = 0; keys && i < s->nkeys + nc; i++) {
    const char *p = i < s->nkeys ? s->keys[i].path : c[i - s->nkeys].path;
    if (i >= s->nkeys && s->stateless && strncmp(p, "checkpoint.", 11) == 0) continue;
    PyObject *t = Py_BuildValue("(sO)", p, tess_deck_is_set(d, p) ? Py_True : Py_False);
    if (!t || PyList_Append(keys, t) < 0) Py_CLEAR(keys);
    Py_XDECREF(t);
  }
  if (!keys) return NULL;
  return Py_BuildValue("(sssN)", tess_deck_path(d), tess_deck_study(d), tess_deck_text(d), keys);
}

/* tessera_app's exit statuses (app.h) for status.toml */
static int exit_status(tess_err_t e)
{
  return e == TESS_OK                                  ? TESS_EXIT_OK
         : e == TESS_ERR_INTERRUPTED                   ? TESS_EXIT_SIGNAL
         : e == TESS_ERR_DECK || e == TESS_ERR_PARSE ? TESS_EXIT_DECK
                                                       : TESS_EXIT_RUNTIME;
}

/* run(deck, restart or None, resume) -> seconds. Collective on
 * MPI_COMM_WORLD. tessera_app's sequence after validation: comm.backend,
 * run.output_dir ready (status.toml "running"), the study, the final
 * status. Not done here: signal handlers (Python owns them) and the app's
 * agreement on a failure (a rank whose peers fail may wait in a collective:
 * the same as in any MPI program). */
static PyObject *py_run(PyObject *self, PyObject *args)
{
  PyObject *dc;
  const char *restart = NULL;
  int resume = 0, rank = 0;
  tess_err_t e;
  const char *dev = NULL;
  static char prog[] = "tessera";
  static char *argv[] = {prog, NULL};   /* PETSc studies: no options from Python */
  (void)self;
  if (!PyArg_ParseTuple(args, "Oz|p", &dc, &restart, &resume)) return NULL;
  const tess_deck_t *d = as_deck(dc);
  if (!d) return NULL;
  const tess_study_t *s = tess_app_find_study(tess_deck_study(d));
  if (!s)
    return tess_py_raise(tess_error_push(TESS_ERR_DECK, __FILE__, __LINE__, __func__, "no study '%s'",
                                         tess_deck_study(d)));
  if (restart && s->schema->stateless)
    return tess_py_raise(tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, __func__,
                                         "restart: study '%s' cannot resume from a checkpoint", s->name));
  tess_study_opts_t so = {.restart = restart, .resume = resume, .petsc_argc = 1, .petsc_argv = argv};
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  double t0 = tess_wtime();
  Py_BEGIN_ALLOW_THREADS
  e = tess_app_comm_backend(d, &dev);
  if (!e) e = tess_app_output_ready(d);
  if (!e) {
    e = s->run(d, &so);
    if (rank == 0) {
      char first[512];
      snprintf(first, sizeof first, "%s", e ? tess_error_message() : "");
      tess_app_status_final(exit_status(e), e ? first : NULL);
    }
  }
  fflush(stdout);   /* the study's summary before Python's next line */
  Py_END_ALLOW_THREADS
  if (e) return tess_py_raise(e);
  return PyFloat_FromDouble(tess_wtime() - t0);
}

/* studies() -> [(name, summary), ...] */
static PyObject *py_studies(PyObject *self, PyObject *noargs)
{
  (void)self; (void)noargs;
  PyObject *l = PyList_New(0);
  for (size_t i = 0; l && i < tess_app_nstudies; i++) {
    PyObject *t = Py_BuildValue("(ss)", tess_app_studies[i]->name, tess_app_studies[i]->schema->summary);
    if (!t || PyList_Append(l, t) < 0) Py_CLEAR(l);
    Py_XDECREF(t);
  }
  return l;
}

static PyMethodDef deck_methods[] = {
  {"deck_load", py_deck_load, METH_VARARGS, "(path, [\"key=value\", ...]) -> deck"},
  {"deck_get", py_deck_get, METH_VARARGS, "(deck, key) -> value"},
  {"deck_info", py_deck_info, METH_O, "(path, study, text, [(key, is_set)])"},
  {"run", py_run, METH_VARARGS, "(deck, restart, resume) -> seconds"},
  {"studies", py_studies, METH_NOARGS, "[(name, summary)]"},
  {NULL, NULL, 0, NULL},
};

int tess_py_deck_init(PyObject *m)
{
  if (PyModule_AddFunctions(m, deck_methods) < 0) return -1;
  if (tess_py_ckpt_init(m) < 0) return -1;
  return tess_py_dlpack_init(m);
}
