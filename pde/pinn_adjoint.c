/* pde/pinn_adjoint.c: exact reverse mode through the jet recurrences.
 * Given the adjoint of the output jet (d loss / d every output component of
 * every point of a chunk), walk the layers backwards:
 *   dense layer  Z_c = W H_c (+ b on c = 0):
 *       Wbar = sum_c Zbar_c^T H_c   (one product over all C*B rows)
 *       bbar = sum over points of Zbar_0,   Hbar_c = W^T Zbar_c
 *   activation   H = sigma(Z) componentwise by Faa di Bruno: each output
 *       component is a polynomial in the input components with coefficients
 *       s_k = sigma^(k)(Z_0); its partial derivatives (including through s_k,
 *       d s_k / d Z_0 = s_{k+1}) give Zbar. docs/pinn.md writes them out.
 * Nothing is approximated: this is the gradient of the discrete loss, up to
 * rounding. Compiled twice (f64, f32) by including itself. */
#ifndef PINN_ADJ_T
#include "pinn_internal.h"

#include <string.h>

#define PINN_ADJ_T double
#define PINN_ADJ_S(n) n##_f64
#define PINN_ADJ_THETA(m) ((const double *)(m)->theta)
#include "pinn_adjoint.c"
#undef PINN_ADJ_T
#undef PINN_ADJ_S
#undef PINN_ADJ_THETA
#define PINN_ADJ_T float
#define PINN_ADJ_S(n) n##_f32
#define PINN_ADJ_THETA(m) ((const float *)(m)->theta32)
#include "pinn_adjoint.c"

#else /* ---- typed kernels --------------------------------------------------- */

/* Hb: adjoint of the activation output; Z, H: the forward jet; -> Zb.
 * A strip of n values per component, components ld apart. */
static void PINN_ADJ_S(act_backward)(tess_act_t act, const pinn_layout_t *L, size_t n, size_t ld,
                                     const PINN_ADJ_T *Z, const PINN_ADJ_T *H,
                                     const PINN_ADJ_T *Hb, PINN_ADJ_T *Zb, PINN_ADJ_T *S)
{
  typedef PINN_ADJ_T T;
  const int din = L->din;
  /* tanh recovers its derivatives from the stored value t = H_0 */
  PINN_ADJ_S(pinn_act_eval)(act, n, Z, act == TESS_ACT_TANH ? H : NULL, L->maxord + 1, S);
  const T *s1 = S + n, *s2 = S + 2 * n, *s3 = S + 3 * n, *s4 = S + 4 * n, *s5 = S + 5 * n;
#define ZC(c) (Z + (size_t)(c) * ld)
#define HB(c) (Hb + (size_t)(c) * ld)
#define ZB(c) (Zb + (size_t)(c) * ld)
  T *zb0 = ZB(0);
  const T *hb0 = HB(0);
  for (size_t q = 0; q < n; q++) zb0[q] = s1[q] * hb0[q];
  for (int i = 0; i < din; i++) {
    const T *zi = ZC(1 + i), *hbi = HB(1 + i);
    T *zbi = ZB(1 + i);
    for (size_t q = 0; q < n; q++) {
      zbi[q] = s1[q] * hbi[q];
      zb0[q] += s2[q] * zi[q] * hbi[q];
    }
  }
  for (int p = 0; p < L->npairs; p++) {
    const int c = L->c_pair + p, i = L->pi[p], j = L->pj[p];
    const T *zp = ZC(c), *zi = ZC(1 + i), *zj = ZC(1 + j), *hbp = HB(c);
    T *zbp = ZB(c), *zbi = ZB(1 + i), *zbj = ZB(1 + j);
    for (size_t q = 0; q < n; q++) {
      T g = hbp[q];
      zbp[q] = s1[q] * g;
      zb0[q] += (s2[q] * zp[q] + s3[q] * zi[q] * zj[q]) * g;
      zbi[q] += s2[q] * zj[q] * g;
      zbj[q] += s2[q] * zi[q] * g;
    }
  }
  if (L->c_lap >= 0) {
    const T *zl = ZC(L->c_lap), *hbl = HB(L->c_lap);
    T *zbl = ZB(L->c_lap);
    for (size_t q = 0; q < n; q++) {
      zbl[q] = s1[q] * hbl[q];
      zb0[q] += s2[q] * zl[q] * hbl[q];
    }
    for (int i = 0; i < din; i++) {
      const T *zi = ZC(1 + i);
      T *zbi = ZB(1 + i);
      for (size_t q = 0; q < n; q++) {
        T g = hbl[q];
        zb0[q] += s3[q] * zi[q] * zi[q] * g;
        zbi[q] += 2 * s2[q] * zi[q] * g;
      }
    }
  }
  for (int k = 0; k < L->ndirs; k++) {
    const int K = L->dord[k], c = L->c_dir[k];
    for (size_t q = 0; q < n; q++) {
      T a1 = ZC(c)[q], a2 = K >= 2 ? ZC(c + 1)[q] : 0, a3 = K >= 3 ? ZC(c + 2)[q] : 0,
        a4 = K >= 4 ? ZC(c + 3)[q] : 0;
      T g1 = HB(c)[q], g2 = K >= 2 ? HB(c + 1)[q] : 0, g3 = K >= 3 ? HB(c + 2)[q] : 0,
        g4 = K >= 4 ? HB(c + 3)[q] : 0;
      T S1 = s1[q], S2 = s2[q], S3 = s3[q], S4 = K >= 3 ? s4[q] : 0, S5 = K >= 4 ? s5[q] : 0;
      T b1 = S1 * g1, z0 = S2 * a1 * g1;
      if (K >= 2) {
        b1 += 2 * S2 * a1 * g2;
        ZB(c + 1)[q] = S1 * g2;
        z0 += (S2 * a2 + S3 * a1 * a1) * g2;
      }
      if (K >= 3) {
        b1 += (3 * S2 * a2 + 3 * S3 * a1 * a1) * g3;
        ZB(c + 1)[q] += 3 * S2 * a1 * g3;
        ZB(c + 2)[q] = S1 * g3;
        z0 += (S2 * a3 + 3 * S3 * a1 * a2 + S4 * a1 * a1 * a1) * g3;
      }
      if (K >= 4) {
        b1 += (4 * S2 * a3 + 12 * S3 * a1 * a2 + 4 * S4 * a1 * a1 * a1) * g4;
        ZB(c + 1)[q] += (6 * S2 * a2 + 6 * S3 * a1 * a1) * g4;
        ZB(c + 2)[q] += 4 * S2 * a1 * g4;
        ZB(c + 3)[q] = S1 * g4;
        z0 += (S2 * a4 + 4 * S3 * a1 * a3 + 3 * S3 * a2 * a2 + 6 * S4 * a1 * a1 * a2
               + S5 * a1 * a1 * a1 * a1) * g4;
      }
      ZB(c)[q] = b1;
      zb0[q] += z0;
    }
  }
#undef ZC
#undef HB
#undef ZB
}

