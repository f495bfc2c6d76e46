/* pde/taylor_jet.c: forward Taylor jets through the MLP on a batch of points.
 * A jet holds, per neuron and point, the value, the input gradient, chosen
 * Hessian entries, the Laplacian (forward-Laplacian style: one component,
 * no nested pass) and univariate Taylor coefficients along directions. A
 * dense layer maps every component linearly (bias on the value only), so the
 * whole jet of a chunk goes through ONE matrix product per layer:
 * (C*B x n_in) times W^T. The activation then mixes components by the chain
 * rule (Faa di Bruno to 4th order); docs/pinn.md lists the recurrences.
 * The typed kernels are compiled twice (f64, f32) by including this file. */
#ifndef PINN_JET_T
#include "pinn_internal.h"

#include <stdlib.h>
#include <string.h>
#include <tessera/memory.h>

int tess_jet_ncomp(const tess_jet_spec_t *spec, int din)
{
  int c = 1 + din + spec->npairs + (spec->laplacian ? 1 : 0);
  for (int k = 0; k < spec->ndirs; k++) c += spec->dir_order[k];
  return c;
}
int tess_jet_comp_pair(const tess_jet_spec_t *spec, int din, int p)
{
  return (p >= 0 && p < spec->npairs) ? 1 + din + p : -1;
}
int tess_jet_comp_laplacian(const tess_jet_spec_t *spec, int din)
{
  return spec->laplacian ? 1 + din + spec->npairs : -1;
}
int tess_jet_comp_dir(const tess_jet_spec_t *spec, int din, int k, int m)
{
  if (k < 0 || k >= spec->ndirs || m < 1 || m > spec->dir_order[k]) return -1;
  int c = 1 + din + spec->npairs + (spec->laplacian ? 1 : 0);
  for (int j = 0; j < k; j++) c += spec->dir_order[j];
  return c + m - 1;
}

tess_err_t tess_jet_spec_full_hessian(tess_jet_spec_t *spec, int din)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(spec && din >= 1 && din <= TESS_JET_MAX_IN, TESS_ERR_ARG, "bad spec/din %d", din);
  for (int i = 0; i < din; i++)
    for (int j = i; j < din; j++) {
      int have = 0;
      for (int p = 0; p < spec->npairs; p++)
        have |= spec->pair[p][0] == i && spec->pair[p][1] == j;
      if (have) continue;
      TESS_REQUIRE(spec->npairs < TESS_JET_MAX_PAIRS, TESS_ERR_ARG, "too many Hessian pairs");
      spec->pair[spec->npairs][0] = i;
      spec->pair[spec->npairs][1] = j;
      spec->npairs++;
    }
cleanup:
  return err;
}

tess_err_t pinn_layout_make(const tess_jet_spec_t *spec, int din, pinn_layout_t *lay)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(spec && lay, TESS_ERR_ARG, "NULL argument");
  TESS_REQUIRE(spec->npairs >= 0 && spec->npairs <= TESS_JET_MAX_PAIRS, TESS_ERR_ARG,
               "npairs = %d, expected 0..%d", spec->npairs, TESS_JET_MAX_PAIRS);
  TESS_REQUIRE(spec->ndirs >= 0 && spec->ndirs <= TESS_JET_MAX_DIRS, TESS_ERR_ARG,
               "ndirs = %d, expected 0..%d", spec->ndirs, TESS_JET_MAX_DIRS);
  memset(lay, 0, sizeof *lay);
  lay->din = din;
  lay->npairs = spec->npairs;
  lay->c_pair = 1 + din;
  lay->maxord = 1;
  for (int p = 0; p < spec->npairs; p++) {
    int i = spec->pair[p][0], j = spec->pair[p][1];
    TESS_REQUIRE(i >= 0 && j >= i && j < din, TESS_ERR_ARG,
                 "Hessian pair %d = (%d,%d): expected 0 <= i <= j < %d", p, i, j, din);
    lay->pi[p] = i;
    lay->pj[p] = j;
    lay->maxord = 2;
  }
  lay->c_lap = spec->laplacian ? 1 + din + spec->npairs : -1;
  if (spec->laplacian) lay->maxord = 2;
  lay->ndirs = spec->ndirs;
  int c = 1 + din + spec->npairs + (spec->laplacian ? 1 : 0);
  for (int k = 0; k < spec->ndirs; k++) {
    TESS_REQUIRE(spec->dir_order[k] >= 1 && spec->dir_order[k] <= 4, TESS_ERR_ARG,
                 "direction %d: order %d, expected 1..4", k, spec->dir_order[k]);
    lay->c_dir[k] = c;
    lay->dord[k] = spec->dir_order[k];
    if (lay->dord[k] > lay->maxord) lay->maxord = lay->dord[k];
    for (int i = 0; i < din; i++) lay->dir[k][i] = spec->dir[k][i];
    c += spec->dir_order[k];
  }
  lay->ncomp = c;
