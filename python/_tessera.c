/* python/_tessera.c: the CPython extension under `tessera` (python/tessera/).
 * A thin layer: every number comes from libtessera. Handles (meshes, arrays,
 * FFT plans) are capsules; the Python classes in tessera/ wrap them. Arrays'
 * local blocks are NumPy views (no copy) that keep their array alive. A
 * failing call raises tessera.TesseraError with Tessera's message and its
 * frames (file, line, function, message; deepest first) and clears the stack.
 * The GIL is released around FFT executions and reshards. */
#include "_tessera_ext.h"
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>
#include <string.h>
#include <tessera/tessera.h>

PyObject *tess_py_error;   /* tessera.TesseraError (_tessera_ext.h) */
static int finalized;   /* after tess_finalize: handles are leaked, not destroyed */

/* Raise TesseraError from Tessera's error stack: args (message, code name,
 * [(file, line, func, message), ...]). */
PyObject *tess_py_raise(tess_err_t e)
{
  PyObject *frames = PyList_New(0);
  tess_error_frame_t f;
  for (int i = 0; frames && tess_error_frame(i, &f) == TESS_OK; i++) {
    PyObject *t = Py_BuildValue("(sisss)", f.file ? f.file : "", f.line, f.func ? f.func : "",
                                f.message ? f.message : "", tess_err_name(f.code));
    if (t) {
      PyList_Append(frames, t);
      Py_DECREF(t);
    }
  }
  PyObject *args = Py_BuildValue("(ssN)", tess_error_message(), tess_err_name(e), frames);
  if (args) {
    PyErr_SetObject(tess_py_error, args);
    Py_DECREF(args);
  }
  tess_error_clear();
  return NULL;
}
#define CALL(expr)                                                                    \
  do {                                                                                \
    tess_err_t e_ = (expr);                                                           \
    if (e_ != TESS_OK) return tess_py_raise(e_);                                         \
  } while (0)

/* ---- capsules ---------------------------------------------------------------- */
static void mesh_free(PyObject *c)
{
  tess_mesh_t *m = PyCapsule_GetPointer(c, "tessera.mesh");
  if (m && !finalized && tess_initialized()) tess_mesh_destroy(&m);
}

static void array_free(PyObject *c)
{
  tess_array_t *a = PyCapsule_GetPointer(c, "tessera.array");
  if (a && !finalized) tess_array_destroy(&a);
}

PyObject *tess_py_array_capsule(tess_array_t *a)
{
  PyObject *c = PyCapsule_New(a, "tessera.array", array_free);
  if (!c) tess_array_destroy(&a);
  return c;
}

static void plan_free(PyObject *c)
{
  tess_fft_plan_t *p = PyCapsule_GetPointer(c, "tessera.plan");
  if (p && !finalized) tess_fft_plan_destroy(&p);
}

static tess_mesh_t *as_mesh(PyObject *c) { return PyCapsule_GetPointer(c, "tessera.mesh"); }
static tess_array_t *as_array(PyObject *c) { return PyCapsule_GetPointer(c, "tessera.array"); }
static tess_fft_plan_t *as_plan(PyObject *c) { return PyCapsule_GetPointer(c, "tessera.plan"); }

/* ---- init ------------------------------------------------------------------- */
static PyObject *py_init(PyObject *self, PyObject *noargs)
{
  (void)self; (void)noargs;
  if (!tess_initialized()) CALL(tess_init(NULL, NULL));
  Py_RETURN_NONE;
}

static PyObject *py_finalize(PyObject *self, PyObject *noargs)
{
  (void)self; (void)noargs;
  if (tess_initialized() && !finalized) {
    finalized = 1;
    CALL(tess_finalize());
  }
  Py_RETURN_NONE;
}

static PyObject *py_world(PyObject *self, PyObject *noargs)
{
  int r = 0, n = 1;
  (void)self; (void)noargs;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return Py_BuildValue("(ii)", r, n);
}

/* ---- meshes ----------------------------------------------------------------- */
/* mesh_create(names, sizes, fcomm): fcomm is a Fortran communicator handle
 * (mpi4py's comm.py2f()), or -1 for MPI_COMM_WORLD. */
