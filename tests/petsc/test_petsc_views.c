/* tests/petsc/test_petsc_views.c: Tessera arrays and PETSc Vecs over the same
 * memory (tessera/petsc.h), with PETSc's own index bookkeeping as the truth:
 *  1. DMDA global vectors (1-, 2- and 3-D, dof 1 and 3, odd sizes split by
 *     PETSc) viewed as arrays: the same address; values Tessera writes by
 *     global index are where DMDAGetCorners says PETSc keeps them; a PETSc
 *     write (VecScale) is seen through the array (gathered on rank 0).
 *  2. arrays (a 1-axis slab, a 2-axis grid) viewed as Vecs: the same
 *     address; VecSum equals the exact sum; VecScale is seen by the array.
 *  3. refusals with a message: ranks holding copies, an f32 array, a DMDA
 *     local (ghosted) vector.
 * Values are global index + 0.5: exact in double, so sums compare exactly. */
#include <petscdmda.h>
#include <string.h>
#include <tessera/petsc.h>
#include <tessera/tessera.h>
#include "tess_test.h"

static double val(int64_t lin) { return (double)lin + 0.5; }

static void fill_lin(const int64_t g[], int nd, void *v, void *ctx)
{
  const int64_t *shape = ctx;
  int64_t lin = 0;
  for (int d = 0; d < nd; d++) lin = lin * shape[d] + g[d];
  *(double *)v = val(lin);
}

/* rank 0: the gathered array against scale * val(i) */
static void check_gathered(tess_array_t *a, double scale, const char *what)
{
  int64_t n = tess_array_global_count(a);
  int r = tess_mesh_rank(tess_array_mesh(a)), bad = 0;
  double *all = r == 0 ? malloc(sizeof *all * (size_t)n) : NULL;
  CHECK(tess_array_gather(a, 0, all) == TESS_OK, "%s: gather", what);
  if (r == 0) {
    for (int64_t i = 0; i < n; i++) bad += all[i] != scale * val(i);
    CHECK(bad == 0, "%s: %d of %lld values are not %g x (index + 0.5)", what, bad, (long long)n, scale);
  }
  free(all);
}

