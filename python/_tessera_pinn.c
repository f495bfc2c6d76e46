/* python/_tessera_pinn.c: the PINN part of the _tessera extension (include/
 * tessera/pinn.h): MLPs, residual problems, exact losses and gradients,
 * evaluation at points, Adam and L-BFGS. A file of its own so that the PINN
 * binding and _tessera.c's other parts change independently; _tessera.c
 * calls tess_py_pinn_init() once from its module init; failures raise
 * through its tess_py_raise (_tessera_ext.h), the same tessera.TesseraError
 * with Tessera's message and frames. Expressions arrive as the text the C
 * expression language takes (python/tessera/pinn.py renders them).
 * Argument mistakes (shapes, lengths, names) are pushed on Tessera's error
 * stack like the library's own, so they raise TesseraError too. The GIL is
 * released around setup, losses, evaluation and optimizer steps: a problem,
 * a network and an optimizer take one call at a time (callers' threads must
 * not share them concurrently, as in C). */
#include "_tessera_ext.h"
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/tessera.h>
#include <tessera/pinn.h>


/* Push a frame naming a caller's mistake and raise it. */
#define ARG_ERROR(code, ...) tess_py_raise(tess_error_push((code), __FILE__, __LINE__, __func__, __VA_ARGS__))
#define CALL(expr)                                                                    \
  do {                                                                                \
    tess_err_t e_ = (expr);                                                           \
    if (e_ != TESS_OK) return tess_py_raise(e_);                                         \
  } while (0)

/* Handles may be collected after MPI stopped: then they are leaked, as
 * _tessera.c does with meshes (freeing a communicator would abort). */
static int mpi_gone(void)
{
  int fin = 0;
  MPI_Finalized(&fin);
  return fin || !tess_initialized();
}

/* ---- MLP -------------------------------------------------------------------- */
static void mlp_free(PyObject *c)
{
  tess_mlp_t *m = PyCapsule_GetPointer(c, "tessera.mlp");
  tess_mlp_destroy(&m);   /* no MPI inside */
}

static tess_mlp_t *as_mlp(PyObject *c) { return PyCapsule_GetPointer(c, "tessera.mlp"); }

/* mlp_create(widths, act, dtype, init, seed) -> capsule */
static PyObject *py_mlp_create(PyObject *self, PyObject *args)
{
  PyObject *wl;
  const char *act_s, *dt_s, *init_s;
  unsigned long long seed;
  int widths[66];
  tess_act_t act;
  tess_dtype_t dt;
  tess_mlp_t *m = NULL;
  (void)self;
  if (!PyArg_ParseTuple(args, "O!sssK", &PyList_Type, &wl, &act_s, &dt_s, &init_s, &seed)) return NULL;
  Py_ssize_t n = PyList_Size(wl);
  if (n < 2 || n > 66) return ARG_ERROR(TESS_ERR_ARG, "mlp: %zd widths (inputs, hidden..., outputs), expected 2..66", n);
  for (Py_ssize_t i = 0; i < n; i++) {
    widths[i] = (int)PyLong_AsLong(PyList_GetItem(wl, i));
    if (PyErr_Occurred()) return NULL;
  }
  if (strcmp(init_s, "glorot") && strcmp(init_s, "he"))
    return ARG_ERROR(TESS_ERR_ARG, "mlp: unknown init '%s' (expected glorot|he)", init_s);
  CALL(tess_act_parse(act_s, &act));
  CALL(tess_dtype_parse(dt_s, &dt));
  CALL(tess_mlp_create((int)n - 1, widths, act, dt, &m));
  tess_err_t e = tess_mlp_init(m, init_s[0] == 'h' ? TESS_INIT_HE : TESS_INIT_GLOROT, (uint64_t)seed);
  if (e) {
    tess_mlp_destroy(&m);
    return tess_py_raise(e);
  }
  PyObject *c = PyCapsule_New(m, "tessera.mlp", mlp_free);
  if (!c) tess_mlp_destroy(&m);
  return c;
}

static PyObject *py_mlp_nparams(PyObject *self, PyObject *arg)
{
  tess_mlp_t *m = as_mlp(arg);
  (void)self;
  if (!m) return NULL;
  return PyLong_FromSize_t(tess_mlp_nparams(m));
}

