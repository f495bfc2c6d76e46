/* tests/petsc/test_petsc_poisson.c: tess_petsc_poisson_compare at any rank
 * count, 2-D and 3-D, odd sizes: the FFT solve meets the discrete problem's
 * exact solution (closed form: each forcing mode over the stencil's
 * eigenvalue) to rounding, PETSc's CG+GAMG meets it to its tolerance, and
 * the two agree; PETSc's own residual of the FFT solution is at rounding. */
#include <petscsys.h>
#include <tessera/petsc_poisson.h>
#include <tessera/tessera.h>
#include "tess_test.h"

static void one(int nd, int64_t n0, int64_t n1, int64_t n2)
{
  tess_poisson_opts_t o = { .ndim = nd, .n = { n0, n1, n2 }, .length = { 1.0, 2.0, 1.5 }, .rtol = 1e-12 };
  tess_poisson_result_t r;
  tess_err_t e = tess_petsc_poisson_compare(MPI_COMM_WORLD, &o, &r);
  CHECK(e == TESS_OK, "%d-D: %s", nd, tess_error_message());
  if (e) return;
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  char size[64];
  if (nd == 2) snprintf(size, sizeof size, "%lldx%lld", (long long)n0, (long long)n1);
  else snprintf(size, sizeof size, "%lldx%lldx%lld", (long long)n0, (long long)n1, (long long)n2);
  if (rank == 0)
    printf("  %d-D %s: fft err %.2e, ksp (%s+%s, %d its) err %.2e, diff %.2e, resid %.2e\n", nd, size,
           r.err_spectral, r.ksp_type, r.pc_type, r.ksp_its, r.err_ksp, r.diff, r.resid_spectral);
  CHECK(r.err_spectral < 1e-13, "%d-D: FFT solve vs the exact discrete solution %.3g", nd, r.err_spectral);
  CHECK(r.resid_spectral < 1e-13, "%d-D: PETSc's residual of the FFT solution %.3g", nd, r.resid_spectral);
  CHECK(r.ksp_reason > 0 && r.err_ksp < 1e-8 && r.diff < 1e-8, "%d-D: KSP reason %d err %.3g diff %.3g", nd,
        r.ksp_reason, r.err_ksp, r.diff);
}

int main(int argc, char **argv)
{
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  if (tess_init(&argc, &argv) != TESS_OK) return 1;
  one(2, 24, 17, 0);
  one(3, 12, 10, 9);
  int rc = tess_test_finish("petsc_poisson");
  tess_finalize();
  PetscFinalize();
  return rc;
}
