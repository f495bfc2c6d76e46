/* ml/rotary.c: rotary position embedding (pairs (x[2i], x[2i+1]) of each
 * head rotated by pos * base^(-2i/d)); the backward is the inverse rotation. */
#include <math.h>

#include "ml_internal.h"

#define DEF_ROTARY(T, S)                                                                 \
  static void rotary_##S(size_t n, size_t heads, size_t d, const int64_t *pos,           \
                         double base, double sign, const T *x, T *y)                     \
  {                                                                                      \
    for (size_t p = 0; p < n; p++)                                                       \
      for (size_t i = 0; i < d / 2; i++) {                                               \
        double th = (double)pos[p] * pow(base, -2.0 * (double)i / (double)d);            \
        double c = cos(th), s = sign * sin(th);                                          \
        for (size_t h = 0; h < heads; h++) {                                             \
          size_t o = (p * heads + h) * d + 2 * i;                                        \
          double a = x[o], b = x[o + 1];                                                 \
          y[o] = (T)(a * c - b * s);                                                     \
          y[o + 1] = (T)(a * s + b * c);                                                 \
        }                                                                                \
      }                                                                                  \
  }
ML_INSTANTIATE(DEF_ROTARY)

/* The public functions check their own pointers, so messages name the
 * caller's function and argument (dy, dx in the backward). */
static tess_err_t run(tess_dtype_t t, size_t n, size_t heads, size_t d, const int64_t *pos,
                      double base, double sign, const void *x, void *y)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(d % 2 == 0, TESS_ERR_ARG, "rotary: head dim %zu is odd (pairs are rotated)", d);
  TESS_REQUIRE(base > 0, TESS_ERR_ARG, "rotary: base %g <= 0", base);
  ML_CALL(t, rotary, n, heads, d, pos, base, sign, x, y);
cleanup:
  return err;
}

tess_err_t tess_ml_rotary(tess_dtype_t t, size_t n, size_t heads, size_t d, const int64_t *pos,
                          double base, const void *x, void *y)
{
  tess_err_t err = TESS_OK;
  ML_DTYPE(t);
  ML_NONNULL(pos);
  ML_NONNULL(x);
  ML_NONNULL(y);
  TESS_CHECK(run(t, n, heads, d, pos, base, 1.0, x, y));
cleanup:
  return err;
}

tess_err_t tess_ml_rotary_backward(tess_dtype_t t, size_t n, size_t heads, size_t d,
                                   const int64_t *pos, double base, const void *dy, void *dx)
{
  tess_err_t err = TESS_OK;
  ML_DTYPE(t);
  ML_NONNULL(pos);
  ML_NONNULL(dy);
  ML_NONNULL(dx);
  TESS_CHECK(run(t, n, heads, d, pos, base, -1.0, dy, dx));
cleanup:
  return err;
}
