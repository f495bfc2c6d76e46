/* tests/pde/test_pinn_derivs.c: input derivatives of MLPs by Taylor jets.
 * Truth 1 (closed form): a one-neuron network psi = a act(w.x + b) + c has
 *   grad = a s1 w, H = a s2 w w^T, lap = a s2 |w|^2, D_v^k psi = a s_k (w.v)^k,
 * with s_k written here independently of pde/activation.c (sech powers for
 * tanh, Hermite polynomials for GELU, naive sigmoid polynomials for
 * softplus). Truth 2 (finite differences): random 3-input networks of every
 * activation; each derivative order is compared with the central
 * difference (two Richardson steps, error O(h^6)) of the order below, which
 * is exact: gradient vs value, Hessian entries and Laplacian vs gradient,
 * directional order m vs order m-1, and 3rd/4th mixed derivatives through
 * the expression layer vs differences of 2nd/3rd ones.
 * Tolerance: 1e-8 relative (max-norm over points) for everything: gradient,
 * Hessian, Laplacian, closed forms, directional orders 1-4 and the mixed
 * 3rd/4th derivatives recombined from directional ones (polarization).
 * Seen: 1e-16 closed forms, <= 2e-12 FD of 1st/2nd, <= 3e-11 3rd/4th (the
 * FD truncation and rounding, not the jets, set these). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/pinn.h>
#include <tessera/rng.h>
#include "tess_test.h"

static double sk_indep(tess_act_t a, double z, int k)
{
  switch (a) {
  case TESS_ACT_TANH: {
    double t = tanh(z), s2 = 1 - t * t;    /* sech^2 */
    double v[5] = { t, s2, -2 * s2 * t, 4 * s2 * t * t - 2 * s2 * s2,
                    16 * s2 * s2 * t - 8 * s2 * t * t * t };
    return v[k];
  }
  case TESS_ACT_SIN: {
    double v[5] = { sin(z), cos(z), -sin(z), -cos(z), sin(z) };
    return v[k];
  }
  case TESS_ACT_SOFTPLUS: {
    double p = 1 / (1 + exp(-z));
    double v[5] = { log(1 + exp(z)), p, p - p * p, p - 3 * p * p + 2 * p * p * p,
                    p - 7 * p * p + 12 * p * p * p - 6 * p * p * p * p };
    return v[k];
  }
  default: {
    double phi = exp(-z * z / 2) / sqrt(2 * 3.14159265358979323846), Phi = 0.5 * erfc(-z / sqrt(2));
    if (k == 0) return z * Phi;
    if (k == 1) return Phi + z * phi;
    /* d^k (z Phi) = z phi^(k-1) + k phi^(k-2), phi^(m) = (-1)^m He_m phi */
    double He[6] = { 1, z, 0, 0, 0, 0 };
    for (int m = 2; m < 6; m++) He[m] = z * He[m - 1] - (m - 1) * He[m - 2];
    double d1 = ((k - 1) % 2 ? -1 : 1) * He[k - 1] * phi, d2 = ((k - 2) % 2 ? -1 : 1) * He[k - 2] * phi;
    return z * d1 + k * d2;
  }
  }
}

static double relerr(const double *a, const double *b, size_t n)
{
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    if (fabs(a[i] - b[i]) > num) num = fabs(a[i] - b[i]);
    if (fabs(b[i]) > den) den = fabs(b[i]);
  }
  return num / (den > 0 ? den : 1);
}

/* Jet of all components at npts points (out: C x npts x dout). */
static int jet(const tess_mlp_t *m, const tess_jet_spec_t *s, size_t npts, const double *x, double *out)
{
  return tess_mlp_jet(m, s, npts, x, 7, out);   /* odd chunk size: exercises padding */
}

/* Richardson-extrapolated central difference of component `comp` (output 0)
 * along v at each point. */
