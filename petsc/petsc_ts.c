/* petsc/petsc_ts.c: PETSc TS stepping 2-D viscous Burgers whose right-hand
 * side Tessera computes pseudo-spectrally, against the Cole-Hopf solution;
 * checkpoint and restart of the TS state through Tessera's HDF5
 * (tessera/petsc_ts.h). TS's vectors are viewed as Tessera arrays of shape
 * (2, n, n) (u then v), y split over the ranks; derivatives by batched FFTs,
 * products in physical space (no dealiasing: the solution is analytic and
 * well resolved at the sizes used). */
#include <math.h>
#include <petscts.h>
#include <string.h>
#include <tessera/checkpoint.h>
#include <tessera/fft.h>
#include <tessera/petsc.h>
#include <tessera/petsc_ts.h>
#include <tessera/reduce.h>
#include <tessera/spectral_ops.h>

#include "petsc_internal.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

typedef struct {
  tess_mesh_t *mesh;
  int64_t n;
  double nu, t;                    /* t: for the exact solution's fill */
  int64_t shape[3];
  tess_shardspec_t spec;
  tess_array_t *W, *Dy, *Dx, *Lp;  /* spectra */
  tess_array_t *dy, *dx, *lp;      /* their physical fields */
  tess_fft_plan_t *pf, *pb;
  tess_spectral_grid_t g;
} burgers_t;

/* phi (heat equation) and its gradient at (x, y, t); (u, v) = -2 nu grad phi / phi */
static void exact(double x, double y, double t, double nu, double uv[2])
{
  double e1 = exp(-nu * t), e2 = exp(-2 * nu * t), e4 = exp(-4 * nu * t);
  double phi = 2 + e1 * cos(x) + 0.5 * e2 * cos(x) * cos(y) + 0.3 * e4 * cos(2 * y);
  double px = -e1 * sin(x) - 0.5 * e2 * sin(x) * cos(y);
  double py = -0.5 * e2 * cos(x) * sin(y) - 0.6 * e4 * sin(2 * y);
  uv[0] = -2 * nu * px / phi;
  uv[1] = -2 * nu * py / phi;
}

static void fill_exact(const int64_t g[], int nd, void *v, void *ctx)
{
  const burgers_t *b = ctx;
  double uv[2], h = 2 * M_PI / (double)b->n;
  (void)nd;
  exact(h * (double)g[2], h * (double)g[1], b->t, b->nu, uv);
  *(double *)v = uv[g[0]];
}

static tess_err_t view(Vec v, burgers_t *b, tess_array_t **a)
{
  return tess_petsc_vec_get_array(v, b->mesh, 3, b->shape, &b->spec, NULL, a);
}

/* F = -(u d/dx + v d/dy)(u, v) + nu lap (u, v) */
static tess_err_t rhs_tess(burgers_t *b, Vec X, Vec F)
{
  tess_err_t err = TESS_OK;
  tess_array_t *x = NULL, *f = NULL;
  tess_array_t *Y[2] = { b->Dy, b->Dx };
  TESS_CHECK(view(X, b, &x));
  TESS_CHECK(tess_fft_execute(b->pf, x, b->W));
  TESS_CHECK(tess_spectral_gradient(b->W, &b->g, Y));
  TESS_CHECK(tess_spectral_laplacian(b->W, &b->g, b->Lp));
  TESS_CHECK(tess_fft_execute(b->pb, b->Dy, b->dy));
  TESS_CHECK(tess_fft_execute(b->pb, b->Dx, b->dx));
  TESS_CHECK(tess_fft_execute(b->pb, b->Lp, b->lp));
  TESS_CHECK(view(F, b, &f));
  {
    const double *s = tess_array_local_data(x), *ddx = tess_array_local_data(b->dx);
    const double *ddy = tess_array_local_data(b->dy), *lap = tess_array_local_data(b->lp);
    double *o = tess_array_local_data(f);
    int64_t m = tess_array_local_count(x) / 2;   /* u: [0, m), v: [m, 2m) */
    for (int c = 0; c < 2; c++)
      for (int64_t i = 0; i < m; i++) {
        int64_t k = c * m + i;
        o[k] = -(s[i] * ddx[k] + s[m + i] * ddy[k]) + b->nu * lap[k];
      }
  }
cleanup:
  if (f) {
    tess_err_t e = tess_petsc_vec_restore_array(F, &f);
    if (!err) err = e;
  }
  if (x) {
    tess_err_t e = tess_petsc_vec_restore_array(X, &x);
    if (!err) err = e;
  }
  return err;
}