static PyObject *py_mlp_get_params(PyObject *self, PyObject *arg)
{
  tess_mlp_t *m = as_mlp(arg);
  (void)self;
  if (!m) return NULL;
  npy_intp n = (npy_intp)tess_mlp_nparams(m);
  PyObject *out = PyArray_SimpleNew(1, &n, NPY_FLOAT64);
  if (!out) return NULL;
  tess_err_t e = tess_mlp_get_params(m, PyArray_DATA((PyArrayObject *)out));
  if (e) {
    Py_DECREF(out);
    return tess_py_raise(e);
  }
  return out;
}

/* A read-only f64 vector of exactly n values (a copy when obj is not one). */
static PyArrayObject *vec_in(PyObject *obj, size_t n, const char *what)
{
  PyArrayObject *a = (PyArrayObject *)PyArray_FROMANY(obj, NPY_FLOAT64, 0, 0, NPY_ARRAY_IN_ARRAY);
  if (!a) return NULL;
  if (PyArray_NDIM(a) != 1 || (size_t)PyArray_DIM(a, 0) != n) {
    ARG_ERROR(TESS_ERR_SHAPE, "%s: %d-d array of %zd values, expected a vector of %zu (the network's parameters)",
              what, PyArray_NDIM(a), (Py_ssize_t)PyArray_SIZE(a), n);
    Py_DECREF(a);
    return NULL;
  }
  return a;
}

/* An f64 vector of n values updated in place: it must be one already. */
static double *vec_inout(PyObject *obj, size_t n, const char *what)
{
  PyArrayObject *a = (PyArrayObject *)obj;
  if (!PyArray_Check(obj) || PyArray_TYPE(a) != NPY_FLOAT64 || PyArray_NDIM(a) != 1 ||
      (size_t)PyArray_DIM(a, 0) != n || !PyArray_ISCARRAY(a)) {
    ARG_ERROR(TESS_ERR_SHAPE, "%s: updated in place, so a writable contiguous float64 NumPy vector of %zu values",
              what, n);
    return NULL;
  }
  return PyArray_DATA(a);
}

static PyObject *py_mlp_set_params(PyObject *self, PyObject *args)
{
  PyObject *mc, *th;
  (void)self;
  if (!PyArg_ParseTuple(args, "OO", &mc, &th)) return NULL;
  tess_mlp_t *m = as_mlp(mc);
  if (!m) return NULL;
  PyArrayObject *a = vec_in(th, tess_mlp_nparams(m), "params");
  if (!a) return NULL;
  tess_err_t e = tess_mlp_set_params(m, PyArray_DATA(a));
  Py_DECREF(a);
  CALL(e);
  Py_RETURN_NONE;
}

/* "(3, 4)" for messages */
static const char *shape_str(PyArrayObject *a, char buf[96])
{
  int k = snprintf(buf, 96, "(");
  for (int d = 0; d < PyArray_NDIM(a) && k < 80; d++)
    k += snprintf(buf + k, 96 - k, d ? ", %zd" : "%zd", (Py_ssize_t)PyArray_DIM(a, d));
  snprintf(buf + k, 96 - k, PyArray_NDIM(a) == 1 ? ",)" : ")");
  return buf;
}

/* ---- residual problems ---------------------------------------------------------- */
/* Explicit points of a set: row gidx of an n x din copy the problem owns. */
typedef struct {
  int din;
  double *x;
} pts_ctx_t;

static void pts_fill(int64_t gidx, double *x, void *ctx)
{
  const pts_ctx_t *c = ctx;
  memcpy(x, c->x + gidx * c->din, (size_t)c->din * sizeof *x);
}

/* A problem and what it borrows: the network (its capsule is kept alive)
 * and the point generators' contexts (a pts_ctx_t or a tess_pinn_box_t). */
typedef struct {
  tess_pinn_t *p;
  PyObject *mlp;
  int din, nctx;
  struct { void *c; int pts; } ctx[64];
} py_pinn_t;

static void py_pinn_destroy(py_pinn_t *pp)
{
  if (!pp) return;
  if (!mpi_gone()) tess_pinn_destroy(&pp->p);   /* it frees a communicator */
  for (int i = 0; i < pp->nctx; i++) {
    if (pp->ctx[i].pts) free(((pts_ctx_t *)pp->ctx[i].c)->x);
    free(pp->ctx[i].c);
  }
  Py_XDECREF(pp->mlp);
  free(pp);
}

static void pinn_free(PyObject *c) { py_pinn_destroy(PyCapsule_GetPointer(c, "tessera.pinn")); }

