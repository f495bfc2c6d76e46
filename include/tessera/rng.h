/* include/tessera/rng.h: counter-based random numbers (Philox4x32-10).
 * A value is a pure function of (seed, stream, counter): key it by the global
 * index of what it fills and the result is the same at any rank count and in
 * any order of evaluation. Streams separate uses (noise, weights, points). */
#ifndef TESSERA_RNG_H
#define TESSERA_RNG_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stdint.h>

/* Four 32-bit words of Philox4x32-10 for key (seed) and counter (stream, index). */
void tess_rng_philox(uint64_t seed, uint64_t stream, uint64_t index, uint32_t out[4]);
/* Uniform double in [0,1) with 53 random bits. */
double tess_rng_uniform(uint64_t seed, uint64_t stream, uint64_t index);
/* Standard normal (Box-Muller on the same counter; deterministic, no state). */
double tess_rng_normal(uint64_t seed, uint64_t stream, uint64_t index);
uint64_t tess_rng_u64(uint64_t seed, uint64_t stream, uint64_t index);
TESS_API_END

/* The Philox rounds and the Box-Muller inputs, inline and host/device, so
 * that a CUDA kernel draws the words and the uniforms of the functions above
 * bit for bit (only the normal's log and cos are the device's own libm). */
#ifdef __CUDACC__
#define TESS_RNG_HD __host__ __device__
#else
#define TESS_RNG_HD
#endif
static inline TESS_RNG_HD void tess_rng_philox_words(uint64_t seed, uint64_t stream,
                                                     uint64_t index, uint32_t out[4])
{
  uint32_t c0 = (uint32_t)index, c1 = (uint32_t)(index >> 32);
  uint32_t c2 = (uint32_t)stream, c3 = (uint32_t)(stream >> 32);
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  for (int r = 0; r < 10; r++) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n1 = (uint32_t)p1;
    uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1, n3 = (uint32_t)p0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}
/* tess_rng_normal's two uniforms from one draw: u1 in (0,1) (log finite),
 * u2 in [0,1); both exact conversions of 53 bits. */
static inline TESS_RNG_HD void tess_rng_box_muller_uniforms(const uint32_t w[4], double *u1,
                                                           double *u2)
{
  uint64_t a = ((uint64_t)w[0] << 32) | w[1], b = ((uint64_t)w[2] << 32) | w[3];
  *u1 = ((double)(a >> 11) + 0.5) * 0x1.0p-53;
  *u2 = (double)(b >> 11) * 0x1.0p-53;
}
/* Box-Muller's angle factor: z = sqrt(-2 log u1) cos(TESS_RNG_TWO_PI * u2). */
#define TESS_RNG_TWO_PI 6.283185307179586
#endif
