/* ml/linear.c: the dense layer y = x W^T + b and its backward, on the
 * runtime's deterministic products (tessera/gemm.h). dW is formed in a work
 * array and then added, so the caller's gradient accumulates. */
#include <stdlib.h>
#include <string.h>
#include <tessera/gemm.h>

#include "ml_internal.h"

#define DEF_LINEAR(T, S)                                                                  \
  static void linear_##S(size_t rows, size_t k, size_t n, const T *x, const T *w,        \
                         const T *b, T *y)                                               \
  {                                                                                      \
    for (size_t r = 0; r < rows; r++)                                                    \
      for (size_t j = 0; j < n; j++) y[r * n + j] = b ? b[j] : (T)0;                     \
    tess_gemm_nt_acc_##S(rows, n, k, x, w, y);                                           \
  }                                                                                      \
  static void linear_bwd_##S(size_t rows, size_t k, size_t n, const T *x, const T *w,    \
                             const T *dy, T *dx, T *dw, T *db, T *tmp)                   \
  {                                                                                      \
    if (dx) {                                                                            \
      memset(dx, 0, sizeof *dx * rows * k);                                              \
      tess_gemm_nn_acc_##S(rows, k, n, dy, w, dx);                                       \
    }                                                                                    \
    tess_gemm_tn_##S(n, k, rows, dy, x, tmp);                                            \
    for (size_t i = 0; i < n * k; i++) dw[i] = (T)(dw[i] + tmp[i]);                      \
    if (db)                                                                              \
      for (size_t j = 0; j < n; j++) {                                                   \
        double s = 0;                                                                    \
        for (size_t r = 0; r < rows; r++) s += dy[r * n + j];                            \
        db[j] = (T)(db[j] + s);                                                          \
      }                                                                                  \
  }
ML_INSTANTIATE(DEF_LINEAR)

tess_err_t tess_ml_linear(tess_dtype_t t, size_t rows, size_t k, size_t n, const void *x,
                          const void *w, const void *bias, void *y)
{
  tess_err_t err = TESS_OK;
  ML_DTYPE(t);
  ML_NONNULL(x);
  ML_NONNULL(w);
  ML_NONNULL(y);
  ML_HOST(bias);
  ML_CALL(t, linear, rows, k, n, x, w, bias, y);
cleanup:
  return err;
}

tess_err_t tess_ml_linear_backward(tess_dtype_t t, size_t rows, size_t k, size_t n,
                                   const void *x, const void *w, const void *dy, void *dx,
                                   void *dw, void *dbias)
{
  tess_err_t err = TESS_OK;
  void *tmp = NULL;
  ML_DTYPE(t);
  ML_NONNULL(x);
  ML_NONNULL(w);
  ML_NONNULL(dy);
  ML_NONNULL(dw);
  ML_HOST(dx);
  ML_HOST(dbias);
  tmp = malloc(tess_dtype_size(t) * (n * k > 0 ? n * k : 1));
  TESS_REQUIRE(tmp != NULL, TESS_ERR_MEM, "%s: %zu x %zu weight gradient", __func__, n, k);
  ML_CALL(t, linear_bwd, rows, k, n, x, w, dy, dx, dw, dbias, tmp);
cleanup:
  free(tmp);
  return err;
}