static PetscErrorCode rhs(TS ts, PetscReal t, Vec X, Vec F, void *ctx)
{
  (void)t;
  if (rhs_tess(ctx, X, F) != TESS_OK)
    return PetscError(PetscObjectComm((PetscObject)ts), __LINE__, __func__, __FILE__, PETSC_ERR_LIB,
                      PETSC_ERROR_INITIAL, "Tessera's right-hand side failed: %s", tess_error_message());
  return 0;
}

static tess_err_t setup(MPI_Comm comm, const tess_burgers_opts_t *o, burgers_t *b)
{
  tess_err_t err = TESS_OK;
  const char *ax[1] = { "y" };
  int size = 1, axes[1] = { 0 };
  tess_array_t *in = NULL;
  tess_fft_opts_t fo = { 0 };
  TESS_MPI_CHECK(MPI_Comm_size(comm, &size));
  TESS_REQUIRE(o->n >= 16 && o->n >= size, TESS_ERR_ARG, "n = %lld: at least 16 and one row per rank (%d)",
               (long long)o->n, size);
  b->n = o->n;
  b->nu = o->nu > 0 ? o->nu : 0.1;
  b->shape[0] = 2;
  b->shape[1] = b->shape[2] = o->n;
  TESS_CHECK(tess_mesh_create(comm, 1, ax, &size, &b->mesh));
  TESS_CHECK(tess_fft_spec(3, 2, 1, axes, TESS_FFT_LAYOUT_NATURAL, &b->spec));   /* (u|v, y, x) */
  TESS_CHECK(tess_array_create(b->mesh, TESS_F64, 3, b->shape, &b->spec, TESS_MEM_HOST, &in));
  TESS_CHECK(tess_array_create(b->mesh, TESS_F64, 3, b->shape, &b->spec, TESS_MEM_HOST, &b->dy));
  TESS_CHECK(tess_array_create(b->mesh, TESS_F64, 3, b->shape, &b->spec, TESS_MEM_HOST, &b->dx));
  TESS_CHECK(tess_array_create(b->mesh, TESS_F64, 3, b->shape, &b->spec, TESS_MEM_HOST, &b->lp));
  TESS_CHECK(tess_fft_create_output(in, 2, TESS_FFT_LAYOUT_NATURAL, &b->W));
  TESS_CHECK(tess_array_create_like(b->W, NULL, &b->Dy));
  TESS_CHECK(tess_array_create_like(b->W, NULL, &b->Dx));
  TESS_CHECK(tess_array_create_like(b->W, NULL, &b->Lp));
  fo.rank = 2;
  fo.flags = TESS_FFT_ESTIMATE;
  TESS_CHECK(tess_fft_plan_create_opts(in, b->W, TESS_FFT_FORWARD, &fo, &b->pf));
  fo.flags = TESS_FFT_ESTIMATE | TESS_FFT_NORM_BACKWARD;
  TESS_CHECK(tess_fft_plan_create_opts(b->W, b->dx, TESS_FFT_BACKWARD, &fo, &b->pb));
  TESS_CHECK(tess_spectral_grid_from_plan(b->pf, &b->g));   /* lengths 2 pi */
cleanup:
  tess_array_destroy(&in);
  return err;
}

