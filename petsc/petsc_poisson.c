/* petsc/petsc_poisson.c: a periodic Poisson problem -lap_h u = f solved by
 * Tessera's FFTs and by PETSc's KSP on a DMDA, with the same second-order
 * stencil, against the discrete problem's exact solution
 * (tessera/petsc_poisson.h). The FFT solve divides each mode by the
 * stencil's eigenvalue sum_d (4/h_d^2) sin^2(pi m_d / n_d): it solves the
 * very system PETSc assembles, so the two agree to the solver's tolerance. */
#include <math.h>
#include <petscdmda.h>
#include <petscksp.h>
#include <string.h>
#include <tessera/comm.h>
#include <tessera/fft.h>
#include <tessera/log.h>
#include <tessera/petsc.h>
#include <tessera/petsc_poisson.h>
#include <tessera/reshard.h>
#include <tessera/spectral_ops.h>

#include "petsc_internal.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* The forcing: four Fourier modes (integer wavenumbers, slowest dim first;
 * 2-D problems use the first two), amplitudes and phases. */
typedef struct {
  int a[3];
  double c, phi;
} pmode_t;
static const pmode_t modes[4] = {
  { { 1, 2, 1 }, 1.0, 0.3 }, { { 3, -1, 2 }, 0.5, 1.1 }, { { 0, 4, -3 }, 0.25, -0.7 },
  { { 2, 0, 1 }, 0.125, 2.0 },
};

typedef struct {
  int nd;
  int64_t n[3];
  double h[3];
  int solution;    /* 0: f, 1: the exact discrete u */
} prob_t;

/* The stencil's eigenvalue for mode indices m[] (>= 0). */
static double eig(const prob_t *p, const int64_t m[])
{
  double s = 0;
  for (int d = 0; d < p->nd; d++) {
    double t = sin(M_PI * (double)m[d] / (double)p->n[d]);
    s += 4.0 / (p->h[d] * p->h[d]) * t * t;
  }
  return s;
}

static void fill_prob(const int64_t g[], int nd, void *v, void *ctx)
{
  const prob_t *p = ctx;
  double s = 0;
  (void)nd;
  for (int j = 0; j < 4; j++) {
    double th = modes[j].phi;
    int64_t m[3];
    for (int d = 0; d < p->nd; d++) {
      th += 2.0 * M_PI * (double)(modes[j].a[d] * g[d]) / (double)p->n[d];
      m[d] = modes[j].a[d];
    }
    s += (p->solution ? modes[j].c / eig(p, m) : modes[j].c) * cos(th);
  }
  *(double *)v = s;
}

/* Divide by the stencil's eigenvalue; the mean (m = 0) is set to zero. */
static void apply_inverse(const int64_t m[], const double k[], int weight, void *elem, int64_t gidx,
                          void *ctx)
{
  double *z = elem, lam = eig(ctx, m);
  (void)k; (void)weight; (void)gidx;
  if (lam == 0) {
    z[0] = z[1] = 0;
  } else {
    z[0] /= lam;
    z[1] /= lam;
  }
}

/* A Vec filled by global index through an array view. */
static tess_err_t fill_vec(Vec v, tess_petsc_dmda_layout_t *L, prob_t *p, int solution)
{
  tess_err_t err = TESS_OK;
  tess_array_t *a = NULL;
  p->solution = solution;
  TESS_CHECK(tess_petsc_vec_get_array(v, L->mesh, L->ndim, L->shape, &L->spec, &L->opts, &a));
  TESS_CHECK(tess_array_fill(a, fill_prob, p));
cleanup:
  if (a) {
    tess_err_t e = tess_petsc_vec_restore_array(v, &a);
    if (!err) err = e;
  }
  return err;
}