static py_pinn_t *as_pinn(PyObject *c) { return PyCapsule_GetPointer(c, "tessera.pinn"); }

/* Up to 8 strings of a list, borrowed from the list's objects. */
static int strings(PyObject *list, const char **s, int max, const char *what)
{
  if (!PyList_Check(list) || PyList_Size(list) < 1 || PyList_Size(list) > max) {
    ARG_ERROR(TESS_ERR_ARG, "%s: a list of 1 to %d names", what, max);
    return -1;
  }
  for (Py_ssize_t i = 0; i < PyList_Size(list); i++)
    if (!(s[i] = PyUnicode_AsUTF8(PyList_GetItem(list, i)))) return -1;
  return (int)PyList_Size(list);
}

/* One point set (name, kind, spec, weight, [residual texts]):
 * kind "uniform" / "boundary": spec (lo, hi, seed, stream), the built-in
 * boxes; kind "points": spec an n x din array of coordinates. */
static int add_set(py_pinn_t *pp, PyObject *set)
{
  const char *name, *kind, *res[64];
  PyObject *spec, *rl;
  double w;
  if (!PyArg_ParseTuple(set, "ssOdO!", &name, &kind, &spec, &w, &PyList_Type, &rl)) return -1;
  int nres = (int)PyList_Size(rl);
  if (nres < 1 || nres > 64) {
    ARG_ERROR(TESS_ERR_ARG, "set '%s': %d residuals, expected 1..64", name, nres);
    return -1;
  }
  for (int r = 0; r < nres; r++)
    if (!(res[r] = PyUnicode_AsUTF8(PyList_GetItem(rl, r)))) return -1;
  if (pp->nctx == 64) {
    ARG_ERROR(TESS_ERR_ARG, "more than 64 point sets");
    return -1;
  }
  tess_err_t e;
  if (strcmp(kind, "points") == 0) {
    PyArrayObject *a = (PyArrayObject *)PyArray_FROMANY(spec, NPY_FLOAT64, 0, 0, NPY_ARRAY_IN_ARRAY);
    if (!a) return -1;
    if (PyArray_NDIM(a) != 2 || PyArray_DIM(a, 1) != pp->din || PyArray_DIM(a, 0) < 1) {
      char sh[96];
      ARG_ERROR(TESS_ERR_SHAPE, "set '%s': points of shape %s, expected (n >= 1, %d): one row of coordinates per point",
                name, shape_str(a, sh), pp->din);
      Py_DECREF(a);
      return -1;
    }
    int64_t n = PyArray_DIM(a, 0);
    pts_ctx_t *c = calloc(1, sizeof *c);
    if (c) c->x = malloc((size_t)n * pp->din * sizeof *c->x);
    if (!c || !c->x) {
      free(c);
      Py_DECREF(a);
      PyErr_NoMemory();
      return -1;
    }
    c->din = pp->din;
    memcpy(c->x, PyArray_DATA(a), (size_t)n * pp->din * sizeof *c->x);
    Py_DECREF(a);
    pp->ctx[pp->nctx].c = c;
    pp->ctx[pp->nctx++].pts = 1;
    e = tess_pinn_add_set(pp->p, name, n, pts_fill, c, w, nres, res);
  } else if (strcmp(kind, "uniform") == 0 || strcmp(kind, "boundary") == 0) {
    PyObject *lo, *hi;
    unsigned long long seed, stream;
    long long n;
    if (!PyArg_ParseTuple(spec, "LOOKK", &n, &lo, &hi, &seed, &stream)) return -1;
    tess_pinn_box_t *b = calloc(1, sizeof *b);
    if (!b) {
      PyErr_NoMemory();
      return -1;
    }
    pp->ctx[pp->nctx++].c = b;   /* freed with the problem */
    b->seed = seed;
    b->stream = stream;
    b->din = pp->din;
    if (PySequence_Size(lo) != pp->din || PySequence_Size(hi) != pp->din) {
      PyErr_Clear();
      ARG_ERROR(TESS_ERR_SHAPE, "set '%s': box corners need %d coordinates each", name, pp->din);
      return -1;
    }
    for (int d = 0; d < pp->din; d++) {
      PyObject *l = PySequence_GetItem(lo, d), *h = PySequence_GetItem(hi, d);
      b->lo[d] = l ? PyFloat_AsDouble(l) : 0;
      b->hi[d] = h ? PyFloat_AsDouble(h) : 0;
      Py_XDECREF(l);
      Py_XDECREF(h);
      if (PyErr_Occurred()) return -1;
    }
    if (kind[0] == 'b' && pp->din != 2) {
      ARG_ERROR(TESS_ERR_UNSUPPORTED, "set '%s': boundary points of a box in 2 dimensions only (%d inputs)", name,
                pp->din);
      return -1;
    }
    e = tess_pinn_add_set(pp->p, name, n, kind[0] == 'b' ? tess_pinn_box_boundary : tess_pinn_box_interior, b, w,
                          nres, res);
  } else {
    ARG_ERROR(TESS_ERR_ARG, "set '%s': unknown point kind '%s' (expected uniform|boundary|points)", name, kind);
    return -1;
  }
  if (e) {
    tess_py_raise(e);
    return -1;
  }
  return 0;
}