static PyObject *py_mesh_create(PyObject *self, PyObject *args)
{
  PyObject *names, *sizes;
  const char *nm[8];
  int sz[8];
  long fcomm = -1;
  tess_mesh_t *m = NULL;
  (void)self;
  if (!PyArg_ParseTuple(args, "O!O!|l", &PyList_Type, &names, &PyList_Type, &sizes, &fcomm)) return NULL;
  Py_ssize_t n = PyList_Size(names);
  if (n < 1 || n > 8 || PyList_Size(sizes) != n)
    return PyErr_Format(PyExc_ValueError, "1 to 8 axes, as many sizes as names");
  for (Py_ssize_t i = 0; i < n; i++) {
    nm[i] = PyUnicode_AsUTF8(PyList_GetItem(names, i));
    sz[i] = (int)PyLong_AsLong(PyList_GetItem(sizes, i));
    if (!nm[i] || PyErr_Occurred()) return NULL;
  }
  MPI_Comm comm = fcomm < 0 ? MPI_COMM_WORLD : MPI_Comm_f2c((MPI_Fint)fcomm);
  CALL(tess_mesh_create(comm, (int)n, nm, sz, &m));
  return PyCapsule_New(m, "tessera.mesh", mesh_free);
}

/* max_over_ranks(mesh, x): the largest x over the mesh's ranks (a collective:
 * also a barrier), through tess_comm. */
static PyObject *py_max_over_ranks(PyObject *self, PyObject *args)
{
  PyObject *mc;
  double x, y = 0;
  (void)self;
  if (!PyArg_ParseTuple(args, "Od", &mc, &x)) return NULL;
  tess_mesh_t *m = as_mesh(mc);
  if (!m) return NULL;
  CALL(tess_comm_allreduce(m, TESS_AXES_ALL, &x, &y, 1, TESS_F64, TESS_OP_MAX, TESS_MEM_HOST, NULL));
  return PyFloat_FromDouble(y);
}

static PyObject *py_mesh_info(PyObject *self, PyObject *arg)
{
  tess_mesh_t *m = as_mesh(arg);
  (void)self;
  if (!m) return NULL;
  int n = tess_mesh_naxes(m);
  PyObject *names = PyList_New(n), *sizes = PyList_New(n);
  for (int i = 0; i < n; i++) {
    PyList_SetItem(names, i, PyUnicode_FromString(tess_mesh_axis_name(m, i)));
    PyList_SetItem(sizes, i, PyLong_FromLong(tess_mesh_axis_size(m, i)));
  }
  return Py_BuildValue("(NNi)", names, sizes, tess_mesh_rank(m));
}

/* ---- arrays ----------------------------------------------------------------- */
static int npy_type(tess_dtype_t t)
{
  switch (t) {
  case TESS_F32: return NPY_FLOAT32;
  case TESS_F64: return NPY_FLOAT64;
  case TESS_C64: return NPY_COMPLEX64;
  case TESS_C128: return NPY_COMPLEX128;
  case TESS_I32: return NPY_INT32;
  case TESS_I64: return NPY_INT64;
  default: return -1;
  }
}

/* shape and spec from Python sequences; spec entries: axis index or -1 */
static int parse_shape_spec(PyObject *shape, PyObject *spec, int *nd, int64_t sh[], tess_shardspec_t *sp)
{
  Py_ssize_t n = PySequence_Size(shape);
  if (n < 1 || n > TESS_MAX_NDIM || PySequence_Size(spec) != n) {
    PyErr_Format(PyExc_ValueError, "1 to %d dimensions, a spec entry per dimension", TESS_MAX_NDIM);
    return -1;
  }
  sp->ndim = (int)n;
  for (Py_ssize_t i = 0; i < n; i++) {
    PyObject *a = PySequence_GetItem(shape, i), *b = PySequence_GetItem(spec, i);
    sh[i] = a ? PyLong_AsLongLong(a) : -1;
    sp->axis[i] = b ? (int)PyLong_AsLong(b) : -1;
    Py_XDECREF(a);
    Py_XDECREF(b);
    if (PyErr_Occurred()) return -1;
  }
  *nd = (int)n;
  return 0;
}