static void teardown(burgers_t *b)
{
  tess_fft_plan_destroy(&b->pf);
  tess_fft_plan_destroy(&b->pb);
  tess_array_t **arrs[] = { &b->W, &b->Dy, &b->Dx, &b->Lp, &b->dy, &b->dx, &b->lp };
  for (size_t i = 0; i < sizeof arrs / sizeof arrs[0]; i++) tess_array_destroy(arrs[i]);
  tess_mesh_destroy(&b->mesh);
}

/* A TS on X from (t, dt, step), to o->t_end or max_steps steps. */
static tess_err_t make_ts(MPI_Comm comm, const tess_burgers_opts_t *o, burgers_t *b, double t, double dt,
                          PetscInt step, PetscInt max_steps, TS *ts)
{
  tess_err_t err = TESS_OK;
  double tol = o->tol > 0 ? o->tol : 1e-10;
  TESS_PETSC_CHECK(TSCreate(comm, ts));
  TESS_PETSC_CHECK(TSSetProblemType(*ts, TS_NONLINEAR));
  TESS_PETSC_CHECK(TSSetType(*ts, TSRK));
  TESS_PETSC_CHECK(TSRKSetType(*ts, TSRK5DP));
  TESS_PETSC_CHECK(TSSetRHSFunction(*ts, NULL, rhs, b));
  TESS_PETSC_CHECK(TSSetTime(*ts, t));
  TESS_PETSC_CHECK(TSSetTimeStep(*ts, dt));
  TESS_PETSC_CHECK(TSSetStepNumber(*ts, step));
  TESS_PETSC_CHECK(TSSetMaxTime(*ts, o->t_end > 0 ? o->t_end : 1.0));
  TESS_PETSC_CHECK(TSSetMaxSteps(*ts, max_steps));
  TESS_PETSC_CHECK(TSSetExactFinalTime(*ts, TS_EXACTFINALTIME_MATCHSTEP));
  TESS_PETSC_CHECK(TSSetTolerances(*ts, tol, NULL, tol, NULL));
  TESS_PETSC_CHECK(TSSetFromOptions(*ts));
cleanup:
  return err;
}