/* pinn_create(mlp, inputs, outputs, [(name, text)], [sets], chunk, mesh or
 * None, dp axis, fcomm) -> capsule. With sets it is set up (collective over
 * the mesh's axis `dp`, else over fcomm, -1: MPI_COMM_WORLD); without, it
 * only evaluates expressions (rank-local). */
static PyObject *py_pinn_create(PyObject *self, PyObject *args)
{
  PyObject *mc, *il, *ol, *defs, *sets, *meshc;
  const char *in[8], *out[8], *dp;
  int chunk;
  long fcomm;
  py_pinn_t *pp = NULL;
  tess_err_t e = TESS_OK;
  (void)self;
  if (!PyArg_ParseTuple(args, "OOOO!O!iOsl", &mc, &il, &ol, &PyList_Type, &defs, &PyList_Type, &sets, &chunk,
                        &meshc, &dp, &fcomm))
    return NULL;
  tess_mlp_t *m = as_mlp(mc);
  if (!m) return NULL;
  int nin = strings(il, in, 8, "inputs"), nout = nin < 0 ? -1 : strings(ol, out, 8, "outputs");
  if (nout < 0) return NULL;
  if (nin != tess_mlp_width(m, 0) || nout != tess_mlp_width(m, tess_mlp_nlayers(m)))
    return ARG_ERROR(TESS_ERR_SHAPE, "%d input and %d output names for a network of %d inputs and %d outputs", nin,
                     nout, tess_mlp_width(m, 0), tess_mlp_width(m, tess_mlp_nlayers(m)));
  tess_mesh_t *mesh = NULL;
  if (meshc != Py_None && !(mesh = PyCapsule_GetPointer(meshc, "tessera.mesh"))) return NULL;
  pp = calloc(1, sizeof *pp);
  if (!pp) return PyErr_NoMemory();
  pp->din = nin;
  pp->mlp = mc;
  Py_INCREF(mc);
  if ((e = tess_pinn_create(m, in, out, &pp->p))) goto fail;
  for (Py_ssize_t k = 0; k < PyList_Size(defs); k++) {
    const char *name, *text;
    if (!PyArg_ParseTuple(PyList_GetItem(defs, k), "ss", &name, &text)) goto fail;
    if ((e = tess_pinn_define(pp->p, name, text))) goto fail;
  }
  for (Py_ssize_t k = 0; k < PyList_Size(sets); k++)
    if (add_set(pp, PyList_GetItem(sets, k))) goto fail;
  if ((e = tess_pinn_set_chunk(pp->p, chunk))) goto fail;
  if (PyList_Size(sets)) {
    MPI_Comm comm = fcomm < 0 ? MPI_COMM_WORLD : MPI_Comm_f2c((MPI_Fint)fcomm);
    Py_BEGIN_ALLOW_THREADS
    e = mesh ? tess_pinn_setup(pp->p, mesh, dp) : tess_pinn_setup_comm(pp->p, comm);
    Py_END_ALLOW_THREADS
    if (e) goto fail;
  }
  PyObject *c = PyCapsule_New(pp, "tessera.pinn", pinn_free);
  if (c) return c;
fail:;
  PyObject *r = e ? tess_py_raise(e) : NULL;   /* read the error stack before destroying */
  py_pinn_destroy(pp);
  return r;
}

/* pinn_info(p) -> (nparams, chunk) */
static PyObject *py_pinn_info(PyObject *self, PyObject *arg)
{
  py_pinn_t *pp = as_pinn(arg);
  (void)self;
  if (!pp) return NULL;
  return Py_BuildValue("(ni)", (Py_ssize_t)tess_pinn_nparams(pp->p), tess_pinn_chunk(pp->p));
}