static void fd_dir(const tess_mlp_t *m, const tess_jet_spec_t *s, size_t npts, const double *x,
                   const double *v, int comp, double h, double *d)
{
  int din = tess_mlp_width(m, 0), C = tess_jet_ncomp(s, din), dout = tess_mlp_width(m, tess_mlp_nlayers(m));
  double *xp = malloc(npts * din * sizeof *xp), *jp = malloc(C * npts * dout * sizeof *jp),
         *jm = malloc(C * npts * dout * sizeof *jm), D[3][64];
  for (int lev = 0; lev < 3; lev++) {
    double hh = h / (1 << lev);
    for (size_t p = 0; p < npts; p++) for (int i = 0; i < din; i++) xp[p * din + i] = x[p * din + i] + hh * v[i];
    jet(m, s, npts, xp, jp);
    for (size_t p = 0; p < npts; p++) for (int i = 0; i < din; i++) xp[p * din + i] = x[p * din + i] - hh * v[i];
    jet(m, s, npts, xp, jm);
    for (size_t p = 0; p < npts; p++)
      D[lev][p] = (jp[(comp * npts + p) * dout] - jm[(comp * npts + p) * dout]) / (2 * hh);
  }
  for (size_t p = 0; p < npts; p++) {
    double r0 = (4 * D[1][p] - D[0][p]) / 3, r1 = (4 * D[2][p] - D[1][p]) / 3;
    d[p] = (16 * r1 - r0) / 15;
  }
  free(xp); free(jp); free(jm);
}

static void closed_form(tess_act_t act)
{
  int widths[3] = { 2, 1, 1 };
  tess_mlp_t *m = NULL;
  CHECK(tess_mlp_create(2, widths, act, TESS_F64, &m) == TESS_OK, "create");
  double w[2] = { 0.7, -1.3 }, b = 0.2, a = 1.7, c = -0.4;
  double theta[6] = { w[0], w[1], b, a, c };   /* W0 (1x2), b0, W1 (1x1), b1 */
  CHECK(tess_mlp_set_params(m, theta) == TESS_OK, "set");
  tess_jet_spec_t s = {0};
  tess_jet_spec_full_hessian(&s, 2);
  s.laplacian = 1;
  s.ndirs = 1; s.dir_order[0] = 4; s.dir[0][0] = 0.6; s.dir[0][1] = 0.8;
  const int C = tess_jet_ncomp(&s, 2);
  double x[2 * 5], out[64 * 5];
  for (int p = 0; p < 5; p++) { x[2 * p] = -1 + 0.5 * p; x[2 * p + 1] = 0.3 * p - 0.2; }
  CHECK(jet(m, &s, 5, x, out) == TESS_OK, "jet");
  double worst = 0;
  for (int p = 0; p < 5; p++) {
    double z = w[0] * x[2 * p] + w[1] * x[2 * p + 1] + b, wv = 0.6 * w[0] + 0.8 * w[1];
    double want[64] = {0};
    want[0] = a * sk_indep(act, z, 0) + c;
    for (int i = 0; i < 2; i++) want[1 + i] = a * sk_indep(act, z, 1) * w[i];
    for (int q = 0; q < s.npairs; q++)
      want[tess_jet_comp_pair(&s, 2, q)] = a * sk_indep(act, z, 2) * w[s.pair[q][0]] * w[s.pair[q][1]];
    want[tess_jet_comp_laplacian(&s, 2)] = a * sk_indep(act, z, 2) * (w[0] * w[0] + w[1] * w[1]);
    for (int k = 1; k <= 4; k++) want[tess_jet_comp_dir(&s, 2, 0, k)] = a * sk_indep(act, z, k) * pow(wv, k);
    for (int cc = 0; cc < C; cc++) {
      double e = fabs(out[cc * 5 + p] - want[cc]) / (fabs(want[cc]) > 1e-3 ? fabs(want[cc]) : 1e-3);
      if (e > worst) worst = e;
    }
  }
  CHECK(worst < 1e-8, "%s closed form: rel err %.3e", tess_act_name(act), worst);
  printf("closed form %-8s max rel err %.2e\n", tess_act_name(act), worst);
  tess_mlp_destroy(&m);
}

