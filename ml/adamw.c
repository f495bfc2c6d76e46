/* ml/adamw.c: one AdamW step (decoupled weight decay, bias-corrected
 * moments), arithmetic in double, and the clipping factor of a global norm. */
#include <math.h>

#include "ml_internal.h"

#define DEF_ADAMW(T, S)                                                                  \
  static void adamw_##S(size_t n, const tess_ml_adamw_t *o, double c1, double c2,        \
                        double gs, T *p, const T *g, T *m, T *v)                         \
  {                                                                                      \
    for (size_t i = 0; i < n; i++) {                                                     \
      double gi = gs * g[i];                                                             \
      double mi = o->beta1 * m[i] + (1.0 - o->beta1) * gi;                               \
      double vi = o->beta2 * v[i] + (1.0 - o->beta2) * gi * gi;                          \
      double pi = p[i];                                                                  \
      pi -= o->lr * ((mi / c1) / (sqrt(vi / c2) + o->eps) + o->weight_decay * pi);       \
      m[i] = (T)mi;                                                                      \
      v[i] = (T)vi;                                                                      \
      p[i] = (T)pi;                                                                      \
    }                                                                                    \
  }
ML_INSTANTIATE(DEF_ADAMW)

tess_err_t tess_ml_adamw_step(tess_dtype_t t, size_t n, const tess_ml_adamw_t *o, int64_t step,
                              double grad_scale, void *p, const void *g, void *m, void *v)
{
  tess_err_t err = TESS_OK;
  ML_DTYPE(t);
  ML_NONNULL(o);
  ML_NONNULL(p);
  ML_NONNULL(g);
  ML_NONNULL(m);
  ML_NONNULL(v);
  TESS_REQUIRE(step >= 1, TESS_ERR_ARG, "%s: step %lld (counts from 1)", __func__, (long long)step);
  TESS_REQUIRE(o->beta1 >= 0 && o->beta1 < 1 && o->beta2 >= 0 && o->beta2 < 1, TESS_ERR_ARG,
               "%s: betas (%g, %g) outside [0, 1)", __func__, o->beta1, o->beta2);
  TESS_REQUIRE(o->lr >= 0 && o->eps > 0 && o->weight_decay >= 0, TESS_ERR_ARG,
               "%s: lr %g, eps %g, weight_decay %g (expected lr >= 0, eps > 0, wd >= 0)",
               __func__, o->lr, o->eps, o->weight_decay);
  ML_CALL(t, adamw, n, o, 1.0 - pow(o->beta1, (double)step), 1.0 - pow(o->beta2, (double)step),
          grad_scale, p, g, m, v);
cleanup:
  return err;
}

tess_err_t tess_ml_clip_scale(double sumsq, double max_norm, double *scale)
{
  tess_err_t err = TESS_OK;
  double nrm = sqrt(sumsq);
  ML_NONNULL(scale);
  TESS_REQUIRE(sumsq >= 0, TESS_ERR_NUMERIC, "%s: squared norm %g (negative or NaN)", __func__,
               sumsq);
  *scale = max_norm > 0 && nrm > max_norm ? max_norm / (nrm + 1e-6) : 1.0;
cleanup:
  return err;
}