/* pinn_check(p, text): parse and plan, as evaluation would. */
static PyObject *py_pinn_check(PyObject *self, PyObject *args)
{
  PyObject *pc;
  const char *text;
  (void)self;
  if (!PyArg_ParseTuple(args, "Os", &pc, &text)) return NULL;
  py_pinn_t *pp = as_pinn(pc);
  if (!pp) return NULL;
  CALL(tess_pinn_check_expr(pp->p, text));
  Py_RETURN_NONE;
}

/* pinn_loss_grad(p, theta, want_grad) -> (loss, grad or None); collective. */
static PyObject *py_pinn_loss_grad(PyObject *self, PyObject *args)
{
  PyObject *pc, *th, *g = NULL;
  int want;
  double f = 0;
  tess_err_t e;
  (void)self;
  if (!PyArg_ParseTuple(args, "OOp", &pc, &th, &want)) return NULL;
  py_pinn_t *pp = as_pinn(pc);
  if (!pp) return NULL;
  npy_intp n = (npy_intp)tess_pinn_nparams(pp->p);
  PyArrayObject *a = vec_in(th, (size_t)n, "theta");
  if (!a) return NULL;
  if (want && !(g = PyArray_SimpleNew(1, &n, NPY_FLOAT64))) {
    Py_DECREF(a);
    return NULL;
  }
  const double *tp = PyArray_DATA(a);
  double *gp = g ? PyArray_DATA((PyArrayObject *)g) : NULL;
  Py_BEGIN_ALLOW_THREADS
  e = tess_pinn_loss_grad(pp->p, tp, &f, gp);
  Py_END_ALLOW_THREADS
  Py_DECREF(a);
  if (e) {
    Py_XDECREF(g);
    return tess_py_raise(e);
  }
  return g ? Py_BuildValue("(dN)", f, g) : Py_BuildValue("(dO)", f, Py_None);
}

/* pinn_set_losses(p) -> [loss of each set] of the last loss_grad */
static PyObject *py_pinn_set_losses(PyObject *self, PyObject *arg)
{
  py_pinn_t *pp = as_pinn(arg);
  double l[64];
  int ns = 0;
  (void)self;
  if (!pp) return NULL;
  CALL(tess_pinn_set_losses(pp->p, l, 64, &ns));
  PyObject *r = PyList_New(ns);
  for (int i = 0; r && i < ns; i++) PyList_SetItem(r, i, PyFloat_FromDouble(l[i]));
  return r;
}

/* pinn_eval(p, text, x) -> values at the points x (n x din); rank-local,
 * with the network's current parameters. */
static PyObject *py_pinn_eval(PyObject *self, PyObject *args)
{
  PyObject *pc, *xo;
  const char *text;
  tess_err_t e;
  (void)self;
  if (!PyArg_ParseTuple(args, "OsO", &pc, &text, &xo)) return NULL;
  py_pinn_t *pp = as_pinn(pc);
  if (!pp) return NULL;
  PyArrayObject *x = (PyArrayObject *)PyArray_FROMANY(xo, NPY_FLOAT64, 0, 0, NPY_ARRAY_IN_ARRAY);
  if (!x) return NULL;
  if (PyArray_NDIM(x) != 2 || PyArray_DIM(x, 1) != pp->din) {
    char sh[96];
    PyObject *r = ARG_ERROR(TESS_ERR_SHAPE, "eval: points of shape %s, expected (n, %d): one row of coordinates per "
                            "point", shape_str(x, sh), pp->din);
    Py_DECREF(x);
    return r;
  }
  npy_intp n = PyArray_DIM(x, 0);
  PyObject *out = PyArray_SimpleNew(1, &n, NPY_FLOAT64);
  if (!out) {
    Py_DECREF(x);
    return NULL;
  }
  const double *xp = PyArray_DATA(x);
  double *op = PyArray_DATA((PyArrayObject *)out);
  Py_BEGIN_ALLOW_THREADS
  e = tess_pinn_eval(pp->p, text, (size_t)n, xp, op);
  Py_END_ALLOW_THREADS
  Py_DECREF(x);
  if (e) {
    Py_DECREF(out);
    return tess_py_raise(e);
  }
  return out;
}

