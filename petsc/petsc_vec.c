/* petsc/petsc_vec.c: Tessera arrays as PETSc Vecs and back, over the same
 * memory (tessera/petsc.h). PETSc errors become Tessera errors naming the
 * PETSc call and its message (TESS_PETSC_CHECK). */
#include <string.h>
#include <tessera/petsc.h>

#include "petsc_internal.h"

/* The first message PETSc raised since tess_petsc_errors_capture(1). */
static char captured[512];
static int capturing;

static PetscErrorCode record(MPI_Comm comm, int line, const char *fun, const char *file, PetscErrorCode n,
                             PetscErrorType p, const char *mess, void *ctx)
{
  (void)comm; (void)line; (void)file; (void)ctx;
  if (p == PETSC_ERROR_INITIAL && !captured[0])
    snprintf(captured, sizeof captured, "%s%s%s", mess ? mess : "", fun ? " in " : "", fun ? fun : "");
  return n;
}

void tess_petsc_errors_capture(int on)
{
  if (on && !capturing) {
    captured[0] = '\0';
    if (PetscPushErrorHandler(record, NULL) == 0) capturing = 1;
  } else if (!on && capturing) {
    PetscPopErrorHandler();
    capturing = 0;
  }
}

tess_err_t tess_petsc_error(PetscErrorCode ierr, const char *call, const char *file, int line,
                            const char *func)
{
  const char *text = NULL;
  PetscErrorMessage(ierr, &text, NULL);
  return tess_error_push(TESS_ERR_EXTERNAL, file, line, func, "PETSc %s failed: %s (error %d: %s)", call,
                         captured[0] ? captured : "no message", (int)ierr, text ? text : "?");
}

/* Every element of `a` has one owner: no dimension is replicated over an
 * axis of size > 1, and every mesh axis of size > 1 shards some dimension
 * (else ranks along it hold copies). */
static tess_err_t one_owner(const tess_array_t *a, const char *what)
{
  tess_err_t err = TESS_OK;
  tess_shardspec_t sp;
  tess_mesh_t *m = tess_array_mesh(a);
  tess_array_spec(a, &sp);
  for (int ax = 0; ax < tess_mesh_naxes(m); ax++) {
    int used = 0;
    for (int d = 0; d < sp.ndim; d++) used |= sp.axis[d] == ax;
    TESS_REQUIRE(used || tess_mesh_axis_size(m, ax) == 1, TESS_ERR_UNSUPPORTED,
                 "%s: mesh axis '%s' (size %d) shards no dimension, so its ranks hold copies; a "
                 "PETSc Vec has one owner per entry (reshard to a spec that uses every axis)",
                 what, tess_mesh_axis_name(m, ax), tess_mesh_axis_size(m, ax));
  }
cleanup:
  return err;
}

static tess_err_t scalar_ok(tess_dtype_t t, const char *what)
{
  tess_err_t err = TESS_OK;
#if defined(PETSC_USE_COMPLEX) || !defined(PETSC_USE_REAL_DOUBLE)
  (void)t;
  TESS_REQUIRE(0, TESS_ERR_UNSUPPORTED, "%s: this PETSc's PetscScalar is not a real double "
               "(a complex or single-precision build); views need PETSc's default real double", what);
#else
  TESS_REQUIRE(t == TESS_F64, TESS_ERR_UNSUPPORTED,
               "%s: a %s array; PETSc's PetscScalar is f64 (convert the array first)", what,
               tess_dtype_name(t));
#endif
cleanup:
  return err;
}

tess_err_t tess_petsc_vec_create(tess_array_t *a, Vec *v)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(a && v, TESS_ERR_ARG, "NULL argument");
  *v = NULL;
#if defined(PETSC_HAVE_CUDA)
  TESS_REQUIRE(tess_memspace_is_host(tess_array_memspace(a)), TESS_ERR_UNSUPPORTED,
               "%s: a device array; VecCreateMPICUDAWithArray is not wired yet: copy it to the host",
               __func__);