cleanup:
  return err;
}

void pinn_work_destroy(const tess_mlp_t *mlp, pinn_work_t *w)
{
  if (!w) return;
  if (w->H)
    for (int l = 0; l < mlp->nlayers; l++) tess_free(TESS_MEM_HOST, &w->H[l]);
  if (w->Z)
    for (int l = 0; l < mlp->nlayers; l++) tess_free(TESS_MEM_HOST, &w->Z[l]);
  free(w->H);
  free(w->Z);
  tess_free(TESS_MEM_HOST, &w->S);
  tess_free(TESS_MEM_HOST, &w->bar0);
  tess_free(TESS_MEM_HOST, &w->bar1);
  tess_free(TESS_MEM_HOST, &w->gpart);
  memset(w, 0, sizeof *w);
}

/* Auto chunk: the largest power of two in [16, 4096] points whose jet of one
 * layer (C components x B points x the widest layer) fits in 512 KiB, about
 * an L2 cache: the layer products and the elementwise passes over a layer
 * then run from L2 instead of memory (measured on the seed example, f32 and
 * f64: 8-15 % faster per step than 512-point chunks, bench/results/pinn.md). */
#define PINN_AUTO_CHUNK_BYTES ((size_t)512 << 10)
size_t pinn_auto_chunk(const tess_mlp_t *mlp, const pinn_layout_t *lay)
{
  size_t wmax = 1, B = 4096;
  for (int l = 0; l <= mlp->nlayers; l++)
    if ((size_t)mlp->width[l] > wmax) wmax = (size_t)mlp->width[l];
  size_t per_point = (size_t)lay->ncomp * wmax * tess_dtype_size(mlp->dtype);
  while (B > 16 && B * per_point > PINN_AUTO_CHUNK_BYTES) B /= 2;
  return B;
}

tess_err_t pinn_work_create(const tess_mlp_t *mlp, const pinn_layout_t *lay, size_t B,
                            pinn_work_t *w)
{
  tess_err_t err = TESS_OK;
  memset(w, 0, sizeof *w);
  size_t es = tess_dtype_size(mlp->dtype), C = (size_t)lay->ncomp;
  w->B = B;
  w->C = lay->ncomp;
  w->dtype = mlp->dtype;
  w->H = calloc((size_t)mlp->nlayers, sizeof *w->H);
  w->Z = calloc((size_t)mlp->nlayers, sizeof *w->Z);
  TESS_REQUIRE(w->H && w->Z, TESS_ERR_MEM, "jet workspace");
  for (int l = 0; l < mlp->nlayers; l++) {
    TESS_CHECK(tess_malloc(TESS_MEM_HOST, C * B * (size_t)mlp->width[l] * es, &w->H[l]));
    TESS_CHECK(tess_malloc(TESS_MEM_HOST, C * B * (size_t)mlp->width[l + 1] * es, &w->Z[l]));
  }
  TESS_CHECK(tess_malloc(TESS_MEM_HOST, (size_t)(lay->maxord + 2) * B * (size_t)mlp->maxwidth * es, &w->S));
  TESS_CHECK(tess_calloc(TESS_MEM_HOST, C * B * (size_t)mlp->maxwidth * es, &w->bar0));
  TESS_CHECK(tess_calloc(TESS_MEM_HOST, C * B * (size_t)mlp->maxwidth * es, &w->bar1));
  TESS_CHECK(tess_malloc(TESS_MEM_HOST, mlp->nparams * es, &w->gpart));
  tess_gemm_single_thread();
cleanup:
  if (err) pinn_work_destroy(mlp, w);
  return err;
}