static void dmda_case(int dim, int dof)
{
  DM da = NULL;
  Vec v = NULL, loc = NULL;
  tess_petsc_dmda_layout_t L;
  tess_array_t *a = NULL;
  const PetscScalar *x = NULL;
  PetscInt xs, ys, zs, xm, ym, zm, M = 13, N = 7, P = 5, nloc;
  char what[64];
  int size;
  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  snprintf(what, sizeof what, "DMDA %d-D dof %d", dim, dof);
  if (dim == 1) DMDACreate1d(PETSC_COMM_WORLD, DM_BOUNDARY_NONE, 17, dof, 1, NULL, &da);
  else if (dim == 2)
    DMDACreate2d(PETSC_COMM_WORLD, DM_BOUNDARY_NONE, DM_BOUNDARY_NONE, DMDA_STENCIL_STAR, M, N, PETSC_DECIDE,
                 PETSC_DECIDE, dof, 1, NULL, NULL, &da);
  else
    DMDACreate3d(PETSC_COMM_WORLD, DM_BOUNDARY_NONE, DM_BOUNDARY_NONE, DM_BOUNDARY_NONE, DMDA_STENCIL_BOX,
                 9, N, P, PETSC_DECIDE, PETSC_DECIDE, PETSC_DECIDE, dof, 1, NULL, NULL, NULL, &da);
  DMSetUp(da);
  DMCreateGlobalVector(da, &v);
  CHECK(tess_petsc_dmda_layout_create(da, &L) == TESS_OK, "%s: layout", what);
  CHECK(tess_petsc_vec_get_array(v, L.mesh, L.ndim, L.shape, &L.spec, &L.opts, &a) == TESS_OK,
        "%s: view: %s", what, tess_error_message());
  if (a) {
    CHECK(tess_array_fill(a, fill_lin, L.shape) == TESS_OK, "%s: fill", what);
    const void *mine = tess_array_local_data(a);
    CHECK(tess_petsc_vec_restore_array(v, &a) == TESS_OK && a == NULL, "%s: restore", what);
    /* through PETSc: its own corners say where (i, j, k, c) is kept */
    DMDAGetCorners(da, &xs, &ys, &zs, &xm, &ym, &zm);
    VecGetLocalSize(v, &nloc);
    VecGetArrayRead(v, &x);
    CHECK((const void *)x == mine, "%s: the array is not over the Vec's memory", what);
    PetscInt gM = 0, gN = 0, gP = 0;
    DMDAGetInfo(da, NULL, &gM, &gN, &gP, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    int bad = 0;
    for (PetscInt k = zs; k < zs + zm; k++)
      for (PetscInt j = ys; j < ys + ym; j++)
        for (PetscInt i = xs; i < xs + xm; i++)
          for (PetscInt c = 0; c < dof; c++) {
            PetscInt l = (((k - zs) * ym + (j - ys)) * xm + (i - xs)) * dof + c;
            int64_t g = (((int64_t)k * (dim > 1 ? gN : 1) + j) * gM + i) * dof + c;
            bad += l >= nloc || x[l] != val(g);
          }
    CHECK(bad == 0, "%s: %d values not at PETSc's (i, j, k, c)", what, bad);
    VecRestoreArrayRead(v, &x);
    /* a PETSc write, seen through a new view */
    VecScale(v, 3.0);
    CHECK(tess_petsc_vec_get_array(v, L.mesh, L.ndim, L.shape, &L.spec, &L.opts, &a) == TESS_OK,
          "%s: second view", what);
    if (a) check_gathered(a, 3.0, what);
    tess_petsc_vec_restore_array(v, &a);
  }
  /* a local (ghosted) vector is bigger where ranks have neighbours */
  DMGetLocalVector(da, &loc);
  VecGetLocalSize(loc, &nloc);
  PetscInt nglob;
  VecGetLocalSize(v, &nglob);
  if (nloc != nglob) {
    tess_err_t e = tess_petsc_vec_get_array(loc, L.mesh, L.ndim, L.shape, &L.spec, &L.opts, &a);
    CHECK(e == TESS_ERR_SHAPE && strstr(tess_error_message(), "ghosted"), "%s: a local vector gave %d (%s)",
          what, (int)e, tess_error_message());
    tess_error_clear();
  }
  DMRestoreLocalVector(da, &loc);
  tess_petsc_dmda_layout_destroy(&L);
  VecDestroy(&v);
  DMDestroy(&da);
}

static void array_case(int naxes)
{
  int P, dims[2] = {0, 0};
  const char *names[2] = {"a", "b"};
  int64_t shape[2] = {11, 6};
  tess_mesh_t *mesh = NULL;
  tess_array_t *a = NULL;
  tess_shardspec_t sp = { .ndim = 2, .axis = { 0, naxes == 2 ? 1 : TESS_REPLICATED } };
  Vec v = NULL;
  PetscScalar sum = 0;
  const PetscScalar *x = NULL;
  char what[48];
  snprintf(what, sizeof what, "array on %d axis%s", naxes, naxes == 1 ? "" : "es");
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  MPI_Dims_create(P, naxes, dims);
  CHECK(tess_mesh_create(MPI_COMM_WORLD, naxes, names, dims, &mesh) == TESS_OK, "%s: mesh", what);
  CHECK(tess_array_create(mesh, TESS_F64, 2, shape, &sp, TESS_MEM_HOST, &a) == TESS_OK, "%s: array", what);
  CHECK(tess_array_fill(a, fill_lin, shape) == TESS_OK, "%s: fill", what);
  CHECK(tess_petsc_vec_create(a, &v) == TESS_OK, "%s: Vec", what);
  if (v) {
    VecGetArrayRead(v, &x);
    CHECK((const void *)x == tess_array_local_data(a), "%s: the Vec is not over the array's memory", what);
    VecRestoreArrayRead(v, &x);
    VecSum(v, &sum);
    int64_t n = shape[0] * shape[1];
    CHECK(sum == (double)(n * (n - 1) / 2) + 0.5 * (double)n, "%s: VecSum %.17g", what, (double)sum);
    VecScale(v, 2.0);
    check_gathered(a, 2.0, what);
    VecDestroy(&v);
  }
  tess_array_destroy(&a);
  tess_mesh_destroy(&mesh);
}

static void refusals(void)
{
  int P;
  const char *names[2] = {"a", "b"};
  int64_t shape[2] = {5, 4};
  tess_mesh_t *mesh = NULL;
  tess_array_t *a = NULL, *f = NULL;
  Vec v = NULL;
  tess_err_t e;
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  int sizes[2] = {1, P};
  tess_shardspec_t sp = { .ndim = 2, .axis = { 0, TESS_REPLICATED } };   /* axis b unused */
  tess_mesh_create(MPI_COMM_WORLD, 2, names, sizes, &mesh);
  tess_array_create(mesh, TESS_F64, 2, shape, &sp, TESS_MEM_HOST, &a);
  e = tess_petsc_vec_create(a, &v);
  if (P > 1)
    CHECK(e == TESS_ERR_UNSUPPORTED && strstr(tess_error_message(), "axis 'b'") &&
          strstr(tess_error_message(), "copies") && v == NULL,
          "copies on axis b: got %d (%s)", (int)e, tess_error_message());
  else
    CHECK(e == TESS_OK, "1 rank: nothing is copied, yet refused: %s", tess_error_message());
  tess_error_clear();
  VecDestroy(&v);
  tess_array_create(mesh, TESS_F32, 2, shape, &sp, TESS_MEM_HOST, &f);
  e = tess_petsc_vec_create(f, &v);
  CHECK(e == TESS_ERR_UNSUPPORTED && strstr(tess_error_message(), "f32") && v == NULL,
        "f32 array: got %d (%s)", (int)e, tess_error_message());
  tess_error_clear();
  tess_array_destroy(&a);
  tess_array_destroy(&f);
  tess_mesh_destroy(&mesh);
}

int main(int argc, char **argv)
{
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  if (tess_init(&argc, &argv) != TESS_OK) return 1;
  for (int dim = 1; dim <= 3; dim++) {
    dmda_case(dim, 1);
    dmda_case(dim, 3);
  }
  array_case(1);
  array_case(2);
  refusals();
  int rc = tess_test_finish("petsc_views");
  tess_finalize();
  PetscFinalize();
  return rc;
}
