/* pde/activation.c: activations and their derivatives to 5th order.
 * Jets to order 4 need s_1..s_4; their exact adjoints need one more (the
 * derivative of s_4 with respect to the pre-activation), hence 5. Each
 * derivative is written in the form that stays accurate where the naive one
 * cancels: tanh as polynomials in t = tanh z, softplus in p = sigmoid(z) and
 * q = sigmoid(-z) (never 1 - p), GELU as phi(z) times polynomials in z.
 * The file compiles its vector kernel twice (f64, f32) by including itself. */
#ifndef PINN_ACT_T
#include "pinn_internal.h"

#include <math.h>
#include <string.h>

static const char *const act_names[TESS_ACT_N] = { "tanh", "sin", "softplus", "gelu" };

#include "activation_tanh.h"

/* The tanh passes, cloned for AVX-512 and AVX2 (picked at load time; the
 * library itself targets baseline x86-64). Same IEEE operations in every
 * clone, so the same bits. CMake builds this file with -fno-trapping-math
 * (gcc): it lets the clamps above become vector selects, no result changes. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define PINN_VEC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PINN_VEC_CLONES
#endif

PINN_VEC_CLONES static void pinn_tanh_f64(size_t n, const double *restrict z, double *restrict t)
{
  for (size_t q = 0; q < n; q++) t[q] = pinn_tanh(z[q]);
}

PINN_VEC_CLONES static void pinn_tanh_f32(size_t n, const float *restrict z, float *restrict t)
{
  for (size_t q = 0; q < n; q++) t[q] = pinn_tanhf(z[q]);
}

tess_err_t tess_act_parse(const char *name, tess_act_t *act)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(name && act, TESS_ERR_ARG, "NULL argument");
  for (int a = 0; a < TESS_ACT_N; a++)
    if (strcmp(name, act_names[a]) == 0) { *act = (tess_act_t)a; return TESS_OK; }
  TESS_REQUIRE(0, TESS_ERR_ARG, "unknown activation '%s' (expected tanh|sin|softplus|gelu)", name);
cleanup:
  return err;
}

const char *tess_act_name(tess_act_t act)
{
  return (act >= 0 && act < TESS_ACT_N) ? act_names[act] : "?";
}

#define PINN_ACT_T double
#define PINN_ACT_S(n) n##_f64
#define PINN_ACT_DERIVS tess_act_derivs
#define PINN_M(f) f
#include "activation.c"
#undef PINN_ACT_T
#undef PINN_ACT_S
#undef PINN_ACT_DERIVS
#undef PINN_M
#define PINN_ACT_T float
#define PINN_ACT_S(n) n##_f32
#define PINN_ACT_DERIVS tess_act_derivs_f32
#define PINN_M(fn) fn##f
#include "activation.c"

#else /* ---- typed kernel ---------------------------------------------------- */

void PINN_ACT_S(pinn_act_eval)(tess_act_t act, size_t n, const PINN_ACT_T *z,
                               const PINN_ACT_T *h0, int m, PINN_ACT_T *s)
{
  typedef PINN_ACT_T T;
  T *s0 = s, *s1 = s + n, *s2 = s + 2 * n, *s3 = s + 3 * n, *s4 = s + 4 * n, *s5 = s + 5 * n;
  switch (act) {
  case TESS_ACT_TANH:
    /* one pass per derivative: each loop vectorises */
    if (h0) memmove(s0, h0, n * sizeof *s0);
    else PINN_ACT_S(pinn_tanh)(n, z, s0);
    if (m >= 1) for (size_t q = 0; q < n; q++) { T t = s0[q]; s1[q] = 1 - t * t; }
    if (m >= 2) for (size_t q = 0; q < n; q++) { T t = s0[q]; s2[q] = -2 * t * (1 - t * t); }
    if (m >= 3) for (size_t q = 0; q < n; q++) { T t2 = s0[q] * s0[q]; s3[q] = -2 + t2 * (8 - 6 * t2); }
    if (m >= 4)
      for (size_t q = 0; q < n; q++) {
        T t = s0[q], t2 = t * t;
        s4[q] = t * (16 + t2 * (-40 + 24 * t2));
      }
    if (m >= 5)
      for (size_t q = 0; q < n; q++) {
        T t2 = s0[q] * s0[q];
        s5[q] = 16 + t2 * (-136 + t2 * (240 - 120 * t2));
      }
    break;
  case TESS_ACT_SIN:
    for (size_t q = 0; q < n; q++) {
      T sn = h0 ? h0[q] : PINN_M(sin)(z[q]), cs = PINN_M(cos)(z[q]);
      s0[q] = sn;
      if (m >= 1) s1[q] = cs;
      if (m >= 2) s2[q] = -sn;
      if (m >= 3) s3[q] = -cs;
      if (m >= 4) s4[q] = sn;
      if (m >= 5) s5[q] = cs;
    }
    break;
  case TESS_ACT_SOFTPLUS:
    for (size_t q = 0; q < n; q++) {
      T x = z[q], e = PINN_M(exp)(-PINN_M(fabs)(x));
      T p = x >= 0 ? 1 / (1 + e) : e / (1 + e);      /* sigmoid(x) */
      T r = x >= 0 ? e / (1 + e) : 1 / (1 + e);      /* sigmoid(-x) */
      T pq = p * r, d = r - p;
      s0[q] = h0 ? h0[q] : (x > 0 ? x : 0) + PINN_M(log1p)(e);
      if (m >= 1) s1[q] = p;
      if (m >= 2) s2[q] = pq;
      if (m >= 3) s3[q] = pq * d;
      if (m >= 4) s4[q] = pq * (1 - 6 * pq);
      if (m >= 5) s5[q] = pq * d * (1 - 12 * pq);
    }
    break;
  case TESS_ACT_GELU:
  default:
    for (size_t q = 0; q < n; q++) {
      const T rsqrt2 = (T)0.70710678118654752440, rsqrt2pi = (T)0.39894228040143267794;
      T x = z[q], x2 = x * x, phi = rsqrt2pi * PINN_M(exp)(-x2 / 2);
      T Phi = (T)0.5 * PINN_M(erfc)(-x * rsqrt2);
      s0[q] = h0 ? h0[q] : x * Phi;
      if (m >= 1) s1[q] = Phi + x * phi;
      if (m >= 2) s2[q] = phi * (2 - x2);
      if (m >= 3) s3[q] = phi * x * (x2 - 4);
      if (m >= 4) s4[q] = phi * (-4 + x2 * (7 - x2));
      if (m >= 5) s5[q] = phi * x * (18 + x2 * (-11 + x2));
    }
    break;
  }
}

/* tess_act_derivs (f64) / tess_act_derivs_f32: one point, in the network's
 * precision. */
tess_err_t PINN_ACT_DERIVS(tess_act_t act, PINN_ACT_T z, int order, PINN_ACT_T *s)
{
  tess_err_t err = TESS_OK;
  PINN_ACT_T buf[TESS_ACT_MAX_ORDER + 1];
  TESS_REQUIRE(s && order >= 0 && order <= TESS_ACT_MAX_ORDER, TESS_ERR_ARG,
               "order %d not in 0..%d", order, TESS_ACT_MAX_ORDER);
  TESS_REQUIRE(act >= 0 && act < TESS_ACT_N, TESS_ERR_ARG, "bad activation %d", (int)act);
  PINN_ACT_S(pinn_act_eval)(act, 1, &z, NULL, TESS_ACT_MAX_ORDER, buf);
  memcpy(s, buf, (size_t)(order + 1) * sizeof *s);
cleanup:
  return err;
}
#endif
