/* ml/cross_entropy.c: softmax + cross-entropy + its gradient in one pass per
 * row, without a probability array; the loss summed exactly (tess_sum_f64),
 * so it does not depend on how rows are grouped. */
#include <math.h>
#include <stdlib.h>
#include <tessera/reduce.h>

#include "ml_internal.h"

#define DEF_XENT(T, S)                                                                   \
  static void xent_##S(size_t rows, size_t v, const T *x, const int32_t *lab, double div, \
                       double *lr, T *dx)                                                \
  {                                                                                      \
    for (size_t r = 0; r < rows; r++) {                                                  \
      const T *xr = x + r * v;                                                           \
      if (lab[r] < 0) {                                                                  \
        lr[r] = 0;                                                                       \
        if (dx)                                                                          \
          for (size_t j = 0; j < v; j++) dx[r * v + j] = 0;                              \
        continue;                                                                        \
      }                                                                                  \
      double m = -INFINITY, s = 0;                                                       \
      for (size_t j = 0; j < v; j++) m = xr[j] > m ? xr[j] : m;                          \
      for (size_t j = 0; j < v; j++) s += exp(xr[j] - m);                                \
      double lse = m + log(s), xl = xr[lab[r]];                                          \
      lr[r] = lse - xl;                                                                  \
      if (dx) /* dx may be x itself: each element is read before it is written */       \
        for (size_t j = 0; j < v; j++)                                                   \
          dx[r * v + j] = (T)((exp(xr[j] - lse) - ((size_t)lab[r] == j ? 1.0 : 0.0)) / div); \
    }                                                                                    \
  }
ML_INSTANTIATE(DEF_XENT)

tess_err_t tess_ml_cross_entropy(tess_dtype_t t, size_t rows, size_t v, const void *logits,
                                 const int32_t *labels, double scale_div, double *loss,
                                 double *loss_rows, void *dlogits)
{
  tess_err_t err = TESS_OK;
  double *lr = loss_rows, sum = 0;
  ML_DTYPE(t);
  ML_NONNULL(logits);
  ML_NONNULL(labels);
  ML_NONNULL(loss);
  ML_HOST(loss_rows);
  ML_HOST(dlogits);
  TESS_REQUIRE(v > 0, TESS_ERR_ARG, "%s: vocabulary size 0", __func__);
  TESS_REQUIRE(scale_div >= 0, TESS_ERR_ARG, "%s: scale_div %g < 0", __func__, scale_div);
  for (size_t r = 0; r < rows; r++)
    TESS_REQUIRE(labels[r] < 0 || (size_t)labels[r] < v, TESS_ERR_ARG,
                 "%s: labels[%zu] = %d outside the vocabulary [0, %zu) (negative: masked)",
                 __func__, r, (int)labels[r], v);
  if (scale_div == 0) scale_div = 1;
  if (!lr) {
    lr = malloc(sizeof *lr * (rows ? rows : 1));
    TESS_REQUIRE(lr != NULL, TESS_ERR_MEM, "%s: %zu row losses", __func__, rows);
  }
  ML_CALL(t, xent, rows, v, logits, labels, scale_div, lr, dlogits);
  TESS_CHECK(tess_sum_f64(lr, rows, MPI_COMM_SELF, &sum));
  *loss = sum / scale_div;
cleanup:
  if (lr != loss_rows) free(lr);
  return err;
}