/* ---- optimizers ----------------------------------------------------------------- */
static void adam_free(PyObject *c)
{
  tess_adam_t *a = PyCapsule_GetPointer(c, "tessera.adam");
  tess_adam_destroy(&a);
}

static void lbfgs_free(PyObject *c)
{
  tess_lbfgs_t *l = PyCapsule_GetPointer(c, "tessera.lbfgs");
  tess_lbfgs_destroy(&l);
}

/* adam_create(n, lr=, beta1=, ...) -> capsule; defaults: tess_adam_opts_default */
static PyObject *py_adam_create(PyObject *self, PyObject *args, PyObject *kw)
{
  static char *kws[] = { "n", "lr", "beta1", "beta2", "eps", "schedule", "decay_rate", "decay_steps",
                         "total_steps", "lr_min", NULL };
  tess_adam_opts_t o;
  Py_ssize_t n;
  const char *sched = "constant";
  tess_adam_t *a = NULL;
  (void)self;
  tess_adam_opts_default(&o);
  if (!PyArg_ParseTupleAndKeywords(args, kw, "n|ddddsddld", kws, &n, &o.lr, &o.beta1, &o.beta2, &o.eps, &sched,
                                   &o.decay_rate, &o.decay_steps, &o.total_steps, &o.lr_min))
    return NULL;
  if (n < 1) return ARG_ERROR(TESS_ERR_ARG, "Adam: %zd parameters, expected >= 1", n);
  CALL(tess_sched_parse(sched, &o.schedule));
  CALL(tess_adam_create((size_t)n, &o, &a));
  PyObject *c = PyCapsule_New(a, "tessera.adam", adam_free);
  if (!c) tess_adam_destroy(&a);
  return c;
}

static PyObject *py_adam_step(PyObject *self, PyObject *args)
{
  PyObject *ac, *th, *go;
  tess_err_t e;
  (void)self;
  if (!PyArg_ParseTuple(args, "OOO", &ac, &th, &go)) return NULL;
  tess_adam_t *a = PyCapsule_GetPointer(ac, "tessera.adam");
  if (!a) return NULL;
  size_t n = tess_adam_state_size(a) / 2;   /* [t, m, v] */
  double *tp = vec_inout(th, n, "theta");
  if (!tp) return NULL;
  PyArrayObject *g = vec_in(go, n, "grad");
  if (!g) return NULL;
  const double *gp = PyArray_DATA(g);
  Py_BEGIN_ALLOW_THREADS
  e = tess_adam_step(a, tp, gp);
  Py_END_ALLOW_THREADS
  Py_DECREF(g);
  CALL(e);
  return PyLong_FromLong(tess_adam_steps(a));
}

/* lbfgs_create(n, history=, line_search=, c1=, c2=, max_evals=, step0=) */
static PyObject *py_lbfgs_create(PyObject *self, PyObject *args, PyObject *kw)
{
  static char *kws[] = { "n", "history", "line_search", "c1", "c2", "max_evals", "step0", NULL };
  tess_lbfgs_opts_t o;
  Py_ssize_t n;
  const char *ls = "strong_wolfe";
  tess_lbfgs_t *l = NULL;
  (void)self;
  tess_lbfgs_opts_default(&o);
  if (!PyArg_ParseTupleAndKeywords(args, kw, "n|isddid", kws, &n, &o.history, &ls, &o.c1, &o.c2, &o.max_evals,
                                   &o.step0))
    return NULL;
  if (n < 1) return ARG_ERROR(TESS_ERR_ARG, "LBFGS: %zd parameters, expected >= 1", n);
  if (strcmp(ls, "strong_wolfe") == 0) o.line_search = TESS_LS_STRONG_WOLFE;
  else if (strcmp(ls, "backtracking") == 0) o.line_search = TESS_LS_BACKTRACKING;
  else return ARG_ERROR(TESS_ERR_ARG, "LBFGS: unknown line_search '%s' (expected strong_wolfe|backtracking)", ls);
  CALL(tess_lbfgs_create((size_t)n, &o, &l));
  PyObject *c = PyCapsule_New(l, "tessera.lbfgs", lbfgs_free);
  if (!c) tess_lbfgs_destroy(&l);
  return c;
}

/* lbfgs_step(lb, problem, theta, f, grad) -> (f, nevals); theta and grad
 * (f and gradient at theta on entry) are updated in place. Collective. */