/* In strips, as the forward layer (taylor_jet.c says why; same bits). Each
 * strip of Hb is zeroed once consumed, while it is in cache: the next layer's
 * product then accumulates onto zeros instead of BLAS zeroing it first. */
static void PINN_ADJ_S(act_backward_strips)(tess_act_t act, const pinn_layout_t *L, size_t n,
                                            const PINN_ADJ_T *Z, const PINN_ADJ_T *H,
                                            PINN_ADJ_T *Hb, PINN_ADJ_T *Zb, PINN_ADJ_T *S)
{
  for (size_t q0 = 0; q0 < n; q0 += PINN_STRIP) {
    size_t len = n - q0 < PINN_STRIP ? n - q0 : PINN_STRIP;
    PINN_ADJ_S(act_backward)(act, L, len, n, Z + q0, H + q0, Hb + q0, Zb + q0, S);
    for (int c = 0; c < L->ncomp; c++) memset(Hb + (size_t)c * n + q0, 0, len * sizeof *Hb);
  }
}

void PINN_ADJ_S(pinn_jet_backward)(const tess_mlp_t *mlp, const pinn_layout_t *L,
                                   pinn_work_t *w)
{
  typedef PINN_ADJ_T T;
  const size_t B = w->B, C = (size_t)L->ncomp;
  const T *theta = PINN_ADJ_THETA(mlp);
  /* hb (w->bar1) is zero between uses: allocated so, and act_backward_strips
   * zeroes what each product wrote once it has consumed it */
  T *g = w->gpart, *zb = w->bar0, *hb = w->bar1;
  for (int l = mlp->nlayers - 1; l >= 0; l--) {
    const size_t nin = (size_t)mlp->width[l], nout = (size_t)mlp->width[l + 1];
    const T *W = theta + mlp->woff[l];
    PINN_ADJ_S(tess_gemm_tn)(nout, nin, C * B, zb, w->H[l], g + mlp->woff[l]);
    T *gb = g + mlp->boff[l];
    for (size_t j = 0; j < nout; j++) gb[j] = 0;
    for (size_t b = 0; b < B; b++)
      for (size_t j = 0; j < nout; j++) gb[j] += zb[b * nout + j];
    if (l == 0) break;
    PINN_ADJ_S(tess_gemm_nn_acc)(C * B, nin, nout, zb, W, hb);   /* hb is all zeros here */
    PINN_ADJ_S(act_backward_strips)(mlp->act, L, B * nin, w->Z[l - 1], w->H[l], hb, zb, w->S);
  }
}
#endif
