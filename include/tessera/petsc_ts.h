/* tessera/petsc_ts.h: PETSc TS time-stepping a pseudo-spectral PDE whose
 * right-hand side Tessera computes (libtessera_petsc; docs/petsc.md).
 *
 * The PDE: 2-D viscous Burgers on [0, 2 pi)^2, periodic,
 *   u_t + u u_x + v u_y = nu lap u,   v_t + u v_x + v v_y = nu lap v,
 * from the Cole-Hopf solution (u, v) = -2 nu grad log phi, phi a solution of
 * the heat equation (phi = 2 + e^{-nu t} cos x + 0.5 e^{-2 nu t} cos x cos y
 * + 0.3 e^{-4 nu t} cos 2y > 0): known at every t. The state is one Vec over
 * a Tessera array of shape (2, n, n) (u then v, y split over the ranks), the
 * right-hand side is FFT derivatives and products in physical space, PETSc's
 * TS (adaptive RK by default; -ts_* options apply) steps it. */
#ifndef TESSERA_PETSC_TS_H
#define TESSERA_PETSC_TS_H
#include <mpi.h>
#include <stdint.h>
#include <tessera/error.h>
#include <tessera/export.h>
TESS_API_BEGIN

typedef struct {
  int64_t n;             /* grid points per dimension */
  double nu;             /* viscosity; 0 = 0.1 */
  double t_end;          /* final time; 0 = 1 */
  double tol;            /* TS absolute and relative tolerance; 0 = 1e-10 */
  /* Checkpoint/restart through Tessera's HDF5: with a path, the run stops
   * after `stop_steps` TS steps, writes the state and TS's time, step and
   * next time step there, and a second TS continues from that file. */
  const char *checkpoint;
  int64_t stop_steps;
} tess_burgers_opts_t;

typedef struct {
  double err;            /* max |(u, v) - exact| / max |exact| at t_end */
  int64_t steps, rejected;
  double t;              /* time reached */
  double state_sum;      /* exact sum of the final state's values (bitwise comparisons) */
  char ts_type[32];
} tess_burgers_result_t;

/* Collective on comm; PETSc initialised. */
tess_err_t tess_petsc_burgers_run(MPI_Comm comm, const tess_burgers_opts_t *o,
                                  tess_burgers_result_t *r);

TESS_API_END
#endif
