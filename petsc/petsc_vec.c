/* petsc/petsc_vec.c: Tessera arrays as PETSc Vecs and back, over the same
 * memory (tessera/petsc.h). PETSc errors become Tessera errors naming the
 * PETSc call and its message (TESS_PETSC_CHECK). */
#include <stdint.h>
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

/* Every element of `a` has one owner: a PETSc Vec has one per entry. */
static tess_err_t one_owner(const tess_array_t *a, const char *what)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *m = tess_array_mesh(a);
  int ax = tess_array_copy_axis(a);
  TESS_REQUIRE(ax < 0, TESS_ERR_UNSUPPORTED,
               "%s: mesh axis '%s' (size %d) shards no dimension, so its ranks hold copies; a "
               "PETSc Vec has one owner per entry (reshard to a spec that uses every axis)",
               what, tess_mesh_axis_name(m, ax), tess_mesh_axis_size(m, ax));
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

/* Stands for the data of an empty local part that PETSc gives as NULL. */
static PetscScalar none;

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
  TESS_PETSC_CHECK(VecGetArray(v, &x));
  /* the array's own rules size its block (spec, partition); any size is
   * accepted here so that a mismatch is told as one, both ways */
  err = tess_array_create_with_data(mesh, TESS_F64, ndim, shape, spec, TESS_MEM_HOST, opts,
                                    x ? x : &none, SIZE_MAX, a);
  want = err ? 0 : tess_array_local_count(*a);
  if (!err && want != (int64_t)n) {
    tess_array_destroy(a);
    err = tess_error_push(TESS_ERR_SHAPE, __FILE__, __LINE__, __func__,
                          "rank %d: the Vec holds %lld local values, the array's block %lld (a DMDA "
                          "local, ghosted vector? view the global vector; else the partition differs "
                          "from the Vec's)", tess_mesh_rank(mesh), (long long)n, (long long)want);
  }
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
  if (x == &none) x = NULL;
  tess_array_destroy(a);
  TESS_PETSC_CHECK(VecRestoreArray(v, &x));
cleanup:
  return err;
}
