/* ml/softmax.c: softmax over the last dim (max-subtracted), forward and
 * exact backward from the output. */
#include <math.h>

#include "ml_internal.h"

#define DEF_SOFTMAX(T, S)                                                                \
  static void softmax_##S(size_t rows, size_t d, const T *x, T *y)                       \
  {                                                                                      \
    for (size_t r = 0; r < rows; r++) {                                                  \
      const T *xr = x + r * d;                                                           \
      double m = -INFINITY, s = 0;                                                       \
      for (size_t j = 0; j < d; j++) m = xr[j] > m ? xr[j] : m;                          \
      for (size_t j = 0; j < d; j++) s += exp(xr[j] - m);                                \
      for (size_t j = 0; j < d; j++) y[r * d + j] = (T)(exp(xr[j] - m) / s);             \
    }                                                                                    \
  }                                                                                      \
  static void softmax_bwd_##S(size_t rows, size_t d, const T *y, const T *dy, T *dx)     \
  {                                                                                      \
    for (size_t r = 0; r < rows; r++) {                                                  \
      const T *yr = y + r * d, *gr = dy + r * d;                                         \
      double c = 0;                                                                      \
      for (size_t j = 0; j < d; j++) c += (double)yr[j] * gr[j];                         \
      for (size_t j = 0; j < d; j++) dx[r * d + j] = (T)(yr[j] * (gr[j] - c));           \
    }                                                                                    \
  }
ML_INSTANTIATE(DEF_SOFTMAX)

tess_err_t tess_ml_softmax(tess_dtype_t t, size_t rows, size_t d, const void *x, void *y)
{
  tess_err_t err = TESS_OK;
  ML_DTYPE(t);
  ML_NONNULL(x);
  ML_NONNULL(y);
  ML_CALL(t, softmax, rows, d, x, y);
cleanup:
  return err;
}

tess_err_t tess_ml_softmax_backward(tess_dtype_t t, size_t rows, size_t d, const void *y,
                                    const void *dy, void *dx)
{
  tess_err_t err = TESS_OK;
  ML_DTYPE(t);
  ML_NONNULL(y);
  ML_NONNULL(dy);
  ML_NONNULL(dx);
  ML_CALL(t, softmax_bwd, rows, d, y, dy, dx);
cleanup:
  return err;
}