static PyObject *py_lbfgs_step(PyObject *self, PyObject *args)
{
  PyObject *lc, *pc, *th, *go;
  double f;
  int nev = 0;
  tess_err_t e;
  (void)self;
  if (!PyArg_ParseTuple(args, "OOOdO", &lc, &pc, &th, &f, &go)) return NULL;
  tess_lbfgs_t *l = PyCapsule_GetPointer(lc, "tessera.lbfgs");
  py_pinn_t *pp = as_pinn(pc);
  if (!l || !pp) return NULL;
  size_t n = tess_pinn_nparams(pp->p);
  double *tp = vec_inout(th, n, "theta"), *gp = tp ? vec_inout(go, n, "grad") : NULL;
  if (!gp) return NULL;
  if (tp == gp) return ARG_ERROR(TESS_ERR_ARG, "LBFGS: theta and grad are one array");
  Py_BEGIN_ALLOW_THREADS
  e = tess_lbfgs_step(l, tess_pinn_objective, pp->p, tp, &f, gp, &nev);
  Py_END_ALLOW_THREADS
  CALL(e);
  return Py_BuildValue("(di)", f, nev);
}

/* opt_state(capsule) -> the optimizer's state as a flat f64 vector (Adam:
 * [t, m, v]; L-BFGS: [iters, count, head, rho, S, Y]), as checkpoints hold it. */
static PyObject *py_opt_state(PyObject *self, PyObject *arg)
{
  (void)self;
  int is_adam = PyCapsule_IsValid(arg, "tessera.adam");
  tess_adam_t *a = is_adam ? PyCapsule_GetPointer(arg, "tessera.adam") : NULL;
  tess_lbfgs_t *l = is_adam ? NULL : PyCapsule_GetPointer(arg, "tessera.lbfgs");
  if (!a && !l) return NULL;
  npy_intp n = (npy_intp)(a ? tess_adam_state_size(a) : tess_lbfgs_state_size(l));
  PyObject *out = PyArray_SimpleNew(1, &n, NPY_FLOAT64);
  if (!out) return NULL;
  double *s = PyArray_DATA((PyArrayObject *)out);
  tess_err_t e = a ? tess_adam_state_get(a, s) : tess_lbfgs_state_get(l, s);
  if (e) {
    Py_DECREF(out);
    return tess_py_raise(e);
  }
  return out;
}

static PyMethodDef pinn_methods[] = {
  {"mlp_create", py_mlp_create, METH_VARARGS, "(widths, act, dtype, init, seed) -> MLP"},
  {"mlp_nparams", py_mlp_nparams, METH_O, "parameter count"},
  {"mlp_get_params", py_mlp_get_params, METH_O, "parameters (a copy)"},
  {"mlp_set_params", py_mlp_set_params, METH_VARARGS, "(mlp, theta)"},
  {"pinn_create", py_pinn_create, METH_VARARGS,
   "(mlp, inputs, outputs, defs, sets, chunk, mesh, dp, fcomm) -> problem (set up when it has sets)"},
  {"pinn_info", py_pinn_info, METH_O, "(nparams, chunk)"},
  {"pinn_check", py_pinn_check, METH_VARARGS, "(problem, text): parse and plan"},
  {"pinn_loss_grad", py_pinn_loss_grad, METH_VARARGS, "(problem, theta, want_grad) -> (loss, grad)"},
  {"pinn_set_losses", py_pinn_set_losses, METH_O, "per-set losses of the last loss_grad"},
  {"pinn_eval", py_pinn_eval, METH_VARARGS, "(problem, text, x) -> values"},
  {"adam_create", (PyCFunction)(void (*)(void))py_adam_create, METH_VARARGS | METH_KEYWORDS, "Adam"},
  {"adam_step", py_adam_step, METH_VARARGS, "(adam, theta, grad) -> steps taken"},
  {"lbfgs_create", (PyCFunction)(void (*)(void))py_lbfgs_create, METH_VARARGS | METH_KEYWORDS, "L-BFGS"},
  {"lbfgs_step", py_lbfgs_step, METH_VARARGS, "(lbfgs, problem, theta, f, grad) -> (f, nevals)"},
  {"opt_state", py_opt_state, METH_O, "optimizer state vector"},
  {NULL, NULL, 0, NULL},
};

int tess_py_pinn_init(PyObject *module)
{
  import_array1(-1);   /* NumPy's C API table is per file */
  return PyModule_AddFunctions(module, pinn_methods);
}
