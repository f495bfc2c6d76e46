/* src/rng.c: Philox4x32-10 (Salmon et al., SC'11), counter-based.
 * Stateless on purpose: a value depends only on (seed, stream, index), so
 * fills keyed by global index are identical at any rank count. */
#include <tessera/rng.h>

#include <math.h>

void tess_rng_philox(uint64_t seed, uint64_t stream, uint64_t index, uint32_t out[4])
{
  tess_rng_philox_words(seed, stream, index, out);
}

uint64_t tess_rng_u64(uint64_t seed, uint64_t stream, uint64_t index)
{
  uint32_t w[4];
  tess_rng_philox(seed, stream, index, w);
  return ((uint64_t)w[0] << 32) | w[1];
}

double tess_rng_uniform(uint64_t seed, uint64_t stream, uint64_t index)
{
  return (double)(tess_rng_u64(seed, stream, index) >> 11) * 0x1.0p-53;
}

double tess_rng_normal(uint64_t seed, uint64_t stream, uint64_t index)
{
  uint32_t w[4];
  double u1, u2;
  tess_rng_philox(seed, stream, index, w);
  tess_rng_box_muller_uniforms(w, &u1, &u2);
  return sqrt(-2.0 * log(u1)) * cos(TESS_RNG_TWO_PI * u2);
}
