/* docs/examples/petsc_program/main.c: Tessera inside a PETSc program.
 * The program owns the DMDA and its vector; Tessera sees the vector as a
 * distributed array without copying it (tess_petsc_vec_get_array), fills it
 * by global index and sums it exactly; PETSc then sees what Tessera wrote.
 * Last, the Poisson comparison of libtessera_petsc on a small grid.
 *   mpirun -n 4 ./petsc_program [-ksp_type cg -pc_type gamg]
 * Exit 0 when everything agrees. Built against an installed Tessera:
 * CMakeLists.txt (find_package) or Makefile (pkg-config). */
#include <petscdmda.h>
#include <tessera/petsc.h>
#include <tessera/petsc_poisson.h>
#include <tessera/tessera.h>

static void fill(const int64_t g[], int nd, void *v, void *ctx)
{
  (void)nd; (void)ctx;
  *(double *)v = (double)(g[0] * 1000 + g[1]);   /* y * 1000 + x */
}

int main(int argc, char **argv)
{
  DM da;
  Vec v;
  tess_petsc_dmda_layout_t L;
  tess_array_t *a = NULL;
  PetscScalar psum;
  double tsum = 0;
  int rank, ok = 1;
  PetscCall(PetscInitialize(&argc, &argv, NULL, "Tessera inside a PETSc program"));
  if (tess_init(&argc, &argv) != TESS_OK) return 1;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);

  PetscCall(DMDACreate2d(PETSC_COMM_WORLD, DM_BOUNDARY_NONE, DM_BOUNDARY_NONE, DMDA_STENCIL_STAR, 31, 17,
                         PETSC_DECIDE, PETSC_DECIDE, 1, 1, NULL, NULL, &da));
  PetscCall(DMSetUp(da));
  PetscCall(DMCreateGlobalVector(da, &v));
  if (tess_petsc_dmda_layout_create(da, &L) != TESS_OK ||
      tess_petsc_vec_get_array(v, L.mesh, L.ndim, L.shape, &L.spec, &L.opts, &a) != TESS_OK ||
      tess_array_fill(a, fill, NULL) != TESS_OK ||
      tess_sum_f64(tess_array_local_data(a), (size_t)tess_array_local_count(a), tess_mesh_comm(L.mesh),
                   &tsum) != 0 ||
      tess_petsc_vec_restore_array(v, &a) != TESS_OK) {
    tess_error_print(stderr);
    return 1;
  }
  PetscCall(VecSum(v, &psum));   /* PETSc sees what Tessera wrote */
  double want = 0;
  for (int y = 0; y < 17; y++)
    for (int x = 0; x < 31; x++) want += y * 1000 + x;
  ok = tsum == want && psum == want;
  if (rank == 0) printf("petsc_program: Tessera's exact sum %.1f, PETSc's VecSum %.1f, expected %.1f\n", tsum,
                        (double)psum, want);

  tess_poisson_opts_t o = { .ndim = 2, .n = { 32, 27 }, .rtol = 1e-12 };
  tess_poisson_result_t r;
  if (tess_petsc_poisson_compare(PETSC_COMM_WORLD, &o, &r) != TESS_OK) {
    tess_error_print(stderr);
    return 1;
  }
  ok = ok && r.err_spectral < 1e-13 && r.diff < 1e-9;
  if (rank == 0) printf("petsc_program: Poisson 32 x 27: FFT error %.2e, KSP (%s + %s) error %.2e: %s\n",
                        r.err_spectral, r.ksp_type, r.pc_type, r.err_ksp, ok ? "ok" : "FAILED");
  tess_petsc_dmda_layout_destroy(&L);
  PetscCall(VecDestroy(&v));
  PetscCall(DMDestroy(&da));
  tess_finalize();
  PetscCall(PetscFinalize());
  return ok ? 0 : 1;
}
