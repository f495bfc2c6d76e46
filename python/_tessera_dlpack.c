/* python/_tessera_dlpack.c: DLPack for the `tessera` package, both ways,
 * without copies. Export: an array's local block as a "dltensor" capsule
 * (Array.__dlpack__, __dlpack_device__; numpy.from_dlpack, torch, cupy take
 * it); the capsule keeps the array alive. Import: tessera.from_dlpack makes
 * an array over another library's memory (a DLPack capsule, or any writable
 * C-contiguous buffer) through tess_array_create_with_data; the array keeps
 * the producer's memory alive until it is destroyed. Host memory is kDLCPU,
 * pinned host kDLCUDAHost, device memory kDLCUDA with its device index. The
 * structs are DLPack's stable ABI (v0.x, unversioned capsules). */
#include "_tessera_ext.h"

#include <stdlib.h>
#include <string.h>

typedef struct { int32_t device_type, device_id; } DLDevice;
typedef struct { uint8_t code, bits; uint16_t lanes; } DLDataType;
typedef struct {
  void *data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t *shape, *strides;
  uint64_t byte_offset;
} DLTensor;
typedef struct DLManagedTensor {
  DLTensor dl_tensor;
  void *manager_ctx;
  void (*deleter)(struct DLManagedTensor *self);
} DLManagedTensor;
enum { kDLCPU = 1, kDLCUDA = 2, kDLCUDAHost = 3 };
enum { kDLInt = 0, kDLFloat = 2, kDLComplex = 5 };

static const struct { tess_dtype_t t; uint8_t code, bits; } dtypes[] = {
  {TESS_F32, kDLFloat, 32}, {TESS_F64, kDLFloat, 64}, {TESS_C64, kDLComplex, 64},
  {TESS_C128, kDLComplex, 128}, {TESS_I32, kDLInt, 32}, {TESS_I64, kDLInt, 64},
  {TESS_F16, kDLFloat, 16},
};

static void device_of(tess_memspace_t s, DLDevice *d)
{
  int k = tess_memspace_kind(s);
  d->device_type = k == TESS_MEM_DEVICE ? kDLCUDA : k == TESS_MEM_HOST_PINNED ? kDLCUDAHost : kDLCPU;
  d->device_id = k == TESS_MEM_DEVICE ? tess_memspace_device_index(s) : 0;
  if (d->device_id < 0) d->device_id = 0;
}

/* ---- export ------------------------------------------------------------------ */
typedef struct {
  DLManagedTensor mt;
  int64_t shape[TESS_MAX_NDIM], strides[TESS_MAX_NDIM];
  PyObject *owner;   /* the array's capsule */
} export_t;

static void export_delete(DLManagedTensor *mt)
{
  export_t *x = mt->manager_ctx;
  PyGILState_STATE g = PyGILState_Ensure();   /* consumers may call it without the GIL */
  Py_XDECREF(x->owner);
  PyGILState_Release(g);
  free(x);
}

static void dltensor_capsule_free(PyObject *c)
{
  /* never consumed (a consumer renames it "used_dltensor" and owns it) */
  if (PyCapsule_IsValid(c, "dltensor")) {
    DLManagedTensor *mt = PyCapsule_GetPointer(c, "dltensor");
    if (mt && mt->deleter) mt->deleter(mt);
  }
}

static PyObject *py_array_dlpack(PyObject *self, PyObject *ac)
{
  (void)self;
  tess_array_t *a = PyCapsule_GetPointer(ac, "tessera.array");
  if (!a) return NULL;
  export_t *x = calloc(1, sizeof *x);
  if (!x) return PyErr_NoMemory();
  DLTensor *t = &x->mt.dl_tensor;
  tess_dtype_t dt = tess_array_dtype(a);
  size_t k = 0;
  while (k < sizeof dtypes / sizeof dtypes[0] && dtypes[k].t != dt) k++;
  if (k == sizeof dtypes / sizeof dtypes[0]) {
    free(x);
    return PyErr_Format(PyExc_TypeError, "__dlpack__: no DLPack type for %s", tess_dtype_name(dt));
  }
  t->ndim = tess_array_ndim(a);
  tess_array_local_shape(a, x->shape);
  for (int d = t->ndim - 1, s = 1; d >= 0; s *= (int)x->shape[d], d--) x->strides[d] = s;
  t->data = tess_array_local_data(a);
  device_of(tess_array_memspace(a), &t->device);
  t->dtype = (DLDataType){dtypes[k].code, dtypes[k].bits, 1};
  t->shape = x->shape;
  t->strides = x->strides;
  x->mt.manager_ctx = x;
  x->mt.deleter = export_delete;
  Py_INCREF(ac);
  x->owner = ac;
  PyObject *c = PyCapsule_New(&x->mt, "dltensor", dltensor_capsule_free);
  if (!c) export_delete(&x->mt);
  return c;
}