static PyObject *py_array_create(PyObject *self, PyObject *args)
{
  PyObject *mc, *shape, *spec;
  const char *dt;
  int nd;
  int64_t sh[TESS_MAX_NDIM];
  tess_shardspec_t sp;
  tess_dtype_t t;
  tess_array_t *a = NULL;
  (void)self;
  if (!PyArg_ParseTuple(args, "OsOO", &mc, &dt, &shape, &spec)) return NULL;
  tess_mesh_t *m = as_mesh(mc);
  if (!m || parse_shape_spec(shape, spec, &nd, sh, &sp)) return NULL;
  CALL(tess_dtype_parse(dt, &t));
  CALL(tess_array_create(m, t, nd, sh, &sp, TESS_MEM_HOST, &a));
  return PyCapsule_New(a, "tessera.array", array_free);
}

/* An array like `a` with another spec (None: the same) and/or dtype. */
static PyObject *py_array_like(PyObject *self, PyObject *args)
{
  PyObject *ac;
  tess_array_t *b = NULL;
  (void)self;
  if (!PyArg_ParseTuple(args, "O", &ac)) return NULL;
  tess_array_t *a = as_array(ac);
  if (!a) return NULL;
  CALL(tess_array_create_like(a, NULL, &b));
  return PyCapsule_New(b, "tessera.array", array_free);
}

static PyObject *py_array_info(PyObject *self, PyObject *arg)
{
  tess_array_t *a = as_array(arg);
  int64_t g[TESS_MAX_NDIM], l[TESS_MAX_NDIM], s[TESS_MAX_NDIM];
  tess_shardspec_t sp;
  (void)self;
  if (!a) return NULL;
  int nd = tess_array_ndim(a);
  tess_array_global_shape(a, g);
  tess_array_local_shape(a, l);
  tess_array_local_start(a, s);
  tess_array_spec(a, &sp);
  PyObject *G = PyTuple_New(nd), *L = PyTuple_New(nd), *S = PyTuple_New(nd), *P = PyTuple_New(nd);
  for (int i = 0; i < nd; i++) {
    PyTuple_SetItem(G, i, PyLong_FromLongLong(g[i]));
    PyTuple_SetItem(L, i, PyLong_FromLongLong(l[i]));
    PyTuple_SetItem(S, i, PyLong_FromLongLong(s[i]));
    PyTuple_SetItem(P, i, PyLong_FromLong(sp.axis[i]));
  }
  return Py_BuildValue("(sNNNN)", tess_dtype_name(tess_array_dtype(a)), G, L, S, P);
}

/* The local block as a NumPy array over the same memory; it keeps the
 * array's capsule alive. */
static PyObject *py_array_local(PyObject *self, PyObject *arg)
{
  tess_array_t *a = as_array(arg);
  npy_intp dims[TESS_MAX_NDIM];
  int64_t l[TESS_MAX_NDIM];
  (void)self;
  if (!a) return NULL;
  int nd = tess_array_ndim(a), t = npy_type(tess_array_dtype(a));
  if (t < 0) return PyErr_Format(PyExc_TypeError, "no NumPy type for %s", tess_dtype_name(tess_array_dtype(a)));
  tess_array_local_shape(a, l);
  for (int i = 0; i < nd; i++) dims[i] = (npy_intp)l[i];
  PyObject *v = PyArray_SimpleNewFromData(nd, dims, t, tess_array_local_data(a));
  if (!v) return NULL;
  Py_INCREF(arg);
  if (PyArray_SetBaseObject((PyArrayObject *)v, arg) < 0) {
    Py_DECREF(v);
    return NULL;
  }
  return v;
}

/* The local block's address (tests: a NumPy view is over it). */
static PyObject *py_array_address(PyObject *self, PyObject *arg)
{
  tess_array_t *a = as_array(arg);
  (void)self;
  if (!a) return NULL;
  return PyLong_FromVoidPtr(tess_array_local_data(a));
}

