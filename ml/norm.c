/* ml/norm.c: LayerNorm and RMSNorm over the last dim, forward and exact
 * backward. Row statistics in double; the parameter gradients are summed
 * over rows in a double buffer, in row order, then added to the caller's. */
#include <math.h>
#include <stdlib.h>

#include "ml_internal.h"

#define DEF_NORM(T, S)                                                                        \
  static void layernorm_##S(size_t rows, size_t d, const T *x, const T *g, const T *b,       \
                            double eps, T *y, double *mean, double *rstd)                    \
  {                                                                                          \
    for (size_t r = 0; r < rows; r++) {                                                      \
      const T *xr = x + r * d;                                                               \
      double mu = 0, var = 0;                                                                \
      for (size_t j = 0; j < d; j++) mu += xr[j];                                            \
      mu /= (double)d;                                                                       \
      for (size_t j = 0; j < d; j++) var += (xr[j] - mu) * (xr[j] - mu);                     \
      double rs = 1.0 / sqrt(var / (double)d + eps);                                         \
      for (size_t j = 0; j < d; j++)                                                         \
        y[r * d + j] = (T)((xr[j] - mu) * rs * (double)g[j] + (b ? (double)b[j] : 0.0));     \
      if (mean) mean[r] = mu;                                                                \
      if (rstd) rstd[r] = rs;                                                                \
    }                                                                                        \
  }                                                                                          \
  static void layernorm_bwd_##S(size_t rows, size_t d, const T *x, const T *g,              \
                                const double *mean, const double *rstd, const T *dy, T *dx,  \
                                double *dg, double *db)                                      \
  {                                                                                          \
    for (size_t r = 0; r < rows; r++) {                                                      \
      const T *xr = x + r * d, *dyr = dy + r * d;                                            \
      double a = 0, c = 0, mu = mean[r], rs = rstd[r];                                       \
      for (size_t j = 0; j < d; j++) {                                                       \
        double xh = (xr[j] - mu) * rs, gh = (double)dyr[j] * g[j];                           \
        a += gh;                                                                             \
        c += gh * xh;                                                                        \
        if (dg) dg[j] += (double)dyr[j] * xh;                                                \
        if (db) db[j] += dyr[j];                                                             \
      }                                                                                      \
      a /= (double)d;                                                                        \
      c /= (double)d;                                                                        \
      for (size_t j = 0; j < d; j++) {                                                       \
        double xh = (xr[j] - mu) * rs;                                                       \
        dx[r * d + j] = (T)(rs * ((double)dyr[j] * g[j] - a - xh * c));                      \
      }                                                                                      \
    }                                                                                        \
  }                                                                                          \
  static void rmsnorm_##S(size_t rows, size_t d, const T *x, const T *g, double eps, T *y,   \
                          double *rstd)                                                      \
  {                                                                                          \
    for (size_t r = 0; r < rows; r++) {                                                      \
      const T *xr = x + r * d;                                                               \
      double ss = 0;                                                                         \
      for (size_t j = 0; j < d; j++) ss += (double)xr[j] * xr[j];                            \
      double rs = 1.0 / sqrt(ss / (double)d + eps);                                          \
      for (size_t j = 0; j < d; j++) y[r * d + j] = (T)(xr[j] * rs * (double)g[j]);          \
      if (rstd) rstd[r] = rs;                                                                \
    }                                                                                        \
  }                                                                                          \
  static void rmsnorm_bwd_##S(size_t rows, size_t d, const T *x, const T *g,                \
                              const double *rstd, const T *dy, T *dx, double *dg)            \
  {                                                                                          \
    for (size_t r = 0; r < rows; r++) {                                                      \
      const T *xr = x + r * d, *dyr = dy + r * d;                                            \
      double c = 0, rs = rstd[r];                                                            \
      for (size_t j = 0; j < d; j++) {                                                       \
        double xh = xr[j] * rs;                                                              \
        c += (double)dyr[j] * g[j] * xh;                                                     \
        if (dg) dg[j] += (double)dyr[j] * xh;                                                \
      }                                                                                      \
      c /= (double)d;                                                                        \
      for (size_t j = 0; j < d; j++)                                                         \
        dx[r * d + j] = (T)(rs * ((double)dyr[j] * g[j] - xr[j] * rs * c));                  \
    }                                                                                        \
  }                                                                                          \
  static void add_to_##S(size_t n, const double *a, void *dst)                              \
  {                                                                                          \
    T *p = dst;                                                                              \
    if (a && p)                                                                              \
      for (size_t j = 0; j < n; j++) p[j] = (T)(p[j] + a[j]);                                \
  }
