/* tests/petsc/test_petsc_ts.c: PETSc TS (adaptive RK5DP) stepping 2-D viscous
 * Burgers whose right-hand side Tessera computes by FFTs, at any rank count:
 * the state at t = 1 against the Cole-Hopf exact solution; a run stopped after
 * 7 steps, checkpointed through Tessera's HDF5 (state zeroed, read back),
 * and continued by a new TS ends where the uninterrupted run does (same
 * steps, the same error to 1e-4 of it: PETSc's controller is not bitwise
 * restartable); a coarser grid is less accurate (spectral convergence). */
#include <petscsys.h>
#include <stdio.h>
#include <math.h>
#include <string.h>
#include <tessera/petsc_ts.h>
#include <tessera/tessera.h>
#include "tess_test.h"

int main(int argc, char **argv)
{
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  if (tess_init(&argc, &argv) != TESS_OK) return 1;
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  char path[256];
  snprintf(path, sizeof path, "%s/burgers_np%d.h5", argc > 1 ? argv[1] : ".", size);
  tess_burgers_opts_t o = { .n = 32, .nu = 0.1, .t_end = 1.0, .tol = 1e-10 };
  tess_burgers_result_t a, b, c;
  tess_err_t e = tess_petsc_burgers_run(MPI_COMM_WORLD, &o, &a);
  CHECK(e == TESS_OK, "uninterrupted: %s", tess_error_message());
  o.checkpoint = path;
  o.stop_steps = 7;
  e = tess_petsc_burgers_run(MPI_COMM_WORLD, &o, &b);
  CHECK(e == TESS_OK, "with a restart: %s", tess_error_message());
  tess_burgers_opts_t f = { .n = 16, .nu = 0.1, .t_end = 1.0, .tol = 1e-10 };
  e = tess_petsc_burgers_run(MPI_COMM_WORLD, &f, &c);
  CHECK(e == TESS_OK, "n = 16: %s", tess_error_message());
  if (rank == 0)
    printf("  %s: n=32 error %.2e in %lld steps (%lld rejected), t %.3f; restarted after 7: error %.2e, "
           "%lld steps; n=16 error %.2e\n", a.ts_type, a.err, (long long)a.steps,
           (long long)a.rejected, a.t, b.err, (long long)b.steps, c.err);
  CHECK(a.t == 1.0 && a.err < 1e-7, "n=32: t %.17g, error %.3g", a.t, a.err);
  CHECK(a.steps > 7, "only %lld steps: the restart would not be in the middle", (long long)a.steps);
  /* not bitwise: PETSc's step-size controller does not come back exactly the
   * same from TSSetTime/TSSetTimeStep (docs/petsc.md); the same trajectory to
   * far below its error against the exact solution */
  CHECK(b.steps == a.steps && fabs(b.err - a.err) <= 1e-4 * a.err,
        "restart: %lld steps, err %.17g vs %lld, %.17g", (long long)b.steps, b.err, (long long)a.steps, a.err);
  CHECK(c.err > 10 * a.err, "n=16 error %.3g not above n=32's %.3g: the grid does not matter?", c.err, a.err);
  int rc = tess_test_finish("petsc_ts");
  tess_finalize();
  PetscFinalize();
  return rc;
}