static PyObject *py_array_gather(PyObject *self, PyObject *arg)
{
  tess_array_t *a = as_array(arg);
  int64_t g[TESS_MAX_NDIM];
  npy_intp dims[TESS_MAX_NDIM];
  (void)self;
  if (!a) return NULL;
  int nd = tess_array_ndim(a), t = npy_type(tess_array_dtype(a));
  if (t < 0) return PyErr_Format(PyExc_TypeError, "no NumPy type for %s", tess_dtype_name(tess_array_dtype(a)));
  int root = tess_mesh_rank(tess_array_mesh(a)) == 0;
  tess_array_global_shape(a, g);
  for (int i = 0; i < nd; i++) dims[i] = root ? (npy_intp)g[i] : 0;
  PyObject *out = PyArray_SimpleNew(nd, dims, t);
  if (!out) return NULL;
  tess_err_t e = tess_array_gather(a, 0, root ? PyArray_DATA((PyArrayObject *)out) : NULL);
  if (e) {
    Py_DECREF(out);
    return tess_py_raise(e);
  }
  if (!root) {
    Py_DECREF(out);
    Py_RETURN_NONE;
  }
  return out;
}

static PyObject *py_reshard(PyObject *self, PyObject *args)
{
  PyObject *sc, *dc;
  tess_err_t e;
  (void)self;
  if (!PyArg_ParseTuple(args, "OO", &sc, &dc)) return NULL;
  tess_array_t *s = as_array(sc), *d = as_array(dc);
  if (!s || !d) return NULL;
  Py_BEGIN_ALLOW_THREADS
  e = tess_reshard(s, d);
  Py_END_ALLOW_THREADS
  CALL(e);
  Py_RETURN_NONE;
}

/* Exact sum of all elements (f64/f32 arrays), the same at any rank count. */
static PyObject *py_array_sum(PyObject *self, PyObject *arg)
{
  tess_array_t *a = as_array(arg);
  double r[2] = { 0, 0 };
  (void)self;
  if (!a) return NULL;
  tess_dtype_t t = tess_array_dtype(a);
  if (t != TESS_F64) return PyErr_Format(PyExc_TypeError, "reduce_sum: f64 arrays (got %s)", tess_dtype_name(t));
  CALL(tess_array_sum(a, r));
  return PyFloat_FromDouble(r[0]);
}

/* ---- FFT ---------------------------------------------------------------------- */
/* fft_plan(in, out, forward, rank, norm_backward) -> plan capsule */
static PyObject *py_fft_plan(PyObject *self, PyObject *args)
{
  PyObject *ic, *oc;
  int fwd, rank, normb;
  tess_fft_plan_t *p = NULL;
  tess_fft_opts_t o = { 0 };
  (void)self;
  if (!PyArg_ParseTuple(args, "OOppi", &ic, &oc, &fwd, &normb, &rank)) return NULL;
  tess_array_t *in = as_array(ic), *out = as_array(oc);
  if (!in || !out) return NULL;
  o.rank = rank;
  o.flags = TESS_FFT_ESTIMATE | (normb ? TESS_FFT_NORM_BACKWARD : 0);
  CALL(tess_fft_plan_create_opts(in, out, fwd ? TESS_FFT_FORWARD : TESS_FFT_BACKWARD, &o, &p));
  return PyCapsule_New(p, "tessera.plan", plan_free);
}

/* fft_output(in, rank) -> the forward transform's output array (natural layout) */
static PyObject *py_fft_output(PyObject *self, PyObject *args)
{
  PyObject *ic;
  int rank;
  tess_array_t *out = NULL;
  (void)self;
  if (!PyArg_ParseTuple(args, "Oi", &ic, &rank)) return NULL;
  tess_array_t *in = as_array(ic);
  if (!in) return NULL;
  CALL(tess_fft_create_output(in, rank, TESS_FFT_LAYOUT_NATURAL, &out));
  return PyCapsule_New(out, "tessera.array", array_free);
}