#define PINN_JET_T double
#define PINN_JET_S(n) n##_f64
#define PINN_JET_THETA(m) ((const double *)(m)->theta)
#include "taylor_jet.c"
#undef PINN_JET_T
#undef PINN_JET_S
#undef PINN_JET_THETA
#define PINN_JET_T float
#define PINN_JET_S(n) n##_f32
#define PINN_JET_THETA(m) ((const float *)(m)->theta32)
#include "taylor_jet.c"

tess_err_t tess_mlp_jet(const tess_mlp_t *mlp, const tess_jet_spec_t *spec, size_t npts,
                        const double *x, size_t chunk, double *out)
{
  tess_err_t err = TESS_OK;
  pinn_layout_t lay;
  pinn_work_t w = {0};
  double *xb = NULL;
  TESS_REQUIRE(mlp && spec && (x || !npts) && (out || !npts), TESS_ERR_ARG, "NULL argument");
  TESS_CHECK(pinn_layout_make(spec, mlp->width[0], &lay));
  if (chunk == TESS_PINN_CHUNK_AUTO) chunk = pinn_auto_chunk(mlp, &lay);
  TESS_CHECK(pinn_work_create(mlp, &lay, chunk, &w));
  int din = mlp->width[0], dout = mlp->width[mlp->nlayers], C = lay.ncomp;
  xb = calloc(chunk * (size_t)din, sizeof *xb);
  TESS_REQUIRE(xb, TESS_ERR_MEM, "chunk points");
  for (size_t p0 = 0; p0 < npts; p0 += chunk) {
    size_t nb = npts - p0 < chunk ? npts - p0 : chunk;
    for (size_t b = 0; b < chunk; b++)   /* pad with the last point */
      memcpy(xb + b * din, x + (p0 + (b < nb ? b : nb - 1)) * din, (size_t)din * sizeof *xb);
    if (mlp->dtype == TESS_F64) pinn_jet_forward_f64(mlp, &lay, &w, xb);
    else pinn_jet_forward_f32(mlp, &lay, &w, xb);
    const void *Zo = w.Z[mlp->nlayers - 1];
    for (int c = 0; c < C; c++)
      for (size_t b = 0; b < nb; b++)
        for (int o = 0; o < dout; o++) {
          size_t src = ((size_t)c * chunk + b) * dout + o;
          out[((size_t)c * npts + p0 + b) * dout + o] = mlp->dtype == TESS_F64
              ? ((const double *)Zo)[src] : (double)((const float *)Zo)[src];
        }
  }
cleanup:
  free(xb);
  pinn_work_destroy(mlp, &w);
  return err;
}

#else /* ---- typed kernels --------------------------------------------------- */

/* One activation layer on a strip: Z (pre-activation jet) -> H, n values
 * per component, components ld apart. */
