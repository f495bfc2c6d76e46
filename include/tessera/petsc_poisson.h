/* tessera/petsc_poisson.h: one periodic Poisson problem solved twice, by
 * Tessera's FFTs and by PETSc's KSP on a DMDA, with the same discretisation
 * (the second-order 5- / 7-point Laplacian), checked against the discrete
 * problem's exact solution (libtessera_petsc; docs/petsc.md).
 *
 * The forcing is a sum of four Fourier modes, so the discrete solution is
 * known in closed form: each mode divided by the stencil's eigenvalue. The
 * DMDA is split along its slowest dimension only, a slab, as the FFT's
 * input is: its vectors are viewed as Tessera arrays without copies and
 * resharded to the block rule on the same mesh (a local copy). */
#ifndef TESSERA_PETSC_POISSON_H
#define TESSERA_PETSC_POISSON_H
#include <mpi.h>
#include <stdint.h>
#include <tessera/error.h>
#include <tessera/export.h>
TESS_API_BEGIN

typedef struct {
  int ndim;              /* 2 or 3 */
  int64_t n[3];          /* grid points, slowest dim first ((ny, nx) or (nz, ny, nx)) */
  double length[3];      /* periodic domain lengths, same order; 0 = 1 */
  double rtol;           /* KSP relative tolerance (KSPSetTolerances) */
  const char *ksp_type;  /* defaults before the options database: NULL = "cg" */
  const char *pc_type;   /* NULL = "gamg" */
} tess_poisson_opts_t;

typedef struct {
  double err_spectral;   /* max |u_fft - u_exact| / max |u_exact| */
  double err_ksp;        /* max |u_ksp - u_exact| / max |u_exact| (means removed) */
  double diff;           /* max |u_fft - u_ksp| / max |u_exact| */
  double resid_spectral; /* max |A u_fft - b| / max |b|, A and b PETSc's */
  int ksp_its;
  int ksp_reason;        /* KSPConvergedReason */
  char ksp_type[32], pc_type[32];   /* what PETSc ran (after the options) */
  double t_fft_plan, t_fft_solve;   /* seconds, max over ranks */
  double t_ksp_setup, t_ksp_solve;
  double t_view;         /* one Vec -> array view and back (mean of 100), seconds */
} tess_poisson_result_t;

/* Collective on comm. PETSc must be initialised (PetscInitialize); the
 * options database (-ksp_type, -pc_type, -ksp_rtol, ...) is read by
 * KSPSetFromOptions after the defaults in o. */
tess_err_t tess_petsc_poisson_compare(MPI_Comm comm, const tess_poisson_opts_t *o,
                                      tess_poisson_result_t *r);

TESS_API_END
#endif