tess_err_t tess_petsc_burgers_run(MPI_Comm comm, const tess_burgers_opts_t *o, tess_burgers_result_t *r)
{
  tess_err_t err = TESS_OK;
  burgers_t b;
  tess_array_t *S = NULL, *E = NULL;
  tess_checkpoint_t *ck = NULL;
  Vec X = NULL, Ev = NULL;
  TS ts = NULL;
  PetscReal t = 0, dt = 1e-3, emax = 0, d = 0;
  PetscInt step = 0, rej = 0;
  TSType tt;

  memset(&b, 0, sizeof b);
  tess_petsc_errors_capture(1);
  TESS_REQUIRE(o && r, TESS_ERR_ARG, "NULL argument");
  memset(r, 0, sizeof *r);
  TESS_CHECK(setup(comm, o, &b));
  TESS_CHECK(tess_array_create(b.mesh, TESS_F64, 3, b.shape, &b.spec, TESS_MEM_HOST, &S));
  TESS_CHECK(tess_array_fill(S, fill_exact, &b));   /* t = 0 */
  TESS_CHECK(tess_petsc_vec_create(S, &X));         /* TS steps S's memory itself */

  TESS_CHECK(make_ts(comm, o, &b, 0, dt, 0, o->checkpoint ? (PetscInt)o->stop_steps : 10000000, &ts));
  TESS_PETSC_CHECK(TSSolve(ts, X));
  if (o->checkpoint) {
    /* stop, save, forget, reload, go on */
    TESS_PETSC_CHECK(TSGetTime(ts, &t));
    TESS_PETSC_CHECK(TSGetTimeStep(ts, &dt));
    TESS_PETSC_CHECK(TSGetStepNumber(ts, &step));
    TESS_PETSC_CHECK(TSGetStepRejections(ts, &rej));
    TESS_CHECK(tess_checkpoint_begin(comm, o->checkpoint, &ck));
    TESS_CHECK(tess_checkpoint_write_array(ck, "ts/state", S));
    TESS_CHECK(tess_checkpoint_set_attr_double(ck, "ts_time", t));
    TESS_CHECK(tess_checkpoint_set_attr_double(ck, "ts_dt", dt));
    TESS_CHECK(tess_checkpoint_set_attr_int(ck, "ts_step", step));
    TESS_CHECK(tess_checkpoint_set_attr_int(ck, "ts_rejected", rej));
    TESS_CHECK(tess_checkpoint_commit(&ck));
    TESS_PETSC_CHECK(TSDestroy(&ts));
    TESS_PETSC_CHECK(VecSet(X, 0.0));               /* the restart must read it all back */
    {
      int64_t st = 0, rj = 0;
      double tv = 0, dv = 0;
      tess_array_t *xv = NULL;   /* X's values, read back through a view: PETSc sees the change */
      TESS_CHECK(tess_checkpoint_open(comm, o->checkpoint, &ck));
      TESS_CHECK(view(X, &b, &xv));
      err = tess_checkpoint_read_array(ck, "ts/state", xv);
      tess_petsc_vec_restore_array(X, &xv);
      TESS_CHECK(err);
      TESS_CHECK(tess_checkpoint_get_attr_double(ck, "ts_time", &tv));
      TESS_CHECK(tess_checkpoint_get_attr_double(ck, "ts_dt", &dv));
      TESS_CHECK(tess_checkpoint_get_attr_int(ck, "ts_step", &st));
      TESS_CHECK(tess_checkpoint_get_attr_int(ck, "ts_rejected", &rj));
      tess_checkpoint_close(&ck);
      TESS_CHECK(make_ts(comm, o, &b, tv, dv, (PetscInt)st, 10000000, &ts));
      rej = (PetscInt)rj;
    }
    TESS_PETSC_CHECK(TSSolve(ts, X));
  }
  {
    PetscInt more = 0;
    TESS_PETSC_CHECK(TSGetStepRejections(ts, &more));
    r->rejected = (int64_t)(rej + more);
  }
  TESS_PETSC_CHECK(TSGetTime(ts, &t));
  TESS_PETSC_CHECK(TSGetStepNumber(ts, &step));
  TESS_PETSC_CHECK(TSGetType(ts, &tt));
  r->t = (double)t;
  r->steps = (int64_t)step;
  snprintf(r->ts_type, sizeof r->ts_type, "%s", tt ? tt : "?");
  /* against the exact solution at the time reached */
  b.t = (double)t;
  TESS_CHECK(tess_array_create(b.mesh, TESS_F64, 3, b.shape, &b.spec, TESS_MEM_HOST, &E));
  TESS_CHECK(tess_array_fill(E, fill_exact, &b));
  TESS_CHECK(tess_petsc_vec_create(E, &Ev));
  TESS_PETSC_CHECK(VecNorm(Ev, NORM_INFINITY, &emax));
  TESS_PETSC_CHECK(VecAXPY(Ev, -1.0, X));
  TESS_PETSC_CHECK(VecNorm(Ev, NORM_INFINITY, &d));
  r->err = (double)(d / emax);
  TESS_CHECK((tess_err_t)tess_sum_f64(tess_array_local_data(S), (size_t)tess_array_local_count(S),
                                       tess_mesh_comm(b.mesh), &r->state_sum));
cleanup:
  tess_checkpoint_close(&ck);
  TSDestroy(&ts);
  VecDestroy(&X);
  VecDestroy(&Ev);
  tess_array_destroy(&S);
  tess_array_destroy(&E);
  teardown(&b);
  tess_petsc_errors_capture(0);
  return err;
}
