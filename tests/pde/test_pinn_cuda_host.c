/* tests/pde/test_pinn_cuda_host.c: the GPU path's jet and adjoint passes
 * (pde/cuda/pinn_cuda.cu) checked without a GPU. pinn_cuda_work_create_host
 * runs the same passes with the same element bodies (the kernels' code),
 * the same bias-reduction order and the same GEMM argument lists (m, n, k,
 * transposes, leading dimensions) on the CPU, the products as plain loops.
 * Truth: the CPU kernels (taylor_jet.c, pinn_adjoint.c, compiled into this
 * test since they are not exported) on the same chunk, network and output
 * adjoint. Every layer's Z and H, the output jet and the parameter
 * gradient must agree within 1e-12 (f64) / 1e-5 (f32) relative to each
 * component block's largest value (the GPU-vs-CPU tolerances): only
 * the products' summation order differs (plain loops vs OpenBLAS), a few
 * ulp per product carried through the layers (seen: at most 6e-15 in f64
 * and 1e-6 in f32, the 4th-order directional components included).
 *
 * Cases: inputs din = 3 (so nothing assumes 2), a 3->12->10->2 network with
 * random weights AND biases, B = 37 points (not a multiple of the
 * reduction's 32 rows: a partial tail); jet layouts with (a) gradient +
 * Laplacian, (b) the full Hessian + Laplacian, (c) three directions of
 * orders 4, 3 and 2 plus one Hessian entry; each activation (tanh, sin,
 * softplus, GELU) in f64 and f32. Builds with CUDA + cuBLAS only (the file
 * links cuBLAS); it runs on any machine. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/tessera.h>
#include "pinn_cuda.h"
#include "tess_test.h"

#define DIN 3
#define NB 37

/* max over the blocks of `ncomp` components (len values each) of
 * max |a - b| / max |b| within the block */
static double block_err(const void *a, const void *b, tess_dtype_t dt, int ncomp, size_t len)
{
  double worst = 0;
  for (int c = 0; c < ncomp; c++) {
    double d = 0, m = 0;
    for (size_t i = 0; i < len; i++) {
      size_t k = (size_t)c * len + i;
      double x = dt == TESS_F64 ? ((const double *)a)[k] : ((const float *)a)[k];
      double y = dt == TESS_F64 ? ((const double *)b)[k] : ((const float *)b)[k];
      double e = fabs(x - y);
      if (!(e <= d)) d = e;
      if (fabs(y) > m) m = fabs(y);
    }
    double r = m > 0 ? d / m : d;
    if (!(r <= worst)) worst = r;
  }
  return worst;
}

static void spec_for(int which, tess_jet_spec_t *s)
{
  memset(s, 0, sizeof *s);
  s->laplacian = which != 2;
  if (which == 1) tess_jet_spec_full_hessian(s, DIN);
  if (which == 2) {
    static const int ord[3] = { 4, 3, 2 };
    s->npairs = 1;
    s->pair[0][0] = 0;
    s->pair[0][1] = 2;
    s->ndirs = 3;
    for (int k = 0; k < 3; k++) {
      s->dir_order[k] = ord[k];
      for (int i = 0; i < DIN; i++) s->dir[k][i] = 2 * tess_rng_uniform(3, 40 + (uint64_t)k, (uint64_t)i) - 1;
    }
  }
}