static PyObject *py_array_dlpack_device(PyObject *self, PyObject *ac)
{
  (void)self;
  tess_array_t *a = PyCapsule_GetPointer(ac, "tessera.array");
  DLDevice d;
  if (!a) return NULL;
  device_of(tess_array_memspace(a), &d);
  return Py_BuildValue("(ii)", d.device_type, d.device_id);
}

/* ---- import ------------------------------------------------------------------ */
typedef struct {
  DLManagedTensor *mt;   /* a consumed DLPack tensor, or NULL */
  Py_buffer view;        /* else a buffer (view.obj != NULL) */
} import_t;

static void import_release(import_t *o)
{
  if (!o) return;
  if (o->mt && o->mt->deleter) o->mt->deleter(o->mt);
  if (o->view.obj) PyBuffer_Release(&o->view);
  free(o);
}

static void imported_array_free(PyObject *c)
{
  tess_array_t *a = PyCapsule_GetPointer(c, "tessera.array");
  if (a && tess_initialized()) tess_array_destroy(&a);   /* before the memory goes */
  import_release(PyCapsule_GetContext(c));
}

/* dtype of a struct-module format with this item size, or -1 */
static int buffer_dtype(const char *f, Py_ssize_t size)
{
  if (!f) f = "B";
  if (*f == '<' || *f == '=' || *f == '@') f++;
  if (strcmp(f, "d") == 0) return TESS_F64;
  if (strcmp(f, "f") == 0) return TESS_F32;
  if (strcmp(f, "Zd") == 0) return TESS_C128;
  if (strcmp(f, "Zf") == 0) return TESS_C64;
  if (strchr("ilq", f[0]) && f[1] == '\0') return size == 4 ? TESS_I32 : size == 8 ? TESS_I64 : -1;
  return -1;
}

/* array_from_dlpack(mesh, capsule or buffer object, spec) -> array capsule.
 * Collective on the mesh. The object is this rank's block; the global shape
 * comes from the blocks (each sharded dimension: the sum of the lengths
 * along its mesh axis, which become the array's partition). */