ML_INSTANTIATE(DEF_NORM)

static tess_err_t check(tess_dtype_t t, size_t d)
{
  tess_err_t err = TESS_OK;
  ML_DTYPE(t);
  TESS_REQUIRE(d > 0, TESS_ERR_ARG, "norm: the normalized dim d is 0");
cleanup:
  return err;
}

tess_err_t tess_ml_layernorm(tess_dtype_t t, size_t rows, size_t d, const void *x,
                             const void *gamma, const void *beta, double eps, void *y,
                             double *mean, double *rstd)
{
  tess_err_t err = TESS_OK;
  TESS_CHECK(check(t, d));
  ML_NONNULL(x);
  ML_NONNULL(gamma);
  ML_NONNULL(y);
  ML_HOST(beta);
  ML_HOST(mean);
  ML_HOST(rstd);
  TESS_REQUIRE(eps >= 0, TESS_ERR_ARG, "%s: eps %g < 0", __func__, eps);
  ML_CALL(t, layernorm, rows, d, x, gamma, beta, eps, y, mean, rstd);
cleanup:
  return err;
}

tess_err_t tess_ml_layernorm_backward(tess_dtype_t t, size_t rows, size_t d, const void *x,
                                      const void *gamma, const double *mean, const double *rstd,
                                      const void *dy, void *dx, void *dgamma, void *dbeta)
{
  tess_err_t err = TESS_OK;
  double *acc = NULL;
  TESS_CHECK(check(t, d));
  ML_NONNULL(x);
  ML_NONNULL(gamma);
  ML_NONNULL(mean);
  ML_NONNULL(rstd);
  ML_NONNULL(dy);
  ML_NONNULL(dx);
  ML_HOST(dgamma);
  ML_HOST(dbeta);
  acc = calloc(2 * d, sizeof *acc);
  TESS_REQUIRE(acc != NULL, TESS_ERR_MEM, "%s: %zu parameter sums", __func__, 2 * d);
  ML_CALL(t, layernorm_bwd, rows, d, x, gamma, mean, rstd, dy, dx, dgamma ? acc : NULL,
          dbeta ? acc + d : NULL);
  ML_CALL(t, add_to, d, acc, dgamma);
  ML_CALL(t, add_to, d, acc + d, dbeta);
cleanup:
  free(acc);
  return err;
}

tess_err_t tess_ml_rmsnorm(tess_dtype_t t, size_t rows, size_t d, const void *x,
                           const void *gamma, double eps, void *y, double *rstd)
{
  tess_err_t err = TESS_OK;
  TESS_CHECK(check(t, d));
  ML_NONNULL(x);
  ML_NONNULL(gamma);
  ML_NONNULL(y);
  ML_HOST(rstd);
  TESS_REQUIRE(eps >= 0, TESS_ERR_ARG, "%s: eps %g < 0", __func__, eps);
  ML_CALL(t, rmsnorm, rows, d, x, gamma, eps, y, rstd);
cleanup:
  return err;
}

tess_err_t tess_ml_rmsnorm_backward(tess_dtype_t t, size_t rows, size_t d, const void *x,
                                    const void *gamma, const double *rstd, const void *dy,
                                    void *dx, void *dgamma)
{
  tess_err_t err = TESS_OK;
  double *acc = NULL;
  TESS_CHECK(check(t, d));
  ML_NONNULL(x);
  ML_NONNULL(gamma);
  ML_NONNULL(rstd);
  ML_NONNULL(dy);
  ML_NONNULL(dx);
  ML_HOST(dgamma);
  acc = calloc(d, sizeof *acc);
  TESS_REQUIRE(acc != NULL, TESS_ERR_MEM, "%s: %zu parameter sums", __func__, d);
  ML_CALL(t, rmsnorm_bwd, rows, d, x, gamma, rstd, dy, dx, dgamma ? acc : NULL);
  ML_CALL(t, add_to, d, acc, dgamma);
cleanup:
  free(acc);
  return err;
}