#else
  TESS_REQUIRE(tess_memspace_is_host(tess_array_memspace(a)), TESS_ERR_UNSUPPORTED,
               "%s: a device array, and this PETSc was built without CUDA (no "
               "VecCreateMPICUDAWithArray): copy it to the host", __func__);
#endif
  TESS_CHECK(scalar_ok(tess_array_dtype(a), __func__));
  TESS_CHECK(one_owner(a, __func__));
  {
    MPI_Comm comm = tess_mesh_comm(tess_array_mesh(a));
    PetscInt n = (PetscInt)tess_array_local_count(a), N = (PetscInt)tess_array_global_count(a);
    TESS_PETSC_CHECK(VecCreateMPIWithArray(comm, 1, n, N, (PetscScalar *)tess_array_local_data(a), v));
  }
cleanup:
  return err;
}

/* The block of this rank under spec (+ explicit partition), in elements;
 * -1 for an axis out of range or a partition that does not add up
 * (tess_array_create_with_data then names the problem). */
static int64_t local_count(const tess_mesh_t *mesh, int ndim, const int64_t shape[],
                           const tess_shardspec_t *spec, const tess_array_opts_t *opts)
{
  int64_t cnt = 1;
  for (int d = 0; d < ndim; d++) {
    int ax = spec->axis[d];
    int64_t start = 0, len = shape[d];
    if (ax != TESS_REPLICATED) {
      if (ax < 0 || ax >= tess_mesh_naxes(mesh)) return -1;
      int c = tess_mesh_coord(mesh, ax), p = tess_mesh_axis_size(mesh, ax);
      if (opts && opts->partition[d]) {
        int64_t sum = 0;
        for (int q = 0; q < p; q++) {
          if (opts->partition[d][q] < 0) return -1;
          sum += opts->partition[d][q];
        }
        if (sum != shape[d]) return -1;
        len = opts->partition[d][c];
      } else {
        tess_block_range(shape[d], p, c, &start, &len);
      }
    }
    cnt *= len;
  }
  return cnt;
}

tess_err_t tess_petsc_vec_get_array(Vec v, tess_mesh_t *mesh, int ndim, const int64_t shape[],
                                    const tess_shardspec_t *spec, const tess_array_opts_t *opts,
                                    tess_array_t **a)
{
  tess_err_t err = TESS_OK;
  PetscScalar *x = NULL;
  PetscInt n = 0;
  int64_t want;
  TESS_REQUIRE(v && mesh && shape && spec && a, TESS_ERR_ARG, "NULL argument");
  *a = NULL;
  TESS_CHECK(scalar_ok(TESS_F64, __func__));
  TESS_PETSC_CHECK(VecGetLocalSize(v, &n));
  TESS_REQUIRE(ndim >= 1 && ndim <= TESS_MAX_NDIM && spec->ndim == ndim, TESS_ERR_ARG,
               "%d dims, a spec of %d", ndim, spec->ndim);
  want = local_count(mesh, ndim, shape, spec, opts);
  TESS_REQUIRE(want < 0 || want == (int64_t)n, TESS_ERR_SHAPE,
               "rank %d: the Vec holds %lld local values, the array's block %lld (a DMDA local, "
               "ghosted vector? view the global vector; else the partition differs from the Vec's)",
               tess_mesh_rank(mesh), (long long)n, (long long)want);
  TESS_PETSC_CHECK(VecGetArray(v, &x));
  err = tess_array_create_with_data(mesh, TESS_F64, ndim, shape, spec, TESS_MEM_HOST, opts, x,
                                    (size_t)n * sizeof *x, a);
  if (err) {
    VecRestoreArray(v, &x);
    TESS_CHECK(err);
  }
cleanup:
  return err;
}

tess_err_t tess_petsc_vec_restore_array(Vec v, tess_array_t **a)
{
  tess_err_t err = TESS_OK;
  PetscScalar *x;
  TESS_REQUIRE(v && a, TESS_ERR_ARG, "NULL argument");
  if (!*a) return TESS_OK;
  x = (PetscScalar *)tess_array_local_data(*a);
  tess_array_destroy(a);
  TESS_PETSC_CHECK(VecRestoreArray(v, &x));
cleanup:
  return err;
}