/* -lap_h on the DMDA: 2 nd + 1 points per row, periodic. */
static tess_err_t assemble(DM da, const prob_t *p, Mat A)
{
  tess_err_t err = TESS_OK;
  PetscInt xs, ys, zs, xm, ym, zm;
  /* Tessera dims slowest first; DMDA i = x = the last dim */
  double hx = p->h[p->nd - 1], hy = p->h[p->nd - 2], hz = p->nd == 3 ? p->h[0] : 1;
  TESS_PETSC_CHECK(DMDAGetCorners(da, &xs, &ys, &zs, &xm, &ym, &zm));
  for (PetscInt k = zs; k < zs + zm; k++)
    for (PetscInt j = ys; j < ys + ym; j++)
      for (PetscInt i = xs; i < xs + xm; i++) {
        MatStencil row = { .k = k, .j = j, .i = i }, col[7];
        PetscScalar val[7];
        int c = 0;
        col[c] = row;
        val[c++] = 2 / (hx * hx) + 2 / (hy * hy) + (p->nd == 3 ? 2 / (hz * hz) : 0);
        for (int s = -1; s <= 1; s += 2) {
          col[c] = row; col[c].i = i + s; val[c++] = -1 / (hx * hx);
          col[c] = row; col[c].j = j + s; val[c++] = -1 / (hy * hy);
          if (p->nd == 3) { col[c] = row; col[c].k = k + s; val[c++] = -1 / (hz * hz); }
        }
        TESS_PETSC_CHECK(MatSetValuesStencil(A, 1, &row, c, col, val, INSERT_VALUES));
      }
  TESS_PETSC_CHECK(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
  TESS_PETSC_CHECK(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
cleanup:
  return err;
}

/* max |a - b| (b may be NULL: max |a|), through PETSc. */
static tess_err_t max_diff(Vec a, Vec b, Vec work, double *out)
{
  tess_err_t err = TESS_OK;
  PetscReal r = 0;
  TESS_PETSC_CHECK(VecCopy(a, work));
  if (b) TESS_PETSC_CHECK(VecAXPY(work, -1.0, b));
  TESS_PETSC_CHECK(VecNorm(work, NORM_INFINITY, &r));
  *out = (double)r;
cleanup:
  return err;
}

/* The slowest dim over mesh axis 0 (the DMDA's only split), block rule. */
static tess_err_t fft_solve(tess_petsc_dmda_layout_t *L, prob_t *p, Vec b, Vec y, double *t_plan,
                            double *t_solve)
{
  tess_err_t err = TESS_OK;
  tess_array_t *in = NULL, *X = NULL, *out = NULL, *view = NULL;
  Vec viewed = NULL;   /* the Vec `view` is over, until restored */
  tess_fft_plan_t *pf = NULL, *pb = NULL;
  tess_shardspec_t sp;
  tess_spectral_grid_t g;
  tess_fft_opts_t fo = { 0 };
  int axes[1] = { 0 };
  double t0 = tess_wtime();
  TESS_CHECK(tess_fft_spec(L->ndim, L->ndim, 1, axes, TESS_FFT_LAYOUT_NATURAL, &sp));
  TESS_CHECK(tess_array_create(L->mesh, TESS_F64, L->ndim, L->shape, &sp, TESS_MEM_HOST, &in));
  TESS_CHECK(tess_array_create(L->mesh, TESS_F64, L->ndim, L->shape, &sp, TESS_MEM_HOST, &out));
  TESS_CHECK(tess_fft_create_output(in, L->ndim, TESS_FFT_LAYOUT_NATURAL, &X));
  fo.rank = L->ndim;
  fo.flags = TESS_FFT_ESTIMATE;
  TESS_CHECK(tess_fft_plan_create_opts(in, X, TESS_FFT_FORWARD, &fo, &pf));
  fo.flags = TESS_FFT_ESTIMATE | TESS_FFT_NORM_BACKWARD;
  TESS_CHECK(tess_fft_plan_create_opts(X, out, TESS_FFT_BACKWARD, &fo, &pb));
  TESS_CHECK(tess_spectral_grid_from_plan(pf, &g));
  *t_plan = tess_wtime() - t0;
  t0 = tess_wtime();
  TESS_CHECK(tess_petsc_vec_get_array(viewed = b, L->mesh, L->ndim, L->shape, &L->spec, &L->opts, &view));
  TESS_CHECK(tess_reshard(view, in));                  /* explicit partition -> block rule */
  TESS_CHECK(tess_petsc_vec_restore_array(b, &view));
  TESS_CHECK(tess_fft_execute(pf, in, X));
  TESS_CHECK(tess_spectral_foreach(X, &g, apply_inverse, p));
  TESS_CHECK(tess_fft_execute(pb, X, out));
  TESS_CHECK(tess_petsc_vec_get_array(viewed = y, L->mesh, L->ndim, L->shape, &L->spec, &L->opts, &view));
  TESS_CHECK(tess_reshard(out, view));
  TESS_CHECK(tess_petsc_vec_restore_array(y, &view));
  *t_solve = tess_wtime() - t0;
cleanup:
  if (view) tess_petsc_vec_restore_array(viewed, &view);   /* an error between get and restore */
  tess_fft_plan_destroy(&pf);
  tess_fft_plan_destroy(&pb);
  tess_array_destroy(&in);
  tess_array_destroy(&X);
  tess_array_destroy(&out);
  return err;
}

tess_err_t tess_petsc_poisson_compare(MPI_Comm comm, const tess_poisson_opts_t *o,
                                      tess_poisson_result_t *r)
{
  tess_err_t err = TESS_OK;
  DM da = NULL;
  Mat A = NULL;
  MatNullSpace nsp = NULL;
  Vec b = NULL, x = NULL, y = NULL, e = NULL, w = NULL;
  KSP ksp = NULL;
  PC pc = NULL;
  KSPConvergedReason reason;
  KSPType kt;
  PCType pt;
  tess_petsc_dmda_layout_t L;
  prob_t p;
  int size = 1;
  double umax = 0, bmax = 0, t0, times[5] = { 0, 0, 0, 0, 0 }, tmax[5];
  PetscInt its = 0;
  PetscScalar mean = 0;

  memset(&L, 0, sizeof L);
  tess_petsc_errors_capture(1);   /* every rank returns from a failed collective PETSc call */
  TESS_REQUIRE(o && r && (o->ndim == 2 || o->ndim == 3), TESS_ERR_ARG, "a 2-D or 3-D problem");
  memset(r, 0, sizeof *r);
  memset(&p, 0, sizeof p);
  TESS_MPI_CHECK(MPI_Comm_size(comm, &size));
  p.nd = o->ndim;
  for (int d = 0; d < p.nd; d++) {
    TESS_REQUIRE(o->n[d] >= 9, TESS_ERR_ARG, "grid dim %d: %lld points; at least 9 (the forcing has "
                 "wavenumbers up to 4)", d, (long long)o->n[d]);
    p.n[d] = o->n[d];
    p.h[d] = (o->length[d] > 0 ? o->length[d] : 1.0) / (double)o->n[d];
  }
  TESS_REQUIRE(o->n[0] >= size, TESS_ERR_ARG, "%lld points in the slowest dim for %d ranks: the DMDA is "
               "split along it only (one plane per rank at least)", (long long)o->n[0], size);
  /* a slab: all ranks along the slowest dim (DMDA's y in 2-D, z in 3-D) */
  if (p.nd == 2)
    TESS_PETSC_CHECK(DMDACreate2d(comm, DM_BOUNDARY_PERIODIC, DM_BOUNDARY_PERIODIC, DMDA_STENCIL_STAR,
                                  (PetscInt)p.n[1], (PetscInt)p.n[0], 1, size, 1, 1, NULL, NULL, &da));
  else
    TESS_PETSC_CHECK(DMDACreate3d(comm, DM_BOUNDARY_PERIODIC, DM_BOUNDARY_PERIODIC, DM_BOUNDARY_PERIODIC,
                                  DMDA_STENCIL_STAR, (PetscInt)p.n[2], (PetscInt)p.n[1], (PetscInt)p.n[0], 1,
                                  1, size, 1, 1, NULL, NULL, NULL, &da));
  TESS_PETSC_CHECK(DMSetUp(da));
  TESS_CHECK(tess_petsc_dmda_layout_create(da, &L));
  TESS_PETSC_CHECK(DMCreateMatrix(da, &A));
  TESS_CHECK(assemble(da, &p, A));
  TESS_PETSC_CHECK(MatNullSpaceCreate(comm, PETSC_TRUE, 0, NULL, &nsp));   /* the constants */
  TESS_PETSC_CHECK(MatSetNullSpace(A, nsp));
  TESS_PETSC_CHECK(DMCreateGlobalVector(da, &b));
  TESS_PETSC_CHECK(VecDuplicate(b, &x));
  TESS_PETSC_CHECK(VecDuplicate(b, &y));
  TESS_PETSC_CHECK(VecDuplicate(b, &e));
  TESS_PETSC_CHECK(VecDuplicate(b, &w));
  TESS_CHECK(fill_vec(b, &L, &p, 0));
  TESS_CHECK(fill_vec(e, &L, &p, 1));

  /* PETSc: defaults, then the options database */
  TESS_PETSC_CHECK(KSPCreate(comm, &ksp));
  TESS_PETSC_CHECK(KSPSetOperators(ksp, A, A));
  TESS_PETSC_CHECK(KSPSetType(ksp, o->ksp_type ? o->ksp_type : KSPCG));
  TESS_PETSC_CHECK(KSPGetPC(ksp, &pc));
  TESS_PETSC_CHECK(PCSetType(pc, o->pc_type ? o->pc_type : PCGAMG));
  TESS_PETSC_CHECK(KSPSetTolerances(ksp, o->rtol > 0 ? o->rtol : 1e-10, 1e-50, PETSC_DEFAULT, 100000));
  TESS_PETSC_CHECK(KSPSetFromOptions(ksp));
  t0 = tess_wtime();
  TESS_PETSC_CHECK(KSPSetUp(ksp));
  times[2] = tess_wtime() - t0;
  t0 = tess_wtime();
  TESS_PETSC_CHECK(KSPSolve(ksp, b, x));
  times[3] = tess_wtime() - t0;
  TESS_PETSC_CHECK(KSPGetIterationNumber(ksp, &its));
  TESS_PETSC_CHECK(KSPGetConvergedReason(ksp, &reason));
  TESS_PETSC_CHECK(KSPGetType(ksp, &kt));
  TESS_PETSC_CHECK(PCGetType(pc, &pt));
  r->ksp_its = (int)its;
  r->ksp_reason = (int)reason;
  snprintf(r->ksp_type, sizeof r->ksp_type, "%s", kt ? kt : "?");
  snprintf(r->pc_type, sizeof r->pc_type, "%s", pt ? pt : "?");
  /* KSP's solution is defined up to a constant: remove its mean */
  TESS_PETSC_CHECK(VecSum(x, &mean));
  TESS_PETSC_CHECK(VecShift(x, -mean / (PetscScalar)(p.nd == 2 ? p.n[0] * p.n[1] : p.n[0] * p.n[1] * p.n[2])));

  TESS_CHECK(fft_solve(&L, &p, b, y, &times[0], &times[1]));
  {
    /* the cost of a view: VecGetArray + tess_array_create_with_data and back */
    tess_array_t *v = NULL;
    double tv = tess_wtime();
    for (int k = 0; k < 100; k++) {
      TESS_CHECK(tess_petsc_vec_get_array(b, L.mesh, L.ndim, L.shape, &L.spec, &L.opts, &v));
      TESS_CHECK(tess_petsc_vec_restore_array(b, &v));
    }
    times[4] = (tess_wtime() - tv) / 100;
  }

  TESS_CHECK(max_diff(e, NULL, w, &umax));
  TESS_CHECK(max_diff(b, NULL, w, &bmax));
  TESS_CHECK(max_diff(y, e, w, &r->err_spectral));
  TESS_CHECK(max_diff(x, e, w, &r->err_ksp));
  TESS_CHECK(max_diff(y, x, w, &r->diff));
  r->err_spectral /= umax;
  r->err_ksp /= umax;
  r->diff /= umax;
  TESS_PETSC_CHECK(MatMult(A, y, w));                 /* A u_fft - b */
  TESS_PETSC_CHECK(VecAXPY(w, -1.0, b));
  {
    PetscReal rn = 0;
    TESS_PETSC_CHECK(VecNorm(w, NORM_INFINITY, &rn));
    r->resid_spectral = (double)rn / bmax;
  }
  TESS_CHECK(tess_comm_allreduce(L.mesh, TESS_AXES_ALL, times, tmax, 5, TESS_F64, TESS_OP_MAX,
                                 TESS_MEM_HOST, NULL));
  r->t_fft_plan = tmax[0];
  r->t_fft_solve = tmax[1];
  r->t_ksp_setup = tmax[2];
  r->t_ksp_solve = tmax[3];
  r->t_view = tmax[4];
cleanup:
  KSPDestroy(&ksp);
  MatNullSpaceDestroy(&nsp);
  MatDestroy(&A);
  VecDestroy(&b);
  VecDestroy(&x);
  VecDestroy(&y);
  VecDestroy(&e);
  VecDestroy(&w);
  tess_petsc_dmda_layout_destroy(&L);
  DMDestroy(&da);
  tess_petsc_errors_capture(0);
  return err;
}