static PyObject *py_fft_execute(PyObject *self, PyObject *args)
{
  PyObject *pc, *ic, *oc;
  tess_err_t e;
  (void)self;
  if (!PyArg_ParseTuple(args, "OOO", &pc, &ic, &oc)) return NULL;
  tess_fft_plan_t *p = as_plan(pc);
  tess_array_t *in = as_array(ic), *out = as_array(oc);
  if (!p || !in || !out) return NULL;
  Py_BEGIN_ALLOW_THREADS
  e = tess_fft_execute(p, in, out);
  Py_END_ALLOW_THREADS
  CALL(e);
  Py_RETURN_NONE;
}

static PyObject *py_fft_rank(PyObject *self, PyObject *arg)
{
  tess_fft_plan_t *p = as_plan(arg);
  tess_fft_info_t info;
  (void)self;
  if (!p) return NULL;
  CALL(tess_fft_plan_info(p, &info));
  return PyLong_FromLong(info.rank);
}

/* threshold(spectrum, plan, rule, value) -> (kept, total) */
static PyObject *py_threshold(PyObject *self, PyObject *args)
{
  PyObject *xc, *pc;
  const char *rule;
  double v;
  tess_thresh_rule_t r;
  tess_spectral_grid_t g;
  tess_thresh_stats_t st;
  (void)self;
  if (!PyArg_ParseTuple(args, "OOsd", &xc, &pc, &rule, &v)) return NULL;
  tess_array_t *x = as_array(xc);
  tess_fft_plan_t *p = as_plan(pc);
  if (!x || !p) return NULL;
  CALL(tess_thresh_rule_parse(rule, &r));
  CALL(tess_spectral_grid_from_plan(p, &g));
  CALL(tess_spectral_threshold(x, &g, r, v, &st));
  return Py_BuildValue("(LL)", (long long)st.kept, (long long)st.total);
}

/* spectral(name, X, plan, Y or None, value): the spectral operators of
 * tessera/spectral_ops.h on a spectrum from op.fft (grid from its plan).
 * gradient: Y is a list of arrays, one per transform dim. */
static PyObject *py_spectral(PyObject *self, PyObject *args)
{
  const char *name;
  PyObject *xc, *pc, *yo;
  double v;
  tess_spectral_grid_t g;
  (void)self;
  if (!PyArg_ParseTuple(args, "sOOOd", &name, &xc, &pc, &yo, &v)) return NULL;
  tess_array_t *x = as_array(xc);
  tess_fft_plan_t *p = as_plan(pc);
  if (!x || !p) return NULL;
  CALL(tess_spectral_grid_from_plan(p, &g));
  if (strcmp(name, "lowpass") == 0) CALL(tess_spectral_lowpass(x, &g, v));
  else if (strcmp(name, "gaussian") == 0) CALL(tess_spectral_gaussian(x, &g, v));
  else if (strcmp(name, "dealias") == 0) CALL(tess_spectral_dealias(x, &g));
  else if (strcmp(name, "laplacian") == 0 || strcmp(name, "inverse_laplacian") == 0) {
    tess_array_t *y = as_array(yo);
    if (!y) return NULL;
    if (name[0] == 'l') CALL(tess_spectral_laplacian(x, &g, y));
    else CALL(tess_spectral_inverse_laplacian(x, &g, y));
  } else if (strcmp(name, "gradient") == 0) {
    tess_array_t *ys[3];
    if (!PyList_Check(yo) || PyList_Size(yo) != g.rank)
      return PyErr_Format(PyExc_ValueError, "gradient: %d output arrays", g.rank);
    for (int d = 0; d < g.rank; d++)
      if (!(ys[d] = as_array(PyList_GetItem(yo, d)))) return NULL;
    CALL(tess_spectral_gradient(x, &g, ys));
  } else {
    return PyErr_Format(PyExc_ValueError, "unknown spectral operator '%s'", name);
  }
  Py_RETURN_NONE;
}

/* dot(x, y) (y may be x: the squared norm), exact; f64 arrays with one owner
 * per element (a spec that uses every mesh axis of size > 1). */
