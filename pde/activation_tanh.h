/* pde/activation_tanh.h: Tessera's tanh in f64 and f32 (private to pde/),
 * one definition for the host loops of activation.c and the CUDA kernels of
 * pde/cuda/pinn_cuda.cu, so both compute the same operations (both are
 * built without contraction: -ffp-contract=off, nvcc -fmad=false). */
#ifndef TESSERA_PDE_ACTIVATION_TANH_H
#define TESSERA_PDE_ACTIVATION_TANH_H
#include <math.h>
#include <stdint.h>
#include <string.h>
#ifdef __CUDACC__
#define PINN_HD static inline __host__ __device__
#else
#define PINN_HD static inline
#endif

/* tanh(x) = sign(x) e / (e + 2), e = expm1(2|x|), written without calls or
 * branches so that the loops over a layer vectorise (libm's tanh is a call
 * per element: a sixth of a PINN step). expm1(y) = 2^k (1 + p) - 1 with
 * y = k ln2 + r, |r| <= ln2/2, p = expm1(r) from its Taylor series to r^13
 * (next term < 2^-56 relative): a few ulp in double, so correctly rounded
 * or nearly so for float, which computes in double. Every operation is a
 * plain IEEE one (the library is built with -ffp-contract=off), so the bits
 * do not depend on the vector width or on where a point sits in a batch.
 * 2|x| >= 40 gives exactly +-1, as it should; NaN stays NaN. */
PINN_HD double pinn_tanh(double x)
{
  const double inv_ln2 = 1.4426950408889634, ln2_hi = 6.93147180369123816490e-01,
               ln2_lo = 1.90821492927058770002e-10;
  double y = 2 * fabs(x);
  y = y > 40 ? 40 : y;
  double kf = y * inv_ln2 + 0.5;
  int k = (int)(kf < 60 ? kf : 60);   /* NaN -> 60: only y carries the NaN on */
  double kd = (double)k;
  double r = (y - kd * ln2_hi) - kd * ln2_lo;
  double q = 1.0 / 6227020800.0;
  q = q * r + 1.0 / 479001600.0;
  q = q * r + 1.0 / 39916800.0;
  q = q * r + 1.0 / 3628800.0;
  q = q * r + 1.0 / 362880.0;
  q = q * r + 1.0 / 40320.0;
  q = q * r + 1.0 / 5040.0;
  q = q * r + 1.0 / 720.0;
  q = q * r + 1.0 / 120.0;
  q = q * r + 1.0 / 24.0;
  q = q * r + 1.0 / 6.0;
  q = q * r + 0.5;
  double p = r + (r * r) * q;
  uint64_t bits = (uint64_t)(k + 1023) << 52;
  double two_k;
  memcpy(&two_k, &bits, sizeof two_k);
  double e = two_k * p + (two_k - 1);
  return copysign(e / (e + 2), x);
}

/* The same in float for f32 networks (twice the lanes of the double one):
 * 2|x| >= 20 gives exactly +-1 (tanh 10 = 1 - 4e-9 rounds to 1 in float);
 * expm1(r) to r^8 (next term < 2^-31 relative); ln2 split so that k ln2_hi
 * is exact for k <= 29. A few ulp in float (tests/pde/test_act_tanh.c). */
PINN_HD float pinn_tanhf(float x)
{
  const float inv_ln2 = 1.44269504f, ln2_hi = 0.693145751953125f, ln2_lo = 1.42860677e-06f;
  float y = 2 * fabsf(x);
  y = y > 20 ? 20 : y;
  float kf = y * inv_ln2 + 0.5f;
  int k = (int)(kf < 30 ? kf : 30);   /* NaN -> 30: only y carries the NaN on */
  float kd = (float)k;
  float r = (y - kd * ln2_hi) - kd * ln2_lo;
  float q = 1.0f / 40320;
  q = q * r + 1.0f / 5040;
  q = q * r + 1.0f / 720;
  q = q * r + 1.0f / 120;
  q = q * r + 1.0f / 24;
  q = q * r + 1.0f / 6;
  q = q * r + 0.5f;
  float p = r + (r * r) * q;
  uint32_t bits = (uint32_t)(k + 127) << 23;
  float two_k;
  memcpy(&two_k, &bits, sizeof two_k);
  float e = two_k * p + (two_k - 1);
  return copysignf(e / (e + 2), x);
}
#endif
