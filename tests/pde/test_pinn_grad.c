/* tests/pde/test_pinn_grad.c: parameter gradients of PINN losses are the
 * exact derivatives of the discrete loss. Truth: directional central
 * differences of the loss along random parameter directions u,
 * (L(t + h u) - L(t - h u)) / 2h at h, h/2, h/4 with two Richardson steps
 * (error O(h^6)), compared with grad . u. Losses:
 *   1. the seed example as written (A.9): laplacian(psi) - forcing and
 *      grad(u,"x") + grad(v,"y"), tanh, plus a boundary set;
 *   2. stream function-vorticity Kovasznay form (two outputs, products of
 *      derivatives, Hessian pairs and forward Laplacian), softplus;
 *   3. a 4th-order (biharmonic) and 3rd-order residual, sin and GELU: the
 *      directional jets and their polarization.
 * Tolerance 1e-7 relative (the bound); f64. Also: an f32 network's
 * gradient matches the f64 one to 1e-3 (f32 rounding through the jets).
 * Runs at 1 and 2 ranks: the gradient is partition independent anyway. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/pinn.h>
#include <tessera/rng.h>
#include "tess_test.h"

typedef struct {
  const char *name;
  tess_act_t act;
  int nout;
  const char *outs[2];
  int ndefs;
  const char *defs[4][2];
  int nres;
  const char *res[3];
  int nbres;
  const char *bres[2];
} case_t;

static tess_pinn_t *build(const case_t *c, tess_dtype_t dt, tess_mlp_t **mlp,
                          tess_pinn_box_t *in, tess_pinn_box_t *bd)
{
  int widths[4] = { 2, 14, 12, c->nout };
  const char *names[] = { "x", "y" };
  tess_pinn_t *p = NULL;
  int ok = tess_mlp_create(3, widths, c->act, dt, mlp) == TESS_OK
        && tess_mlp_init(*mlp, TESS_INIT_GLOROT, 21) == TESS_OK
        && tess_pinn_create(*mlp, names, c->outs, &p) == TESS_OK;
  for (int d = 0; ok && d < c->ndefs; d++) ok = tess_pinn_define(p, c->defs[d][0], c->defs[d][1]) == TESS_OK;
  *in = (tess_pinn_box_t){ .din = 2, .lo = { 0, 0 }, .hi = { 1, 1 }, .seed = 4, .stream = 1 };
  *bd = (tess_pinn_box_t){ .din = 2, .lo = { 0, 0 }, .hi = { 1, 1 }, .seed = 4, .stream = 2 };
  ok = ok && tess_pinn_set_chunk(p, 48) == TESS_OK
          && tess_pinn_add_set(p, "interior", 203, tess_pinn_box_interior, in, 1.0, c->nres, c->res) == TESS_OK;
  if (ok && c->nbres) ok = tess_pinn_add_set(p, "boundary", 61, tess_pinn_box_boundary, bd, 3.0, c->nbres, c->bres) == TESS_OK;
  ok = ok && tess_pinn_setup_comm(p, MPI_COMM_WORLD) == TESS_OK;
  if (!ok) { tess_error_print(stderr); tess_pinn_destroy(&p); }
  return p;
}

static void check_case(const case_t *c)
{
  tess_mlp_t *m = NULL, *m32 = NULL;
  tess_pinn_box_t in, bd, in2, bd2;
  tess_pinn_t *p = build(c, TESS_F64, &m, &in, &bd);
  CHECK(p != NULL, "%s: build", c->name);
  if (!p) return;
  size_t n = tess_pinn_nparams(p);
  double *th = malloc(n * sizeof *th), *g = malloc(n * sizeof *g), *t2 = malloc(n * sizeof *t2),
         *u = malloc(n * sizeof *u), *g32 = malloc(n * sizeof *g32);
  tess_mlp_get_params(m, th);
  for (size_t k = 0; k < n; k++) th[k] += 0.1 * tess_rng_normal(3, 9, k);   /* nonzero biases */
  double L = 0;
  CHECK(tess_pinn_loss_grad(p, th, &L, g) == TESS_OK, "%s: loss_grad", c->name);
  double worst = 0;
  for (int dir = 0; dir < 3; dir++) {
    double gu = 0, unorm = 0;
    for (size_t k = 0; k < n; k++) { u[k] = tess_rng_normal(77, dir, k); unorm += u[k] * u[k]; }
    for (size_t k = 0; k < n; k++) { u[k] /= sqrt(unorm); gu += g[k] * u[k]; }
    double D[3];
    for (int lev = 0; lev < 3; lev++) {
      double h = 1e-2 / (1 << lev), Lp, Lm;
      for (size_t k = 0; k < n; k++) t2[k] = th[k] + h * u[k];
      tess_pinn_loss_grad(p, t2, &Lp, NULL);
      for (size_t k = 0; k < n; k++) t2[k] = th[k] - h * u[k];
      tess_pinn_loss_grad(p, t2, &Lm, NULL);
      D[lev] = (Lp - Lm) / (2 * h);
    }
    double r0 = (4 * D[1] - D[0]) / 3, r1 = (4 * D[2] - D[1]) / 3, fd = (16 * r1 - r0) / 15;
    double gnorm = 0;
    for (size_t k = 0; k < n; k++) gnorm += g[k] * g[k];
    /* relative to |grad| (the directional derivative itself may be small) */
    double e = fabs(gu - fd) / sqrt(gnorm);
    if (e > worst) worst = e;
  }
  CHECK(worst < 1e-7, "%s: gradient vs directional FD: rel err %.3e", c->name, worst);
  /* f32 network: same loss in f32 jets */
  tess_pinn_t *p32 = build(c, TESS_F32, &m32, &in2, &bd2);
  CHECK(p32 != NULL, "%s: build f32", c->name);
  double e32 = 0, L32 = 0;
  if (p32) {
    tess_pinn_loss_grad(p32, th, &L32, g32);
    double num = 0, den = 0;
    for (size_t k = 0; k < n; k++) { num += (g32[k] - g[k]) * (g32[k] - g[k]); den += g[k] * g[k]; }
    e32 = sqrt(num / den);
    CHECK(e32 < 1e-3, "%s: f32 gradient vs f64: rel err %.3e", c->name, e32);
  }
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  if (r == 0)
    printf("%-10s loss %.6e  grad vs FD rel err %.2e  f32 grad rel err %.2e\n", c->name, L, worst, e32);
  free(th); free(g); free(t2); free(u); free(g32);
  tess_pinn_destroy(&p);
  tess_pinn_destroy(&p32);
  tess_mlp_destroy(&m);
  tess_mlp_destroy(&m32);
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  case_t cases[] = {
    { "seed", TESS_ACT_TANH, 1, { "psi" }, 3,
      { { "u", "grad(psi, \"y\")" }, { "v", "-grad(psi, \"x\")" }, { "forcing", "sin(x)*cos(y)" } },
      2, { "laplacian(psi) - forcing", "grad(u,\"x\") + grad(v,\"y\")" },
      1, { "psi - x*y" } },
    { "kovasznay", TESS_ACT_SOFTPLUS, 2, { "psi", "omega" }, 1, { { "Re", "20" } },
      2, { "omega + laplacian(psi)",
           "grad(psi,y)*grad(omega,x) - grad(psi,x)*grad(omega,y) - laplacian(omega)/Re" },
      2, { "grad(psi,y) - (1 - exp(x)*cos(y))", "grad(grad(psi,x),y)**2/(1 + psi^2)" } },
    { "order4", TESS_ACT_SIN, 1, { "psi" }, 0, { { 0 } },
      2, { "laplacian(laplacian(psi)) - exp(-x)", "grad(grad(grad(psi,x),y),y)*sqrt(2 + y) + tanh(psi)" },
      0, { 0 } },
    { "gelu", TESS_ACT_GELU, 1, { "psi" }, 0, { { 0 } },
      2, { "grad(grad(grad(grad(psi,x),x),x),y) - log(2 + x)", "grad(psi,x)*grad(grad(psi,y),y)" },
      0, { 0 } },
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) check_case(&cases[c]);
  int rc = tess_test_finish("pde_grad");
  MPI_Finalize();
  return rc;
}