static PyObject *py_array_from_dlpack(PyObject *self, PyObject *args)
{
  PyObject *mc, *obj, *spec, *c = NULL;
  import_t *own = NULL;
  tess_array_t *a = NULL;
  tess_err_t e = TESS_OK;
  int nd = 0, dt = -1, ok = 1, all = 0;
  tess_memspace_t space = TESS_MEM_HOST;
  void *data = NULL;
  int64_t local[TESS_MAX_NDIM], global[TESS_MAX_NDIM], *parts[TESS_MAX_NDIM] = {NULL};
  tess_shardspec_t sp;
  tess_array_opts_t opts;
  char why[200] = "";
  (void)self;
  if (!PyArg_ParseTuple(args, "OOO", &mc, &obj, &spec)) return NULL;
  tess_mesh_t *m = PyCapsule_GetPointer(mc, "tessera.mesh");
  if (!m) return NULL;
  memset(&opts, 0, sizeof opts);
  if (!(own = calloc(1, sizeof *own))) return PyErr_NoMemory();

  /* local checks first; then every rank learns whether all passed, so no
   * rank is left alone in the collectives below */
  if (PyCapsule_IsValid(obj, "dltensor")) {
    DLManagedTensor *mt = PyCapsule_GetPointer(obj, "dltensor");
    DLTensor *t = &mt->dl_tensor;
    nd = t->ndim;
    for (size_t k = 0; k < sizeof dtypes / sizeof dtypes[0]; k++)
      if (dtypes[k].code == t->dtype.code && dtypes[k].bits == t->dtype.bits && t->dtype.lanes == 1) dt = dtypes[k].t;
    int64_t want = 1;
    for (int d = nd - 1; d >= 0 && nd <= TESS_MAX_NDIM; d--) {   /* compact row-major only */
      if (t->strides && t->shape[d] > 1 && t->strides[d] != want) ok = 0;
      local[d] = t->shape[d];
      want *= t->shape[d];
    }
    if (!ok) snprintf(why, sizeof why, "from_dlpack: a strided tensor (make it C-contiguous first)");
    space = t->device.device_type == kDLCUDA       ? tess_memspace_device(t->device.device_id)
            : t->device.device_type == kDLCUDAHost ? TESS_MEM_HOST_PINNED
            : t->device.device_type == kDLCPU      ? TESS_MEM_HOST
                                                   : -1;
    if (space == -1 && ok) {
      ok = 0;
      snprintf(why, sizeof why, "from_dlpack: DLPack device type %d is not host or CUDA", t->device.device_type);
    }
    data = (char *)t->data + t->byte_offset;
    own->mt = mt;
    PyCapsule_SetName(obj, "used_dltensor");   /* ours now: deleter called at destroy */
  } else if (PyObject_GetBuffer(obj, &own->view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) == 0) {
    nd = own->view.ndim;
    dt = buffer_dtype(own->view.format, own->view.itemsize);
    for (int d = 0; d < nd && nd <= TESS_MAX_NDIM; d++) local[d] = own->view.shape[d];
    data = own->view.buf;
  } else {
    PyErr_Clear();
    ok = 0;
    snprintf(why, sizeof why, "from_dlpack: %s is neither a DLPack capsule nor a writable C-contiguous buffer",
             Py_TYPE(obj)->tp_name);
  }
  if (ok && (nd < 1 || nd > TESS_MAX_NDIM || PySequence_Size(spec) != nd)) {
    ok = 0;
    snprintf(why, sizeof why, "from_dlpack: %d dimensions (1 to %d), with one spec entry each", nd, TESS_MAX_NDIM);
  }
  if (ok && dt < 0) {
    ok = 0;
    snprintf(why, sizeof why, "from_dlpack: an element type Tessera has no dtype for");
  }
  sp.ndim = nd;
  for (int d = 0; ok && d < nd; d++) {
    PyObject *x = PySequence_GetItem(spec, d);
    sp.axis[d] = x ? (int)PyLong_AsLong(x) : TESS_REPLICATED;
    Py_XDECREF(x);
    if (sp.axis[d] < 0) sp.axis[d] = TESS_REPLICATED;
    if (PyErr_Occurred()) {
      PyErr_Clear();
      ok = 0;
      snprintf(why, sizeof why, "from_dlpack: spec entries are mesh axis indices or -1");
    }
  }
  Py_BEGIN_ALLOW_THREADS
  e = tess_comm_allreduce(m, TESS_AXES_ALL, &ok, &all, 1, TESS_I32, TESS_OP_MIN, TESS_MEM_HOST, NULL);
  for (int d = 0; !e && all && d < nd; d++) {
    global[d] = local[d];
    if (sp.axis[d] == TESS_REPLICATED) continue;
    int p = tess_mesh_axis_size(m, sp.axis[d]);
    parts[d] = malloc((size_t)p * sizeof(int64_t));
    if (!parts[d]) {
      e = tess_error_push(TESS_ERR_MEM, __FILE__, __LINE__, __func__, "partition");
      break;
    }
    e = tess_comm_allgather(m, 1u << sp.axis[d], &local[d], 1, parts[d], TESS_I64, TESS_MEM_HOST, NULL);
    global[d] = 0;
    for (int r = 0; r < p; r++) global[d] += parts[d][r];
    opts.partition[d] = parts[d];
  }
  if (!e && all) {
    size_t bytes = tess_dtype_size((tess_dtype_t)dt);
    for (int d = 0; d < nd; d++) bytes *= (size_t)local[d];
    e = tess_array_create_with_data(m, (tess_dtype_t)dt, nd, global, &sp, space, &opts, data, bytes, &a);
  }
  Py_END_ALLOW_THREADS
  for (int d = 0; d < nd && d < TESS_MAX_NDIM; d++) free(parts[d]);
  if (e) {
    import_release(own);
    return tess_py_raise(e);
  }
  if (!all) {
    import_release(own);
    return PyErr_Format(PyExc_ValueError, "%s", why[0] ? why : "from_dlpack: another rank's block was refused");
  }
  c = PyCapsule_New(a, "tessera.array", imported_array_free);
  if (!c || PyCapsule_SetContext(c, own) < 0) {
    Py_XDECREF(c);   /* its destructor has no context yet: release here */
    if (!c) tess_array_destroy(&a);
    import_release(own);
    return NULL;
  }
  return c;
}

static PyMethodDef dlpack_methods[] = {
  {"array_dlpack", py_array_dlpack, METH_O, "the local block as a DLPack capsule"},
  {"array_dlpack_device", py_array_dlpack_device, METH_O, "(device_type, device_id)"},
  {"array_from_dlpack", py_array_from_dlpack, METH_VARARGS, "(mesh, capsule or buffer, spec) -> array"},
  {NULL, NULL, 0, NULL},
};

int tess_py_dlpack_init(PyObject *m) { return PyModule_AddFunctions(m, dlpack_methods); }
