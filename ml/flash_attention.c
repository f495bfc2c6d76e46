/* ml/flash_attention.c: fused attention on the host, forward and backward,
 * in the FlashAttention form: each query row streams over key tiles with an
 * online softmax (running max and sum, the accumulator rescaled when the
 * max grows), so no S x S score matrix exists; the backward recomputes the
 * probabilities from the saved log-sum-exp. Arithmetic in double; a fixed
 * tile size and loop order (no reduction whose order depends on threads),
 * so the results are the same bits wherever they run. Grouped-query heads:
 * the gradients of a kv head are summed over its query heads in head order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ml_internal.h"

#define KEY_TILE 64   /* keys per online-softmax step (part of the bits: fixed) */

#define DEF_FLASH(T, X)                                                                     \
  static double dot_##X(const T *x, const T *y, size_t n)                                  \
  {                                                                                        \
    double s = 0;                                                                          \
    for (size_t d = 0; d < n; d++) s += (double)x[d] * y[d];                               \
    return s;                                                                              \
  }                                                                                        \
  static void flash_fwd_##X(const tess_ml_attn_t *a, const T *q, const T *k, const T *v,   \
                            T *o, double *lse, double *acc)                                \
  {                                                                                        \
    size_t L = a->S, D = a->D, grp = a->Hq / a->Hkv;                                       \
    double sc[KEY_TILE];                                                                   \
    for (size_t b = 0; b < a->B; b++)                                                      \
      for (size_t h = 0; h < a->Hq; h++) {                                                 \
        size_t qo = (b * a->Hq + h) * L * D, ko = (b * a->Hkv + h / grp) * L * D;          \
        for (size_t i = 0; i < L; i++) {                                                   \
          const T *qi = q + qo + i * D;                                                    \
          size_t jend = a->causal ? i + 1 : L;                                             \
          double m = -INFINITY, l = 0;                                                     \
          memset(acc, 0, sizeof *acc * D);                                                 \
          for (size_t j0 = 0; j0 < jend; j0 += KEY_TILE) {                                 \
            size_t nb = jend - j0 < KEY_TILE ? jend - j0 : KEY_TILE;                       \
            double mt = -INFINITY;                                                         \
            for (size_t t = 0; t < nb; t++) {                                              \
              sc[t] = a->scale * dot_##X(qi, k + ko + (j0 + t) * D, D);                    \
              if (sc[t] > mt) mt = sc[t];                                                  \
            }                                                                              \
            double mn = mt > m ? mt : m, al = exp(m - mn);                                 \
            l *= al;                                                                       \
            for (size_t d = 0; d < D; d++) acc[d] *= al;                                   \
            for (size_t t = 0; t < nb; t++) {                                              \
              double p = exp(sc[t] - mn);                                                  \
              const T *vj = v + ko + (j0 + t) * D;                                         \
              l += p;                                                                      \
              for (size_t d = 0; d < D; d++) acc[d] += p * vj[d];                          \
            }                                                                              \
            m = mn;                                                                        \
          }                                                                                \
          for (size_t d = 0; d < D; d++) o[qo + i * D + d] = (T)(acc[d] / l);              \
          if (lse) lse[(b * a->Hq + h) * L + i] = m + log(l);                              \
        }                                                                                  \
      }                                                                                    \
  }                                                                                        \
  static void flash_bwd_##X(const tess_ml_attn_t *a, const T *q, const T *k, const T *v,   \
                            const T *o, const double *lse, const T *dout, T *dq, T *dk,    \
                            T *dv, double *dka, double *dva, double *dqa)                  \
  {                                                                                        \
    size_t L = a->S, D = a->D, grp = a->Hq / a->Hkv;                                       \
    for (size_t b = 0; b < a->B; b++)                                                      \
      for (size_t g = 0; g < a->Hkv; g++) {                                                \
        size_t ko = (b * a->Hkv + g) * L * D;                                              \
        memset(dka, 0, sizeof *dka * L * D);                                               \
        memset(dva, 0, sizeof *dva * L * D);                                               \
        for (size_t h = g * grp; h < (g + 1) * grp; h++) {                                 \
          size_t qo = (b * a->Hq + h) * L * D;                                             \
          for (size_t i = 0; i < L; i++) {                                                 \
            const T *qi = q + qo + i * D, *gi = dout + qo + i * D;                         \
            double di = dot_##X(gi, o + qo + i * D, D), li = lse[(b * a->Hq + h) * L + i]; \
            size_t jend = a->causal ? i + 1 : L;                                           \
            memset(dqa, 0, sizeof *dqa * D);                                               \
            for (size_t j = 0; j < jend; j++) {                                            \
              const T *kj = k + ko + j * D, *vj = v + ko + j * D;                          \
              double p = exp(a->scale * dot_##X(qi, kj, D) - li);                          \
              double ds = p * (dot_##X(gi, vj, D) - di) * a->scale;                        \
              for (size_t d = 0; d < D; d++) {                                             \
                dva[j * D + d] += p * gi[d];                                               \
                dqa[d] += ds * kj[d];                                                      \
                dka[j * D + d] += ds * qi[d];                                              \
              }                                                                            \
            }                                                                              \
            for (size_t d = 0; d < D; d++) dq[qo + i * D + d] = (T)dqa[d];                 \
          }                                                                                \
        }                                                                                  \
        for (size_t x = 0; x < L * D; x++) {                                               \
          dk[ko + x] = (T)dka[x];                                                          \
          dv[ko + x] = (T)dva[x];                                                          \
        }                                                                                  \
      }                                                                                    \
  }
ML_INSTANTIATE(DEF_FLASH)

static tess_err_t check_shape(const tess_ml_attn_t *a)
{
  tess_err_t err = TESS_OK;
  ML_NONNULL(a);
  TESS_REQUIRE(a->B > 0 && a->Hq > 0 && a->Hkv > 0 && a->S > 0 && a->D > 0, TESS_ERR_ARG,
               "attention: B %zu, Hq %zu, Hkv %zu, S %zu, D %zu (all must be > 0)", a->B, a->Hq,
               a->Hkv, a->S, a->D);
  TESS_REQUIRE(a->Hq % a->Hkv == 0, TESS_ERR_ARG,
               "attention: %zu query heads are not a multiple of %zu kv heads", a->Hq, a->Hkv);
  TESS_REQUIRE(a->scale > 0 && isfinite(a->scale), TESS_ERR_ARG,
               "attention: scale %g (expected > 0, usually 1/sqrt(D))", a->scale);
cleanup:
  return err;
}

tess_err_t tess_ml_flash_attention(tess_dtype_t t, const tess_ml_attn_t *a, const void *q,
                                   const void *k, const void *v, void *o, double *lse)
{
  tess_err_t err = TESS_OK;
  double *acc = NULL;
  ML_DTYPE(t);
  TESS_CHECK(check_shape(a));
  ML_NONNULL(q);
  ML_NONNULL(k);
  ML_NONNULL(v);
  ML_NONNULL(o);
  ML_HOST(lse);
  acc = malloc(sizeof *acc * a->D);
  TESS_REQUIRE(acc != NULL, TESS_ERR_MEM, "%s: accumulator of %zu", __func__, a->D);
  ML_CALL(t, flash_fwd, a, q, k, v, o, lse, acc);
cleanup:
  free(acc);
  return err;
}

tess_err_t tess_ml_flash_attention_backward(tess_dtype_t t, const tess_ml_attn_t *a,
                                            const void *q, const void *k, const void *v,
                                            const void *o, const double *lse, const void *dout,
                                            void *dq, void *dk, void *dv)
{
  tess_err_t err = TESS_OK;
  double *w = NULL;
  ML_DTYPE(t);
  TESS_CHECK(check_shape(a));
  ML_NONNULL(q);
  ML_NONNULL(k);
  ML_NONNULL(v);
  ML_NONNULL(o);
  ML_NONNULL(lse);
  ML_NONNULL(dout);
  ML_NONNULL(dq);
  ML_NONNULL(dk);
  ML_NONNULL(dv);
  /* one kv head's dK and dV sums and one query row's dQ, in double */
  w = malloc(sizeof *w * (2 * a->S * a->D + a->D));
  TESS_REQUIRE(w != NULL, TESS_ERR_MEM, "%s: %zu x %zu gradient sums", __func__, a->S, a->D);
  ML_CALL(t, flash_bwd, a, q, k, v, o, lse, dout, dq, dk, dv, w, w + a->S * a->D,
          w + 2 * a->S * a->D);
cleanup:
  free(w);
  return err;
}