static PyObject *py_dot(PyObject *self, PyObject *args)
{
  PyObject *xc, *yc;
  double r = 0;
  (void)self;
  if (!PyArg_ParseTuple(args, "OO", &xc, &yc)) return NULL;
  tess_array_t *x = as_array(xc), *y = as_array(yc);
  if (!x || !y) return NULL;
  tess_mesh_t *m = tess_array_mesh(x);
  tess_shardspec_t sx, sy;
  tess_array_spec(x, &sx);
  tess_array_spec(y, &sy);
  if (tess_array_dtype(x) != TESS_F64 || tess_array_dtype(y) != TESS_F64 || !tess_shardspec_equal(&sx, &sy) ||
      tess_array_mesh(y) != m || tess_array_global_count(x) != tess_array_global_count(y))
    return PyErr_Format(PyExc_ValueError, "dot: two f64 arrays of one shape, spec and mesh");
  int ax = tess_array_copy_axis(x);
  if (ax >= 0)
    return PyErr_Format(PyExc_ValueError, "dot: mesh axis '%s' shards no dimension (ranks hold copies)",
                        tess_mesh_axis_name(m, ax));
  size_t n = (size_t)tess_array_local_count(x);
  const double *px = tess_array_local_data_const(x), *py = tess_array_local_data_const(y);
  int e = x == y ? tess_nrm2sq_f64(px, n, tess_mesh_comm(m), &r) : tess_dot_f64(px, py, n, tess_mesh_comm(m), &r);
  if (e) return tess_py_raise((tess_err_t)e);
  return PyFloat_FromDouble(r);
}

static PyMethodDef methods[] = {
  {"init", py_init, METH_NOARGS, "tess_init (idempotent)"},
  {"finalize", py_finalize, METH_NOARGS, "tess_finalize"},
  {"world", py_world, METH_NOARGS, "(rank, size) in MPI_COMM_WORLD"},
  {"mesh_create", py_mesh_create, METH_VARARGS, "mesh over MPI_COMM_WORLD"},
  {"mesh_info", py_mesh_info, METH_O, "(names, sizes, rank)"},
  {"max_over_ranks", py_max_over_ranks, METH_VARARGS, "(mesh, x): max of x over the ranks"},
  {"array_create", py_array_create, METH_VARARGS, "(mesh, dtype, shape, spec)"},
  {"array_like", py_array_like, METH_VARARGS, "a new array like it"},
  {"array_info", py_array_info, METH_O, "(dtype, global, local, start, spec)"},
  {"array_local", py_array_local, METH_O, "the local block as a NumPy view"},
  {"array_gather", py_array_gather, METH_O, "the whole array on rank 0 (None elsewhere)"},
  {"array_address", py_array_address, METH_O, "the local block's address"},
  {"array_sum", py_array_sum, METH_O, "exact sum"},
  {"reshard", py_reshard, METH_VARARGS, "(src, dst)"},
  {"fft_plan", py_fft_plan, METH_VARARGS, "(in, out, forward, norm_backward, rank)"},
  {"fft_output", py_fft_output, METH_VARARGS, "(in, rank)"},
  {"fft_execute", py_fft_execute, METH_VARARGS, "(plan, in, out)"},
  {"fft_rank", py_fft_rank, METH_O, "transformed dims of a plan"},
  {"threshold", py_threshold, METH_VARARGS, "(spectrum, plan, rule, value)"},
  {"spectral", py_spectral, METH_VARARGS, "(name, spectrum, plan, out, value)"},
  {"dot", py_dot, METH_VARARGS, "(x, y): exact dot product (x is y: squared norm)"},
  {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = { PyModuleDef_HEAD_INIT, "_tessera", "libtessera, thinly", -1, methods,
                                     NULL, NULL, NULL, NULL };

PyMODINIT_FUNC PyInit__tessera(void)
{
  import_array();
  PyObject *m = PyModule_Create(&module);
  if (!m) return NULL;
  tess_py_error = PyErr_NewException("tessera.TesseraError", PyExc_RuntimeError, NULL);
  Py_XINCREF(tess_py_error);
  if (PyModule_AddObject(m, "TesseraError", tess_py_error) < 0) {
    Py_XDECREF(tess_py_error);
    Py_DECREF(m);
    return NULL;
  }
  if (tess_py_pinn_init(m) < 0 || tess_py_deck_init(m) < 0) {
    Py_DECREF(m);
    return NULL;
  }
  return m;
}
