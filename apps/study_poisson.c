/* apps/study_poisson.c: `study = "poisson"`: a periodic Poisson problem
 * solved by Tessera's FFTs and by PETSc's KSP on a DMDA, same stencil,
 * against the discrete problem's exact solution (tess_petsc_poisson_compare,
 * petsc/petsc_poisson.c). PETSc options: the deck's petsc.options, then the
 * command line's single-dash arguments (they win), given to PetscInitialize;
 * -log_view prints PETSc's table at the end, --log-view Tessera's. Built
 * without PETSc the deck is still checked, and the run says why it cannot. */
#include <tessera/tessera.h>
#include "study.h"

#include <math.h>
#include <string.h>
#if TESS_APP_HAVE_PETSC
#include <petscsys.h>
#include <tessera/petsc_poisson.h>
#endif

static const tess_deck_key_t keys[] = {
  {.path = "grid.n", .type = TESS_KEY_INT_ARRAY, .default_toml = "[64, 64]", .min = 9, .max = 1e5,
   .help = "grid points per dimension, slowest first: [ny, nx] or [nz, ny, nx]; the DMDA is split "
           "along the first only"},
  {.path = "grid.length", .type = TESS_KEY_FLOAT_ARRAY, .default_toml = "[1.0, 1.0]", .min = 1e-300,
   .max = INFINITY, .units = "m", .help = "periodic domain length per dimension (same count as grid.n)"},
  {.path = "solver.rtol", .type = TESS_KEY_FLOAT, .default_toml = "1e-10", .min = 1e-15, .max = 0.1,
   .help = "PETSc KSP relative tolerance (-ksp_rtol overrides it)"},
  {.path = "petsc.options", .type = TESS_KEY_STRING, .default_toml = "\"-ksp_type cg -pc_type gamg\"",
   .help = "PETSc options for the KSP solve; command-line single-dash options override them"},
};

static const tess_deck_schema_t schema = {
  .study = "poisson",
  .summary = "Periodic Poisson by Tessera's FFTs and by PETSc KSP on a DMDA (same stencil), vs the exact "
             "discrete solution.",
  .keys = keys,
  .nkeys = sizeof keys / sizeof keys[0],
  .stateless = 1,
};

static tess_err_t check(const tess_deck_t *deck)
{
  tess_err_t err = TESS_OK;
  int64_t n[4];
  double len[4];
  size_t nd = 0, nl = 0;
  TESS_CHECK(tess_deck_get_int_array(deck, "grid.n", n, 4, &nd));
  TESS_CHECK(tess_deck_get_double_array(deck, "grid.length", len, 4, &nl));
  if (nd != 2 && nd != 3) TESS_CHECK(tess_deck_key_error(deck, "grid.n", "needs 2 or 3 entries, has %zu", nd));
  if (nl != nd)
    TESS_CHECK(tess_deck_key_error(deck, "grid.length", "has %zu entries but grid.n has %zu", nl, nd));
cleanup:
  return err;
}

static void grid_str(char *buf, size_t cap, size_t nd, const int64_t n[])
{
  if (nd == 2) snprintf(buf, cap, "%lld x %lld", (long long)n[0], (long long)n[1]);
  else snprintf(buf, cap, "%lld x %lld x %lld", (long long)n[0], (long long)n[1], (long long)n[2]);
}

static tess_err_t run(const tess_deck_t *deck, const tess_study_opts_t *opts)
{
  tess_err_t err = TESS_OK;
  int64_t n[3] = { 0, 0, 0 };
  double len[3] = { 0, 0, 0 }, rtol = 0;
  size_t nd = 0, nl = 0;
  const char *popts = NULL;
  char gs[96];
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  TESS_CHECK(tess_deck_get_int_array(deck, "grid.n", n, 3, &nd));
  TESS_CHECK(tess_deck_get_double_array(deck, "grid.length", len, 3, &nl));
  TESS_CHECK(tess_deck_get_double(deck, "solver.rtol", &rtol));
  TESS_CHECK(tess_deck_get_string(deck, "petsc.options", &popts));
  grid_str(gs, sizeof gs, nd, n);
  if (opts && opts->dry_run) {
    if (rank == 0)
      printf("poisson: %zu-D grid %s on %d rank%s: FFT solve and PETSc KSP (options '%s'%s), rtol %g\n", nd,
             gs, size, size == 1 ? "" : "s", popts, opts->petsc_argc > 1 ? " and the command line's" : "",
             rtol);
    goto cleanup;
  }
#if TESS_APP_HAVE_PETSC
  {
    tess_poisson_opts_t o = { .ndim = (int)nd, .rtol = rtol };
    tess_poisson_result_t r;
    int argc = opts ? opts->petsc_argc : 0, inited = 0;
    char **argv = opts ? opts->petsc_argv : NULL;
    for (size_t d = 0; d < nd; d++) {
      o.n[d] = n[d];
      o.length[d] = len[d];
    }
    /* Tessera keeps its own SIGTERM/SIGUSR handlers (docs/signals.md); the deck's
     * options next, the command line's over them (PetscInitialize reads argv) */
    TESS_REQUIRE(PetscOptionsInsertString(NULL, "-no_signal_handler") == 0, TESS_ERR_EXTERNAL,
                 "PETSc options");
    TESS_REQUIRE(PetscOptionsInsertString(NULL, popts) == 0, TESS_ERR_DECK,
                 "petsc.options: PETSc cannot parse '%s'", popts);
    TESS_REQUIRE(PetscInitialize(&argc, &argv, NULL, NULL) == 0, TESS_ERR_EXTERNAL, "PetscInitialize failed");
    inited = 1;
    err = tess_petsc_poisson_compare(MPI_COMM_WORLD, &o, &r);
    if (!err && rank == 0) {
      printf("poisson: %zu-D periodic, grid %s, %d rank%s, -lap_h u = f (second-order stencil), f = 4 "
             "Fourier modes\n", nd, gs, size, size == 1 ? "" : "s");
      printf("  FFT (Tessera):   max error vs the exact discrete solution %.3e, PETSc residual %.3e; "
             "plan %.3f s, solve %.4f s\n", r.err_spectral, r.resid_spectral, r.t_fft_plan, r.t_fft_solve);
      printf("  KSP (PETSc %s + %s): %d iterations (reason %d), max error %.3e; setup %.3f s, solve %.4f s\n",
             r.ksp_type, r.pc_type, r.ksp_its, r.ksp_reason, r.err_ksp, r.t_ksp_setup, r.t_ksp_solve);
      printf("  FFT vs KSP: max difference %.3e (relative to max |u|; KSP rtol %g)\n", r.diff, rtol);
      printf("  a Vec viewed as a Tessera array and given back: %.2f us\n", r.t_view * 1e6);
      fflush(stdout);
    }
    if (!err && r.ksp_reason <= 0)
      err = tess_error_push(TESS_ERR_NUMERIC, __FILE__, __LINE__, __func__,
                            "PETSc KSP (%s + %s) did not converge: reason %d after %d iterations", r.ksp_type,
                            r.pc_type, r.ksp_reason, r.ksp_its);
    if (inited) PetscFinalize();   /* -log_view prints here */
    TESS_CHECK(err);
  }
#else
  TESS_REQUIRE(0, TESS_ERR_UNSUPPORTED, "this tessera_app was built without PETSc (CMake found no 'PETSc' "
               "pkg-config module; Debian: apt-get install petsc-dev, then rebuild): the poisson study "
               "needs it");
#endif
cleanup:
  return err;
}

const tess_study_t tess_study_poisson = { "poisson", &schema, run, check, 1 };