static void random_net(tess_act_t act)
{
  const int din = 3, npts = 9;
  int widths[4] = { din, 12, 10, 2 };
  tess_mlp_t *m = NULL;
  CHECK(tess_mlp_create(3, widths, act, TESS_F64, &m) == TESS_OK, "create");
  CHECK(tess_mlp_init(m, TESS_INIT_GLOROT, 7 + act) == TESS_OK, "init");
  /* random biases too, so no symmetry hides an error */
  size_t np = tess_mlp_nparams(m);
  double *th = malloc(np * sizeof *th);
  tess_mlp_get_params(m, th);
  for (size_t k = 0; k < np; k++) th[k] += 0.3 * tess_rng_normal(99, 1, k);
  tess_mlp_set_params(m, th);
  tess_jet_spec_t s = {0};
  tess_jet_spec_full_hessian(&s, din);
  s.laplacian = 1;
  double v[TESS_JET_MAX_IN] = { 0.48, -0.6, 0.64 };
  s.ndirs = 1; s.dir_order[0] = 4;
  memcpy(s.dir[0], v, sizeof v);
  const int C = tess_jet_ncomp(&s, din), dout = 2;
  double x[din * npts], *J = malloc(C * npts * dout * sizeof *J), fd[npts], an[npts];
  for (int k = 0; k < din * npts; k++) x[k] = 2 * tess_rng_uniform(5, 2, k) - 1;
  CHECK(jet(m, &s, npts, x, J) == TESS_OK, "jet");
  const double h = 0.02;
  double e_g = 0, e_h = 0, e_l = 0, e_d = 0;
  for (int i = 0; i < din; i++) {                  /* gradient: FD of the value */
    double ei[TESS_JET_MAX_IN] = {0}; ei[i] = 1;
    fd_dir(m, &s, npts, x, ei, 0, h, fd);
    for (int p = 0; p < npts; p++) an[p] = J[((1 + i) * npts + p) * dout];
    double e = relerr(an, fd, npts); if (e > e_g) e_g = e;
  }
  for (int q = 0; q < s.npairs; q++) {             /* H_ij: FD along e_j of d/dx_i */
    double ej[TESS_JET_MAX_IN] = {0}; ej[s.pair[q][1]] = 1;
    fd_dir(m, &s, npts, x, ej, 1 + s.pair[q][0], h, fd);
    int c = tess_jet_comp_pair(&s, din, q);
    for (int p = 0; p < npts; p++) an[p] = J[(c * npts + p) * dout];
    double e = relerr(an, fd, npts); if (e > e_h) e_h = e;
  }
  {                                                /* Laplacian: sum of FD d/dx_i of d/dx_i */
    double lap[npts]; memset(lap, 0, sizeof lap);
    for (int i = 0; i < din; i++) {
      double ei[TESS_JET_MAX_IN] = {0}; ei[i] = 1;
      fd_dir(m, &s, npts, x, ei, 1 + i, h, fd);
      for (int p = 0; p < npts; p++) lap[p] += fd[p];
    }
    int c = tess_jet_comp_laplacian(&s, din);
    for (int p = 0; p < npts; p++) an[p] = J[(c * npts + p) * dout];
    e_l = relerr(an, lap, npts);
  }
  for (int k = 1; k <= 4; k++) {                   /* D_v^k: FD along v of D_v^(k-1) */
    int cprev = k == 1 ? 0 : tess_jet_comp_dir(&s, din, 0, k - 1), c = tess_jet_comp_dir(&s, din, 0, k);
    fd_dir(m, &s, npts, x, v, cprev, h, fd);
    for (int p = 0; p < npts; p++) an[p] = J[(c * npts + p) * dout];
    double e = relerr(an, fd, npts); if (e > e_d) e_d = e;
  }
  printf("random %-8s grad %.2e hess %.2e lap %.2e dir1-4 %.2e\n", tess_act_name(act), e_g, e_h, e_l, e_d);
  CHECK(e_g < 1e-8 && e_h < 1e-8 && e_l < 1e-8, "%s: grad %.3e hess %.3e lap %.3e",
        tess_act_name(act), e_g, e_h, e_l);
  CHECK(e_d < 1e-8, "%s: directional orders 1-4 %.3e", tess_act_name(act), e_d);
  free(J);
  free(th);
  tess_mlp_destroy(&m);
}

/* Mixed 3rd/4th derivatives through expressions vs FD of lower ones. */
static double fd_expr(tess_pinn_t *pn, const char *e, int npts, const double *x, int axis, double h, double *d)
{
  double xp[2 * 16], vp[16], vm[16], D[3][16];
  for (int lev = 0; lev < 3; lev++) {
    double hh = h / (1 << lev);
    memcpy(xp, x, 2 * npts * sizeof *x);
    for (int p = 0; p < npts; p++) xp[2 * p + axis] += hh;
    tess_pinn_eval(pn, e, npts, xp, vp);
    memcpy(xp, x, 2 * npts * sizeof *x);
    for (int p = 0; p < npts; p++) xp[2 * p + axis] -= hh;
    tess_pinn_eval(pn, e, npts, xp, vm);
    for (int p = 0; p < npts; p++) D[lev][p] = (vp[p] - vm[p]) / (2 * hh);
  }
  for (int p = 0; p < npts; p++) {
    double r0 = (4 * D[1][p] - D[0][p]) / 3, r1 = (4 * D[2][p] - D[1][p]) / 3;
    d[p] = (16 * r1 - r0) / 15;
  }
  return 0;
}