static void PINN_JET_S(act_forward)(tess_act_t act, const pinn_layout_t *L, size_t n, size_t ld,
                                    const PINN_JET_T *Z, PINN_JET_T *H, PINN_JET_T *S)
{
  typedef PINN_JET_T T;
  const int din = L->din;
  PINN_JET_S(pinn_act_eval)(act, n, Z, NULL, L->maxord, S);
  const T *s1 = S + n, *s2 = S + 2 * n, *s3 = S + 3 * n, *s4 = S + 4 * n;
#define ZC(c) (Z + (size_t)(c) * ld)
#define HC(c) (H + (size_t)(c) * ld)
  memcpy(H, S, n * sizeof *H);
  for (int i = 0; i < din; i++) {
    const T *zi = ZC(1 + i); T *hi = HC(1 + i);
    for (size_t q = 0; q < n; q++) hi[q] = s1[q] * zi[q];
  }
  for (int p = 0; p < L->npairs; p++) {
    const T *zp = ZC(L->c_pair + p), *zi = ZC(1 + L->pi[p]), *zj = ZC(1 + L->pj[p]);
    T *hp = HC(L->c_pair + p);
    for (size_t q = 0; q < n; q++) hp[q] = s1[q] * zp[q] + s2[q] * zi[q] * zj[q];
  }
  if (L->c_lap >= 0) {
    const T *zl = ZC(L->c_lap); T *hl = HC(L->c_lap);
    for (size_t q = 0; q < n; q++) hl[q] = s1[q] * zl[q];
    for (int i = 0; i < din; i++) {
      const T *zi = ZC(1 + i);
      for (size_t q = 0; q < n; q++) hl[q] += s2[q] * zi[q] * zi[q];
    }
  }
  for (int k = 0; k < L->ndirs; k++) {
    const int K = L->dord[k], c = L->c_dir[k];
    const T *a1 = ZC(c), *a2 = K >= 2 ? ZC(c + 1) : NULL, *a3 = K >= 3 ? ZC(c + 2) : NULL,
            *a4 = K >= 4 ? ZC(c + 3) : NULL;
    T *h1 = HC(c);
    for (size_t q = 0; q < n; q++) h1[q] = s1[q] * a1[q];
    if (K >= 2) {
      T *h2 = HC(c + 1);
      for (size_t q = 0; q < n; q++) h2[q] = s1[q] * a2[q] + s2[q] * a1[q] * a1[q];
    }
    if (K >= 3) {
      T *h3 = HC(c + 2);
      for (size_t q = 0; q < n; q++)
        h3[q] = s1[q] * a3[q] + 3 * s2[q] * a1[q] * a2[q] + s3[q] * a1[q] * a1[q] * a1[q];
    }
    if (K >= 4) {
      T *h4 = HC(c + 3);
      for (size_t q = 0; q < n; q++) {
        T x1 = a1[q], x2 = a2[q], x12 = x1 * x1;
        h4[q] = s1[q] * a4[q] + s2[q] * (4 * x1 * a3[q] + 3 * x2 * x2)
                + 6 * s3[q] * x12 * x2 + s4[q] * x12 * x12;
      }
    }
  }
#undef ZC
#undef HC
}

/* The layer in strips of PINN_STRIP values: the derivatives and each
 * component's strip stay in L1/L2 across the passes instead of one pass
 * over the whole layer per term. Every element sees the same operations in
 * the same order as in one long pass, so the bits do not change. */
static void PINN_JET_S(act_forward_strips)(tess_act_t act, const pinn_layout_t *L, size_t n,
                                           const PINN_JET_T *Z, PINN_JET_T *H, PINN_JET_T *S)
{
  for (size_t q0 = 0; q0 < n; q0 += PINN_STRIP)
    PINN_JET_S(act_forward)(act, L, n - q0 < PINN_STRIP ? n - q0 : PINN_STRIP, n, Z + q0, H + q0, S);
}

void PINN_JET_S(pinn_jet_forward)(const tess_mlp_t *mlp, const pinn_layout_t *L,
                                  pinn_work_t *w, const double *x)
{
  typedef PINN_JET_T T;
  const size_t B = w->B, C = (size_t)L->ncomp;
  const int din = L->din;
  const T *theta = PINN_JET_THETA(mlp);
  T *H0 = w->H[0];
  memset(H0, 0, C * B * (size_t)din * sizeof *H0);
  for (size_t b = 0; b < B; b++)
    for (int i = 0; i < din; i++) {
      H0[b * din + i] = (T)x[b * din + i];
      H0[((size_t)(1 + i) * B + b) * din + i] = 1;
      for (int k = 0; k < L->ndirs; k++)
        H0[((size_t)L->c_dir[k] * B + b) * din + i] = (T)L->dir[k][i];
    }
  for (int l = 0; l < mlp->nlayers; l++) {
    const size_t nin = (size_t)mlp->width[l], nout = (size_t)mlp->width[l + 1];
    const T *W = theta + mlp->woff[l], *bias = theta + mlp->boff[l];
    T *Z = w->Z[l];
    /* Z starts as the bias on the value rows, 0 on the derivative rows, and
     * the product accumulates onto it (BLAS then skips its own zeroing) */
    for (size_t b = 0; b < B; b++) memcpy(Z + b * nout, bias, nout * sizeof *Z);
    memset(Z + B * nout, 0, (C - 1) * B * nout * sizeof *Z);
    PINN_JET_S(tess_gemm_nt_acc)(C * B, nout, nin, w->H[l], W, Z);
    if (l + 1 < mlp->nlayers)
      PINN_JET_S(act_forward_strips)(mlp->act, L, B * nout, Z, w->H[l + 1], w->S);
  }
}
#endif
