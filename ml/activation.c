/* ml/activation.c: GELU (tanh form) and SwiGLU, forward and exact backward. */
#include <math.h>

#include "ml_internal.h"

#define GELU_C 0.7978845608028654   /* sqrt(2 / pi) */
#define GELU_K 0.044715

static inline double sigmoid(double a) { return 1.0 / (1.0 + exp(-a)); }

#define DEF_ACT(T, S)                                                                     \
  static void gelu_##S(size_t n, const T *x, T *y)                                       \
  {                                                                                      \
    for (size_t i = 0; i < n; i++) {                                                     \
      double v = x[i];                                                                   \
      y[i] = (T)(0.5 * v * (1.0 + tanh(GELU_C * (v + GELU_K * v * v * v))));             \
    }                                                                                    \
  }                                                                                      \
  static void gelu_bwd_##S(size_t n, const T *x, const T *dy, T *dx)                     \
  {                                                                                      \
    for (size_t i = 0; i < n; i++) {                                                     \
      double v = x[i], th = tanh(GELU_C * (v + GELU_K * v * v * v));                     \
      double d = 0.5 * (1.0 + th) +                                                      \
                 0.5 * v * (1.0 - th * th) * GELU_C * (1.0 + 3.0 * GELU_K * v * v);       \
      dx[i] = (T)(dy[i] * d);                                                            \
    }                                                                                    \
  }                                                                                      \
  static void swiglu_##S(size_t rows, size_t h, const T *x, T *y)                        \
  {                                                                                      \
    for (size_t r = 0; r < rows; r++)                                                    \
      for (size_t j = 0; j < h; j++) {                                                   \
        double a = x[r * 2 * h + j], b = x[r * 2 * h + h + j];                           \
        y[r * h + j] = (T)(a * sigmoid(a) * b);                                          \
      }                                                                                  \
  }                                                                                      \
  static void swiglu_bwd_##S(size_t rows, size_t h, const T *x, const T *dy, T *dx)      \
  {                                                                                      \
    for (size_t r = 0; r < rows; r++)                                                    \
      for (size_t j = 0; j < h; j++) {                                                   \
        double a = x[r * 2 * h + j], b = x[r * 2 * h + h + j], s = sigmoid(a);           \
        double g = dy[r * h + j];                                                        \
        dx[r * 2 * h + j] = (T)(g * b * s * (1.0 + a * (1.0 - s)));                      \
        dx[r * 2 * h + h + j] = (T)(g * a * s);                                          \
      }                                                                                  \
  }
ML_INSTANTIATE(DEF_ACT)

tess_err_t tess_ml_gelu(tess_dtype_t t, size_t n, const void *x, void *y)
{
  tess_err_t err = TESS_OK;
  ML_DTYPE(t);
  ML_NONNULL(x);
  ML_NONNULL(y);
  ML_CALL(t, gelu, n, x, y);
cleanup:
  return err;
}

tess_err_t tess_ml_gelu_backward(tess_dtype_t t, size_t n, const void *x, const void *dy,
                                 void *dx)
{
  tess_err_t err = TESS_OK;
  ML_DTYPE(t);
  ML_NONNULL(x);
  ML_NONNULL(dy);
  ML_NONNULL(dx);
  ML_CALL(t, gelu_bwd, n, x, dy, dx);
cleanup:
  return err;
}

tess_err_t tess_ml_swiglu(tess_dtype_t t, size_t rows, size_t h, const void *x, void *y)
{
  tess_err_t err = TESS_OK;
  ML_DTYPE(t);
  ML_NONNULL(x);
  ML_NONNULL(y);
  ML_CALL(t, swiglu, rows, h, x, y);
cleanup:
  return err;
}

tess_err_t tess_ml_swiglu_backward(tess_dtype_t t, size_t rows, size_t h, const void *x,
                                   const void *dy, void *dx)
{
  tess_err_t err = TESS_OK;
  ML_DTYPE(t);
  ML_NONNULL(x);
  ML_NONNULL(dy);
  ML_NONNULL(dx);
  ML_CALL(t, swiglu_bwd, rows, h, x, dy, dx);
cleanup:
  return err;
}