static void run_case(int which, tess_act_t act, tess_dtype_t dt)
{
  int widths[4] = { DIN, 12, 10, 2 };
  const int L = 3;
  const double tol = dt == TESS_F64 ? 1e-12 : 1e-5;
  const size_t es = tess_dtype_size(dt);
  tess_jet_spec_t spec;
  pinn_layout_t lay;
  pinn_work_t w = {0};
  pinn_cuda_work_t cw;
  tess_mlp_t *m = NULL;
  double *th = NULL, *x = NULL, *bar = NULL, *gg = NULL, *gc = NULL;
  memset(&cw, 0, sizeof cw);
  spec_for(which, &spec);
  int ok = tess_mlp_create(L, widths, act, dt, &m) == TESS_OK && pinn_layout_make(&spec, DIN, &lay) == TESS_OK;
  CHECK(ok, "setup");
  if (!ok) goto done;
  const size_t n = tess_mlp_nparams(m), C = (size_t)lay.ncomp, dout = 2;
  th = malloc(n * sizeof *th);
  x = malloc(NB * DIN * sizeof *x);
  bar = malloc(C * NB * dout * sizeof *bar);
  gg = malloc(n * sizeof *gg);
  gc = malloc(n * sizeof *gc);
  CHECK(th && x && bar && gg && gc, "alloc");
  if (!(th && x && bar && gg && gc)) goto done;
  for (size_t k = 0; k < n; k++) th[k] = 0.8 * (2 * tess_rng_uniform(11, 1, k) - 1);
  for (size_t k = 0; k < NB * DIN; k++) x[k] = 2 * tess_rng_uniform(11, 2, k) - 1;
  for (size_t k = 0; k < C * NB * dout; k++) bar[k] = 2 * tess_rng_uniform(11, 3, k) - 1;
  ok = tess_mlp_set_params(m, th) == TESS_OK && pinn_work_create(m, &lay, NB, &w) == TESS_OK &&
       pinn_cuda_work_create_host(m, &lay, NB, &cw) == TESS_OK && pinn_cuda_set_params(m, &cw) == TESS_OK &&
       pinn_cuda_set_points(&cw, x, DIN) == TESS_OK;
  if (!ok) tess_error_print(stderr);
  CHECK(ok, "workspaces");
  if (!ok) goto done;

  /* forward: every layer's pre-activation and activation jets */
  if (dt == TESS_F64) pinn_jet_forward_f64(m, &lay, &w, x);
  else pinn_jet_forward_f32(m, &lay, &w, x);
  ok = (dt == TESS_F64 ? pinn_cuda_jet_forward_f64(m, &lay, &cw) : pinn_cuda_jet_forward_f32(m, &lay, &cw)) == TESS_OK;
  if (!ok) tess_error_print(stderr);
  CHECK(ok, "emulated forward");
  double ef = 0;
  for (int l = 0; l < L && ok; l++) {
    double e = block_err(cw.Z[l], w.Z[l], dt, (int)C, NB * (size_t)widths[l + 1]);
    if (l + 1 < L) {
      double eh = block_err(cw.H[l + 1], w.H[l + 1], dt, (int)C, NB * (size_t)widths[l + 1]);
      if (eh > e) e = eh;
    }
    if (e > ef) ef = e;
  }
  {   /* layer 0's jet is exact: bitwise */
    size_t bytes = C * NB * DIN * es;
    CHECK(memcmp(cw.H[0], w.H[0], bytes) == 0, "case %d %s %s: input jet differs", which, tess_act_name(act),
          tess_dtype_name(dt));
  }
  CHECK(ef <= tol, "case %d %s %s: forward jets differ by %.3e > %.0e", which, tess_act_name(act),
        tess_dtype_name(dt), ef, tol);

  /* backward from the same output adjoint: every parameter gradient */
  if (dt == TESS_F64) memcpy(w.bar0, bar, C * NB * dout * sizeof *bar);
  else
    for (size_t k = 0; k < C * NB * dout; k++) ((float *)w.bar0)[k] = (float)bar[k];
  if (dt == TESS_F64) pinn_jet_backward_f64(m, &lay, &w);
  else pinn_jet_backward_f32(m, &lay, &w);
  ok = pinn_cuda_put_jetbar(&cw, bar, C * NB * dout) == TESS_OK &&
       (dt == TESS_F64 ? pinn_cuda_jet_backward_f64(m, &lay, &cw) : pinn_cuda_jet_backward_f32(m, &lay, &cw)) == TESS_OK &&
       pinn_cuda_get_grad(&cw, n, gg) == TESS_OK;
  if (!ok) tess_error_print(stderr);
  CHECK(ok, "emulated backward");
  for (size_t k = 0; k < n; k++) gc[k] = dt == TESS_F64 ? ((double *)w.gpart)[k] : ((float *)w.gpart)[k];
  double eb = 0;   /* per weight matrix and bias vector */
  for (int l = 0; l < L; l++) {
    size_t nw = (size_t)widths[l] * (size_t)widths[l + 1], nbias = (size_t)widths[l + 1];
    double e1 = block_err(gg + m->woff[l], gc + m->woff[l], TESS_F64, 1, nw);
    double e2 = block_err(gg + m->boff[l], gc + m->boff[l], TESS_F64, 1, nbias);
    if (e1 > eb) eb = e1;
    if (e2 > eb) eb = e2;
  }
  CHECK(eb <= tol, "case %d %s %s: parameter gradients differ by %.3e > %.0e", which, tess_act_name(act),
        tess_dtype_name(dt), eb, tol);
  printf("case %d (C = %d) %-8s %s: forward %.2e, gradient %.2e\n", which, (int)C, tess_act_name(act),
         tess_dtype_name(dt), ef, eb);
done:
  pinn_work_destroy(m, &w);
  pinn_cuda_work_destroy(&cw);
  tess_mlp_destroy(&m);
  free(th); free(x); free(bar); free(gg); free(gc);
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  static const tess_act_t acts[] = { TESS_ACT_TANH, TESS_ACT_SIN, TESS_ACT_SOFTPLUS, TESS_ACT_GELU };
  for (int which = 0; which < 3; which++)
    for (int a = 0; a < 4; a++)
      for (int d = 0; d < 2; d++) run_case(which, acts[a], d ? TESS_F32 : TESS_F64);
  int rc = tess_test_finish("pde_pinn_cuda_host");
  MPI_Finalize();
  return rc;
}