static void mixed_high(tess_act_t act)
{
  int widths[4] = { 2, 10, 10, 1 };
  tess_mlp_t *m = NULL;
  tess_pinn_t *pn = NULL;
  const char *in[] = { "x", "y" }, *out[] = { "psi" };
  tess_mlp_create(3, widths, act, TESS_F64, &m);
  tess_mlp_init(m, TESS_INIT_GLOROT, 3);
  CHECK(tess_pinn_create(m, in, out, &pn) == TESS_OK, "pinn");
  const int npts = 6;
  double x[12], an[16], fd[16], worst = 0;
  for (int k = 0; k < 12; k++) x[k] = tess_rng_uniform(8, 0, k) * 2 - 1;
  struct { const char *hi, *lo; int axis; } cases[] = {
    { "grad(grad(grad(psi,\"x\"),\"x\"),\"y\")", "grad(grad(psi,\"x\"),\"x\")", 1 },
    { "grad(grad(grad(psi,x),y),y)", "grad(grad(psi,x),y)", 1 },
    { "grad(grad(grad(psi,y),y),y)", "grad(grad(psi,y),y)", 1 },
    { "grad(grad(grad(grad(psi,x),x),y),y)", "grad(grad(grad(psi,x),x),y)", 1 },
    { "grad(grad(grad(grad(psi,x),y),y),y)", "grad(grad(grad(psi,y),y),y)", 0 },
    { "grad(laplacian(psi),x)", "laplacian(psi)", 0 },
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    CHECK(tess_pinn_eval(pn, cases[c].hi, npts, x, an) == TESS_OK, "eval %s", cases[c].hi);
    fd_expr(pn, cases[c].lo, npts, x, cases[c].axis, 0.02, fd);
    double e = relerr(an, fd, npts);
    if (e > worst) worst = e;
    CHECK(e < 1e-8, "%s %s: rel err %.3e", tess_act_name(act), cases[c].hi, e);
  }
  /* biharmonic = laplacian(laplacian(psi)) vs the sum of the pure and mixed 4th ones */
  double bi[16], a4[16], b4[16], c4[16];
  tess_pinn_eval(pn, "laplacian(laplacian(psi))", npts, x, bi);
  tess_pinn_eval(pn, "grad(grad(grad(grad(psi,x),x),x),x)", npts, x, a4);
  fd_expr(pn, "grad(grad(grad(psi,x),x),y)", npts, x, 1, 0.02, b4);
  tess_pinn_eval(pn, "grad(grad(grad(grad(psi,y),y),y),y)", npts, x, c4);
  for (int p = 0; p < npts; p++) an[p] = a4[p] + 2 * b4[p] + c4[p];
  double e = relerr(bi, an, npts);
  if (e > worst) worst = e;
  CHECK(e < 1e-8, "%s biharmonic: rel err %.3e", tess_act_name(act), e);
  printf("mixed 3rd/4th %-8s max rel err %.2e\n", tess_act_name(act), worst);
  tess_pinn_destroy(&pn);
  tess_mlp_destroy(&m);
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  for (int a = 0; a < TESS_ACT_N; a++) {
    closed_form((tess_act_t)a);
    random_net((tess_act_t)a);
    mixed_high((tess_act_t)a);
  }
  /* f32 networks give the f64 answer to f32 accuracy */
  {
    int widths[4] = { 2, 16, 16, 1 };
    tess_mlp_t *m64 = NULL, *m32 = NULL;
    tess_mlp_create(3, widths, TESS_ACT_TANH, TESS_F64, &m64);
    tess_mlp_create(3, widths, TESS_ACT_TANH, TESS_F32, &m32);
    tess_mlp_init(m64, TESS_INIT_GLOROT, 11);
    tess_mlp_init(m32, TESS_INIT_GLOROT, 11);
    tess_jet_spec_t s = {0};
    tess_jet_spec_full_hessian(&s, 2);
    s.laplacian = 1;
    int C = tess_jet_ncomp(&s, 2);
    double x[40], *a = malloc(C * 20 * sizeof *a), *b = malloc(C * 20 * sizeof *b);
    for (int k = 0; k < 40; k++) x[k] = tess_rng_uniform(1, 1, k);
    jet(m64, &s, 20, x, a);
    jet(m32, &s, 20, x, b);
    double e = relerr(b, a, C * 20);
    printf("f32 vs f64 jets: rel err %.2e\n", e);
    CHECK(e < 1e-5, "f32 jets: rel err %.3e", e);
    free(a); free(b);
    tess_mlp_destroy(&m64);
    tess_mlp_destroy(&m32);
  }
  int rc = tess_test_finish("pde_derivs");
  MPI_Finalize();
  return rc;
}
